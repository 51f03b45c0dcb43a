"""Risk rules (KEV, EPSS, CVSS, fix age, budgets) on real Grype reports, and missing data (on_missing_intel).

Expected IDs were read off the raw JSON of each report (vulnerability.epss[].epss/percentile,
fix.available[].date, knownExploited, cvss[].metrics.baseScore), not computed with gate code.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from gate.ingest import read_report
from gate.intel import enrich
from gate.model import Cvss, Finding, FindingKind, FixState, Package, Scan, Severity
from gate.policy.decision import Action, Decision, Verdict
from gate.policy.engine import evaluate
from gate.policy.matching import KeyState, check_match, chosen_cvss, screen
from gate.policy.schema import Policy, load_policy
from gate.policy.settings import CvssSource
from tests.conftest import REAL, TODAY, need_shared, write_policy

EPSS_REPORT = "defectdojo-grype--many_vulns_with_epss_values.json"
FIX_DATES_REPORT = "ci-sdlc--grype-report-with-log-prefix.json"
KEV_REPORT = "grype-presenter--TestJsonImgsPresenter.json"


def _real(kind: str, name: str) -> Scan:
    need_shared()
    path = REAL / kind / name
    return enrich(read_report(str(path), path.read_bytes()))


def _policy(tmp_path: Path, text: str) -> Policy:
    return load_policy(str(write_policy(tmp_path, text)))


def _failing(decision: Decision, rule: str) -> list[str]:
    return sorted(v.id for v in decision.violations if v.rule_id == rule)


def _result(decision: Decision, rule: str) -> tuple[bool, str]:
    found = next(r for r in decision.images[0].rules if r.rule_id == rule)
    return found.triggered, found.explanation


@pytest.mark.parametrize(
    ("match", "ids"),
    [
        ('epss = ">=0.05"', ["CVE-2022-28391"]),  # 0.0719
        ('epss_percentile = ">=0.7"', ["CVE-2021-28831", "CVE-2022-28391"]),  # 0.74313, 0.91123
        ('epss = ">=0.004", severity = "critical"', ["CVE-2022-48174"]),  # 0.00451
        ('cvss = ">=9"', ["CVE-2022-48174"]),  # NVD 9.8
        ('cvss = "<3"', ["CVE-2024-58251"]),  # cve@mitre.org v3.1 2.5 (CVE-2025-46394 has 3.2)
    ],
)
def test_epss_and_cvss_rules_on_a_real_grype_report(tmp_path: Path, match: str, ids: list[str]) -> None:
    policy = _policy(tmp_path, f'[[rules]]\nid = "r"\nmatch = {{ kind = "vulnerability", {match} }}\n')
    decision = evaluate(_real("grype", EPSS_REPORT), policy, today=TODAY)
    assert _failing(decision, "r") == ids


def test_epss_at_least_0_1_matches_nothing_in_the_real_report(tmp_path: Path) -> None:
    policy = _policy(tmp_path, '[[rules]]\nid = "epss"\nmatch = { epss = ">=0.1" }\n')
    decision = evaluate(_real("grype", EPSS_REPORT), policy, today=TODAY)
    assert decision.verdict is Verdict.PASS
    assert _result(decision, "epss") == (False, "no finding matches")


def test_budget_combined_with_epss(tmp_path: Path) -> None:
    text = '[[rules]]\nid = "b"\nmatch = {{ epss_percentile = ">=0.7" }}\nmax = {}\n'
    within = evaluate(_real("grype", EPSS_REPORT), _policy(tmp_path, text.format(2)), today=TODAY)
    assert _result(within, "b") == (False, "2 of at most 2 allowed (within budget)")
    over = evaluate(_real("grype", EPSS_REPORT), _policy(tmp_path, text.format(1)), today=TODAY)
    assert _result(over, "b") == (True, "2 of at most 1 allowed (over budget)")
    assert _failing(over, "b") == ["CVE-2021-28831", "CVE-2022-28391"]


@pytest.mark.parametrize(
    ("today", "limit", "ids"),
    [
        # fix.available dates: 3ww4 2024-02-06, 2jv5 2024-02-13, 6vqw 2024-02-22, pwr2 2024-02-27, 59g5 2024-12-03
        (date(2024, 3, 7), ">30", []),  # 3ww4 is exactly 30 days old
        (date(2024, 3, 7), ">=30", ["GHSA-3ww4-gg4f-jr7f"]),
        (date(2024, 3, 15), ">30", ["GHSA-2jv5-9r88-3w3p", "GHSA-3ww4-gg4f-jr7f"]),
        (
            TODAY,
            ">30",
            ["GHSA-2jv5-9r88-3w3p", "GHSA-3ww4-gg4f-jr7f", "GHSA-59g5-xgcq-4qw3", "GHSA-6vqw-3v5j-54x4",
             "GHSA-pwr2-4v36-6qpr"],
        ),
    ],
)  # fmt: skip
def test_fix_age_for_high_uses_grype_fix_dates(
    tmp_path: Path, today: date, limit: str, ids: list[str]
) -> None:
    rule = f'[[rules]]\nid = "old-fix"\nmatch = {{ severity = "high", fixable = true, fix_age_days = "{limit}" }}\n'
    decision = evaluate(_real("grype", FIX_DATES_REPORT), _policy(tmp_path, rule), today=today)
    assert _failing(decision, "old-fix") == ids


def test_kev_from_grype_known_exploited(tmp_path: Path) -> None:
    decision = evaluate(_real("grype", KEV_REPORT), load_policy("builtin:default"), today=TODAY)
    assert _failing(decision, "known-exploited") == ["CVE-1999-0002"]
    assert not any("KEV" in note for note in decision.images[0].notes)  # the report had the data


def _trivy(name: str = "trivy-integ--alpine-39.json") -> Scan:
    need_shared()
    path = REAL / "trivy" / name
    return read_report(str(path), path.read_bytes())


def test_missing_epss_fails_closed_by_default_and_says_so(tmp_path: Path) -> None:
    scan = _trivy()
    vulns = [f for f in scan.findings if f.kind is FindingKind.VULNERABILITY and f.suppressed is None]
    policy = _policy(tmp_path, '[[rules]]\nid = "epss"\nmatch = { kind = "vulnerability", epss = ">=0.1" }\n')
    decision = evaluate(scan, policy, today=TODAY)
    assert decision.verdict is Verdict.FAIL
    triggered, explanation = _result(decision, "epss")
    assert triggered
    assert explanation.endswith(
        f"; {len(vulns)} counted because their EPSS score is unknown (on_missing_intel = fail)"
    )
    assert all(
        "EPSS score unknown, counted (on_missing_intel = fail)" in v.message for v in decision.violations
    )


def test_missing_epss_warns_when_the_policy_says_warn(tmp_path: Path) -> None:
    scan = _trivy()
    text = '[settings]\non_missing_intel = "warn"\n[[rules]]\nid = "epss"\nmatch = { kind = "vulnerability", epss = ">=0.1" }\n'
    decision = evaluate(scan, _policy(tmp_path, text), today=TODAY)
    assert decision.verdict is Verdict.WARN
    assert _result(decision, "epss") == (False, "no finding matches")
    triggered, explanation = _result(decision, "missing-intel")
    assert triggered and explanation.endswith("lacked data (on_missing_intel = warn) in: epss")
    assert {v.message for v in decision.violations} == {"rule epss could not check it: EPSS score unknown"}
    assert {v.action for v in decision.violations} == {Action.WARN}


def test_skip_notes_it_and_a_rule_overrides_the_setting(tmp_path: Path) -> None:
    text = (
        '[settings]\non_missing_intel = "warn"\n'
        '[[rules]]\nid = "kev"\nmatch = { kev = true }\non_missing_intel = "skip"\n'
    )
    decision = evaluate(_trivy(), _policy(tmp_path, text), today=TODAY)
    assert decision.verdict is Verdict.PASS
    [note] = [n for n in decision.images[0].notes if n.startswith("rule kev skipped")]
    assert note.endswith("skipped 6 findings: KEV status unknown (give --kev, or a report that carries it)")


@pytest.mark.parametrize(
    ("match", "advice"),
    [
        ("epss = '>=0.1', kev = true", "(give --kev/--epss, or a report that carries it)"),
        ("fixable = true, fix_age_days = '>30'", "(only a report can carry it)"),  # Trivy has no fix dates
        ("kev = true, fix_age_days = '>30'", "(give --kev; the rest only a report can carry)"),
    ],
)
def test_a_skip_note_only_suggests_flags_that_bring_the_data(tmp_path: Path, match: str, advice: str) -> None:
    text = f'[[rules]]\nid = "r"\nmatch = {{ {match} }}\non_missing_intel = "skip"\n'
    decision = evaluate(_trivy(), _policy(tmp_path, text), today=TODAY)
    [note] = [n for n in decision.images[0].notes if n.startswith("rule r skipped")]
    assert note.endswith(advice)


def test_default_preset_notes_missing_kev_and_fails_nothing_for_it() -> None:
    scan = _trivy()
    decision = evaluate(scan, load_policy("builtin:default"), today=TODAY)
    assert not any(v.rule_id == "known-exploited" for v in decision.violations)
    assert any(n.startswith("rule known-exploited skipped") for n in decision.images[0].notes)


def test_trivy_has_no_fix_date(tmp_path: Path) -> None:
    policy = _policy(tmp_path, '[[rules]]\nid = "f"\nmatch = { fixable = true, fix_age_days = ">30" }\n')
    scan = _trivy()
    fixable = next(f for f in scan.findings if f.fixable)
    [check] = [c for c in check_match(fixable, policy.rules[0].match, today=TODAY) if c.key == "fix_age_days"]  # type: ignore[arg-type]
    assert (check.state, check.detail) == (
        KeyState.MISSING,
        "fix date unknown: Trivy reports carry no fix date",
    )
    unfixed = fixable.model_copy(update={"fix_state": FixState.NOT_FIXED, "fixed_versions": ()})
    [check] = [c for c in check_match(unfixed, policy.rules[0].match, today=TODAY) if c.key == "fix_age_days"]  # type: ignore[arg-type]
    assert (check.state, check.detail) == (KeyState.FAIL, "no fix exists, so there is no fix age")


def test_intel_keys_never_match_secrets(tmp_path: Path) -> None:
    secret = Finding(
        kind=FindingKind.SECRET, id="aws-access-key-id", severity=Severity.CRITICAL, scanner="trivy"
    )
    policy = _policy(tmp_path, '[[rules]]\nid = "e"\nmatch = { epss = ">=0.1", kev = true, cvss = 9 }\n')
    checks = check_match(secret, policy.rules[0].match, today=TODAY)  # type: ignore[arg-type]
    assert {c.state for c in checks} == {KeyState.FAIL}


def _scored(*scores: tuple[str, str, float]) -> Finding:
    return Finding(
        kind=FindingKind.VULNERABILITY,
        id="CVE-2024-2",
        package=Package(name="p"),
        fix_state=FixState.FIXED,
        cvss=tuple(Cvss(source=s, version=v, score=n) for s, v, n in scores),  # type: ignore[arg-type]
        scanner="grype",
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (CvssSource.HIGHEST, ("redhat", 8.1)),
        (CvssSource.NVD, ("nvd@nist.gov", 7.5)),
        (CvssSource.VENDOR, ("redhat", 8.1)),
    ],
)
def test_cvss_source_choice(source: CvssSource, expected: tuple[str, float]) -> None:
    finding = _scored(("nvd@nist.gov", "3", 7.5), ("redhat", "3", 8.1), ("nvd", "2", 9.3))
    chosen = chosen_cvss(finding, source)
    assert chosen is not None and (chosen.source, chosen.score) == expected


def test_cvss_vendor_falls_back_to_nvd_and_v2_only_when_nothing_newer() -> None:
    only_nvd = _scored(("nvd", "3", 6.1))
    assert chosen_cvss(only_nvd, CvssSource.VENDOR) == only_nvd.cvss[0]
    legacy = _scored(("nvd", "2", 9.3))
    assert chosen_cvss(legacy, CvssSource.NVD) == legacy.cvss[0]
    assert chosen_cvss(_scored(("redhat", "3", 5.0)), CvssSource.NVD) is None


def test_cvss_source_setting_changes_the_decision(tmp_path: Path) -> None:
    finding = _scored(("nvd@nist.gov", "3", 7.5), ("redhat", "3", 8.1))
    scan = Scan(source="r.json", scanner="grype", findings=(finding,))
    rule = '[[rules]]\nid = "c"\nmatch = { cvss = ">=8" }\n'
    assert evaluate(scan, _policy(tmp_path, rule), today=TODAY).verdict is Verdict.FAIL
    nvd = _policy(tmp_path, f'[settings]\ncvss_source = "nvd"\n{rule}')
    assert evaluate(scan, nvd, today=TODAY).verdict is Verdict.PASS


@pytest.mark.parametrize(
    "match",
    [
        'kind = "vulnerability", severity = ">=high", fixable = true',
        'severity = ["low", "critical"]',
        'kind = ["secret", "license"]',
        "fixable = false",
        'kind = "vulnerability", severity = "<medium", package = "lib*"',
    ],
)
def test_screen_catches_in_report_order_what_check_match_passes(tmp_path: Path, match: str) -> None:
    # screen() tests kind, severity and fixable once per group of alike findings, then lists its hits in
    # order.
    findings = [
        Finding(
            kind=kind,
            id=f"ID-{n}",
            severity=severity,
            fix_state=fix,
            package=Package(name=("libz" if n % 3 else "zlib"), version="1"),
            scanner="trivy",
        )
        for n, (kind, severity, fix) in enumerate(
            (kind, severity, fix)
            for _ in range(2)  # each class twice, apart: the hits of several classes interleave
            for severity in reversed(list(Severity))
            for fix in (FixState.FIXED, FixState.NOT_FIXED)
            for kind in FindingKind
        )
    ]
    policy = _policy(tmp_path, f'version = 1\n[[rules]]\nid = "r"\nmatch = {{ {match} }}\n')
    rule = policy.rules[0]
    assert rule.match is not None
    passed = tuple(
        i
        for i, f in enumerate(findings)
        if KeyState.FAIL not in {c.state for c in check_match(f, rule.match, today=TODAY)}
    )
    assert passed
    assert screen(rule, findings, settings=policy.settings, today=TODAY).hits == passed
