"""The decision record (`--json`): the stable, machine-readable form of a Decision.

Its JSON Schema is docs/decision-record.schema.json; `record_version` changes only when a field changes meaning.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from gate.errors import InputError, field_problem, short_value
from gate.jsontext import LONE_SURROGATE, has_lone_surrogate
from gate.model import Finding, Image
from gate.policy.decision import (
    Action,
    Decision,
    FindingOutcome,
    ImageDecision,
    Ratchet,
    RuleResult,
    Verdict,
    Violation,
    WaivedFinding,
    WaiverState,
    WaiverStatus,
)
from gate.policy.history import redacted_history
from gate.report._common import OnePerLine, json_chunks
from gate.report._text import clip

__all__ = ["RECORD_VERSION", "encode", "load_record", "record", "render"]

RECORD_VERSION = 1


def encode(decision: Decision) -> Iterator[bytes]:
    """The decision record as UTF-8 JSON (two-space indent, keys in a fixed order, trailing newline), in pieces;
    the full-fidelity sections of each image hold one compact entry per line.

    The record of a large report is as large as the report: it is written piece by piece, never held whole.
    """
    # The key order is fixed by the code below, so the text is deterministic without sorting.
    return json_chunks(_document(decision))


def render(decision: Decision) -> str:
    """The decision record as JSON text (what `encode` writes)."""
    return b"".join(encode(decision)).decode("utf-8")


def record(decision: Decision) -> dict[str, Any]:
    """The decision record as a JSON-ready dict (what `render` writes, parsed back)."""
    parsed: dict[str, Any] = json.loads(render(decision))
    return parsed


def _document(decision: Decision) -> dict[str, Any]:
    violations = [_violation(v, image) for image in decision.images for v in image.violations]
    waived = [
        {
            "image": image.name,
            "id": w.finding.id,
            "package": w.finding.package.name if w.finding.package else None,
            "version": w.finding.package.version if w.finding.package else None,
            "severity": w.finding.severity.value,
            **_waiver_fields(w),
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


def _waiver_fields(w: WaivedFinding) -> dict[str, Any]:
    """What the waiver of a waived finding says, as both `waived` lists of the record write it."""
    return {
        "waiver": w.waiver_id,
        "reason": w.reason,
        "expires": w.expires.isoformat(),
        "owner": w.owner or None,
        "rules": list(w.rules),
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
        "kind": _kind(v),
        "message": v.message,
        "image": image.name,
    }


def _kind(v: Violation) -> str:
    """What the violation is about: its finding's kind, or `waiver`, `report` (stale-report) or `image`."""
    return v.finding.kind.value if v.finding is not None else v.about


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
        "scanner_version": image.scanner_version,
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
                "help": r.help,
                "existing": r.existing,
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
                "platforms": list(w.platforms) if w.platforms is not None else None,
                "index": w.index,
            }
            for w in image.waivers
        ],
        "suppressed": [
            _finding_ref(f) | {"statement": f.suppressed.statement if f.suppressed else ""}
            for f in image.suppressed
        ],
        "notes": list(image.notes),
        **_detail(image),
    }


def _finding_ref(f: Finding) -> dict[str, Any]:
    return {
        "id": f.id,
        "package": f.package.name if f.package else None,
        "version": f.package.version if f.package else None,
        "severity": f.severity.value,
    }


# --- full fidelity: what `gate merge` needs to rebuild the Decision ---------------------------------------
# Each finding is written once, in `outcomes`; violations and waived findings point at it by index.


def _detail(image: ImageDecision) -> dict[str, Any]:
    """The parts of an image decision the summary keys above leave out, in full (for load_record)."""
    index = {id(o.finding): i for i, o in enumerate(image.outcomes)}
    # Read back by `gate merge`, not by people: one compact line per entry (indented, the text is half as large again).
    return {
        "image": _redacted(image.image),
        "outcomes": OnePerLine(
            {
                "finding": o.finding,
                "action": o.action.value if o.action is not None else None,
                "rules": list(o.rules),
                "waiver": o.waiver_id,
                "expired_waivers": list(o.expired_waivers),
            }
            for o in image.outcomes
        ),
        "violations": OnePerLine(
            {
                "rule": v.rule_id,
                "action": v.action.value,
                "id": v.id,
                "severity": v.severity.value,
                "message": v.message,
                "outcome": index[id(v.finding)] if v.finding is not None else None,
                # Only a waiver rule's violation names its waiver: the other lines stay as short as they were.
                **({"waiver_index": v.waiver_index} if v.waiver_index is not None else {}),
            }
            for v in image.violations
        ),
        "waived": OnePerLine({"outcome": index[id(w.finding)], **_waiver_fields(w)} for w in image.waived),
        "suppressed_findings": OnePerLine(image.suppressed),
        "baseline": image.baseline,
    }


