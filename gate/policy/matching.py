"""Match keys checked one by one: whether each holds, fails, or lacks the data it needs, and why.

The engine uses `screen()` to decide which findings a rule catches and what to do with findings whose
data is missing (`on_missing_intel`); `gate explain` prints the same checks key by key.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from fnmatch import fnmatchcase
from itertools import chain

from gate.model import Cvss, Finding, FindingKind, Package, Severity
from gate.policy.decision import MISSING_INTEL_RULE, VEX_RULE, Action, RuleResult, Violation
from gate.policy.licenses import is_allowed, is_denied
from gate.policy.package_names import PackageGlobs
from gate.policy.schema import Comparison, Match, Rule
from gate.policy.settings import CvssSource, MissingIntel, Settings
from gate.words import quantity

__all__ = [
    "DATA_KEYS",
    "MISSING_INTEL_RULE",
    "VEX_RULE",
    "FindingClasses",
    "KeyCheck",
    "KeyState",
    "Screen",
    "annotate_counted",
    "check_match",
    "chosen_cvss",
    "counted_note",
    "matches",
    "missing_intel_result",
    "screen",
    "skip_note",
    "vex_result",
]

DATA_KEYS: dict[str, str] = {
    "kev": "KEV status",
    "epss": "EPSS score",
    "epss_percentile": "EPSS percentile",
    "cvss": "CVSS score",
    "age_days": "published date",
    "fix_age_days": "fix date",
}
"""Match keys that need data a report may lack, and what that data is called in messages."""
_FEED_FLAGS = {"kev": "--kev", "epss": "--epss", "epss_percentile": "--epss"}
"""The keys whose data a feed can bring, and its flag; CVSS scores and dates come only from reports."""

_NVD_SOURCES = {"nvd", "nvd@nist.gov"}


class KeyState(str, enum.Enum):
    """How one match key came out for one finding."""

    PASS = "pass"
    FAIL = "fail"
    MISSING = "missing"


@dataclass(frozen=True)
class KeyCheck:
    """One match key checked against one finding."""

    key: str
    state: KeyState
    detail: str
    """What was compared, e.g. `EPSS 0.072 is not >= 0.1`, or why the data is missing."""


_Check = tuple[str, KeyState, Callable[[], str]]
"""(key, state, detail): the detail is written only when someone reads it (`gate explain`, not the engine)."""


def check_match(
    finding: Finding, match: Match, *, today: date, cvss_source: CvssSource = CvssSource.HIGHEST
) -> tuple[KeyCheck, ...]:
    """Every key `match` sets, checked against `finding` in a fixed order; absent keys are not listed."""
    return tuple(
        KeyCheck(key, state, detail()) for key, state, detail in _checks(finding, match, today, cvss_source)
    )


def matches(finding: Finding, match: Match, *, today: date) -> bool:
    """True when no key of `match` fails for `finding` (keys whose data is missing do not count against it)."""
    return not any(
        state is KeyState.FAIL for _, state, _ in _checks(finding, match, today, CvssSource.HIGHEST)
    )


def _checks(
    finding: Finding,
    match: Match,
    today: date,
    cvss_source: CvssSource,
    *,
    screened: bool = False,
) -> list[_Check]:
    """The checks of every key `match` sets; with `screened`, the caller has found that the keys of
    `_SCREENED_KEYS` hold, and they are left out."""
    # One helper per key: each detail closure must see its own values, not a variable later reassigned.
    out: list[_Check] = []
    if match.kind is not None and not screened:
        out.append(_kind(finding, match.kind))
    if match.severity is not None and not screened:
        out.append(_severity(finding, match.severity))
    if match.fixable is not None and not screened:
        out.append(_fixable(finding, match.fixable))
    if match.kev is not None:
        out.append(_kev(finding, match.kev))
    if match.epss is not None:
        out.append(
            _number(
                "epss", finding, finding.epss, match.epss, "EPSS", lambda: _epss_missing(finding, "score")
            )
        )
    if match.epss_percentile is not None:
        out.append(
            _number("epss_percentile", finding, finding.epss_percentile, match.epss_percentile, "EPSS percentile",
                    lambda: _epss_missing(finding, "percentile"))
        )  # fmt: skip
    if match.cvss is not None:
        out.append(_cvss(finding, match.cvss, cvss_source))
    if match.age_days is not None:
        age = (today - finding.published).days if finding.published else None
        out.append(
            _number("age_days", finding, age, match.age_days, "published age (days)", lambda: _NO_PUBLISHED)
        )
    if match.fix_age_days is not None:
        out.append(_fix_age(finding, match.fix_age_days, today))
    package = finding.package
    if match.package is not None and not screened:
        out.append(_package(package, PackageGlobs(match.package), "package"))
    if match.package_type is not None:
        # A finding merged from Trivy and Grype is in a package of both their types (`alpine`, `apk`).
        out.append(_glob("package_type", package.all_types if package else (), match.package_type))
    if match.purl is not None and not screened:
        out.append(_package(package, PackageGlobs(match.purl, purl=True), "purl"))
    if match.ids is not None:
        out.append(_ids(finding, match.ids))
    out.extend(_layer_and_licence(finding, match))
    return out


_SCREENED_KEYS = frozenset({"kind", "severity", "fixable", "package", "purl"})
"""The keys `screen()` tests itself, before any check is built: they pass or fail, data is never missing for
them, and they rule most findings out."""

_NO_PUBLISHED = "the report gives no published date (Grype reports never do)"


def _kind(finding: Finding, kinds: Sequence[FindingKind]) -> _Check:
    ok = finding.kind in kinds
    return _check("kind", ok, lambda: f"{finding.kind.value} {'is' if ok else 'is not'} one of: "
                  + ", ".join(k.value for k in kinds))  # fmt: skip


def _severity(finding: Finding, severities: frozenset[Severity]) -> _Check:
    ok = finding.severity in severities
    return _check("severity", ok, lambda: f"{finding.severity.value} {'is' if ok else 'is not'} one of: "
                  + ", ".join(s.value for s in sorted(severities, reverse=True)))  # fmt: skip


def _fixable(finding: Finding, wanted: bool) -> _Check:
    return _check("fixable", finding.fixable is wanted, lambda: (
        "has a fix" if finding.fixable else f"has no fix ({finding.fix_state.value})"
    ) + f"; the rule wants fixable = {str(wanted).lower()}")  # fmt: skip


def _ids(finding: Finding, ids: Sequence[str]) -> _Check:
    listed = {i.upper() for i in ids}
    hit = [i for i in finding.all_ids if i.upper() in listed]
    return _check("ids", bool(hit), lambda: f"{hit[0]} is listed" if hit
                  else f"none of {', '.join(finding.all_ids)} is listed")  # fmt: skip


def _glob(key: str, values: Sequence[str], patterns: Sequence[str]) -> _Check:
    """A glob key that matches when one of `values` matches a pattern (none: the finding has no such value)."""
    ok = any(fnmatchcase(v, p) for v in values for p in patterns)
    shown = " / ".join(repr(v) for v in values if v) or "none"
    return _check(key, ok, lambda: f"{key} {shown} {'matches' if ok else 'does not match'} {list(patterns)}")


def _package(package: Package | None, globs: PackageGlobs, key: str) -> _Check:
    """The `package` or `purl` key: globs compared as the package's ecosystem compares names (docs/policy.md)."""
    value = globs.value(package) if package else None
    if package is None or not value:
        return _glob(key, (value,) if value is not None else (), globs.patterns)
    ok = globs.matches(package)
    return _check(key, ok, lambda: f"{key} {value!r} {'matches' if ok else 'does not match'} "
                  f"{list(globs.patterns)}{globs.note(package)}")  # fmt: skip


