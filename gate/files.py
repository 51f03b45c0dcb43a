"""Reading an input file whose size has a sensible bound: a bigger one (a device that never ends, /dev/zero, or
the wrong file) is refused once the bound is passed, before it fills memory."""

from __future__ import annotations

from pathlib import Path

__all__ = ["read_capped"]


def read_capped(path: Path, limit: int, noun: str) -> bytes:
    """The bytes of `path`. Raises OSError (as an unreadable file does) when it holds more than `limit` bytes,
    saying it is far more than `noun` ("a feed", "a policy")."""
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError(f"over {limit // (1024 * 1024)} MiB, far more than {noun}; is it the right file?")
    return data