def _redacted(image: Image | None) -> Image | None:
    """The image facts without environment values, nor the values of the ENV and ARG instructions and build
    arguments the build history repeats: they may hold credentials (names are kept)."""
    if image is None:
        return None
    env = tuple(e.split("=", 1)[0] + "=<redacted>" for e in image.env)
    history = tuple((redacted_history(created_by), empty) for created_by, empty in image.history)
    return image.model_copy(update={"env": env, "history": history})


def load_record(text: str | bytes, source: str) -> Decision:
    """Rebuild the Decision a decision record was written from.

    Raises InputError when the text is not JSON, not a decision record, of another `record_version`, or
    lacks the full-fidelity sections (`images[].outcomes`, ...) that `gate check --json` writes.
    """
    if not text.strip():
        raise InputError(
            f"{source}: the decision record is empty; check that the job's gate check --json finished"
        )
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InputError(
            f"{source}: not JSON ({_json_problem(exc)}); give the file gate check --json wrote"
        ) from None
    if has_lone_surrogate(text, data):
        raise InputError(
            f"{source}: the JSON holds {LONE_SURROGATE}; the record is damaged, write it again with gate check --json"
        )
    if not isinstance(data, dict) or "record_version" not in data or "images" not in data:
        raise InputError(f"{source}: not a gate decision record; give the file gate check --json wrote")
    version = data["record_version"]
    if not isinstance(version, (int, str)) or isinstance(version, bool):
        raise InputError(
            f"{source}: record_version: expected a whole number (got {short_value(version)}); give the file "
            "gate check --json wrote"
        )
    if version != RECORD_VERSION:
        raise InputError(
            f"{source}: decision record version {short_value(version)} is not supported (this gate reads "
            f"{RECORD_VERSION}); write the records and merge them with the same gate version"
        )
    try:
        if not isinstance(data["images"], list) or not all(isinstance(i, dict) for i in data["images"]):
            raise _Damaged("images: expected an array of objects")
        images = tuple(_load_image(item) for item in data["images"])
        decision = Decision(
            verdict=Verdict(data["verdict"]),
            today=data["today"],
            policy=data["policy"],
            images=images,
        )
    except (KeyError, TypeError, ValueError, IndexError, ValidationError) as exc:
        raise InputError(
            f"{source}: the decision record is incomplete or damaged: {_why(exc)}; write it again with "
            "gate check --json"
        ) from None
    _check_consistent(decision, source)
    _check_counts(data.get("counts"), decision, source)
    return decision