def _layer_and_licence(finding: Finding, match: Match) -> list[_Check]:
    """The `layer` key (an unknown origin counts as own) and the licence lists (docs/image-checks.md)."""
    out = []
    if match.layer is not None:
        origin = finding.origin or "own"
        unknown = "" if finding.origin else " (where it came in is unknown: counted as own)"
        where = "the base image" if origin == "base" else "the image's own layers"
        wanted = match.layer
        out.append(_check("layer", origin == wanted, lambda: f"in {where}{unknown}; the rule wants {wanted}"))
    if match.license_allow is not None:
        out.append(_licence("license_allow", finding, match.license_allow, denied=False))
    if match.license_deny is not None:
        out.append(_licence("license_deny", finding, match.license_deny, denied=True))
    return out


def _licence(key: str, finding: Finding, patterns: Sequence[str], *, denied: bool) -> _Check:
    if finding.kind is not FindingKind.LICENSE:
        return _check(key, False, lambda: f"a {finding.kind.value} has no licence")
    listed = is_denied(finding.id, patterns) if denied else is_allowed(finding.id, patterns)
    verb = ("is" if listed else "is not") + (" denied" if denied else " allowed")
    return _check(key, listed is denied, lambda: f"licence {finding.id!r} {verb} by {list(patterns)}")


