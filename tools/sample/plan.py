"""The plan: what the files share (the town, the catalogue, the patrons, the circulation), built once."""

from __future__ import annotations

from functools import cached_property

from ils.tools.sample.catalogue import Catalogue, CatalogueBuilder
from ils.tools.sample.circulation import NOWHERE, Circulation, lose_copies
from ils.tools.sample.draws import random_stream
from ils.tools.sample.hold_planner import HoldPlanner
from ils.tools.sample.lending import Lending
from ils.tools.sample.patrons import Readers, plan_readers
from ils.tools.sample.spec import SampleSpec
from ils.tools.sample.town import Town, plan_town


class Plan:
    """What the files share, built once on first need: the town, the catalogue, the patrons, the circulation."""

    def __init__(self, spec: SampleSpec):
        self.spec = spec

    @cached_property
    def town(self) -> Town:
        return plan_town(self.spec)

    @cached_property
    def catalogue(self) -> Catalogue:
        return CatalogueBuilder(self.spec, self.town).build()

    @cached_property
    def readers(self) -> Readers:
        return plan_readers(self.spec, self.town)

    @cached_property
    def circulation(self) -> Circulation:
        return plan_circulation(self.spec, self.town, self.catalogue, self.readers)


def plan_circulation(spec: SampleSpec, town: Town, cat: Catalogue, readers: Readers) -> Circulation:
    """Copies lost, then loans, then holds: one stream, so the order is part of the sample."""
    rng = random_stream(spec, "circulation")
    circ = Circulation(bytearray(cat.copy_count), bytearray([NOWHERE]) * cat.copy_count, bytearray(cat.title_count))
    lose_copies(rng, cat, circ)
    Lending(rng, spec, cat, readers, circ).run()
    HoldPlanner(rng, spec, town, cat, readers, circ).run()
    return circ
