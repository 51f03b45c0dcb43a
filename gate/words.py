"""Numbers in text: how the gate writes a count in a message (`1 day`, `2 days`, never `1 days` or `0 day`),
and reads a whole number someone else wrote."""

from __future__ import annotations

__all__ = ["quantity", "whole_number"]


def quantity(count: int, noun: str, plural: str = "") -> str:
    """`count` and `noun`, in the plural (`plural`, else `noun` + "s") unless it is exactly one."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def whole_number(text: str) -> int | None:
    """`text` as a whole number when it is ASCII digits and nothing else, at most 20 of them once leading zeros
    are dropped (2**64 has 20: no count, port or ID the gate reads is larger), else None.

    `str.isdigit` alone also takes "²", which `int()` refuses, and `int()` reads the digits of other scripts; it
    also refuses more than 4,300 digits with an error of its own.
    """
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0")
    return int(digits or "0") if len(digits) <= _MAX_DIGITS else None


_MAX_DIGITS = 20
