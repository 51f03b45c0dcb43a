"""Metamorphic properties of the decision: relations between two runs that hold whatever the reports say.

Each test takes a real report (tests.conftest.REAL), varies it as hypothesis draws (severities, fixes, KEV
status and published dates changed here and there), runs the gate twice on two related inputs (shuffled, fewer
findings, one more waiver, another policy, the report split in two) and checks the relation the two decisions
must keep. The gate is wired as `gate check` wires it: reports grouped by image and merged, each image decided,
waivers reviewed over the run.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.errors import InputError
from gate.identity import FindingIndex
from gate.ingest import read_report
from gate.ingest.merge import group_scans, merge_scans
from gate.model import Finding, FindingKind, FixState, Scan, Severity
from gate.policy.decision import Action, Decision, Verdict, WaiverState, combine
from gate.policy.engine import evaluate
from gate.policy.schema import Match, Policy, Rule, Waiver, load_policy
from gate.policy.settings import MissingIntel
from gate.policy.waivers import WAIVER_RULES, review_run
from gate.report.record import record
from tests.conftest import REAL, TESTDATA, TODAY, need_shared

# Derandomized: a property test that fails should fail in the change that broke it (to explore, drop derandomize).
PROPERTY = settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

_UNUSED = WAIVER_RULES[WaiverState.UNUSED][0]
_FAR = TODAY + timedelta(days=365)  # a waiver's expiry that is neither expired nor expiring


# --- the inputs -------------------------------------------------------------------------------------------


@functools.cache
def _real_scans() -> tuple[Scan, ...]:
    """Every real Trivy and Grype report the gate reads (a few are refused on purpose: they are not reports)."""
    scans = []
    for path in sorted([*(REAL / "trivy").glob("*.json"), *(REAL / "grype").glob("*.json")]):
        try:
            scans.append(read_report(str(path), path.read_bytes()))
        except InputError:
            continue
    return tuple(scans)


@functools.cache
def _policies() -> tuple[Policy, Policy]:
    return load_policy("builtin:default"), load_policy("builtin:strict")


def _real() -> tuple[Scan, ...]:
    need_shared()
    return _real_scans()


@dataclass(frozen=True)
class _Varied:
    """A real report with some findings changed: (finding index, severity, fix state, KEV, published date)."""

    base: Scan
    changes: tuple[tuple[int, Severity, FixState, bool | None, date | None], ...]

    def __repr__(self) -> str:  # hypothesis prints it for a failing example: the file, not the whole Scan
        return f"_Varied({Path(self.base.source).name!r}, changes={self.changes!r})"

    @functools.cached_property
    def scan(self) -> Scan:
        findings = list(self.base.findings)
        for at, severity, fix, kev, published in self.changes:
            update: dict[str, object] = {"severity": severity, "fix_state": fix, "published": published}
            if findings[at].kind is FindingKind.VULNERABILITY:
                update["kev"] = kev
            findings[at] = findings[at].model_copy(update=update)
        return _with(self.base, findings)


@st.composite
def _varied(draw: st.DrawFn, scans: Sequence[Scan]) -> _Varied:
    """A real report, with some findings' severity, fix, KEV status and published date changed."""
    scan = draw(st.sampled_from(scans))
    if not scan.findings:
        return _Varied(scan, ())
    change = st.tuples(
        st.integers(0, len(scan.findings) - 1),
        st.sampled_from(Severity),
        st.sampled_from([FixState.FIXED, FixState.NOT_FIXED, FixState.UNKNOWN]),
        st.sampled_from([None, True, False]),
        st.sampled_from([None, TODAY - timedelta(days=400), TODAY - timedelta(days=5)]),
    )
    return _Varied(scan, tuple(draw(st.lists(change, max_size=6))))


_MATCHES = st.fixed_dictionaries(
    {},
    optional={
        "kind": st.sampled_from(["vulnerability", "secret", "misconfig", "license"]),
        "severity": st.sampled_from([">=high", "critical", ">=medium", "<=low", ["low", "medium"]]),
        "fixable": st.booleans(),
        "kev": st.booleans(),
        "age_days": st.sampled_from([">30", "<=30"]),
        "package_type": st.sampled_from(["apk", "deb", "npm", "*"]),
        "purl": st.sampled_from(["pkg:npm/*", "pkg:apk/*upstream=openssl*"]),
    },
)


