"""The Markdown summary (`--summary`) and the pull/merge-request comment body (`--comment`).

Rendered from jinja2 templates shipped in gate/templates: the verdict first, then each failing rule with a
table of its findings, warnings, waivers (used, expiring, expired, unused), counts per severity and the image
facts; long lists fold under `<details>`. Every value the templates print goes through the Markdown escaper
(`_text.markdown`) unless the renderer built it from escaped parts (`Safe`). A summary stays under 1 MiB and
a comment under 65,536 characters: detail is dropped, and the text says so.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gate.model import NO_FIXED_VERSION, Finding
from gate.policy.decision import (
    DATABASE_AGE,
    UNSUPPORTED_OS_RULE,
    WAIVER_RULE_IDS,
    Action,
    Decision,
    ImageDecision,
    RuleResult,
    Trend,
    Verdict,
    Violation,
    WaiverState,
)
from gate.report import _text
from gate.report._common import (
    MAX_SARIF_RESULTS,
    Results,
    advisory_url,
    digest,
    image_key,
    image_titles,
    joined,
    waits_for_platform,
)
from gate.words import quantity

__all__ = [
    "MAX_COMMENT_CHARS",
    "MAX_SUMMARY_BYTES",
    "Safe",
    "comment_marker",
    "render",
    "render_comment",
]

_IMAGE_CHARS = 200
"""The longest image title in a heading; a longer name is cut before its platform."""
MAX_SUMMARY_BYTES = 1_000_000
"""GitHub aborts a step summary over 1 MiB (1,048,576 bytes); the gate keeps a margin."""
MAX_COMMENT_CHARS = 60_000
"""GitHub refuses a comment over 65,536 characters; the gate keeps a margin. Counted in UTF-16 units
(`_text.utf16_length`, as `gate comment` counts), so an emoji-heavy comment is not cut again there."""
_VISIBLE_ROWS = 10
_ICONS = {Verdict.PASS: "✅", Verdict.WARN: "⚠️", Verdict.FAIL: "❌"}
_DASH = "\u2013"
_FINDING_COLUMNS = ["ID", "Package", "Installed → Fixed", "Severity", "Why"]


class Safe(str):
    """Markdown the renderer built from escaped parts: the templates print it as it is."""


_NOTHING = Safe("")


def _md(text: str, limit: int | None = 300) -> Safe:
    return Safe(_text.markdown(text, limit))


@dataclass(frozen=True)
class _Detail:
    """How much of the decision a rendering shows."""

    rows: int | None
    """Rows per table (shown and folded); None for all."""
    facts: bool = True
    notes: int = 50
    images: int | None = None


_LEVELS = (
    _Detail(rows=None),
    _Detail(rows=2000),
    _Detail(rows=500),
    _Detail(rows=200),
    _Detail(rows=100),
    _Detail(rows=25),
    _Detail(rows=5, notes=5),
    _Detail(rows=0, facts=False, notes=0),
    _Detail(rows=0, facts=False, notes=0, images=20),
    _Detail(rows=0, facts=False, notes=0, images=1),
)


def comment_marker(decision: Decision) -> str:
    """The hidden first line of a comment, `<!-- container-gate:<key> -->`, stable for the same images.

    The key is the image's repository path (no registry, tag or digest); for several images, their keys
    joined by `+`, or a hash of them when that would be long.
    """
    keys = sorted({image_key(image.name) for image in decision.images}) or ["none"]
    key = "+".join(keys)
    if len(key) > 200:
        key = "sha256-" + digest(*keys)[:32]
    return f"<!-- container-gate:{key} -->"


def render(decision: Decision, *, results: Results | None = None) -> str:
    """The summary as Markdown, under MAX_SUMMARY_BYTES (UTF-8) whatever the decision holds; `results` holds the
    images' results (which it counts) when other renderers of the run share them."""
    return _render(
        decision,
        marker="",
        size=lambda text: len(text.encode("utf-8")),
        budget=MAX_SUMMARY_BYTES,
        limit="1 MiB (GitHub's step-summary limit)",
        results=results,
    )


def render_comment(decision: Decision, *, results: Results | None = None) -> str:
    """The comment body: the comment marker, then the summary, at most MAX_COMMENT_CHARS UTF-16 units."""
    return _render(
        decision,
        marker=comment_marker(decision),
        size=_text.utf16_length,
        budget=MAX_COMMENT_CHARS,
        limit="65,536 characters (GitHub's comment limit)",
        results=results,
    )


