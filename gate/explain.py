"""`gate explain ID`: for one finding, the data the gate has, each rule that considered it and why, and any
waiver, VEX statement or scanner suppression; for a rule or image check, how it came out on each image.

Pure: scans, a policy and a date in, text out. Every string from a report or a VEX file goes through `safe()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from gate.model import NO_FIXED_VERSION, Finding, FindingKind, Scan
from gate.policy.decision import Action, ImageDecision, combine
from gate.policy.engine import evaluate
from gate.policy.matching import MISSING_INTEL_RULE, VEX_RULE, KeyState, check_match, chosen_cvss
from gate.policy.schema import Policy, Rule
from gate.policy.settings import MissingIntel, as_gated
from gate.policy.waivers import review_run, waiver_mismatch
from gate.report._common import image_titles
from gate.report.log import safe
from gate.words import quantity

__all__ = ["explain", "explain_rule", "find"]


def find(finding_id: str, scans: Sequence[Scan]) -> list[tuple[Scan, Finding]]:
    """Every finding of `scans` whose ID or an alias is `finding_id` (case-insensitive), in report order."""
    wanted = finding_id.strip().upper()
    return [(s, f) for s in scans for f in s.findings if any(i.upper() == wanted for i in f.all_ids)]


def explain(finding_id: str, scans: Sequence[Scan], policy: Policy, *, today: date) -> str | None:
    """The explanation of every finding with ID (or alias) `finding_id`; None when no report has it."""
    hits = find(finding_id, scans)
    if not hits:
        return None
    # Every image is decided, not only those with the finding: an image of one name for two platforms (a
    # multi-architecture build) is titled with its platform, as gate check titles it.
    decided = [evaluate(scan, policy, today=today).images[0] for scan in scans]
    titles = dict(zip(map(id, scans), image_titles(decided, _IMAGE_CHARS), strict=True))
    decisions = dict(zip(map(id, scans), decided, strict=True))
    blocks = [_block(f, scan, decisions[id(scan)], titles[id(scan)], policy, today) for scan, f in hits]
    head = (
        f"{safe(finding_id)}: {quantity(len(hits), 'finding')} "
        f"(policy {safe(policy.name)}, {today.isoformat()})"
    )
    return "\n\n".join([head, *blocks]) + "\n"


_SUBJECTS = ("findings", "waivers", "reports")
"""Rule subjects that are not an image check's ID (an ID of one of these names no rule)."""
_MAX_VIOLATIONS = 20
_IMAGE_CHARS = 200


def explain_rule(rule_id: str, scans: Sequence[Scan], policy: Policy, *, today: date) -> str | None:
    """How the rule (policy or built-in) or image check `rule_id` came out on each image, as `gate check` decides
    the run; None when no image has a result of that ID."""
    wanted = rule_id.strip()
    decision = review_run(combine(evaluate(scan, policy, today=today) for scan in scans))
    titles = image_titles(decision.images, _IMAGE_CHARS)  # images of one name for two platforms read as two
    blocks = [
        _rule_block(r.rule_id, r.subject, image, title)
        for image, title in zip(decision.images, titles, strict=True)
        for r in image.rules
        if r.rule_id == wanted or (r.subject == wanted and r.subject not in _SUBJECTS)
    ]
    if not blocks:
        return None
    head = (
        f"{safe(wanted)}: {quantity(len(blocks), 'rule result')} "
        f"(policy {safe(policy.name)}, {today.isoformat()})"
    )
    return "\n\n".join([head, *blocks]) + "\n"


