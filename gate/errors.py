"""Errors the gate raises for things a user can fix.

    GateError
    ├── InputError     a report or metadata file that cannot be read or is not what it claims
    ├── PolicyError    a policy file with problems (each with its location)
    └── OutputError    an output file that cannot be written

The CLI turns every GateError into one line on stderr and exit code 2.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "GateError",
    "InputError",
    "OutputError",
    "PolicyError",
    "field_path",
    "field_problem",
    "problem_and_value",
    "short_value",
]


class GateError(Exception):
    """Base of every error a user can act on; the message says what to do."""


class InputError(GateError):
    """A report or metadata file is missing, unreadable, malformed or of the wrong kind."""


class OutputError(GateError):
    """An output could not be written."""


class PolicyError(GateError):
    """A policy file is invalid; `problems` holds every problem as `source: location: message`."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        # One line each: a problem quotes the policy's text, and a line of its own could pass for a CI command.
        self.problems = tuple(" ".join(p.split()) for p in problems)
        super().__init__("\n".join(f"{source}: {p}" for p in self.problems))


_JSON_WORDS = {"object": "an object", "array": "an array", "string": "text"}
_TOML_WORDS = {"object": "a table", "array": "an array", "string": "a string"}
_EXPECTED = {
    "dict_type": "object",
    "model_type": "object",
    "model_attributes_type": "object",
    "dataclass_type": "object",
    "dataclass_exact_type": "object",
    "list_type": "array",
    "tuple_type": "array",
    "set_type": "array",
    "frozen_set_type": "array",
    "iterable_type": "array",
    "string_type": "string",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number (not NaN or an infinity)",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "date_type": "a date (YYYY-MM-DD)",
    "date_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_inexact": "a date (YYYY-MM-DD)",
    "datetime_type": "a date and time (RFC 3339)",
    "datetime_parsing": "a date and time (RFC 3339)",
}
_BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "more than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}


def field_problem(err: Mapping[str, Any], *, toml: bool = False) -> str:
    """What one validation error (a pydantic error dict) means, in the words of the file's format.

    No location: the caller names the field. Never the validator's jargon ("Input should be a valid
    dictionary or instance of _History") or an internal type name. `toml` picks TOML's words (table,
    array, string) over JSON's (object, array, text).
    """
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return "missing"
    if kind in _EXPECTED:
        word = _EXPECTED[kind]
        return f"expected {(_TOML_WORDS if toml else _JSON_WORDS).get(word, word)}"
    if kind in ("literal_error", "enum") and "expected" in ctx:
        return f"expected {ctx['expected']}"
    if kind in _BOUNDS and _BOUNDS[kind][0] in ctx:
        key, words = _BOUNDS[kind]
        return f"must be {words} {ctx[key]}"
    message = str(err.get("msg", ""))
    if kind in ("value_error", "assertion_error"):  # the gate's own validators: already in the user's words
        return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return message[:1].lower() + message[1:]


def short_value(value: object, *, toml: bool = False, limit: int = 40) -> str:
    """A value a file holds, for a message's `(got ...)`: a short repr of a scalar (at most `limit` characters),
    the kind of a container (never its text), in the words of the file's format (`toml`: a table, a date as
    written; else JSON's object)."""
    words = _TOML_WORDS if toml else _JSON_WORDS
    if isinstance(value, dict):
        return words["object"]
    if isinstance(value, list):
        return words["array"]
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def field_path(loc: Iterable[int | str], under: str = "") -> str:
    """Where a validation error is, after `under`: `Results[0].Vulnerabilities[3].Severity`; "" for the top.

    The validator's own steps (`function-after`, private names) are no keys of the file and are left out.
    """
    out = under
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in ("function-after", "function-plain") and not part.startswith("_"):
            out += f".{part}" if out else part
    return out


def problem_and_value(err: Mapping[str, Any]) -> str:
    """`missing`, or what a JSON file should hold and what it held: `expected text (got 7)`."""
    if err["type"] == "missing":  # the input is the object that lacks the key: naming it says nothing
        return "missing"
    return f"{field_problem(err)} (got {short_value(err.get('input'))})"