def _render(
    decision: Decision,
    *,
    marker: str,
    size: Callable[[str], int],
    budget: int,
    limit: str,
    results: Results | None = None,
) -> str:
    import jinja2

    # Not HTML: Markdown. `_finalize` escapes every printed value for Markdown instead (S701 is about HTML).
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gate", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_finalize,
    )
    template = env.get_template("summary.md.j2")
    text = ""
    memo: dict[tuple[int, str], Any] = {}
    results = Results() if results is None else results
    for index, detail in enumerate(_LEVELS):
        context = _context(
            decision, detail, marker=marker, cut=index > 0, limit=limit, memo=memo, results=results
        )
        if _cells(context) > budget and index < len(_LEVELS) - 1:
            continue  # the table cells alone are too long: no need to render this level
        text = _tidy(template.render(context))
        if size(text) <= budget:
            return text
    # Unreachable for any decision the engine makes (the last level prints a few clipped lines); kept as a fence.
    note = f"\n\n> The summary was cut to stay under {limit}.\n"
    while size(text + note) > budget:  # whole lines only: a cut inside one could split an entity or escape
        text = text[: max(text.rfind("\n", 0, len(text) * 9 // 10), 0)]
    return text + note


def _finalize(value: Any) -> Any:
    """Every printed value: Safe and template-made Markup as they are, everything else Markdown-escaped."""
    if isinstance(value, Safe) or type(value).__name__ == "Markup":
        return value
    return _text.markdown(str(value), None)


def _tidy(text: str) -> str:
    """At most one blank line in a row, one newline at the end."""
    lines: list[str] = []
    for line in text.splitlines():
        if line.strip() or (lines and lines[-1].strip()):
            lines.append(line.rstrip() if line.strip() else "")
    return "\n".join(lines).strip("\n") + "\n"


# --- view model -----------------------------------------------------------------------------------------


@dataclass
class _Block:
    """A table that shows its first rows, folds the rest and says what was left out."""

    columns: list[str]
    shown: list[list[str]] = field(default_factory=list)
    folded: list[list[str]] = field(default_factory=list)
    dropped: Safe = _NOTHING
    total: int = 0


def _block(columns: list[str], rows: Sequence[list[str]], detail: _Detail, what: str) -> _Block:
    kept = list(rows) if detail.rows is None else list(rows[: detail.rows])
    dropped = Safe("")
    if len(kept) < len(rows):
        dropped = Safe(
            f"… and {len(rows) - len(kept)} more {what} not shown here to keep this text within its size "
            "limit; the decision record (`--json`) lists all of them."
        )
    return _Block(columns, kept[:_VISIBLE_ROWS], kept[_VISIBLE_ROWS:], dropped, len(rows))


def _cells(value: Any) -> int:
    """Characters in the table cells of a context: a lower bound of the rendered text's size."""
    if isinstance(value, _Block):
        return sum(len(cell) + 3 for row in (*value.shown, *value.folded) for cell in row)
    if isinstance(value, dict):
        return sum(_cells(v) for v in value.values())
    if isinstance(value, list):
        return sum(_cells(v) for v in value)
    return 0


def _memo(memo: dict[tuple[int, str], Any], image: ImageDecision, key: str, make: Callable[[], Any]) -> Any:
    """`make()` once per image and key within one rendering (the detail levels share it)."""
    if (id(image), key) not in memo:
        memo[(id(image), key)] = make()
    return memo[(id(image), key)]


def _context(
    decision: Decision,
    detail: _Detail,
    *,
    marker: str,
    cut: bool,
    limit: str,
    memo: dict[tuple[int, str], Any],
    results: Results,
) -> dict[str, Any]:
    every = decision.images
    shown = list(range(len(every)))
    if detail.images is not None and len(every) > detail.images:
        # What failed, then what warned, survives the cut (in the decision's order within a verdict).
        shown = sorted(sorted(shown, key=lambda n: -every[n].verdict.rank)[: detail.images])
    images = [every[n] for n in shown]
    titles = image_titles(every, _IMAGE_CHARS)
    notices = []
    if cut:
        notices.append(
            Safe(
                f"Some detail was left out to keep this text under {limit}. The decision record (`--json`) "
                "and the SARIF and JUnit files carry the rest."
            )
        )
    dropped_images = Safe("")
    if len(images) < len(decision.images):
        kept = set(shown)
        left = [image.verdict for n, image in enumerate(every) if n not in kept]
        verdicts = ", ".join(f"{left.count(v)} {v.value}" for v in reversed(Verdict) if v in left)
        dropped_images = Safe(
            f"{len(left)} more images are not shown here ({verdicts}); the failing ones are shown first."
        )
    return {
        "marker": Safe(marker),
        "icon": Safe(_ICONS[decision.verdict]),
        "verdict": decision.verdict.value.upper(),
        "headline": _headline(decision),
        "notices": notices,
        "images": [
            _image(image, titles[n], detail, memo, results) for n, image in zip(shown, images, strict=True)
        ],
        "images_dropped": dropped_images,
    }


_WAIVER_NOUNS = {rule_id: f"{state.value} waiver" for state, rule_id in WAIVER_RULE_IDS.items()}
_FAILURE_NOUNS = (
    "failing finding",
    "failing image check",
    *_WAIVER_NOUNS.values(),
    "stale report",
    "stale vulnerability database",
    "unsupported operating system",
)
"""What a failing violation can be, in the headline's order: findings, image checks, waivers, reports, the OS."""


def _failure_noun(violation: Violation) -> str:
    """The headline's noun for a failing violation: a violation without a finding is an image check, a waiver
    (the built-in waiver rules), a report (the built-in stale-report rule) or the image's operating system (the
    built-in unsupported-os rule, which is no image check: its data is the scanner's), never a finding."""
    about = violation.about
    if about == "finding":
        return "failing finding"
    if about == "waiver":
        return _WAIVER_NOUNS[violation.rule_id]
    if about == "report":
        return "stale vulnerability database" if violation.id == DATABASE_AGE else "stale report"
    if violation.rule_id == UNSUPPORTED_OS_RULE:
        return "unsupported operating system"
    return "failing image check"


def _failures(decision: Decision) -> str:
    """The failing violations counted by what they are: `2 failing findings and 1 failing image check`."""
    counts = dict.fromkeys(_FAILURE_NOUNS, 0)
    for v in decision.violations:
        if v.action is Action.FAIL:
            counts[_failure_noun(v)] += 1
    parts = [quantity(count, noun) for noun, count in counts.items() if count]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _headline(decision: Decision) -> Safe:
    violations = decision.violations
    fails = [v for v in violations if v.action is Action.FAIL]
    warns = [v for v in violations if v.action is Action.WARN]
    # Rules of the policy, not rule results: a rule that several images fail counts once.
    fail_rules = {
        r.rule_id for image in decision.images for r in image.rules if r.triggered and r.action is Action.FAIL
    }
    parts = []
    if fails:
        parts.append(f"**{_failures(decision)}** under {quantity(len(fail_rules), 'rule')}")
    else:
        parts.append("No rule failed")
    parts.append(quantity(len(warns), "warning"))
    waived = sum(len(i.waived) for i in decision.images)
    if waived:
        parts.append(f"{waived} waived")
    findings = sum(len(i.outcomes) for i in decision.images)
    parts.append(f"{quantity(findings, 'finding')} in {quantity(len(decision.images), 'image')}")
    return Safe(
        ", ".join(parts) + f". Policy {_md(decision.policy, 200)}, evaluated {decision.today.isoformat()}."
    )


def _finding_rows(violations: Sequence[Violation]) -> list[list[str]]:
    rows = []
    md = functools.cache(_md)  # IDs, packages, versions and the rule's messages repeat across its findings
    link = functools.cache(_linked_id)
    for v in violations:
        f = v.finding
        assert f is not None
        ident = link(v.id)
        if f.kev:
            ident = Safe(ident + " (KEV)")
        package = md(f.package.name, 120) if f.package else md(f.target, 120)
        installed = f.package.version if f.package else ""
        if f.fixed_versions:
            versions = Safe(f"{md(installed, 60) or _DASH} → {md(joined(f.fixed_versions, 3), 120)}")
        elif f.package is not None:
            fix = NO_FIXED_VERSION if f.fixable else "no fix"
            versions = Safe(f"{md(installed, 60) or _DASH} → {fix}")
        else:
            versions = Safe(_DASH)
        rows.append([ident, package, versions, f.severity.value, md(v.message, 300)])
    return rows


def _linked_id(finding_id: str) -> Safe:
    """The finding's ID, linked to its advisory when the ID is a well-formed one."""
    url = advisory_url(finding_id)
    return Safe(f"[{_md(finding_id, 100)}]({url})") if url else _md(finding_id, 100)


def _rule_view(
    rule: RuleResult, image: ImageDecision, detail: _Detail, memo: dict[tuple[int, str], Any]
) -> dict[str, Any]:
    def rows() -> list[list[str]]:
        return _finding_rows(
            [v for v in image.violations if v.rule_id == rule.rule_id and v.finding is not None]
        )

    text = f"Rule {_md(rule.name, 140)}: {_md(rule.explanation, 300)}."
    if rule.help:
        text += " " + _md(rule.help, 500)
    return {
        "title": _md(rule.title, 200),
        "text": Safe(text),
        "block": _block(
            _FINDING_COLUMNS, _memo(memo, image, "rule:" + rule.rule_id, rows), detail, "findings"
        ),
    }


def _waiver_state(state: WaiverState, days_left: int) -> str:
    if state is WaiverState.EXPIRED:
        return f"expired {quantity(-days_left, 'day')} ago"  # a waiver expires the day after its `expires`
    if state is WaiverState.EXPIRING:
        return f"expires in {quantity(days_left, 'day')}" if days_left else "expires today"
    return str(state.value)


def _image(
    image: ImageDecision, title: str, detail: _Detail, memo: dict[tuple[int, str], Any], results: Results
) -> dict[str, Any]:
    failing = [r for r in image.rules if r.triggered and r.action is Action.FAIL]
    warnings = [r for r in image.rules if r.triggered and r.action is Action.WARN]
    # A `platforms` column only when a waiver here has that scope: the tables of other policies stay as they
    # were.
    scoped = any(w.platforms is not None for w in image.waivers)
    waiver_columns = [
        "Waiver",
        "State",
        "Expires",
        "Matched",
        "Owner",
        *(["Platforms"] if scoped else []),
        "Reason",
    ]
    waiver_rows = [
        [
            _md(w.waiver_id, 100),
            _waiver_state(w.state, w.days_left),
            w.expires.isoformat(),
            str(w.matched),
            _md(w.owner, 60) if w.owner else _DASH,
            *([_md(", ".join(w.platforms), 200) if w.platforms is not None else _DASH] if scoped else []),
            _md(w.reason, 300),
        ]
        for w in image.waivers
    ]
    waiver_lines = []
    by_state = {s: [w for w in image.waivers if w.state is s] for s in WaiverState}
    if by_state[WaiverState.EXPIRED]:
        ids = _md(joined([w.waiver_id for w in by_state[WaiverState.EXPIRED]]), 300)
        waiver_lines.append(
            Safe(f"❌ Expired, so no longer waiving: {ids}. Fix the findings or renew the waivers.")
        )
    if by_state[WaiverState.EXPIRING]:
        soon = by_state[WaiverState.EXPIRING]
        ids = _md(joined([f"{w.waiver_id} ({w.days_left} d)" for w in soon]), 300)
        waiver_lines.append(Safe(f"⚠️ Expiring soon: {ids}."))
    waiting = [w for w in by_state[WaiverState.UNUSED] if waits_for_platform(w, image)]
    unused = [w for w in by_state[WaiverState.UNUSED] if not waits_for_platform(w, image)]
    if waiting:
        ids = _md(joined([w.waiver_id for w in waiting]), 300)
        waiver_lines.append(
            Safe(
                f"Not applied, the image's platform is unknown: {ids}. They name platforms; give "
                "--image-metadata with the image's config."
            )
        )
    if unused:
        ids = _md(joined([w.waiver_id for w in unused]), 300)
        waiver_lines.append(Safe(f"Unused (matched nothing; remove them if no longer needed): {ids}."))
    waived_rows = []
    for w in image.waived:
        f = w.finding
        ident = _linked_id(f.id)
        package = _md(f.package.name, 120) if f.package else _md(f.target, 120)
        waived_rows.append(
            [
                ident,
                package,
                _md(f.package.version if f.package else "", 60) or _DASH,
                f.severity.value,
                _md(w.waiver_id, 100),
                w.expires.isoformat(),
            ]
        )
    suppressed_rows = []
    for f in image.suppressed:
        ident = _linked_id(f.id)
        why = f.suppressed
        suppressed_rows.append(
            [
                ident,
                _md(f.package.name, 120) if f.package else _md(f.target, 120),
                _md(f.package.version if f.package else "", 60) or _DASH,
                f.severity.value,
                _md(why.status, 40) if why else _DASH,
                _md(why.statement, 300) if why and why.statement else _DASH,
                _md(why.source, 120) if why and why.source else _DASH,
            ]
        )
    counts = _memo(memo, image, "counts", image.severity_counts)
    count_columns = [s.value.capitalize() for s in counts] + ["Waived", "Suppressed (scanner or VEX)"]
    count_values = [str(n) for n in counts.values()] + [str(len(image.waived)), str(len(image.suppressed))]
    count_lines = []
    total = _memo(memo, image, "sarif", lambda: results.count(image, suppressed=True))
    if total > MAX_SARIF_RESULTS:
        count_lines.append(
            Safe(
                f"GitHub code scanning stores at most {MAX_SARIF_RESULTS:,} results per image: the SARIF file "
                f"(`--sarif`) keeps at most the {MAX_SARIF_RESULTS:,} most severe of {total:,} (fewer when the "
                "file would pass 10 MB gzipped) and says how many in its run's properties."
            )
        )
    return {
        "icon": Safe(_ICONS[image.verdict]),
        "name": _md(title, _IMAGE_CHARS),
        "verdict": image.verdict.value.upper(),
        "failing": [_rule_view(r, image, detail, memo) for r in failing],
        "warnings": [_rule_view(r, image, detail, memo) for r in warnings],
        "waivers": _block(waiver_columns, waiver_rows, detail, "waivers"),
        "waiver_lines": waiver_lines,
        "waived": _block(
            ["ID", "Package", "Installed", "Severity", "Waiver", "Expires"],
            waived_rows,
            detail,
            "waived findings",
        ),
        "suppressed": _block(
            ["ID", "Package", "Installed", "Severity", "Status", "Statement", "Source"],
            suppressed_rows,
            detail,
            "suppressed findings",
        ),
        "count_columns": count_columns,
        "count_values": count_values,
        "count_lines": count_lines,
        "facts": _facts(image) if detail.facts else [],
        "notes": [_md(n, 500) for n in image.notes[: detail.notes]],
        **_merge_view(image, detail),
    }


_TRENDS = {Trend.BETTER: "better ✅", Trend.SAME: "unchanged", Trend.WORSE: "worse ❌"}


def _merge_view(image: ImageDecision, detail: _Detail) -> dict[str, Any]:
    """The ratchet against a baseline (--baseline), and what only one of several scanners found."""
    columns = ["ID", "Package", "Installed", "Severity"]

    def rows(findings: Sequence[Finding], *, scanner: bool = False) -> list[list[str]]:
        out = []
        for f in findings:
            ident = _linked_id(f.id)
            package = _md(f.package.name, 120) if f.package else _md(f.target, 120)
            row = [ident, package, _md(f.package.version if f.package else "", 60) or _DASH, f.severity.value]
            out.append([*row, joined(f.reported_by)] if scanner else row)
        return out

    ratchet: dict[str, Any] | None = None
    if image.baseline is not None:
        r = image.baseline
        ratchet = {
            "text": Safe(
                f"Compared with the baseline {_md(r.baseline, 200)} ({_md(joined(r.sources, 3), 300)}): "
                f'**{_TRENDS[r.trend]}**. Rules count only new findings unless they say `scope = "all"`.'
            ),
            "columns": ["New", "Fixed", "Still present"],
            "counts": [str(r.new), str(len(r.fixed)), str(r.existing)],
            "fixed": _block(columns, rows(r.fixed), detail, "fixed findings"),
        }
    single: list[Finding] = []
    if len(image.scanners) > 1:
        single = [o.finding for o in image.outcomes if len(o.finding.reported_by) == 1]
    return {
        "ratchet": ratchet,
        "single": _block([*columns, "Found by"], rows(single, scanner=True), detail, "findings"),
        "single_text": Safe(
            f"{len(single)} of {quantity(len(image.outcomes), 'finding')} reported by only one of the scanners "
            f"({_md(joined(image.scanners), 100)})."
        ),
    }


def _facts(image: ImageDecision) -> list[list[str]]:
    facts: list[tuple[str, str]] = []
    info = image.image
    if info is not None:
        facts += [("Reference", info.reference), ("Image ID", info.image_id)]
        facts += [("Digest", joined(info.repo_digests, 3)), ("Operating system", info.os)]
        if info.config_known:
            facts.append(("User", info.user or "(not set: root)"))
        if info.created is not None and info.created.year > 1:  # Go's zero time, 0001-01-01, means unknown
            facts.append(("Created", info.created.isoformat()))
        if info.size is not None:
            facts.append(("Size", f"{info.size / 1_000_000:.1f} MB"))
        if info.diff_ids:
            facts.append(("Layers", str(len(info.diff_ids))))
        if info.exposed_ports:
            facts.append(("Exposed ports", joined(info.exposed_ports, 10)))
        if info.labels:
            facts.append(("Labels", quantity(len(info.labels), "label")))
    facts += [("Artifact type", image.artifact_type), ("Scanners", joined(image.scanners))]
    facts.append(("Reports", joined(image.sources, 3)))
    return [[label, _md(value, 200)] for label, value in facts if value]