def _check(key: str, ok: bool, detail: Callable[[], str]) -> _Check:
    return (key, KeyState.PASS if ok else KeyState.FAIL, detail)


def _kev(finding: Finding, wanted: bool) -> _Check:
    if finding.kind is not FindingKind.VULNERABILITY:
        return ("kev", KeyState.FAIL, lambda: f"a {finding.kind.value} has no KEV status")
    if finding.kev is None:
        return ("kev", KeyState.MISSING, lambda: _NO_KEV)
    listed = "listed in CISA KEV" if finding.kev else "not listed in CISA KEV"
    return _check(
        "kev", finding.kev is wanted, lambda: f"{listed}; the rule wants kev = {str(wanted).lower()}"
    )


_NO_KEV = "no KEV status: the report has none and no KEV catalog was given (--kev)"


def _epss_missing(finding: Finding, what: str) -> str:
    if not finding.cves:
        return f"no EPSS {what}: EPSS scores CVEs only and this finding has no CVE ID"
    return f"no EPSS {what}: the report has none and the EPSS data (--epss) has no entry for it"


def _cvss(finding: Finding, wanted: Comparison, source: CvssSource) -> _Check:
    chosen = chosen_cvss(finding, source)
    score = chosen.score if chosen else None
    label = f"CVSS {score:g} ({chosen.source} v{chosen.version})" if chosen and score is not None else "CVSS"
    why = f"no CVSS score from the {source.value} source (settings.cvss_source)"
    return _number("cvss", finding, score, wanted, label, lambda: why, show_value=False)


def _number(
    key: str,
    finding: Finding,
    value: float | None,
    wanted: Comparison,
    label: str,
    missing: Callable[[], str],
    *,
    show_value: bool = True,
) -> _Check:
    if finding.kind is not FindingKind.VULNERABILITY:
        return (key, KeyState.FAIL, lambda: f"a {finding.kind.value} has no {DATA_KEYS[key]}")
    if value is None:
        return (key, KeyState.MISSING, missing)
    ok = wanted.test(value)
    shown = f"{label} {value:g}" if show_value else label
    return _check(key, ok, lambda: f"{shown} {'is' if ok else 'is not'} {wanted.op} {wanted.value:g}")


def _fix_age(finding: Finding, wanted: Comparison, today: date) -> _Check:
    key = "fix_age_days"
    if finding.kind is not FindingKind.VULNERABILITY:
        return (key, KeyState.FAIL, lambda: f"a {finding.kind.value} has no fix date")
    if not finding.fixable:
        return (key, KeyState.FAIL, lambda: "no fix exists, so there is no fix age")
    fixed = finding.fix_date
    if fixed is None:
        source = {
            "trivy": "Trivy reports carry no fix date",
            "grype": "this Grype report has no fix.available dates (newer Grype releases write them)",
        }.get(finding.scanner, "the report gives no fix date")
        return (key, KeyState.MISSING, lambda: f"fix date unknown: {source}")
    age = (today - fixed).days
    ok = wanted.test(age)
    return _check(key, ok, lambda: f"fix available since {fixed} ({age} days) {'is' if ok else 'is not'} "
                  f"{wanted.op} {wanted.value:g}")  # fmt: skip


