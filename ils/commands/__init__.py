"""The commands of `ils`, one module per group of them; each loaded only when one of its commands runs (ils.cli.COMMANDS)."""