def _rule_block(rule_id: str, subject: str, image: ImageDecision, title: str) -> str:
    r = next(r for r in image.rules if r.rule_id == rule_id and r.subject == subject)
    state = f"triggered: {r.verdict.value.upper()}" if r.triggered else "passed"
    lines = [f"{safe(r.name)} ({r.action.value}) on {safe(title, _IMAGE_CHARS)}: {state}"]
    lines.append(f"  {safe(r.title)}: {safe(r.explanation, 1000)}")
    if r.triggered and r.help:
        lines.append(f"  what to do: {safe(r.help, 500)}")
    hits = [
        v for v in image.violations if v.rule_id == rule_id and (r.subject in _SUBJECTS or v.id == subject)
    ]
    if r.subject == "findings" and hits:
        lines.append(f"  findings ({len(hits)}; `gate explain ID` explains one):")
    elif hits and r.subject in _SUBJECTS:
        lines.append(f"  {r.subject}:")
    if r.subject in _SUBJECTS:
        for v in hits[:_MAX_VIOLATIONS]:
            package = f" {safe(v.package, 80)} {safe(v.version or '', 40)}".rstrip() if v.package else ""
            lines.append(f"    {safe(v.id, 100)}{package}: {safe(v.message, 300)}")
        if len(hits) > _MAX_VIOLATIONS:
            lines.append(
                f"    ... and {len(hits) - _MAX_VIOLATIONS} more (see gate check --summary or --json)"
            )
    return "\n".join(lines)


def _block(
    reported: Finding, scan: Scan, image: ImageDecision, title: str, policy: Policy, today: date
) -> str:
    f = as_gated(reported, policy.settings.honor_scanner_ignores)
    lines = [_title(f), f"  image: {safe(title)} ({safe(scan.source)}, {_scanner(scan)})"]
    lines.append(f"  outcome: {_outcome(f, image)}")
    lines.append("  data:")
    lines += [f"    {line}" for line in _data(f, policy, today)]
    lines.append("  rules:")
    for rule in policy.rules:
        lines.append(f"    {_rule_line(rule, f, image, policy, today)}")
    for v in image.violations:
        if v.rule_id in (MISSING_INTEL_RULE, VEX_RULE) and v.finding == f:
            lines.append(f"    {v.rule_id} ({v.action.value}): {safe(v.message, 300)}")
    lines.append("  waivers:")
    lines += [f"    {line}" for line in _waivers(f, image, policy, today)]
    lines.append("  VEX: " + _vex(f, image, policy))
    if reported.suppressed is not None and (
        reported.vex is None or not reported.suppressed.source.startswith("VEX ")
    ):
        s = reported.suppressed
        why = f": {safe(s.statement, 300)}" if s.statement else ""
        undone = "; gated all the same (honor_scanner_ignores = false)" if f.suppressed is None else ""
        lines.append(
            f"  scanner suppression: {safe(s.status)} by {safe(s.source or 'the scanner')}{why}{undone}"
        )
    return "\n".join(lines)


def _title(f: Finding) -> str:
    aliases = f" (aliases: {', '.join(safe(a, 80) for a in f.aliases)})" if f.aliases else ""
    where = ""
    if f.package is not None:
        kind = f" [{safe(f.package.type, 40)}]" if f.package.type else ""
        where = f" in {safe(f.package.name, 120)} {safe(f.package.version, 60)}{kind}".rstrip()
    elif f.target:
        where = f" in {safe(f.target, 120)}"
    return f"{safe(f.id, 100)}{aliases}{where}"


def _scanner(scan: Scan) -> str:
    return f"{scan.scanner} {safe(scan.scanner_version, 40)}".strip()


def _outcome(f: Finding, image: ImageDecision) -> str:
    if f.suppressed is not None:
        return f"suppressed ({safe(f.suppressed.statement, 200) or safe(f.suppressed.status)}); not gated"
    waived = next((w for w in image.waived if w.finding == f), None)
    if waived is not None:
        return f"waived by {safe(waived.waiver_id)} until {waived.expires} ({safe(waived.reason, 200)})"
    outcome = next((o for o in image.outcomes if o.finding == f), None)
    if outcome is None or outcome.action is None:
        return "reported; no rule caught it"
    return f"{outcome.action.value.upper()} by {', '.join(outcome.rules)}"