def chosen_cvss(finding: Finding, source: CvssSource) -> Cvss | None:
    """The CVSS entry the `cvss` key compares, by `settings.cvss_source`; None when there is none.

    v3 and v4 base scores are preferred over v2 whichever the source; among equals the highest score wins.
    `vendor` takes the vendor's scores, else NVD's, else a third party's (`Cvss.third_party`).
    """
    scored = [c for c in finding.cvss if c.score is not None]
    nvd = [c for c in scored if c.source.lower() in _NVD_SOURCES]
    others = [c for c in scored if c.source.lower() not in _NVD_SOURCES]
    if source is CvssSource.NVD:
        pool = nvd
    elif source is CvssSource.VENDOR:
        # A third party's score (Red Hat's of a Debian package) is not the vendor's: NVD's comes first.
        pool = [c for c in others if not c.third_party] or nvd or others
    else:
        pool = scored
    modern = [c for c in pool if c.version in ("3", "4")]
    candidates = modern or pool
    if not candidates:
        return None
    return max(candidates, key=lambda c: (c.score or 0.0, c.version, c.source))


@dataclass(frozen=True)
class Screen:
    """Which findings one rule catches, and which it could not check."""

    mode: MissingIntel
    hits: tuple[int, ...]
    """Indexes of the findings the rule catches (with mode fail, those with missing data too)."""
    missing: dict[int, tuple[str, ...]] = field(default_factory=dict)
    """Index -> the data keys it lacked, for findings whose every other key held."""

    def missing_text(self, index: int) -> str:
        """`EPSS score, fix date` for the finding at `index`."""
        return ", ".join(DATA_KEYS[k] for k in self.missing.get(index, ()))


class FindingClasses:
    """The findings of one image grouped by kind, severity and whether they have a fix: the keys most rules
    select on, so each rule tests them once per group instead of once per finding."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.groups: dict[tuple[FindingKind, Severity, bool], list[int]] = {}
        for i, finding in enumerate(findings):
            self.groups.setdefault((finding.kind, finding.severity, finding.fixable), []).append(i)

    def selected(self, match: Match) -> list[int]:
        """The indexes, in order, of the findings whose kind, severity and fix `match` lets through."""
        kinds, severities, fixable = match.kind, match.severity, match.fixable
        chosen = [
            indexes
            for (kind, severity, has_fix), indexes in self.groups.items()
            if (kinds is None or kind in kinds)
            and (severities is None or severity in severities)
            and (fixable is None or has_fix is fixable)
        ]
        return chosen[0] if len(chosen) == 1 else sorted(chain.from_iterable(chosen))


def screen(
    rule: Rule,
    findings: Sequence[Finding],
    *,
    settings: Settings,
    today: date,
    classes: FindingClasses | None = None,
) -> Screen:
    """Check `rule.match` against every finding; missing data is handled by the rule's on_missing_intel.

    `classes` are the findings' classes, made once by a caller that screens several rules.
    """
    assert rule.match is not None
    mode = rule.on_missing_intel or settings.on_missing_intel
    hits: list[int] = []
    missing: dict[int, tuple[str, ...]] = {}
    match = rule.match
    # kind, severity, fixable, package and purl rule most findings out: tested first, as _checks would test
    # them, and once only (the checks below leave them out)
    selected = (classes or FindingClasses(findings)).selected(match)
    # Globs folded once for the rule, not once per finding (an ecosystem may fold names: package_names.py).
    names = PackageGlobs(match.package) if match.package is not None else None
    purls = PackageGlobs(match.purl, purl=True) if match.purl is not None else None
    if names is not None or purls is not None:
        selected = [
            i
            for i in selected
            if (package := findings[i].package) is not None
            and (names is None or names.matches(package))
            and (purls is None or purls.matches(package))
        ]
    # Without other keys, a finding the screening keys let through is a hit: no check needs building.
    if not any(value is not None for key, value in match if key not in _SCREENED_KEYS):
        return Screen(mode=mode, hits=tuple(selected))
    for i in selected:
        checks = _checks(findings[i], match, today, settings.cvss_source, screened=True)
        if any(state is KeyState.FAIL for _, state, _ in checks):
            continue
        lacking = tuple(key for key, state, _ in checks if state is KeyState.MISSING)
        if lacking:
            missing[i] = lacking
            if mode is not MissingIntel.FAIL:
                continue
        hits.append(i)
    return Screen(mode=mode, hits=tuple(hits), missing=missing)


def counted_note(scr: Screen, hits: Sequence[int]) -> str:
    """The clause added to a rule's explanation when findings were counted for missing data, else ``."""
    counted = [i for i in hits if i in scr.missing]
    if scr.mode is not MissingIntel.FAIL or not counted:
        return ""
    return (
        f"; {len(counted)} counted because their {_kinds(scr, counted)} is unknown (on_missing_intel = fail)"
    )


