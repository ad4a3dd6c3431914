"""Exchange with the ILS: the nightly imports in, the change journal back out."""