def _data(f: Finding, policy: Policy, today: date) -> list[str]:
    out = [f"kind: {f.kind.value}; severity: {f.severity.value}"]
    if f.kind is not FindingKind.VULNERABILITY:
        if f.title:
            out.append(f"title: {safe(f.title)}")
        return out
    if f.fixable:
        fix = f"fixed in {safe(', '.join(f.fixed_versions), 120)}" if f.fixed_versions else NO_FIXED_VERSION
    else:
        fix = f"no fix ({f.fix_state.value})"
    out.append(f"fix: {fix}")
    if f.package is not None and f.package.purl:
        out.append(f"purl: {safe(f.package.purl)}")
    if f.package is not None and f.package.path:
        out.append(f"path: {safe(f.package.path)}")
    if f.cvss:
        scores = "; ".join(
            f"{safe(c.source, 40)} v{c.version} {c.score:g}"
            if c.score is not None
            else f"{safe(c.source, 40)} v{c.version}"
            for c in f.cvss
        )
        chosen = chosen_cvss(f, policy.settings.cvss_source)
        used = (
            f"{chosen.score:g} ({safe(chosen.source, 40)} v{chosen.version})"
            if chosen and chosen.score is not None
            else "none"
        )
        out.append(
            f"CVSS: {scores}; `cvss` compares {used} (cvss_source = {policy.settings.cvss_source.value})"
        )
    else:
        out.append("CVSS: none in the report")
    kev = {True: "listed in CISA KEV", False: "not listed in CISA KEV", None: "unknown (no KEV data)"}[f.kev]
    out.append(f"KEV: {kev}")
    epss = (
        "unknown"
        if f.epss is None
        else f"{f.epss:g}" + (f" (percentile {f.epss_percentile:g})" if f.epss_percentile is not None else "")
    )
    out.append(f"EPSS: {epss}")
    if f.risk is not None:
        out.append(f"risk: {f.risk:.4g} (Grype's, for display only)")
    out.append(f"published: {_when(f.published, today, 'the report gives no published date')}")
    if f.fixable:
        out.append(f"fix available since: {_when(f.fix_date, today, _no_fix_date(f))}")
    return out


def _when(day: date | None, today: date, unknown: str) -> str:
    if day is None:
        return f"unknown ({unknown})"
    return f"{day.isoformat()} ({quantity((today - day).days, 'day')} before {today.isoformat()})"


def _no_fix_date(f: Finding) -> str:
    if f.scanner == "trivy":
        return "Trivy reports carry no fix date"
    return "the Grype report has no fix.available dates"


def _rule_line(rule: Rule, f: Finding, image: ImageDecision, policy: Policy, today: date) -> str:
    head = f"{rule.id} ({rule.action.value})"
    if rule.match is None:
        return f"{head}: an image check, not about findings"
    checks = check_match(f, rule.match, today=today, cvss_source=policy.settings.cvss_source)
    failed = [c for c in checks if c.state is KeyState.FAIL]
    missing = [c for c in checks if c.state is KeyState.MISSING]
    if failed:
        return f"{head}: does not match: " + "; ".join(f"{c.key}: {safe(c.detail, 200)}" for c in failed)
    held = (
        "; ".join(f"{c.key}: {safe(c.detail, 200)}" for c in checks if c.state is KeyState.PASS) or "no keys"
    )
    if missing:
        mode = rule.on_missing_intel or policy.settings.on_missing_intel
        gaps = "; ".join(f"{c.key}: {safe(c.detail, 200)}" for c in missing)
        effect = {
            MissingIntel.FAIL: "counted as matching",
            MissingIntel.WARN: "not counted; reported under missing-intel",
            MissingIntel.SKIP: "not counted; noted",
        }[mode]
        excluded = _excluded(rule, f, image)
        if mode is not MissingIntel.FAIL and excluded:  # the engine reports only findings it would count
            effect = f"not counted: {excluded}"
        head += f": data missing ({gaps}); on_missing_intel = {mode.value}: {effect}"
        if mode is not MissingIntel.FAIL:
            return head
        head += f"; the other keys hold ({held})"
    else:
        head += f": matches ({held})"
    return head + _counted(rule, f, image)


