"""The benchmark's COPY loader builds, row for row, the library the validated importer builds."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from conftest import NIGHT
from ils.exchange.imports import files_in, import_files
from ils.frontend.requests import import_request_file
from ils.infra import db, schema
from ils.library.policy import load_policy
from ils.tools import bulkload
from ils.tools.sample.generator import SampleSpec, write_files

PROFILE = "kitami"
COMPARED = ("branches", "titles", "copies", "patrons", "newsletter_subscriptions", "loans", "holds", "pending_requests")


def _dump(url: str) -> dict[str, list[tuple]]:
    engine = db.open_engine(url)
    with engine.connect() as conn:
        dump = {}
        for name in COMPARED:
            table = schema.metadata.tables[name]
            dump[name] = sorted(tuple(map(repr, row)) for row in conn.execute(select(table)))
    engine.dispose()
    return dump


def test_the_copy_loader_matches_the_validated_import(databases, tmp_path):
    if databases.engine != "postgresql":
        pytest.skip("COPY is PostgreSQL's; SQLite benchmarks load through the importer")
    spec = SampleSpec.preset("sample")
    policy = load_policy(PROFILE)

    imported = databases.initialised(PROFILE)
    write_files(spec, tmp_path)
    engine = db.open_engine(imported)
    with engine.connect() as conn:
        import_files(conn, files_in(tmp_path), policy, NIGHT)
        import_request_file(conn, tmp_path / "requests.jsonl", NIGHT)
    engine.dispose()

    copied = databases.initialised(PROFILE)
    engine = db.open_engine(copied)
    steps = []
    with engine.connect() as conn:
        loaded = bulkload.load(conn, spec, policy, NIGHT, steps.append)
        # Vacuumed as a database in service would be: every page of the big tables all-visible.
        visible = "SELECT relname, relallvisible = relpages AND relpages > 0 FROM pg_class WHERE relname IN ('copies', 'holds')"
        pages = dict(conn.execute(text(visible)).all())
    engine.dispose()
    assert pages == {"copies": True, "holds": True}

    assert loaded["copies"] > 7000 and loaded["requests"] == 300
    assert "copies (COPY)" in steps
    expected, got = _dump(imported), _dump(copied)
    for name in COMPARED:
        assert got[name] == expected[name], f"{name} differs"
