"""The sample library system: a fictional city generated from a fixed seed, at any size."""
