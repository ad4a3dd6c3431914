"""Compact columns: the plan keeps one small number per title, copy, patron, loan or hold."""

from __future__ import annotations

from array import array
from dataclasses import field
from functools import partial


def column(typecode: str = ""):
    """A compact column of small numbers: a bytearray, or an array of the given type code."""
    return field(default_factory=partial(array, typecode) if typecode else bytearray)
