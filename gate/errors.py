"""Errors the gate raises for things a user can fix.

    GateError
    ├── InputError     a report or metadata file that cannot be read or is not what it claims
    ├── PolicyError    a policy file with problems (each with its location)
    └── OutputError    an output file that cannot be written

The CLI turns every GateError into one line on stderr and exit code 2.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["GateError", "InputError", "OutputError", "PolicyError"]


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
