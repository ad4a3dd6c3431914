"""The named SQL of sql/: one statement a file, loaded by name, its list parameters expanded and its columns typed."""

from __future__ import annotations

from functools import cache

from sqlalchemy import bindparam, text
from sqlalchemy.sql.elements import BindParameter, TextClause
from sqlalchemy.sql.selectable import TextualSelect
from sqlalchemy.types import TypeEngine

from ils.infra.resources import sql_path


@cache
def sql_text(name: str) -> str:
    """The statement in sql/<name>.sql, header comments and all (read once a process)."""
    return sql_path(f"{name}.sql").read_text(encoding="utf-8")


def statement(name: str) -> str:
    """The statement alone: comment lines dropped, since SQLAlchemy would read `:name` in them as parameters."""
    return "\n".join(line for line in sql_text(name).splitlines() if not line.lstrip().startswith("--"))


def named_query(
    name: str,
    *,
    lists: tuple[str, ...] = (),
    binds: dict[str, TypeEngine | type[TypeEngine]] | None = None,
    columns: dict[str, TypeEngine | type[TypeEngine]] | None = None,
) -> TextClause | TextualSelect:
    """sql/<name>.sql ready to execute with its parameters.

    `lists` are parameters given a Python list (`IN :branch_ids` becomes one placeholder
    per item); `binds` types the others that are not plain numbers or strings (an instant
    is stored as UTC, a date as ISO text on SQLite); `columns` types result columns the same
    way, so that both engines return dates and aware datetimes.
    """
    params: list[BindParameter] = [bindparam(key, expanding=True) for key in lists]
    params += [bindparam(key, type_=kind) for key, kind in (binds or {}).items()]
    query = text(statement(name)).bindparams(*params)
    return query.columns(**columns) if columns else query


def sql_names() -> list[str]:
    """Every named statement in sql/, by name."""
    return sorted(path.stem for path in sql_path().glob("*.sql"))
