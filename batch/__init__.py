"""The pipeline steps of the nightly batch, one module per step."""
