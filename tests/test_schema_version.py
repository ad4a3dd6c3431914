"""The schema records its version; every command refuses a database it does not match."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import make_url

from ils import cli
from ils.errors import NotInitialised, SchemaVersionError
from ils.infra import db, schema

HEAD = db.head_revision()


def test_migrations_build_exactly_the_schema_the_code_queries(make_db):
    engine = db.open_engine(make_db())
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    assert diff == []


def test_each_partial_index_is_partial_in_the_database_as_the_schema_says(make_db, engine_name):
    partial = {index.name: (table.name, index, index.info["where"]) for table in schema.metadata.tables.values()
               for index in table.indexes if "where" in index.info}
    assert partial
    engine = db.open_engine(make_db())
    with engine.connect() as conn:
        for name, (table, index, where) in partial.items():
            assert _predicate(conn, engine_name, name) == _predicate_of(conn, engine_name, table, index, where), name
    engine.dispose()


def test_each_index_is_of_the_kind_the_schema_says(make_db, engine_name):
    """A B-tree unless the schema's `postgresql_using` says otherwise there (0013: the holds'
    created_at, a BRIN on PostgreSQL, where a status change writes every index of holds)."""
    kinds = {index.name: index.info.get("postgresql_using", "btree") for table in schema.metadata.tables.values()
             for index in table.indexes}
    assert "brin" in kinds.values()
    engine = db.open_engine(make_db())
    with engine.connect() as conn:
        if engine_name == "postgresql":
            found = dict(conn.execute(text("SELECT c.relname, a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam "
                                           "WHERE c.relname = ANY(:names)"), {"names": list(kinds)}).all())
            assert found == kinds
        else:  # SQLite's indexes are all B-trees: each is there, the BRIN's columns included
            names = set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'")).scalars())
            assert set(kinds) <= names
    engine.dispose()


def _predicate(conn, engine_name: str, index: str) -> str | None:
    """An index's WHERE as the database keeps it."""
    if engine_name == "sqlite":
        created = conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :n"), {"n": index})
        return created.scalar_one().partition(" WHERE ")[2] or None
    return conn.execute(text("SELECT pg_get_expr(i.indpred, i.indrelid) FROM pg_index i JOIN pg_class c "
                             "ON c.oid = i.indexrelid WHERE c.relname = :n"), {"n": index}).scalar_one()


def _predicate_of(conn, engine_name: str, table: str, index, where: str) -> str | None:
    """`where` as the database would keep it for a new index on the same columns (made, read, dropped)."""
    columns = ", ".join(column.name for column in index.columns)
    conn.execute(text(f"CREATE INDEX scratch_partial ON {table} ({columns}) WHERE {where}"))
    kept = _predicate(conn, engine_name, "scratch_partial")
    conn.execute(text("DROP INDEX scratch_partial"))
    conn.commit()
    return kept


def test_an_empty_database_asks_for_init(db_url):
    with pytest.raises(NotInitialised, match="run `ils init` first"):
        with db.connect(db_url):
            pass


def test_an_older_schema_asks_for_an_upgrade(make_db, monkeypatch):
    url = make_db()
    monkeypatch.setattr(db, "head_revision", lambda: "9999")
    with pytest.raises(SchemaVersionError, match=f"schema is at {HEAD}, this ils needs 9999: run `ils db upgrade`"):
        with db.connect(url):
            pass


def test_a_newer_schema_asks_for_a_newer_program(make_db):
    url = make_db()
    engine = db.open_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    with pytest.raises(SchemaVersionError, match="newer than this ils"):
        with db.connect(url):
            pass


def test_sqlite_is_opened_in_wal_mode_with_foreign_keys_and_its_file_memory_mapped(make_db, engine_name):
    if engine_name != "sqlite":
        pytest.skip("an SQLite setting")
    engine = db.open_engine(make_db())
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA mmap_size").scalar() == db.MMAP_BYTES == 256 * 1024 * 1024


def test_upgrading_an_up_to_date_database_changes_nothing(make_db):
    url = make_db()
    assert db.upgrade(db.open_engine(url)) == (HEAD, HEAD)


def test_a_database_made_by_the_first_release_is_migrated_with_its_data(db_url):
    engine = db.open_engine(db_url)
    db.upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(schema.branches.insert().values(code="central", name="中央図書館", kind="library"))
    with pytest.raises(SchemaVersionError, match=f"schema is at 0001, this ils needs {HEAD}: run `ils db upgrade`"):
        with db.connect(db_url):
            pass
    assert db.upgrade(engine) == ("0001", HEAD)
    with db.connect(db_url) as conn:
        assert conn.execute(text("SELECT name FROM branches")).scalar() == "中央図書館"


def test_ils_db_upgrade_leaves_the_migration_in_the_file_itself(db_url, engine_name, runner):
    """An SQLite file copied on its own after `ils db upgrade` (the simple, wrong backup) holds the
    new schema: the command closes its connection, and SQLite writes its log back into the file."""
    if engine_name != "sqlite":
        pytest.skip("a write-ahead log beside the file is SQLite's")
    engine = db.open_engine(db_url)
    db.upgrade(engine, "0010")
    engine.dispose()
    result = runner.invoke(cli.main, ["db", "upgrade", "--db", db_url])
    assert result.exit_code == 0, result.output
    path = Path(make_url(db_url).database)
    assert not path.with_name(path.name + "-wal").exists()
    with sqlite3.connect(path) as copy:  # the file alone
        assert copy.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD,)


def test_the_reports_reader_maps_a_file_of_up_to_a_gigabyte_whole_and_keeps_the_other_settings(make_db, engine_name):
    if engine_name != "sqlite":
        pytest.skip("an SQLite setting")
    with db.open_engine(make_db()).connect() as conn:
        reader = db.open_engine_like(conn, mmap_bytes=db.READER_MMAP_BYTES)
    with reader.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA mmap_size").scalar() == db.READER_MMAP_BYTES == 1024 * 1024 * 1024


def test_a_file_larger_than_a_gigabyte_is_not_memory_mapped_by_the_writer_nor_the_reports_reader(make_db, engine_name, monkeypatch):
    if engine_name != "sqlite":
        pytest.skip("an SQLite setting")
    url = make_db()
    with db.open_engine(url).connect() as conn:
        size = db.sqlite_path(str(conn.engine.url)).stat().st_size
        assert conn.exec_driver_sql("PRAGMA mmap_size").scalar() == db.MMAP_BYTES
    monkeypatch.setattr(db, "UNMAPPED_FROM", size - 1)  # a prefecture's file, in small
    with db.open_engine(url).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA mmap_size").scalar() == 0
        reader = db.open_engine_like(conn, mmap_bytes=db.READER_MMAP_BYTES)
    with reader.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA mmap_size").scalar() == 0
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