def skip_note(rule: Rule, scr: Screen, count: int, *, unavailable: Collection[str] = ()) -> str:
    """The note for `count` findings a rule skipped for missing data (mode skip), else ``.

    `unavailable` names feed flags that were given but whose data could not be had: the note does not ask for
    them again.
    """
    if scr.mode is not MissingIntel.SKIP or not count:
        return ""
    keys = {k for found in scr.missing.values() for k in found}
    wanted = {_FEED_FLAGS[k] for k in keys if k in _FEED_FLAGS}
    flags = "/".join(sorted(wanted - set(unavailable), reverse=True))
    failed = "/".join(sorted(wanted & set(unavailable), reverse=True))
    give = [f"give {flags}"] if flags else []
    give += [f"{failed} was given but its data was unavailable (see its note)"] if failed else []
    if not give:
        advice = "only a report can carry it"
    elif keys <= _FEED_FLAGS.keys():
        advice = "; ".join(give) + (", or a report that carries it" if not failed else "")
    else:
        advice = "; ".join(give) + "; the rest only a report can carry"
    return f"rule {rule.id} skipped {quantity(count, 'finding')}: {_kinds(scr, list(scr.missing))} unknown ({advice})"


def annotate_counted(violation: Violation, scr: Screen, index: int) -> Violation:
    """`violation` with a clause saying the finding was counted although its data is missing (mode fail)."""
    if index not in scr.missing:
        return violation
    clause = f"; {scr.missing_text(index)} unknown, counted (on_missing_intel = fail)"
    return violation.model_copy(update={"message": violation.message + clause})


def _kinds(scr: Screen, indexes: Sequence[int]) -> str:
    keys = sorted({k for i in indexes for k in scr.missing[i]}, key=list(DATA_KEYS).index)
    return " or ".join(DATA_KEYS[k] for k in keys)


def missing_intel_result(
    entries: Sequence[tuple[Rule, Finding, str]],
) -> tuple[RuleResult, list[Violation]] | None:
    """The built-in `missing-intel` warning over (rule, finding, missing data) entries; None for none."""
    if not entries:
        return None
    rules = sorted({rule.id for rule, _, _ in entries})
    result = RuleResult(
        rule_id=MISSING_INTEL_RULE,
        title="Rules could not check some findings: data is missing",
        help=(
            "Give the data (--kev for KEV status, --epss for EPSS scores; published and fix dates come only from "
            "the report), or choose what missing data does with on_missing_intel."
        ),
        action=Action.WARN,
        subject="findings",
        matched=len(entries),
        triggered=True,
        explanation=f"{len(entries)} finding checks lacked data (on_missing_intel = warn) in: {', '.join(rules)}",
    )
    violations = [
        Violation(
            rule_id=MISSING_INTEL_RULE,
            action=Action.WARN,
            id=finding.id,
            severity=finding.severity,
            message=f"rule {rule.id} could not check it: {what} unknown",
            finding=finding,
        )
        for rule, finding, what in entries
    ]
    return result, violations


def vex_result(findings: Sequence[Finding], action: Action) -> tuple[RuleResult, list[Violation]] | None:
    """The built-in `vex-under-investigation` rule over active findings; None when no VEX says so or it is off."""
    hits = [f for f in findings if f.vex is not None and f.vex.status.value == "under_investigation"]
    if not hits or action is Action.OFF:
        return None
    result = RuleResult(
        rule_id=VEX_RULE,
        title="VEX: vulnerabilities under investigation",
        help="A VEX statement says the vendor is still investigating; follow up and update the VEX document.",
        action=action,
        subject="findings",
        matched=len(hits),
        triggered=True,
        explanation=f"{quantity(len(hits), 'finding')} under investigation per VEX",
    )
    if action not in (Action.FAIL, Action.WARN):
        return result, []
    violations = []
    for f in hits:
        assert f.vex is not None
        note = f": {f.vex.statement}" if f.vex.statement else ""
        violations.append(
            Violation(
                rule_id=VEX_RULE,
                action=action,
                id=f.id,
                severity=f.severity,
                message=f"VEX under_investigation ({f.vex.source}){note}",
                finding=f,
            )
        )
    return result, violations
