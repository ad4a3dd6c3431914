"""The boundary with the web/OPAC front end: its Python API, the pending requests it writes and how the batch reads them."""
