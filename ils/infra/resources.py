"""Where the product's own files are: sql/, templates_mail/ and data/, in a checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # the ils package


def _root(name: str) -> Path:
    # Installed from a wheel, the directories sit inside the ils package (see
    # pyproject.toml's package-dir); in a checkout or an editable install they are
    # at the top of the repository.
    inside = _PACKAGE / name
    if inside.is_dir():
        return inside
    return _PACKAGE.parent / name


def data_path(*parts: str) -> Path:
    return _root("data").joinpath(*parts)


def sql_path(*parts: str) -> Path:
    return _root("sql").joinpath(*parts)


def templates_path(*parts: str) -> Path:
    return _root("templates_mail").joinpath(*parts)


def report_templates_path(*parts: str) -> Path:
    return _root("templates_reports").joinpath(*parts)
