"""How the gate writes a count in a message: `1 day`, `2 days`, never `1 days` or `0 day`."""

from __future__ import annotations

__all__ = ["quantity"]


def quantity(count: int, noun: str, plural: str = "") -> str:
    """`count` and `noun`, in the plural (`plural`, else `noun` + "s") unless it is exactly one."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
