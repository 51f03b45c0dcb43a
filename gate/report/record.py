"""The decision record (`--json`): the stable, machine-readable form of a Decision.

Its JSON Schema is docs/decision-record.schema.json; `record_version` changes only when a field changes meaning.
"""

from __future__ import annotations

import json
from typing import Any

from gate.model import Finding
from gate.policy.decision import Decision, ImageDecision, Violation

__all__ = ["RECORD_VERSION", "record", "render"]

RECORD_VERSION = 1


def render(decision: Decision) -> str:
    """The decision record as JSON text (sorted keys, two-space indent, trailing newline)."""
    return json.dumps(record(decision), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def record(decision: Decision) -> dict[str, Any]:
    """The decision record as a JSON-ready dict."""
    violations = [_violation(v, image) for image in decision.images for v in image.violations]
    waived = [
        {
            "image": image.name,
            "id": w.finding.id,
            "package": w.finding.package.name if w.finding.package else None,
            "version": w.finding.package.version if w.finding.package else None,
            "severity": w.finding.severity.value,
            "waiver": w.waiver_id,
            "reason": w.reason,
            "expires": w.expires.isoformat(),
            "owner": w.owner or None,
            "rules": list(w.rules),
        }
        for image in decision.images
        for w in image.waived
    ]
    return {
        "record_version": RECORD_VERSION,
        "verdict": decision.verdict.value,
        "today": decision.today.isoformat(),
        "policy": decision.policy,
        "violations": violations,
        "waived": waived,
        "counts": _counts(decision),
        "images": [_image(image) for image in decision.images],
    }


def _violation(v: Violation, image: ImageDecision) -> dict[str, Any]:
    return {
        "rule": v.rule_id,
        "action": v.action.value,
        "id": v.id,
        "package": v.package,
        "version": v.version,
        "severity": v.severity.value,
        "fixed_versions": list(v.finding.fixed_versions) if v.finding else [],
        "kind": v.finding.kind.value if v.finding else "image",
        "message": v.message,
        "image": image.name,
    }


def _counts(decision: Decision) -> dict[str, Any]:
    violations = decision.violations
    severities: dict[str, int] = {}
    for image in decision.images:
        for severity, count in image.severity_counts().items():
            severities[severity.value] = severities.get(severity.value, 0) + count
    return {
        "failed": sum(1 for v in violations if v.action.value == "fail"),
        "warned": sum(1 for v in violations if v.action.value == "warn"),
        "waived": sum(len(i.waived) for i in decision.images),
        "suppressed": sum(len(i.suppressed) for i in decision.images),
        "findings": sum(len(i.outcomes) for i in decision.images),
        "severity": severities,
    }


def _image(image: ImageDecision) -> dict[str, Any]:
    return {
        "name": image.name,
        "verdict": image.verdict.value,
        "sources": list(image.sources),
        "scanners": list(image.scanners),
        "artifact_type": image.artifact_type,
        "rules": [
            {
                "id": r.rule_id,
                "title": r.title,
                "action": r.action.value,
                "subject": r.subject,
                "matched": r.matched,
                "max": r.max,
                "triggered": r.triggered,
                "verdict": r.verdict.value,
                "explanation": r.explanation,
            }
            for r in image.rules
        ],
        "waivers": [
            {
                "id": w.waiver_id,
                "state": w.state.value,
                "expires": w.expires.isoformat(),
                "days_left": w.days_left,
                "matched": w.matched,
                "reason": w.reason,
                "owner": w.owner or None,
            }
            for w in image.waivers
        ],
        "suppressed": [_finding_ref(f) | {"statement": f.suppressed.statement if f.suppressed else ""}
                       for f in image.suppressed],
        "notes": list(image.notes),
    }


def _finding_ref(f: Finding) -> dict[str, Any]:
    return {
        "id": f.id,
        "package": f.package.name if f.package else None,
        "version": f.package.version if f.package else None,
        "severity": f.severity.value,
    }
