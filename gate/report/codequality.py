"""GitLab's code-quality report (`--codequality`, `artifacts:reports:codequality`).

One entry per violation (what failed or warned), each with a description, the policy rule as `check_name`,
a fingerprint stable across runs and package version bumps, a severity, and a location: the Dockerfile's
final FROM line when a Dockerfile is given (GitLab then marks the line in merge requests), otherwise the
image's stable pseudo-path at line 1. The format is in PLATFORMS.md C.2.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from gate.model import Severity
from gate.policy.decision import Action, Decision, ImageDecision, Violation
from gate.report import _text
from gate.report._common import (
    FileLocation,
    check_scope,
    digest,
    image_keys,
    image_titles,
    json_bytes,
    pseudo_path,
    to_json,
)

__all__ = ["encode", "render"]

_SEVERITY = {
    Severity.CRITICAL: "critical",
    Severity.HIGH: "major",
    Severity.MEDIUM: "minor",
    Severity.LOW: "info",
    Severity.NEGLIGIBLE: "info",
    Severity.UNKNOWN: "info",
}
_IMAGE_CHARS = 200
_RANK = ("info", "minor", "major", "critical", "blocker")
_FLOOR = {Action.FAIL: "major", Action.WARN: "minor"}
"""A failing entry (a finding, an image check, a waiver, a stale report) is at least major, a warning at least
minor, whatever the severity."""


def render(decision: Decision, *, location: FileLocation | None = None) -> str:
    """The code-quality report as JSON text (an array; UTF-8 without BOM)."""
    return to_json(_entries(decision, location))


def encode(decision: Decision, *, location: FileLocation | None = None) -> list[bytes]:
    """What `render` writes, as UTF-8 bytes in pieces (`json_bytes`): for writing a large report to a file."""
    return json_bytes(_entries(decision, location))


def _entries(decision: Decision, location: FileLocation | None) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    # Packages, versions, rules and messages repeat across violations, and paths across a package's
    # violations: each is escaped once (caches local to this call).
    line = functools.cache(_text.one_line)
    path = functools.cache(pseudo_path)
    titles = image_titles(decision.images, _IMAGE_CHARS)  # images of one name for two platforms read as two
    for image, title, key in zip(decision.images, titles, image_keys(decision), strict=True):
        # One package version in several places (two copies of a library) is a violation each: their entries say
        # where each copy is, as the log does.
        copies = [_copy(violation) for violation in image.violations]
        places: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)
        for copy in copies:
            if copy is not None:
                places[copy[0]].add(copy[1])
        for violation, copy in zip(image.violations, copies, strict=True):
            where = copy[1] if copy is not None and len(places[copy[0]]) > 1 else ""
            entry = _entry(violation, image, title, key, location, line, path, where)
            fingerprint = entry["fingerprint"]
            n = 1
            while fingerprint in seen:  # same rule, ID and package twice (other versions or paths)
                n += 1
                fingerprint = digest(entry["fingerprint"], str(n))
            seen.add(fingerprint)
            entry["fingerprint"] = fingerprint
            entries.append(entry)
    return entries


def _copy(v: Violation) -> tuple[tuple[str, str, str, str], str] | None:
    """(rule, ID, package, version) of a violation of a package, and the file that copy is in (else the target)."""
    f = v.finding
    if f is None or f.package is None:
        return None
    return (v.rule_id, v.id, f.package.name, f.package.version), f.package.path or f.target


def _entry(
    v: Violation,
    image: ImageDecision,
    title: str,
    key: str,
    location: FileLocation | None,
    line: Callable[[str, int | None], str],
    path: Callable[[str, str], str],
    place: str = "",
) -> dict[str, Any]:
    """One entry; `title` names the image (`image_titles`); `line` is `_text.one_line` and `path` is `pseudo_path`,
    remembered across entries; `place`, when given, is the file of this copy of the package."""
    f = v.finding
    subject = line(v.id, 200)
    if f is not None and f.package is not None:
        where = f.package.name
        subject += f" in {line(f.package.name, 200)} {line(f.package.version, 100)}".rstrip()
        if place:
            tail = line(place, 10_000)
            subject += f" (in {tail if len(tail) <= 100 else '…' + tail[-99:]})"
    elif f is not None:
        where = f.target or f.kind.value
        if f.target:
            subject += f" in {line(f.target, 200)}"
    else:
        where = check_scope(v, image)
    verb = "fails" if v.action is Action.FAIL else "warns"
    description = (
        f"{subject}, image {line(title, _IMAGE_CHARS)}: {line(v.message, 300)} "
        f"({verb} rule {line(v.rule_id, 100)})"
    )
    severity = _SEVERITY[v.severity]
    floor = _FLOOR.get(v.action, "info")
    if _RANK.index(floor) > _RANK.index(severity):
        severity = floor
    if location is not None:
        file, begin = location.path, location.line
    else:
        file, begin = path(key, where), 1
    return {
        "type": "issue",
        "check_name": line(v.rule_id, 200) or "container-gate",
        "description": description,
        "categories": ["Security"],
        "fingerprint": digest("container-gate", key, v.rule_id, v.id, where),
        "severity": severity,
        "location": {"path": file, "lines": {"begin": begin}},
    }