@st.composite
def _rules(draw: st.DrawFn, *, max_: bool | None = None) -> Rule:
    """A findings rule; `max_` True or False forces a budget or none, None draws either."""
    budget = draw(st.integers(0, 5)) if max_ or (max_ is None and draw(st.booleans())) else None
    return Rule(
        id=f"r{draw(st.integers(0, 999))}",
        action=draw(st.sampled_from([Action.FAIL, Action.WARN, Action.INFO])),
        match=Match.model_validate(draw(_MATCHES)),
        max=budget,
        on_missing_intel=draw(st.sampled_from([None, *MissingIntel])),
    )


@st.composite
def _policy(draw: st.DrawFn) -> Policy:
    """builtin:default, builtin:strict, or one of a few drawn findings rules (unique IDs)."""
    default, strict = _policies()
    choice = draw(st.sampled_from(["default", "strict", "drawn"]))
    if choice != "drawn":
        return default if choice == "default" else strict
    rules = draw(st.lists(_rules(), min_size=1, max_size=3, unique_by=lambda r: r.id))
    merge = default.merge.model_copy(update={"severity": draw(st.sampled_from(["max", "trivy", "grype"]))})
    return default.model_copy(update={"name": "drawn", "rules": tuple(rules), "merge": merge})


# --- running the gate and reading the decision ------------------------------------------------------------


def _decide(scans: Sequence[Scan], policy: Policy) -> Decision:
    """What `gate check` decides for these reports (gate.cli.check, without files, VEX or baselines)."""
    images = [merge_scans(group, severity=policy.merge.severity) for group in group_scans(scans)]
    return review_run(combine(evaluate(image, policy, today=TODAY) for image in images))


def _with(scan: Scan, findings: Iterable[Finding]) -> Scan:
    return scan.model_copy(update={"findings": tuple(findings)})


def _finding_rules(policy: Policy) -> set[str]:
    return {rule.id for rule in policy.rules if rule.match is not None}


def _violations(
    decision: Decision, policy: Policy, *, action: Action | None = None
) -> Counter[tuple[str, ...]]:
    """The violations of the policy's findings rules, each as (rule, action, finding ID, package, version,
    target, path): a multiset, for a report can list one CVE twice in one package (two paths)."""
    rules = _finding_rules(policy)
    out: Counter[tuple[str, ...]] = Counter()
    for v in decision.violations:
        if v.rule_id in rules and v.finding is not None and (action is None or v.action is action):
            package = v.finding.package
            where = (package.name, package.version, package.path) if package else ("", "", "")
            out[(v.rule_id, v.action.value, v.id.upper(), *where, v.finding.target)] += 1
    return out


def _identified(decision: Decision, policy: Policy) -> Counter[tuple[object, ...]]:
    """As `_violations`, a finding known by all its IDs (merging reports may name it by another of them)."""
    rules = _finding_rules(policy)
    out: Counter[tuple[object, ...]] = Counter()
    for v in decision.violations:
        if v.rule_id in rules and v.finding is not None:
            package = v.finding.package
            where = (package.name, package.version) if package else ("", "")
            out[(v.rule_id, v.action.value, frozenset(i.upper() for i in v.finding.all_ids), *where)] += 1
    return out


def _canonical(decision: Decision) -> dict[str, Any]:
    """The decision record with every list of findings sorted: the engine lists findings most severe first and
    keeps the report's order among equals (same severity, ID, package and version), on purpose."""
    doc = record(decision)
    doc["violations"] = _sorted(doc["violations"])
    doc["waived"] = _sorted(doc["waived"])
    for image in doc["images"]:
        outcomes = image.pop("outcomes")
        for key in ("violations", "waived"):  # they point at an outcome by index: by the outcome itself
            image[key] = _sorted({**e, "outcome": _at(outcomes, e.get("outcome"))} for e in image[key])
        image["outcomes"] = _sorted(outcomes)
        for key in ("suppressed", "suppressed_findings"):
            image[key] = _sorted(image[key])
    return doc


def _at(entries: list[Any], index: int | None) -> Any:
    return entries[index] if index is not None else None


def _sorted(entries: Iterable[Any]) -> list[Any]:
    return sorted(entries, key=lambda e: json.dumps(e, sort_keys=True))


def _order(decision: Decision) -> list[list[tuple[str, ...]]]:
    """The order the engine gives each image's outcomes: (severity, ID, package, version), most severe first."""
    return [[_finding_order(o.finding) for o in image.outcomes] for image in decision.images]


