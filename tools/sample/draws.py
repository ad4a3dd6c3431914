"""Deterministic randomness: seeded random streams, the splitmix64 Dice and weighted draws."""

from __future__ import annotations

import bisect
import random

from ils.tools.sample.spec import SampleSpec


def random_stream(spec: SampleSpec, stream: str) -> random.Random:
    # A str seed is hashed with SHA-512 by random, so it does not depend on PYTHONHASHSEED.
    return random.Random(f"{spec.seed}:{stream}")


_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _mix64(x: int) -> int:
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9 & _M64
    x = (x ^ (x >> 27)) * 0x94D049BB133111EB & _M64
    return x ^ (x >> 31)


class Dice:
    """Draws that depend only on (seed, subject), so titles.csv and copies.csv describe a work alike."""

    __slots__ = ("_state", "_pool")

    def __init__(self, seed: int, subject: int):
        self._state = _mix64((seed * _GOLDEN + subject * 0xD1B54A32D192ED03) & _M64)
        self._pool = 0

    def below(self, n: int) -> int:
        if self._pool < n << 8:
            self._state = (self._state + _GOLDEN) & _M64
            self._pool = _mix64(self._state)
        self._pool, r = divmod(self._pool, n)
        return r

    def pick(self, seq):
        return seq[self.below(len(seq))]


def weighted(rng: random.Random, totals: list[float]) -> int:
    """An index drawn by weight, the weights given as running totals (see `cumulative`)."""
    return bisect.bisect(totals, rng.random() * totals[-1])


def cumulative(weights) -> list[float]:
    """The running totals of the weights, drawn from with `weighted`."""
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def one_of(rng, seq):
    """An item of seq, one draw from the stream."""
    return seq[rng.randrange(len(seq))]
