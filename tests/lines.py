"""What the program writes to stderr, read as a person would: each line's leading time checked, then set aside."""

from __future__ import annotations

import re

# 2026-12-01T03:00:02+09:00: ISO 8601 in library time, whatever the host's zone (ils.infra.logs).
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00 ")


def unstamped(text: str) -> str:
    """`text` with the time taken off the front of every `Error:` line (and failing if such a line has none)."""
    lines = []
    for line in text.splitlines(keepends=True):
        assert not line.startswith("Error:"), f"an Error: line without its time: {line!r}"
        found = STAMP.match(line)
        if found and line[found.end():].startswith("Error:"):
            line = line[found.end():]
        lines.append(line)
    return "".join(lines)
