"""The base of the wire types: the parts of scanner reports and image metadata the gate reads.

A wrong type is an error (strict); an unknown key is not (ignored). The types a report holds thousands of
are pydantic dataclasses with slots (`@dataclass(config=WIRE, slots=True, kw_only=True)`): a third of the
memory of models at the same speed. The few top-level types are models (`Wire`).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

from gate.model import Severity

__all__ = ["WIRE", "FindingID", "SeverityWord", "Wire"]

WIRE = ConfigDict(extra="ignore", strict=True)
"""The configuration of every wire type."""


def _known(text: str | None) -> str | None:
    if (
        text
        and text.strip()
        and Severity.parse(text) is Severity.UNKNOWN
        and text.strip().upper() != "UNKNOWN"
    ):
        raise ValueError("not a severity word gate knows (critical, high, medium, low, negligible, unknown)")
    return text


SeverityWord = Annotated[str | None, AfterValidator(_known)]
"""A scanner's severity: a word gate does not know is an error, not a finding quietly counted as UNKNOWN."""


def _named(text: str) -> str:
    if not text.strip():
        raise ValueError("empty; every finding a scanner writes has an ID")
    return text


FindingID = Annotated[str, AfterValidator(_named)]
"""A finding's ID (CVE, GHSA, a rule ID): blank is a malformed report, not a finding no output can name."""


class Wire(BaseModel):
    """A top-level wire type."""

    model_config = WIRE