def _check_consistent(decision: Decision, source: str) -> None:
    """Raise InputError unless each verdict is the one its rule results give, as gate check writes them.

    `gate merge` passes on the verdicts it reads: a record edited or damaged to say pass must not. So each
    image has rule results (a policy always has rules), a findings rule triggered exactly when its matches are
    over its budget, each finding's rules triggered ones among them and its action the strongest of theirs, and
    each violation a triggered rule of its action (and, for a waiver rule's, one of the image's waivers).
    """
    damaged = "the record was edited or damaged, write it again with gate check --json"
    if not decision.images:
        raise InputError(f"{source}: the record decides no image; {damaged}")
    for image in decision.images:
        if not image.rules:
            raise InputError(f"{source}: {_quoted(image.name)} has no rule results; {damaged}")
        caught: Counter[str] = Counter()
        for o in image.outcomes:  # a scope = "all" rule catches findings the baseline had too
            if o.waiver_id is None:
                caught.update(o.rules)
        ids = {r.rule_id for r in image.rules}
        missing = sorted(set(caught) - ids)
        if missing:
            raise InputError(
                f"{source}: findings of {_quoted(image.name)} were caught by rule {_quoted(missing[0])}, "
                f"which has no result; {damaged}"
            )
        for r in image.rules:
            if r.subject != "findings":
                continue
            if r.triggered != (r.matched > (r.max or 0)):
                raise InputError(
                    f"{source}: rule {_quoted(r.rule_id)} of {_quoted(image.name)} matched {r.matched} "
                    f"(at most {r.max or 0}) but says triggered = {str(r.triggered).lower()}; {damaged}"
                )
            if r.rule_id in caught and r.matched != caught[r.rule_id]:
                raise InputError(
                    f"{source}: rule {_quoted(r.rule_id)} of {_quoted(image.name)} says it matched {r.matched} "
                    f"but caught {caught[r.rule_id]} findings; {damaged}"
                )
        # A finding's action is the strongest of the triggered rules that caught it: a rule edited to warn, or to
        # a budget it is within, leaves the action gate check gave its findings behind.
        actions = {r.rule_id: r.action for r in image.rules if r.subject == "findings" and r.triggered}
        for o in image.outcomes:
            quiet = next((rule_id for rule_id in o.rules if rule_id not in actions), None)
            if quiet is not None:
                raise InputError(
                    f"{source}: findings of {_quoted(image.name)} were caught by rule {_quoted(quiet)}, "
                    f"which did not trigger on findings; {damaged}"
                )
            expected_action = min(
                (actions[rule_id] for rule_id in o.rules), key=list(Action).index, default=None
            )
            if o.action is not expected_action:
                raise InputError(
                    f"{source}: {_quoted(o.finding.id)} of {_quoted(image.name)} has action "
                    f"{o.action.value if o.action else 'none'} but the rules that caught it give "
                    f"{expected_action.value if expected_action else 'none'}; {damaged}"
                )
        triggered = {(r.rule_id, r.action) for r in image.rules if r.triggered}
        waivers = {w.index for w in image.waivers}
        for v in image.violations:
            if (v.rule_id, v.action) not in triggered:
                raise InputError(
                    f"{source}: {_quoted(image.name)} has a {v.action.value} violation of rule {_quoted(v.rule_id)} "
                    "but no "
                    f"such rule triggered; {damaged}"
                )
            if v.waiver_index is not None and v.waiver_index not in waivers:
                raise InputError(
                    f"{source}: a {_quoted(v.rule_id)} violation of {_quoted(image.name)} names waiver index "
                    f"{v.waiver_index}, which none of its waivers has; {damaged}"
                )
        expected = Verdict.worst(r.verdict for r in image.rules)
        if image.verdict is not expected:
            raise InputError(
                f"{source}: the verdict of {_quoted(image.name)} is {image.verdict.value} but its rule results give "
                f"{expected.value}; {damaged}"
            )
    expected = Verdict.worst(image.verdict for image in decision.images)
    if decision.verdict is not expected:
        raise InputError(
            f"{source}: the record's verdict is {decision.verdict.value} but its images give {expected.value}; "
            f"{damaged}"
        )


def _check_counts(counts: object, decision: Decision, source: str) -> None:
    """Raise InputError unless the record's counts of failed and warned violations (what gate outputs reads) are
    those of its images: an image edited to pass leaves them behind."""
    for name, action in (("failed", Action.FAIL), ("warned", Action.WARN)):
        given = counts.get(name) if isinstance(counts, dict) else None
        actual = sum(1 for v in decision.violations if v.action is action)
        if not isinstance(given, int) or isinstance(given, bool) or given != actual:
            shown = (
                clip(str(given), 24)
                if isinstance(given, int) and not isinstance(given, bool)
                else "not a count"
            )
            raise InputError(
                f"{source}: the record's counts.{name} is {shown} but its images have {actual} {name} violations; "
                "the record was edited or damaged, write it again with gate check --json"
            )


class _Damaged(ValueError):
    """A record's section is not what gate check writes; the message says which, in JSON's words."""


_NOT_A_VALUE = re.compile(r"(.+) is not a valid ([A-Za-z]+)")


