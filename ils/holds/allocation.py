"""Binding free copies to waiting holds of one title, in queue order (割り当て); pure, no I/O."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class WaitingHold:
    """A hold waiting for a copy, in its queue's order."""

    id: int
    pickup_branch_id: int
    queue_key: tuple
    # Set for a hold whose on-shelf copy is searched only from the next open day of the
    # copy's branch after this day, the day of the request (seed 002: 翌開館日以降).
    shelf_search_after: dt.date | None = None


@dataclass(frozen=True)
class FreeCopy:
    """A copy free to be allocated, and where it is."""

    id: int
    location_branch_id: int
    on_hold_shelf: bool  # freed on a hold shelf (its hold expired or was cancelled)


@dataclass(frozen=True)
class Allocation:
    """A waiting hold given a free copy."""

    hold_id: int
    copy_id: int
    ready_now: bool  # the copy already sits on the pickup branch's hold shelf


class Routes:
    """Travel cost between branches for the delivery van; unknown pairs cost the most."""

    def __init__(self, costs: Mapping[tuple[int, int], int], service_branch: Mapping[int, int] | None = None):
        self._costs = dict(costs)
        self._service = dict(service_branch or {})
        self._unknown = max(self._costs.values(), default=0) + 1

    def cost(self, source: int, target: int) -> int:
        # A bookmobile station is served from its parent library.
        source, target = self._service.get(source, source), self._service.get(target, target)
        if source == target:
            return 0
        return self._costs.get((source, target), self._costs.get((target, source), self._unknown))


def allocate_title(
    holds: Iterable[WaitingHold],
    copies: Iterable[FreeCopy],
    can_pull_from: Callable[[int], bool],
    routes: Routes,
    shelf_searched_for: Callable[[int, WaitingHold], bool] = lambda branch_id, hold: True,
) -> list[Allocation]:
    """Serve the holds in queue order, each with the free copy nearest its pickup branch.

    A copy at the pickup branch comes first, then the least travel, then the lowest copy
    id so the result never depends on row order. Shelves of a branch closed today cannot
    be pulled; a copy already on the pickup branch's hold shelf needs no pulling. An
    open-shelf copy is searched for a hold only when `shelf_searched_for` says so.
    """
    free = list(copies)
    result = []
    for hold in sorted(holds, key=lambda h: h.queue_key):
        usable = [
            c for c in free
            if (can_pull_from(c.location_branch_id)
                and (c.on_hold_shelf or shelf_searched_for(c.location_branch_id, hold)))
            or (c.on_hold_shelf and c.location_branch_id == hold.pickup_branch_id)
        ]
        if not usable:
            if not free:
                break
            continue
        best = min(
            usable,
            key=lambda c: (
                c.location_branch_id != hold.pickup_branch_id,
                routes.cost(c.location_branch_id, hold.pickup_branch_id),
                c.id,
            ),
        )
        free.remove(best)
        ready_now = best.on_hold_shelf and best.location_branch_id == hold.pickup_branch_id
        result.append(Allocation(hold.id, best.id, ready_now))
    return result
