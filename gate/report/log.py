"""The human log: verdict first, then what failed grouped by rule, then warnings, waivers and counts.

Every string from a report passes through `safe()`: no control bytes, terminal escapes, bidi overrides or lone
surrogates, and nothing that could start a CI workflow command (`::`, `##[`).
"""

from __future__ import annotations

import re
from collections import defaultdict

from gate.policy.decision import Action, Decision, ImageDecision, Violation, WaiverState
from gate.report import _text
from gate.report._common import image_titles, waits_for_platform
from gate.words import quantity

__all__ = ["render_log", "safe"]

_CONTROL = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
_MAX_PER_RULE = 20
_IMAGE_CHARS = 200


def safe(text: str, limit: int = 200) -> str:
    """Report text made harmless for a CI log: one line, printable, no `::`, at most `limit` characters."""
    cleaned = _text.no_commands(_CONTROL.sub(" ", text))
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def render_log(decision: Decision) -> str:
    """The log text for a decision."""
    lines = [_headline(decision)]
    for image, title in zip(decision.images, image_titles(decision.images, _IMAGE_CHARS), strict=True):
        lines.append("")
        lines.extend(_image_lines(image, title, multi=len(decision.images) > 1))
    return "\n".join(lines) + "\n"


def _headline(decision: Decision) -> str:
    fails = sum(1 for v in decision.violations if v.action is Action.FAIL)
    warns = sum(1 for v in decision.violations if v.action is Action.WARN)
    where = quantity(len(decision.images), "image")
    return (
        f"gate: {decision.verdict.value.upper()}: {fails} failing, {quantity(warns, 'warning')} in {where} "
        f"(policy {safe(decision.policy)}, {decision.today.isoformat()})"
    )


def _image_lines(image: ImageDecision, title: str, *, multi: bool) -> list[str]:
    lines = [
        f"{safe(title, _IMAGE_CHARS)}: {image.verdict.value.upper()}"
        + (f" ({safe(', '.join(image.sources), 300)})" if multi else "")
    ]
    for note in image.notes:
        lines.append(f"  note: {safe(note, 300)}")
    for action, mark in ((Action.FAIL, "FAIL"), (Action.WARN, "WARN")):
        for rule in image.rules:
            if not rule.triggered or rule.action is not action:
                continue
            lines.append(f"  {mark} {safe(rule.name)}: {safe(rule.title)}: {safe(rule.explanation, 400)}")
            hits = [v for v in image.violations if v.rule_id == rule.rule_id and v.finding is not None]
            shown = hits[:_MAX_PER_RULE]
            # One package version in several places (two copies of a library) would print the same line twice:
            # those lines say where each copy is.
            places: dict[tuple[str, str, str] | None, set[str]] = defaultdict(set)
            for v in shown:
                places[_package_key(v)].add(_place(v))
            lines.extend(
                f"      {_violation_line(v, located=len(places[_package_key(v)]) > 1)}" for v in shown
            )
            if len(hits) > _MAX_PER_RULE:
                lines.append(f"      ... and {len(hits) - _MAX_PER_RULE} more (see --summary or --json)")
            if rule.subject == "reports":
                # Several reports stale or of an unsupported OS: the explanation joins them and may be cut, so each
                # says its own.
                stale = [v for v in image.violations if v.rule_id == rule.rule_id]
                if len(stale) > 1:
                    lines.extend(f"      {safe(v.id, 80)}: {safe(v.message, 300)}" for v in stale)
    lines.extend(_waiver_lines(image))
    counts = ", ".join(f"{n} {s.value.lower()}" for s, n in image.severity_counts().items() if n)
    extra = []
    if image.waived:
        extra.append(f"{len(image.waived)} waived")
    by_vex = sum(1 for f in image.suppressed if f.suppressed and f.suppressed.source.startswith("VEX "))
    if len(image.suppressed) > by_vex:
        extra.append(f"{len(image.suppressed) - by_vex} suppressed by the scanner")
    if by_vex:
        extra.append(f"{by_vex} suppressed by VEX (not_affected/fixed; see --summary or --json for why)")
    lines.append(f"  findings: {counts or 'none'}" + (f"; {', '.join(extra)}" if extra else ""))
    lines.extend(_merge_lines(image, multi=multi))
    return lines


def _merge_lines(image: ImageDecision, *, multi: bool) -> list[str]:
    """Which scanner found what (merged reports), and the ratchet against the baseline: with several images, its
    reports too, as the image's line gives its own (the baselines of a multi-architecture build share a name)."""
    lines = []
    if len(image.scanners) > 1:
        found = [o.finding.reported_by for o in image.outcomes]
        both = sum(1 for by in found if len(by) > 1)
        only = ", ".join(
            f"{sum(1 for by in found if by == (s,))} only by {safe(s, 20)}" for s in image.scanners
        )
        lines.append(f"  scanners: {both} found by {safe(' and '.join(image.scanners), 60)}, {only}")
    ratchet = image.baseline
    if ratchet is not None:
        lines.append(
            f"  baseline {safe(ratchet.baseline)}"
            + (f" ({safe(', '.join(ratchet.sources), 300)})" if multi else "")
            + f": {ratchet.new} new, {len(ratchet.fixed)} fixed, "
            f"{ratchet.existing} still present: {ratchet.trend.value}"
        )
    return lines


def _package_key(v: Violation) -> tuple[str, str, str] | None:
    f = v.finding
    return (v.id, f.package.name, f.package.version) if f is not None and f.package is not None else None


def _place(v: Violation) -> str:
    """The file a finding's package is in (its path, else the scanned target), or ""."""
    f = v.finding
    return (f.package.path or f.target) if f is not None and f.package is not None else ""


def _violation_line(v: Violation, *, located: bool = False) -> str:
    """`ID package version -> fixed [SEVERITY] message`; `located` adds where the package is (its file)."""
    f = v.finding
    assert f is not None
    where = ""
    if f.package is not None:
        where = f" {safe(f.package.name, 80)} {safe(f.package.version, 40)}".rstrip()
        if located and _place(v):
            where += f" (in {_tail(safe(_place(v), 10_000), 100)})"
        if f.fixed_versions:
            where += f" -> {safe(', '.join(f.fixed_versions), 60)}"
    elif f.target:
        where = f" in {safe(f.target, 80)}"
    return f"{safe(v.id, 80)}{where} [{v.severity.value}] {safe(v.message)}"


def _tail(text: str, limit: int) -> str:
    """The end of a path, which tells copies apart (`…/npm/node_modules/minimist/package.json`)."""
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


def _waiver_lines(image: ImageDecision) -> list[str]:
    lines = []
    for status in image.waivers:
        if status.state is WaiverState.EXPIRED:
            lines.append(
                f"  WAIVER {safe(status.waiver_id)} expired on {status.expires.isoformat()}: it no longer waives"
            )
        elif status.state is WaiverState.EXPIRING:
            days = status.days_left
            when = "today" if days == 0 else f"in {quantity(days, 'day')}"
            lines.append(f"  WAIVER {safe(status.waiver_id)} expires {when} ({status.expires})")
        elif waits_for_platform(status, image):
            platforms = safe(", ".join(status.platforms or ()), 120)
            lines.append(
                f"  WAIVER {safe(status.waiver_id)} did not apply: it is for {platforms} and the image's platform "
                "is unknown (give --image-metadata with the image's config)"
            )
        elif status.state is WaiverState.UNUSED:
            lines.append(
                f"  WAIVER {safe(status.waiver_id)} matched nothing: remove it if it is no longer needed"
            )
    return lines
