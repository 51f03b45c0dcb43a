"""The engine: evaluate(scan, policy, *, today) -> Decision. Pure: no I/O, no clock, no environment."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from gate.model import NO_FIXED_VERSION, Finding, FindingKind, Scan, Severity
from gate.policy.decision import (
    Action,
    Decision,
    FindingOutcome,
    ImageDecision,
    RuleResult,
    Verdict,
    Violation,
    WaivedFinding,
)
from gate.policy.freshness import stale_result
from gate.policy.image_checks import CHECKS
from gate.policy.matching import (
    FindingClasses,
    annotate_counted,
    counted_note,
    missing_intel_result,
    screen,
    skip_note,
    vex_result,
)
from gate.policy.os_support import os_result
from gate.policy.schema import Policy, Rule
from gate.policy.settings import MissingIntel, as_gated
from gate.policy.waivers import WaiverBook
from gate.words import quantity

__all__ = ["evaluate"]

_ACTION_ORDER = {Action.FAIL: 0, Action.WARN: 1, Action.INFO: 2, Action.OFF: 3}


def evaluate(scan: Scan, policy: Policy, *, today: date) -> Decision:
    """Decide one scan (one image) against a policy on the day `today`."""
    image = _evaluate_image(scan, policy, today)
    return Decision(verdict=image.verdict, today=today, policy=policy.name, images=(image,))


def _evaluate_image(scan: Scan, policy: Policy, today: date) -> ImageDecision:
    name = _display_name(scan)
    findings, unignored = _scanner_ignores(scan.findings, policy.settings.honor_scanner_ignores)
    active = [f for f in findings if f.suppressed is None]
    suppressed = tuple(f for f in findings if f.suppressed is not None)
    book = WaiverBook(
        policy.waivers,
        today=today,
        image=name,
        platform=scan.image.platform if scan.image is not None else "",
        warning_days=policy.settings.expiry_warning_days,
        policy_name=policy.name,
    )
    waiver_of = [book.waiver_for(f) for f in active]
    expired_of = [book.expired_for(f) for f in active]
    open_idx = {i for i in range(len(active)) if waiver_of[i] is None}
    classes = FindingClasses(active)

    results: list[RuleResult] = []
    violations: list[Violation] = []
    caught: dict[int, list[Rule]] = {}
    would_catch: dict[int, list[str]] = {}
    notes: list[str] = list(scan.warnings)
    os_check, os_violations, os_notes = os_result(
        scan.os, policy.settings.unsupported_os, several=len(scan.sources) > 1
    )
    notes.extend(os_notes)
    if unignored:
        notes.append(
            f"{quantity(unignored, 'finding')} the scanner's ignore rules left out: gated all the same "
            "(honor_scanner_ignores = false); "
            "a finding that must pass needs a waiver of the policy"
        )
    # on_missing_intel = "warn": (rule, finding, what it lacked) for findings a rule could not check
    unchecked: list[tuple[Rule, Finding, str]] = []
    for rule in policy.rules:
        if rule.action is Action.OFF:
            continue
        if rule.match is not None:
            scr = screen(rule, active, settings=policy.settings, today=today, classes=classes)
            hits = list(scr.hits)
            existing = 0
            if rule.scope == "new":  # with a baseline, findings it already had do not count
                existing = sum(1 for i in hits if active[i].baseline == "existing" and i in open_idx)
                hits = [i for i in hits if active[i].baseline != "existing"]
            for i in hits:
                if waiver_of[i] is not None:
                    would_catch.setdefault(i, []).append(rule.id)
            open_hits = [i for i in hits if i in open_idx]
            result = _budget_result(rule, len(open_hits), existing)
            result = result.model_copy(
                update={"explanation": result.explanation + counted_note(scr, open_hits)}
            )
            # A set: with on_missing_intel = fail, hits and missing can both be every finding.
            counted = set(hits)
            lacking = [i for i in scr.missing if i in open_idx and i not in counted]
            lacking = [i for i in lacking if rule.scope != "new" or active[i].baseline != "existing"]
            if scr.mode is MissingIntel.WARN:
                unchecked.extend((rule, active[i], scr.missing_text(i)) for i in lacking)
            elif note := skip_note(rule, scr, len(lacking), unavailable=scan.intel_unavailable):
                notes.append(note)
            results.append(result)
            if result.triggered:
                for i in open_hits:
                    caught.setdefault(i, []).append(rule)
                    if rule.action in (Action.FAIL, Action.WARN):
                        violations.append(
                            annotate_counted(_finding_violation(rule, active[i], expired_of[i]), scr, i)
                        )
        else:
            assert rule.image is not None
            for check_id in rule.image.check_ids():
                result, violation = _image_result(rule, check_id, scan, today)
                results.append(result)
                if violation is not None:
                    violations.append(violation)

    if skipped_checks := _not_an_image_note(policy, scan):
        notes.append(skipped_checks)
    open_findings = [active[i] for i in sorted(open_idx)]
    if note := _unknown_origin_note(policy, open_findings):
        notes.append(note)
    for extra in (
        missing_intel_result(unchecked),
        vex_result(open_findings, policy.settings.vex_under_investigation),
    ):
        if extra is not None:
            results.append(extra[0])
            violations.extend(extra[1])
    if os_check is not None:
        results.append(os_check)
        violations.extend(os_violations)
    if stale := stale_result(scan.times, policy.settings, today):
        results.append(stale[0])
        violations.extend(stale[1])
        notes.extend(stale[2])
    waiver_results, waiver_violations = book.review(policy.settings)
    results.extend(waiver_results)
    violations.extend(waiver_violations)

    # Outcomes and waived findings are listed most severe first: the findings are sorted once, for both (a
    # stable sort, so equal findings keep the report's order).
    order_keys = [_finding_order(f) for f in active]
    outcomes = []
    waived = []
    for i in sorted(range(len(active)), key=order_keys.__getitem__):
        finding = active[i]
        rules = caught.get(i, [])
        if len(rules) > 1:
            rules = sorted(rules, key=lambda r: _ACTION_ORDER[r.action])
        waiver = waiver_of[i]
        outcomes.append(
            FindingOutcome(
                finding=finding,
                action=rules[0].action if rules else None,
                rules=tuple(r.id for r in rules),
                waiver_id=waiver.id if waiver else None,
                expired_waivers=tuple(w.id for w in expired_of[i]),
            )
        )
        if waiver is not None:
            waived.append(
                WaivedFinding(
                    finding=finding,
                    waiver_id=waiver.id,
                    reason=waiver.reason,
                    expires=waiver.expires,
                    owner=waiver.owner,
                    rules=tuple(would_catch.get(i, [])),
                )
            )
    return ImageDecision(
        name=name,
        sources=scan.sources or (scan.source,),
        scanners=scan.scanners or (scan.scanner,),
        scanner_version=scan.scanner_version,
        artifact_type=scan.artifact_type,
        image=scan.image,
        verdict=Verdict.worst(r.verdict for r in results),
        rules=tuple(results),
        violations=tuple(sorted(violations, key=_violation_order)),
        outcomes=tuple(outcomes),
        waived=tuple(waived),
        suppressed=tuple(sorted(suppressed, key=_finding_order)),
        waivers=book.statuses(),
        notes=tuple(notes),
    )


def _not_an_image_note(policy: Policy, scan: Scan) -> str | None:
    """Which image checks that could fail or warn did not run because the report is not of an image: a reader
    of a passing `trivy fs` report under a policy with image checks must not take them for passed."""
    if not scan.artifact_type or scan.is_image:
        return None
    skipped = [
        check
        for rule in policy.rules
        if rule.image is not None and rule.action in (Action.FAIL, Action.WARN)
        for check in rule.image.check_ids()
    ]
    if not skipped:
        return None
    return (
        f"image checks not run ({', '.join(dict.fromkeys(skipped))}): the report is not of a container image "
        f"(artifact type {scan.artifact_type[:40]!r})"
    )


def _scanner_ignores(findings: Sequence[Finding], honor: bool) -> tuple[Sequence[Finding], int]:
    """The findings as the gate decides on them (`as_gated`), and how many suppressions that undid."""
    if honor:
        return findings, 0
    gated = [as_gated(f, honor) for f in findings]
    return gated, sum(1 for a, b in zip(findings, gated, strict=True) if a is not b)


def _budget_result(rule: Rule, count: int, existing: int = 0) -> RuleResult:
    if rule.max is None:
        triggered = count > 0
        noun = "finding matches" if count == 1 else "findings match"
        explanation = f"{count} {noun}" if count else "no finding matches"
    else:
        triggered = count > rule.max
        explanation = f"{count} of at most {rule.max} allowed " + (
            "(over budget)" if triggered else "(within budget)"
        )
    if existing:
        explanation += f"; {existing} already in the baseline, not counted"
    return RuleResult(
        rule_id=rule.id,
        title=rule.title or rule.id,
        help=rule.help,
        action=rule.action,
        subject="findings",
        matched=count,
        max=rule.max,
        triggered=triggered,
        explanation=explanation,
        existing=existing,
    )


def _finding_violation(rule: Rule, finding: Finding, expired: Sequence[object]) -> Violation:
    why = [f"{finding.severity.value.lower()} {finding.kind.value}"]
    if finding.kind is FindingKind.VULNERABILITY:
        if finding.fixable:
            why.append(
                f"fixed in {', '.join(finding.fixed_versions)}"
                if finding.fixed_versions
                else NO_FIXED_VERSION
            )
        else:
            why.append("no fix yet")
        if finding.kev:
            why.append("known exploited")
    if rule.max is not None:
        why.append(f"over the budget of {rule.max}")
    if expired:
        why.append("its waiver has expired")
    if finding.origin == "base":
        why.append("inherited from the base image: update the base image")
    elif finding.origin == "own":
        why.append("added by the image's own layers: fix your layers")
    return Violation(
        rule_id=rule.id,
        action=rule.action,
        id=finding.id,
        severity=finding.severity,
        message="; ".join(why),
        finding=finding,
    )


def _image_result(rule: Rule, check_id: str, scan: Scan, today: date) -> tuple[RuleResult, Violation | None]:
    def result(explanation: str, *, triggered: bool = False) -> RuleResult:
        return RuleResult(
            rule_id=rule.id,
            title=rule.title or rule.id,
            help=rule.help,
            action=rule.action,
            subject=check_id,
            matched=int(triggered),
            triggered=triggered,
            explanation=explanation,
        )

    if scan.artifact_type and not scan.is_image:
        return result("not applicable: the report is not of a container image"), None
    if scan.image is None:  # an old Trivy list or a report that does not say what it scanned: fail closed
        message = (
            "cannot check: the report does not say it is of a container image and carries no image config; "
            "pass --image-metadata with docker inspect, podman inspect or skopeo inspect --config"
        )
    else:
        assert rule.image is not None
        outcome = CHECKS[check_id](scan.image, rule.image, today)
        if outcome.passed:
            return result(outcome.message), None
        message = outcome.message if outcome.passed is False else f"cannot check: {outcome.message}"
    failed = result(message, triggered=True)
    if rule.action not in (Action.FAIL, Action.WARN):
        return failed, None
    severity = Severity.HIGH if rule.action is Action.FAIL else Severity.MEDIUM
    return failed, Violation(
        rule_id=rule.id, action=rule.action, id=check_id, severity=severity, message=message
    )


def _unknown_origin_note(policy: Policy, findings: Sequence[Finding]) -> str:
    """A note when rules select by `layer` but some findings could not be placed (they count as own)."""
    if not any(rule.match is not None and rule.match.layer is not None for rule in policy.rules):
        return ""
    unknown = sum(1 for f in findings if f.origin is None)
    if not unknown:
        return ""
    noun = "finding's layer is" if unknown == 1 else "findings' layers are"
    return (
        f"layer attribution: {unknown} {noun} not known to be the base image's or the image's own; "
        "`layer` rules count them as own (see docs/image-checks.md)"
    )


def _display_name(scan: Scan) -> str:
    if scan.image is not None and scan.image.reference:
        return scan.image.reference
    return scan.artifact or scan.source


def _finding_order(f: Finding) -> tuple[int, str, str, str]:
    package = f.package.name if f.package else ""
    version = f.package.version if f.package else ""
    return (-f.severity.rank, f.id, package, version)


def _violation_order(v: Violation) -> tuple[int, int, str, str, str]:
    package = v.package or ""
    return (_ACTION_ORDER[v.action], -v.severity.rank, v.rule_id, v.id, package + "@" + (v.version or ""))
