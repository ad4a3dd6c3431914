"""Step: apply pickup-branch changes (受取館の変更) in the statuses the profile allows; refuse past them."""

from __future__ import annotations

from ils.frontend.pending import (
    HoldRef,
    Verdict,
    hold_of,
    holds_named,
    parse_hold_refs,
    patron_refusal,
    run_requests,
)
from ils.holds import lifecycle
from ils.holds.acceptance import branch_problem
from ils.holds.facts import branch_facts
from ils.holds.history import PickupChange, change_pickups
from ils.infra.context import Context

NAME = "pickup_change"
INTRADAY = True
IN_DRY_RUN = True

REFUSED = "pickup_change_refused"


def run(ctx: Context) -> dict:
    return run_requests(ctx, "pickup_change", _judge_all)


def _judge_all(ctx: Context, rows: list, patrons: dict) -> list[Verdict]:
    verdicts, requests = parse_hold_refs(ctx, rows, patrons, REFUSED)
    holds = holds_named(ctx, requests, patrons)
    branches = branch_facts(ctx.conn)
    changes: dict[int, dict] = {}
    for req in requests:
        verdicts.append(_judge(ctx, req, patrons.get(req.card_number), holds, branches, changes))
    _write(ctx, list(changes.values()))
    return verdicts


def _judge(ctx: Context, req: HoldRef, patron, holds: dict, branches: dict, changes: dict) -> Verdict:
    refusal = patron_refusal(ctx, patron, req.row.channel)
    if refusal:
        return Verdict(req.request_id, "rejected", refusal, patron.id if patron else None, REFUSED if patron else None)
    allowed = ctx.policy.requests.pickup_change_statuses
    if not allowed:
        return Verdict(req.request_id, "rejected", "pickup_change_not_offered", patron.id, REFUSED)
    hold = hold_of(req, patron, holds)
    if hold is None:
        return Verdict(req.request_id, "rejected", "unknown_hold", patron.id, REFUSED)
    if hold["status"] not in lifecycle.ACTIVE:
        return Verdict(req.request_id, "rejected", "already_closed", patron.id, REFUSED, hold_id=hold["id"])
    # seed 001: 「取寄・準備中です」「ご用意できました」の状態になると、ご自身では取消・変更が
    # できなくなりますので、図書館にご連絡ください — a copy already bound goes to the old branch.
    if hold["status"] not in allowed:
        return Verdict(req.request_id, "rejected", "pickup_change_too_late", patron.id, REFUSED, hold_id=hold["id"])
    branch = branches.get((req.row.pickup_branch or "").strip())
    problem = branch_problem(branch, ctx.policy)
    if problem:
        return Verdict(req.request_id, "rejected", problem, patron.id, REFUSED, hold_id=hold["id"])
    assert branch is not None, "branch_problem names an unknown branch"
    # The latest change of the night wins; the hold row is written once.
    changes[hold["id"]] = {"hold": hold["id"], "status": hold["status"], "title": hold["title_id"],
                           "branch": branch.id, "code": branch.code, "request": req.request_id}
    return Verdict(req.request_id, "applied", None, patron.id, "pickup_changed", hold_id=hold["id"],
                   details={"pickup_branch": branch.code})


def _write(ctx: Context, changes: list[dict]) -> None:
    change_pickups(ctx, [PickupChange(c["hold"], c["status"], c["title"], c["branch"],
                                      f"pickup {c['code']}, request {c['request']}") for c in changes], actor="batch")