def _quoted(text: str) -> str:
    """A name the record holds (an image, a rule ID), quoted on one line and at most 100 characters."""
    return short_value(text, limit=100)


def _json_problem(exc: ValueError | RecursionError) -> str:
    """Why the text is not JSON, in JSON's words: never Python's ("maximum recursion depth exceeded")."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno}"
    return "nested too deeply" if isinstance(exc, RecursionError) else "a number too long to read"


def _why(exc: Exception) -> str:
    """What is wrong with the record, in JSON's words: never Python's ("'int' object is not subscriptable")."""
    if isinstance(exc, ValidationError):
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        return f"{where}: {field_problem(err)}" if where else field_problem(err)
    if isinstance(exc, KeyError):
        return f"{exc.args[0]!r} is missing (it may come from an older gate)"
    if isinstance(exc, _Damaged):
        return str(exc)
    found = _NOT_A_VALUE.fullmatch(str(exc)) if type(exc) is ValueError else None
    if found is not None:  # an enum's refusal: "'maybe' is not a valid Verdict"
        words = re.sub(r"(?<!^)(?=[A-Z])", " ", found.group(2)).lower()
        return f"{found.group(1)} is not a valid {words}"
    return "a value has the wrong JSON type"


def _finding_at(outcomes: tuple[FindingOutcome, ...], index: object) -> Finding:
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(outcomes):
        raise ValueError(f"outcome index {index!r} is out of range")
    return outcomes[index].finding


def _load_image(item: dict[str, Any]) -> ImageDecision:
    if "outcomes" not in item:
        raise KeyError("images[].outcomes")
    rules = tuple(
        RuleResult(
            rule_id=r["id"],
            title=r["title"],
            help=r.get("help", ""),
            action=Action(r["action"]),
            subject=r["subject"],
            matched=r["matched"],
            max=r["max"],
            triggered=r["triggered"],
            explanation=r["explanation"],
            existing=r.get("existing", 0),
        )
        for r in item["rules"]
    )
    waivers = tuple(
        WaiverStatus(
            waiver_id=w["id"],
            reason=w["reason"],
            expires=w["expires"],
            owner=w["owner"] or "",
            state=WaiverState(w["state"]),
            matched=w["matched"],
            days_left=w["days_left"],
            platforms=w.get("platforms"),  # absent from records of gates before the `platforms` scope
            index=w.get("index"),  # absent from records of older gates: review_run compares the facts
        )
        for w in item["waivers"]
    )
    outcomes = tuple(
        FindingOutcome(
            finding=Finding.model_validate(o["finding"]),
            action=Action(o["action"]) if o["action"] is not None else None,
            rules=tuple(o["rules"]),
            waiver_id=o["waiver"],
            expired_waivers=tuple(o["expired_waivers"]),
        )
        for o in item["outcomes"]
    )
    violations = tuple(
        Violation(
            rule_id=v["rule"],
            action=Action(v["action"]),
            id=v["id"],
            severity=v["severity"],
            message=v["message"],
            finding=_finding_at(outcomes, v["outcome"]) if v["outcome"] is not None else None,
            waiver_index=v.get("waiver_index"),
        )
        for v in item["violations"]
    )
    waived = tuple(
        WaivedFinding(
            finding=_finding_at(outcomes, w["outcome"]),
            waiver_id=w["waiver"],
            reason=w["reason"],
            expires=w["expires"],
            owner=w["owner"] or "",
            rules=tuple(w["rules"]),
        )
        for w in item["waived"]
    )
    return ImageDecision(
        name=item["name"],
        sources=tuple(item["sources"]),
        scanners=tuple(item["scanners"]),
        scanner_version=item.get("scanner_version", ""),
        artifact_type=item["artifact_type"],
        image=Image.model_validate(item["image"]) if item["image"] is not None else None,
        verdict=Verdict(item["verdict"]),
        rules=rules,
        violations=violations,
        outcomes=outcomes,
        waived=waived,
        suppressed=tuple(Finding.model_validate(f) for f in item["suppressed_findings"]),
        waivers=waivers,
        notes=tuple(item["notes"]),
        baseline=Ratchet.model_validate(item["baseline"]) if item["baseline"] is not None else None,
    )