def _finding_order(f: Finding) -> tuple[str, ...]:
    package = (f.package.name, f.package.version) if f.package else ("", "")
    return (f.severity.value, f.id, *package)


def _without_unused(decision: Decision) -> Verdict:
    """The verdict leaving out the `waiver-unused` rule, which a report with fewer findings may trigger."""
    return Verdict.worst(r.verdict for image in decision.images for r in image.rules if r.rule_id != _UNUSED)


# --- 1. order ---------------------------------------------------------------------------------------------


@PROPERTY
@given(data=st.data())
def test_finding_order_does_not_change_the_decision(data: st.DataObject) -> None:
    scan = data.draw(_varied(_real())).scan
    policy = data.draw(_policy())
    shuffled = _with(scan, data.draw(st.permutations(scan.findings)))
    before, after = _decide([scan], policy), _decide([shuffled], policy)
    assert _canonical(after) == _canonical(before)
    assert _order(after) == _order(before)


@functools.cache
def _same_image_groups() -> tuple[tuple[Scan, ...], ...]:
    """Reports of one image, by image: the real reports of one image (several runs of one scanner), and the
    real Trivy report of alpine 3.10 with the Grype report of it written for the tests (tests/data/merge)."""
    real = [tuple(group) for group in group_scans(_real()) if len(group) > 1]
    grype = TESTDATA / "merge" / "grype-alpine-310.json"
    trivy = REAL / "trivy" / "trivy-integ--alpine-310.json"
    pair = tuple(read_report(str(path), path.read_bytes()) for path in (trivy, grype))
    return (*real, pair)


# Small reports: more examples, so that drawn rules meet the Trivy and Grype pair.
@settings(PROPERTY, max_examples=200)
@given(data=st.data())
def test_report_order_does_not_change_the_decision(data: st.DataObject) -> None:
    """Reports of one image merge into one, whichever comes first: the same findings fail, named by any of
    their IDs (a merged finding is named by the first report's ID, as docs/baseline.md says)."""
    need_shared()
    groups = _same_image_groups()  # Trivy and Grype of one image, half the time: the pair merges most
    group = groups[data.draw(st.one_of(st.just(len(groups) - 1), st.integers(0, len(groups) - 2)))]
    policy = data.draw(_policy())
    shuffled = [group[i] for i in data.draw(st.permutations(range(len(group))))]
    before, after = _decide(group, policy), _decide(shuffled, policy)
    assert len(after.images) == len(before.images) == 1
    assert _identified(after, policy) == _identified(before, policy)
    assert after.verdict is before.verdict


@settings(PROPERTY, max_examples=100)
@given(data=st.data())
def test_two_runs_of_one_scanner_merge_whichever_comes_first(data: st.DataObject) -> None:
    """A report and a second run of its scanner that rates some findings apart (another database): one image,
    decided alike in either order, with `[merge] severity` naming that scanner."""
    scan = data.draw(_varied(_real())).scan
    rerun = data.draw(_varied([scan])).scan.model_copy(update={"source": "rerun.json", "sources": ()})
    policy = data.draw(_policy())
    policy = policy.model_copy(update={"merge": policy.merge.model_copy(update={"severity": scan.scanner})})
    one, two = _decide([scan, rerun], policy), _decide([rerun, scan], policy)
    assert len(one.images) == len(two.images) == 1
    assert _identified(one, policy) == _identified(two, policy)
    assert one.verdict is two.verdict


# --- 2. fewer findings ------------------------------------------------------------------------------------


@st.composite
def _waivers(draw: st.DrawFn, scan: Scan) -> tuple[Waiver, ...]:
    """Up to three waivers of IDs the report has (or has not), in force, expiring or expired."""
    ids = sorted({i for f in scan.findings for i in f.all_ids}) or ["CVE-2024-0001"]
    waiver = st.builds(
        Waiver,
        id=st.sampled_from([*ids, "CVE-2024-0001"]),
        reason=st.just("accepted for the test"),
        expires=st.sampled_from([_FAR, TODAY + timedelta(days=3), TODAY - timedelta(days=1)]),
        kinds=st.sampled_from(
            [None, (FindingKind.VULNERABILITY,), (FindingKind.SECRET, FindingKind.LICENSE)]
        ),
    )
    return tuple(draw(st.lists(waiver, max_size=3)))


