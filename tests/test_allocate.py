"""The allocate step over many titles: served batch by batch of titles, with the same result as all at once."""

from __future__ import annotations

import pytest

from ils.batch import s09_allocate


@pytest.fixture
def kitami(new_library):
    lib = new_library("kitami")
    lib.branch("central").branch("tokoro").route("central", "tokoro", 2)
    lib.patron("1001").patron("1002")
    yield lib


@pytest.fixture
def one_title_per_batch(monkeypatch):
    monkeypatch.setattr(s09_allocate, "TITLES_PER_CHUNK", 1)


def test_a_series_whose_volumes_fall_in_different_batches_is_served_in_reading_order_in_one_night(
    kitami, one_title_per_batch
):
    # Volume 2's title comes first, so its batch runs before volume 1 has a copy; volume 3's
    # batch runs after volume 1's, while volume 2 still waits: both open on a later round.
    kitami.title("V2", series="S", volume=2).title("V1", series="S", volume=1).title("V3", series="S", volume=3)
    for volume in ("V1", "V2", "V3"):
        kitami.copy(volume, "central")
    for n in (3, 1, 2):
        kitami.request("hold", "1001", f"V{n}", pickup="central", series=("g", n))
    kitami.night()
    assert [kitami.status("1001", v) for v in ("V1", "V2", "V3")] == ["allocated"] * 3


def test_a_gate_opened_in_an_earlier_batch_lets_the_later_volume_compete_in_its_own_batch(
    kitami, one_title_per_batch
):
    # Volume 1's batch runs first and allocates it; volume 2's batch then sees the gate
    # open, and 1001, first in volume 2's queue, gets its only copy before 1002.
    kitami.title("V1", series="S", volume=1).title("V2", series="S", volume=2)
    kitami.copy("V1", "central")
    kitami.copy("V2", "central")
    kitami.request("hold", "1001", "V2", pickup="central", series=("g", 2), received="2026-11-25 10:00")
    kitami.request("hold", "1001", "V1", pickup="central", series=("g", 1), received="2026-11-25 10:01")
    kitami.request("hold", "1002", "V2", pickup="central", received="2026-11-25 10:02")
    kitami.night()
    assert kitami.status("1001", "V1") == "allocated"
    assert kitami.status("1001", "V2") == "allocated"
    assert kitami.status("1002", "V2") == "waiting"


def test_a_suspended_volume_between_keeps_the_later_one_junbichu_after_the_earlier_one_is_allocated(
    kitami, one_title_per_batch
):
    # Volume 1's batch allocates it; volume 3's gate is checked again in its own batch, and
    # volume 2, suspended (予約の一時停止), still holds it closed: no copy yet, so no volume 3.
    kitami.title("V1", series="S", volume=1).title("V2", series="S", volume=2).title("V3", series="S", volume=3)
    for volume in ("V1", "V2", "V3"):
        kitami.copy(volume, "central")
    kitami.hold("1001", "V1", "central", series=("g", 1))
    kitami.hold("1001", "V2", "central", status="suspended", series=("g", 2))
    kitami.hold("1001", "V3", "central", status="series_waiting", series=("g", 3))
    kitami.night()
    assert [kitami.status("1001", v) for v in ("V1", "V2", "V3")] == ["allocated", "suspended", "series_waiting"]


def test_under_the_picked_up_gate_a_volume_allocated_in_an_earlier_batch_keeps_the_next_one_junbichu(
    new_library, one_title_per_batch
):
    # Murakami (seed 004: 一冊ずつ用意): volume 1 gets its copy in the first batch; volume 2's gate,
    # checked again in its own batch, stays closed until volume 1 is picked up.
    lib = new_library("murakami")
    lib.branch("chuo").patron("5001")
    lib.title("V1", series="S", volume=1).title("V2", series="S", volume=2)
    lib.copy("V1", "chuo")
    lib.copy("V2", "chuo")
    lib.hold("5001", "V1", "chuo", series=("s", 1))
    lib.hold("5001", "V2", "chuo", status="series_waiting", series=("s", 2))
    lib.night()
    assert [lib.status("5001", v) for v in ("V1", "V2")] == ["allocated", "series_waiting"]


def test_a_postgresql_night_reads_every_queued_hold_of_its_titles_in_one_statement_in_queue_order(
    kitami, monkeypatch
):
    # In chunks of titles, a city night scanned holds four times for its queue; on PostgreSQL the
    # titles are one array parameter of any length. The chunks are made tiny here (2 titles).
    from sqlalchemy import event

    from ils.infra import db
    monkeypatch.setattr(db, "CHUNK", 2)
    monkeypatch.setattr(db.chunks, "__defaults__", (2,))
    for bib in ("Q1", "Q2", "Q3"):
        kitami.title(bib).copy(bib, "central")
        kitami.request("hold", "1002", bib, pickup="central", received="2026-11-25 10:00")
        kitami.request("hold", "1001", bib, pickup="central", received="2026-11-25 09:00")
    kitami.night(only="accept")
    sent: list[str] = []
    event.listen(kitami.conn, "before_cursor_execute", lambda *args: sent.append(args[2]))
    kitami.night(only="allocate")
    queue_reads = [sql for sql in sent if sql.startswith("SELECT holds.id, holds.title_id, holds.patron_id, holds.pickup_branch_id")]
    assert len(queue_reads) == (1 if kitami.conn.dialect.name == "postgresql" else 2)
    assert [kitami.status(card, bib) for bib in ("Q1", "Q2", "Q3") for card in ("1001", "1002")] == \
        ["allocated", "waiting"] * 3
