"""Real faults of the machine for tests: a full disk and a read-only folder, as mounts (root) — never simulated in Python.

A full folder is a tiny tmpfs filled to the last block, so writes fail with ENOSPC from
the kernel; a read-only folder is a read-only bind mount, which refuses even root (a
chmod would not: root writes through it). Both need the right to mount; without it
the tests that use them are skipped, saying why.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from pathlib import Path

import pytest


def _mount(*args: str) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot mount here ({result.stderr.strip() or result.returncode}); needs root")


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


@contextlib.contextmanager
def small_disk(path: Path, *, size_kb: int = 256):
    """`path` as a folder on a disk of its own, `size_kb` large (a tmpfs)."""
    path.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size_kb}k,nr_inodes=256", "tmpfs", str(path))
    try:
        yield path
    finally:
        _umount(path)


@contextlib.contextmanager
def full_folder(path: Path, *, keep: dict[str, bytes] | None = None, size_kb: int = 256):
    """`path` as a folder on a disk with no space left; `keep` files are written first (they stay readable)."""
    with small_disk(path, size_kb=size_kb):
        for name, data in (keep or {}).items():
            (path / name).write_bytes(data)
        fill(path)
        yield path


def fill(path: Path) -> None:
    """Write into `path` until the disk says it is full."""
    with open(path / ".filler", "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(b"\0" * 4096)
                os.fsync(fh.fileno())
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise


@contextlib.contextmanager
def read_only_folder(path: Path):
    """`path` (with whatever it holds) made read-only for everyone, root included."""
    path.mkdir(parents=True, exist_ok=True)
    _mount("--bind", str(path), str(path))
    try:
        _mount("-o", "remount,bind,ro", str(path))
        yield path
    finally:
        _umount(path)