@PROPERTY
@given(data=st.data())
def test_fewer_findings_never_add_a_violation(data: st.DataObject) -> None:
    scan = data.draw(_varied(_real())).scan
    policy = data.draw(_policy())
    policy = policy.model_copy(update={"waivers": data.draw(_waivers(scan))})
    keep = data.draw(st.lists(st.booleans(), min_size=len(scan.findings), max_size=len(scan.findings)))
    fewer = _with(scan, (f for f, kept in zip(scan.findings, keep, strict=True) if kept))
    before, after = _decide([scan], policy), _decide([fewer], policy)
    assert not _violations(after, policy) - _violations(before, policy)
    # Only `waiver-unused` may get worse: a waiver of a finding that is gone matches nothing.
    assert _without_unused(after).rank <= _without_unused(before).rank


# --- 3. one more waiver -----------------------------------------------------------------------------------


def _waived(decision: Decision) -> Counter[Finding]:
    return Counter(w.finding for image in decision.images for w in image.waived)


@PROPERTY
@given(data=st.data())
def test_a_waiver_only_waives_what_it_names(data: st.DataObject) -> None:
    scan = data.draw(_varied([s for s in _real() if s.findings])).scan
    policy = data.draw(_policy())
    finding = data.draw(st.sampled_from(scan.findings))
    wid = data.draw(st.sampled_from(finding.all_ids))
    others = tuple(k for k in FindingKind if k is not finding.kind)
    kinds = data.draw(st.sampled_from([None, (finding.kind,), others]))
    waiver = Waiver(id=wid, reason="accepted for the test", expires=_FAR, kinds=kinds)
    waived = policy.model_copy(update={"waivers": (*policy.waivers, waiver)})
    before, after = _decide([scan], policy), _decide([scan], waived)
    failing = _violations(before, policy, action=Action.FAIL)
    assert not _violations(after, policy, action=Action.FAIL) - failing
    assert not _violations(after, policy) - _violations(before, policy)
    assert _without_unused(after).rank <= _without_unused(before).rank
    newly = _waived(after) - _waived(before)
    for f in newly:
        assert wid.upper() in {i.upper() for i in f.all_ids}
        assert kinds is None or f.kind in kinds
    # Named by its own ID, without a scope that leaves it out, an active finding is waived.
    if wid == finding.id and kinds != others and finding.suppressed is None:
        assert finding in _waived(after)


# --- 4. a stronger preset ---------------------------------------------------------------------------------


@PROPERTY
@given(data=st.data())
def test_strict_fails_everything_default_fails(data: st.DataObject) -> None:
    """builtin:strict extends builtin:default and replaces only its image rule `non-root-user` (docs/policy.md)."""
    scan = data.draw(_varied(_real())).scan
    default, strict = _policies()
    lax, tight = _decide([scan], default), _decide([scan], strict)
    failing = _violations(lax, default, action=Action.FAIL)
    assert not failing - _violations(tight, default, action=Action.FAIL)
    assert not _violations(lax, default) - _violations(tight, default)
    assert tight.verdict.rank >= lax.verdict.rank


# --- 5. one report split in two ---------------------------------------------------------------------------


