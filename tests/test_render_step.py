"""The night's render step: the morning's mail waits in the outbox for its send slot, rendered once."""

from __future__ import annotations

from sqlalchemy import select

from ils.infra import schema
from scenario import D, Library, at
from test_mail import mail_run


def outbox(lib: Library) -> list:
    o = schema.mail_outbox
    rows = lib.conn.execute(select(o.c.state, o.c.not_before, o.c.created_at, o.c.raw).order_by(o.c.id)).all()
    lib.conn.rollback()
    return rows


def _kitami(new_library) -> Library:
    lib = new_library("kitami")
    lib.branch("central").patron("1001", email="taro@example.jp")
    lib.title("B3")
    copy = lib.copy("B3", "central")
    lib.loan(copy, "1001", due_on=D(2026, 11, 30))
    lib.request("renew", "1001", copy)
    lib.request("hold", "1001", "NOPE", pickup="central")
    return lib


def test_the_night_queues_the_mornings_mail_for_the_ten_oclock_send_and_renders_it_once(new_library, tmp_path):
    lib = _kitami(new_library)
    night = lib.night("2026-11-26 03:00")
    render = next(step for step in night.steps if step.step == "render")
    assert render.counts == {"mailed": 2, "messages": 2}
    rows = outbox(lib)
    assert [(r.state, r.not_before, r.created_at) for r in rows] == [("queued", at("2026-11-26 10:00"), at("2026-11-26 03:00"))] * 2
    assert all("Date: Thu, 26 Nov 2026 10:00:00 +0900" in r.raw for r in rows)  # dated when it is sent
    again = lib.night("2026-11-26 03:00", only="render")
    assert again.steps[0].counts == {}
    assert mail_run(lib, "2026-11-26 09:59", tmp_path / "out") == []
    assert len(mail_run(lib, "2026-11-26 10:00", tmp_path / "out")) == 2


def test_a_dry_run_counts_what_it_would_render_and_queues_nothing(new_library):
    lib = _kitami(new_library)
    report = lib.night("2026-11-26 03:00", dry_run=True)
    assert next(step for step in report.steps if step.step == "render").counts == {"mailed": 2, "messages": 2}
    assert outbox(lib) == []


def test_mitos_digest_is_rendered_by_the_night_before_it_goes_once_nothing_more_can_join_it(new_library, tmp_path):
    lib = new_library("mito")
    lib.branch("chuo").patron("3001", email="hanako@example.jp")
    lib.title("B1")
    lib.request("hold", "3001", "NOPE", pickup="chuo")
    lib.request("hold", "3001", "NOPE2", pickup="chuo")
    lib.night("2026-11-26 03:00")
    assert outbox(lib) == []  # 用意できた次の開館日: what happens on the 26th may still join
    lib.night("2026-11-27 03:00")
    [digest] = outbox(lib)
    assert (digest.state, digest.not_before) == ("queued", at("2026-11-27 09:00"))
    [sent] = mail_run(lib, "2026-11-27 09:00", tmp_path / "out")
    assert sent.get_content().count("お受けできませんでした") == 2


def test_each_notice_points_at_the_mail_that_tells_it_and_a_message_queued_before_is_not_queued_again(new_library):
    lib = new_library("mito")
    lib.branch("chuo").patron("3001", email="hanako@example.jp").patron("3002", email="jiro@example.jp")
    lib.title("B1")
    lib.request("hold", "3001", "NOPE", pickup="chuo")
    lib.request("hold", "3001", "NOPE2", pickup="chuo")
    lib.request("hold", "3002", "NOPE3", pickup="chuo")
    lib.night("2026-11-26 03:00")
    lib.night("2026-11-27 03:00")
    e, o = schema.notice_events, schema.mail_outbox
    marks = select(e.c.patron_id, e.c.delivery, o.c.dedupe_key, o.c.to_addr).join(o, o.c.id == e.c.outbox_id)
    told = sorted(lib.conn.execute(marks.where(e.c.kind == "request_rejected")).all())
    lib.conn.rollback()
    keys = {patron: key for patron, _, key, _ in told}
    assert [(delivery, to) for _, delivery, _, to in told] == [
        ("mailed", "hanako@example.jp"), ("mailed", "hanako@example.jp"), ("mailed", "jiro@example.jp")]
    hanako, jiro = lib.ids[("patron", "3001")], lib.ids[("patron", "3002")]
    assert keys[hanako].startswith("digest:") and keys[jiro].startswith("notice:")  # two in one digest, one alone
    # As if the marks were lost: the notices are rendered again and find their messages by key.
    lib.conn.execute(e.update().values(delivery=None, outbox_id=None))
    lib.conn.commit()
    again = lib.night("2026-11-27 03:00", only="render")
    assert again.steps[0].counts["messages"] == 2
    assert len(outbox(lib)) == 2
    assert sorted(lib.conn.execute(marks.where(e.c.kind == "request_rejected")).all()) == told
    lib.conn.rollback()


def test_an_acceptance_kitami_does_not_mail_is_marked_not_mailed_by_the_night_that_makes_it(new_library):
    """Kitami mails no acceptance (accepted_mail off): render marks the notice, with the rest of the night's."""
    lib = new_library("kitami")
    lib.branch("central").patron("1001", email="taro@example.jp").patron("1002", email="hanako@example.jp")
    lib.title("B3")
    lib.loan(lib.copy("B3", "central"), "1001", due_on=D(2026, 12, 10))
    lib.request("hold", "1002", "B3", pickup="central")
    night = lib.night("2026-11-26 03:00")
    assert next(step for step in night.steps if step.step == "render").counts == {"not_mailed": 1}
    e = schema.notice_events
    marked = lib.conn.execute(select(e.c.kind, e.c.delivery, e.c.outbox_id)).all()
    lib.conn.rollback()
    assert marked == [("hold_accepted", "not_mailed", None)]
    assert outbox(lib) == []
