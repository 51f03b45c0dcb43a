"""What Grype makes of a plain (unquoted) YAML scalar in a string field of its config.

Grype reads its config with viper: gopkg.in/yaml.v3 decodes the file into `map[string]any` (its `resolve()` gives a
plain scalar a type: bool, int, float, timestamp or string, YAML 1.2 style with a few YAML 1.1 leftovers), and
mapstructure, weakly typed, turns that value into the rule's string field: a bool becomes "1" or "0", an integer
its decimal digits, a float `strconv.FormatFloat(f, 'f', -1, 64)`; a timestamp is not convertible and the config
is refused. This module repeats those steps for one scalar's text.
"""

from __future__ import annotations

import math
import re
from datetime import date
from decimal import Decimal

__all__ = ["GoTimestamp", "grype_string"]


class GoTimestamp(ValueError):
    """yaml.v3 reads the scalar as a timestamp, which mapstructure cannot put into a string field."""


_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_FLOATS = {
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
_YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
# strconv.ParseFloat of a text starting with `.`: digits, `_` only between two digits, an optional exponent.
_DOT_FLOAT = re.compile(r"\.[0-9](_?[0-9])*([eE][-+]?[0-9](_?[0-9])*)?")
_HEX = "0123456789abcdef"
# yaml.v3 parseTimestamp: YYYY- then Go's time.Parse with "2006-1-2T15:4:5.999999999Z07:00" (T or t),
# "2006-1-2 15:4:5.999999999" or "2006-1-2".
_TIMESTAMP = re.compile(
    r"(?P<y>[0-9]{4})-(?P<m>[0-9]{1,2})-(?P<d>[0-9]{1,2})"
    r"(?:(?:[Tt](?P<time>[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:[.,][0-9]+)?)(?:Z|[-+][0-9]{2}:[0-9]{2}))"
    r"|(?: (?P<local>[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:[.,][0-9]+)?)))?"
)


def grype_string(text: str) -> str:
    """The string Grype's rule field holds for the plain YAML scalar `text` (not null: that is "").

    Raises GoTimestamp when yaml.v3 reads `text` as a timestamp: Grype then refuses its config.
    """
    value = _resolve(text)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _format_float(value)
    return str(value)


def _resolve(text: str) -> str | bool | int | float:
    """yaml.v3's `resolve("", text)` for a plain scalar: the Go value it decodes into an interface{}."""
    if text in _BOOLS:
        return _BOOLS[text]
    if text in _FLOATS:
        return _FLOATS[text]
    hint = text[:1]
    if hint == ".":
        if _DOT_FLOAT.fullmatch(text) and (number := _float(text.replace("_", ""))) is not None:
            return number
        return text
    if not hint or hint not in "+-0123456789":
        return text
    if _timestamp(text):
        raise GoTimestamp(text)
    plain = text.replace("_", "")
    for parse in (_parse_int, _parse_uint):
        if (integer := parse(plain, 0)) is not None:
            return integer
    if _YAML_STYLE_FLOAT.fullmatch(plain) and (number := _float(plain)) is not None:
        return number
    for prefix, base in (("0b", 2), ("0o", 8)):  # strconv with an explicit base takes a sign after the prefix
        if plain.startswith(prefix) and (integer := _parse_int(plain[2:], base)) is not None:
            return integer
        if plain.startswith(prefix) and (integer := _parse_uint(plain[2:], base)) is not None:
            return integer
    return text


def _parse_uint(text: str, base: int) -> int | None:
    """strconv.ParseUint(text, base, 64), None for its errors (no sign; base 0 reads 0x, 0o, 0b and 0 prefixes)."""
    if not text:
        return None
    if base == 0:
        base = 10
        if text[0] == "0":
            prefix = text[1:2].lower()
            if len(text) >= 3 and prefix in ("b", "o", "x"):
                base, text = {"b": 2, "o": 8, "x": 16}[prefix], text[2:]
            else:
                base, text = 8, text[1:]
    if any(c.lower() not in _HEX[:base] for c in text):
        return None
    if len(text.lstrip("0")) > 64:  # over 2**64 in any base (and more digits than int() reads in base 10)
        return None
    number = int(text.lstrip("0") or "0", base)
    return number if number < 1 << 64 else None


def _parse_int(text: str, base: int) -> int | None:
    """strconv.ParseInt(text, base, 64): an optional sign, then ParseUint, within int64."""
    negative = text[:1] == "-"
    magnitude = _parse_uint(text[1:] if text[:1] in ("+", "-") else text, base)
    if magnitude is None or magnitude > (1 << 63 if negative else (1 << 63) - 1):
        return None
    return -magnitude if negative else magnitude


def _float(text: str) -> float | None:
    """strconv.ParseFloat(text, 64) of a decimal text: an overflow to infinity is an error."""
    number = float(text)
    return None if math.isinf(number) else number


def _format_float(number: float) -> str:
    """strconv.FormatFloat(number, 'f', -1, 64): the shortest digits that read back, never an exponent."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    return format(Decimal(repr(number)).normalize(), "f")


def _timestamp(text: str) -> bool:
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return False
    try:  # time.Parse checks the month and the day of the month; Go has a year 0, a leap year like 2000
        date(int(match["y"]) or 2000, int(match["m"]), int(match["d"]))
    except ValueError:
        return False
    clock = match["time"] or match["local"]
    if clock is None:
        return True
    hour, minute, second = (int(part) for part in clock.replace(",", ".").split(".")[0].split(":"))
    return hour < 24 and minute < 60 and second < 60