def _same_finding_classes(findings: Sequence[Finding]) -> list[int]:
    """A class number for each finding: findings that merging would take for one (same ID or alias, package,
    version) share one, so a split that parts them is not a split of one report's findings."""
    index = FindingIndex(findings)
    parent = list(range(len(findings)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, finding in enumerate(findings):
        for j in index.positions(finding):
            parent[root(j)] = root(i)
    return [root(i) for i in range(len(findings))]


@PROPERTY
@given(data=st.data())
def test_a_report_split_in_two_decides_as_the_report(data: st.DataObject) -> None:
    """Two reports of one image merge into one: a report's findings, dealt into two reports with the same
    image, give the same violations (docs/baseline.md: one finding merged from two reports is one finding)."""
    scan = data.draw(_varied(_real())).scan
    policy = data.draw(_policy())
    classes = _same_finding_classes(scan.findings)
    side = data.draw(st.lists(st.booleans(), min_size=len(scan.findings), max_size=len(scan.findings)))
    first = _with(scan, (f for f, c in zip(scan.findings, classes, strict=True) if side[c]))
    second = _with(scan, (f for f, c in zip(scan.findings, classes, strict=True) if not side[c]))
    whole = _decide([scan], policy)
    for parts in ([first, second], [second, first]):
        split = _decide(parts, policy)
        assert len(split.images) == 1
        assert _identified(split, policy) == _identified(whole, policy)
        assert split.verdict is whole.verdict


# --- 6. budgets -------------------------------------------------------------------------------------------


@PROPERTY
@given(data=st.data())
def test_a_budget_triggers_when_more_findings_match_than_it_allows(data: st.DataObject) -> None:
    scan = data.draw(_varied(_real())).scan
    rule = data.draw(_rules(max_=True))
    assert rule.max is not None
    default, _ = _policies()
    budgeted = default.model_copy(update={"name": "drawn", "rules": (rule,)})
    counted = default.model_copy(update={"name": "drawn", "rules": (rule.model_copy(update={"max": None}),)})
    with_max, without = _decide([scan], budgeted), _decide([scan], counted)
    (result,) = (r for r in with_max.images[0].rules if r.rule_id == rule.id)
    (plain,) = (r for r in without.images[0].rules if r.rule_id == rule.id)
    assert result.matched == plain.matched
    assert result.triggered is (plain.matched > rule.max)
    over = _violations(without, counted)
    assert _violations(with_max, budgeted) == (over if result.triggered else Counter())


# --- 7. switching a rule off, or from fail to warn ----------------------------------------------------------


def _with_action(policy: Policy, rule: Rule, action: Action) -> Policy:
    rules = tuple(r.model_copy(update={"action": action}) if r is rule else r for r in policy.rules)
    return policy.model_copy(update={"rules": rules})


@PROPERTY
@given(data=st.data())
def test_a_rule_switched_off_takes_exactly_its_violations(data: st.DataObject) -> None:
    scan = data.draw(_varied(_real())).scan
    policy = data.draw(_policy())
    rule = data.draw(st.sampled_from([r for r in policy.rules if r.match is not None]))
    before, after = _decide([scan], policy), _decide([scan], _with_action(policy, rule, Action.OFF))
    assert _violations(after, policy) == Counter(
        {key: n for key, n in _violations(before, policy).items() if key[0] != rule.id}
    )
    if rule.action is not Action.FAIL:
        return
    as_warning = _decide([scan], _with_action(policy, rule, Action.WARN))
    expected = Counter(
        {(k[0], Action.WARN.value, *k[2:]) if k[0] == rule.id else k: n
         for k, n in _violations(before, policy).items()}
    )  # fmt: skip
    assert _violations(as_warning, policy) == expected


def test_a_package_type_rule_matches_whichever_report_comes_first() -> None:
    """Trivy writes `alpine` where Grype writes `apk`: a finding both report is in a package of both types, so
    a rule of either word catches it in either order (found by the report-order property)."""
    need_shared()
    trivy, grype = _same_image_groups()[-1]
    rules = tuple(
        Rule(id=kind, match=Match.model_validate({"package_type": kind})) for kind in ("apk", "alpine")
    )
    policy = _policies()[0].model_copy(update={"name": "types", "rules": rules})
    for order in ([trivy, grype], [grype, trivy]):
        (image,) = _decide(order, policy).images
        matched = {r.rule_id: r.matched for r in image.rules}
        # 5 findings: 3 by both, 1 only by Trivy (alpine), 1 only by Grype (apk)
        assert matched == {"apk": 4, "alpine": 4}, order[0].scanner


def test_a_purl_rule_matches_whichever_report_comes_first() -> None:
    """Grype's package URLs carry an `upstream` qualifier Trivy's leave out: a finding both report is in a package
    of both URLs, for rules and for a waiver's `purls` alike."""
    need_shared()
    trivy, grype = _same_image_groups()[-1]
    upstream = "pkg:apk/alpine/*upstream=openssl*"
    rule = Rule(id="openssl", match=Match.model_validate({"purl": upstream}))
    waiver = Waiver.model_validate(
        {"id": "CVE-2019-1549", "reason": "accepted for the test", "expires": _FAR, "purls": upstream}
    )
    policy = _policies()[0].model_copy(update={"name": "purls", "rules": (rule,)})
    for order in ([trivy, grype], [grype, trivy]):
        (image,) = _decide(order, policy).images
        assert image.rules[0].matched == 4, order[
            0
        ].scanner  # the 4 findings Grype reported (3 also by Trivy)
        (image,) = _decide(order, policy.model_copy(update={"waivers": (waiver,)})).images
        assert len(image.waived) == 2, order[0].scanner  # CVE-2019-1549 in libssl1.1 and libcrypto1.1
