"""The base of the wire types: the parts of scanner reports and image metadata the gate reads.

A wrong type is an error (strict); an unknown key is not (ignored). The types a report holds thousands of
are pydantic dataclasses with slots (`@dataclass(config=WIRE, slots=True, kw_only=True)`): a third of the
memory of models at the same speed. The few top-level types are models (`Wire`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from gate.model import Severity

__all__ = [
    "WIRE",
    "ByteCount",
    "CvssScore",
    "FindingID",
    "Probability",
    "SeverityWord",
    "Wire",
    "misplaced_key",
]

WIRE = ConfigDict(extra="ignore", strict=True)
"""The configuration of every wire type."""


def _known(text: str | None) -> str | None:
    if text in _AS_WRITTEN:  # what scanners write for nearly every finding: no need to parse it
        return text
    if text is not None and not text.strip():
        # Blank says no more than empty: None, so a Trivy finding still takes its vendor severity
        return None
    if (
        text
        and text.strip()
        and Severity.parse(text) is Severity.UNKNOWN
        and text.strip().upper() != "UNKNOWN"
    ):
        raise ValueError("not a severity word gate knows (critical, high, medium, low, negligible, unknown)")
    return text


_AS_WRITTEN = frozenset(s.value for s in Severity) | {s.value.capitalize() for s in Severity}
"""Trivy's words (CRITICAL) and Grype's (Critical)."""


SeverityWord = Annotated[str | None, AfterValidator(_known)]
"""A scanner's severity: a word gate does not know is an error, not a finding quietly counted as UNKNOWN."""


CvssScore = Annotated[float, Field(ge=0, le=10, allow_inf_nan=False)]
"""A CVSS base score: 0 to 10. NaN, an infinity or a score out of range would match no `cvss` rule."""
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
"""An EPSS probability or percentile: 0 to 1, for the same reason."""
ByteCount = Annotated[int, Field(ge=0)]
"""An image's or a layer's size in bytes: a negative size would pass any `max_size_mb`."""


def _named(text: str) -> str:
    if not _visible(text):
        raise ValueError("empty; every finding a scanner writes has an ID")
    return text


def _visible(text: str) -> bool:
    """True when `text` shows a character. An ID of only blanks and invisible characters (bidi marks,
    zero-width or control characters, which the outputs drop) names nothing: GitLab refuses a report whose
    vulnerability has no identifier."""
    if text.isprintable():  # the common case: no invisible character to look past
        return bool(text.strip())
    return any(c.isprintable() and not c.isspace() for c in text)


FindingID = Annotated[str, AfterValidator(_named)]
"""A finding's ID (CVE, GHSA, a rule ID): blank (or only invisible characters) is a malformed report, not a
finding no output can name."""


class Wire(BaseModel):
    """A top-level wire type."""

    model_config = WIRE


def misplaced_key(
    extra: Mapping[str, Any] | None, lists: Sequence[str], item_keys: Mapping[str, str]
) -> tuple[str, str] | None:
    """An unknown key that may hold what one of `lists` holds, and the list meant; None when there is none.

    Such a key is one of `lists` in another case or misspelt (`vulnerabilities`, `Vulnerabilites`), or holds an
    object with a key of `item_keys` (lower case -> the list such objects belong in), at any depth: as list
    items, as the values of an object, or further down. Scanners write their keys in one spelling: either means the
    report was rewritten, and reading past it would pass findings never checked. A key much longer or shorter is
    another key (a later scanner's `MisconfigurationSummary`), not a typo.
    """
    for key, value in (extra or {}).items():
        folded = key.lower()
        for name in lists:
            if (
                abs(len(name) - len(key)) <= 2
                and difflib.SequenceMatcher(None, folded, name.lower()).ratio() >= 0.8
            ):
                return key, name
        meant = _holds_findings(value, item_keys) if item_keys else None
        if meant is not None:
            return key, meant
    return None


def _holds_findings(value: object, item_keys: Mapping[str, str]) -> str | None:
    """The list meant when `value` is, or holds at any depth, an object with a key of `item_keys`.

    The depth is bounded by the decoder's own nesting limit; only keys the wire types leave unknown are walked.
    """
    if isinstance(value, dict):
        meant = next((item_keys[k.lower()] for k in value if k.lower() in item_keys), None)
        if meant is not None:
            return meant
        children: Iterable[object] = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return None
    for child in children:
        if isinstance(child, (dict, list)) and (meant := _holds_findings(child, item_keys)):
            return meant
    return None