def _excluded(rule: Rule, f: Finding, image: ImageDecision) -> str:
    """Why the rule does not count `f` whatever it matches: suppressed, existing (scope new), or waived; else ""."""
    if f.suppressed is not None:
        return "suppressed"
    # Before the waiver: the engine leaves an existing finding out of a scope-new rule whether or not it is
    # waived, so the record lists no such rule among those the waiver kept off (`WaivedFinding.rules`).
    if f.baseline == "existing" and rule.scope == "new":
        return "already in the baseline (scope = new)"
    if any(w.finding == f for w in image.waived):
        return "waived"
    return ""


def _counted(rule: Rule, f: Finding, image: ImageDecision) -> str:
    result = next((r for r in image.rules if r.rule_id == rule.id), None)
    excluded = _excluded(rule, f, image)
    if excluded:  # the engine leaves these out of every rule's count (a scope-new rule: existing ones)
        return f"; not counted: {excluded}"
    outcome = next((o for o in image.outcomes if o.finding == f), None)
    if outcome is not None and rule.id in outcome.rules:
        return f"; the rule triggered ({safe(result.explanation, 200) if result else ''})"
    why = safe(result.explanation, 200) if result else "not evaluated"
    return f"; the rule did not trigger ({why})"


def _waivers(f: Finding, image: ImageDecision, policy: Policy, today: date) -> list[str]:
    ids = {i.upper() for i in f.all_ids}
    relevant = [w for w in policy.waivers if w.id.upper() in ids]
    if not relevant:
        return ["none names this finding"]
    out = []
    for w in relevant:
        who = f", owner {safe(w.owner)}" if w.owner else ""
        head = f"{safe(w.id)} (expires {w.expires}{who}; reason: {safe(w.reason, 200)})"
        platform = image.image.platform if image.image is not None else ""
        mismatch = waiver_mismatch(w, f, image=image.name, platform=platform)
        if mismatch is not None:
            out.append(f"{head}: does not apply: {safe(mismatch, 300)}")
        elif w.expires < today:
            out.append(
                f"{head}: EXPIRED {quantity((today - w.expires).days, 'day')} ago; it no longer waives"
            )
        elif f.suppressed is not None:  # the engine matches waivers against gated findings only
            out.append(
                f"{head}: not used: the finding is suppressed, and only findings the gate gates use a waiver"
            )
        else:
            left = (w.expires - today).days
            out.append(f"{head}: applies ({quantity(left, 'day') + ' left' if left else 'its last day'})")
    return out


def _vex(f: Finding, image: ImageDecision, policy: Policy) -> str:
    if f.vex is None:
        return "no statement"
    v = f.vex
    why = f" ({safe(v.justification)})" if v.justification else ""
    words = f": {safe(v.statement, 300)}" if v.statement else ""
    if v.status.value in ("not_affected", "fixed"):
        effect = "suppressed"
    elif f.suppressed is not None:
        # The scanner's own VEX statement or ignore rule (one the policy honors) stays: a statement that the
        # finding is affected does not lift it, and the finding is not gated.
        effect = f"stays suppressed by {safe(f.suppressed.source or 'the scanner')}; not gated"
    elif v.status.value == "affected":
        effect = "stays active"
    else:
        effect = "stays active; " + _under_investigation(f, image, policy)
    return f"{v.status.value}{why}{words} [{safe(v.source)}] -> {effect}"


def _under_investigation(f: Finding, image: ImageDecision, policy: Policy) -> str:
    """What the built-in vex-under-investigation rule did with the active finding `f`, as the engine decided it."""
    action = policy.settings.vex_under_investigation
    if any(w.finding == f for w in image.waived):
        return f"{VEX_RULE} does not count it: waived"
    verb = {Action.FAIL: "fails", Action.WARN: "warns", Action.INFO: "lists it (info)", Action.OFF: "is off"}
    return f"{VEX_RULE} {verb[action]}"
