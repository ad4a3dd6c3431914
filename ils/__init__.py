"""Holds back office for Japanese public libraries: the domain (patrons, branches, titles, copies, holds, policy)."""

__version__ = "0.1.0"
