"""Numbers in text: how the gate writes a count in a message (`1 day`, `2 days`, never `1 days` or `0 day`),
and reads a whole number someone else wrote."""

from __future__ import annotations

__all__ = ["quantity", "whole_number"]


def quantity(count: int, noun: str, plural: str = "") -> str:
    """`count` and `noun`, in the plural (`plural`, else `noun` + "s") unless it is exactly one."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def whole_number(text: str) -> int | None:
    """`text` as a whole number when it is ASCII digits and nothing else, else None.

    `str.isdigit` alone also takes "²", which `int()` refuses, and `int()` reads the digits of other scripts.
    """
    return int(text) if text.isascii() and text.isdigit() else None
