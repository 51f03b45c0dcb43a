"""`gate explain ID`: the data, each rule and why, waivers and VEX for one finding; exit codes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from gate.cli import main
from gate.explain import explain, find
from gate.ingest import read_report
from gate.ingest.vex import apply_vex, read_vex
from gate.intel import enrich, parse_epss, parse_kev
from gate.model import Finding, FindingKind, FixState, Package, Scan, Severity, Suppression
from gate.policy.schema import Policy, load_policy
from tests.conftest import REAL, TESTDATA, TODAY, need_shared, write_policy

GITEA = "grype/analysis-model--grype-report-wo-description.json"
POLICY = """version = 1
extends = "builtin:default"

[[rules]]
id = "epss"
title = "EPSS at least 0.1"
match = { kind = "vulnerability", epss = ">=0.1" }

[[waivers]]
id = "CVE-2023-38039"
reason = "curl is only used at build time"
expires = 2026-12-05
owner = "team-web"
packages = ["libcurl"]

[[waivers]]
id = "GHSA-qppj-fm5r-hxr3"
reason = "old waiver"
expires = 2026-01-31
"""


def _policy(tmp_path: Path) -> Policy:
    return load_policy(str(write_policy(tmp_path, POLICY)))


def _gitea() -> Scan:
    need_shared()
    path = REAL / GITEA
    kev = parse_kev((TESTDATA / "intel" / "kev.json").read_bytes(), "kev.json")
    epss = parse_epss((TESTDATA / "intel" / "epss.csv").read_bytes(), "epss.csv")
    vex = read_vex("vex.json", (TESTDATA / "vex" / "cyclonedx-vex.json").read_bytes())
    return apply_vex(enrich(read_report(str(path), path.read_bytes()), kev=kev, epss=epss), [vex])


def _block(text: str, header: str) -> str:
    blocks = text.split("\n\n")
    return next(b for b in blocks if b.startswith(header))


def test_known_exploited_and_epss_with_an_expired_waiver(tmp_path: Path) -> None:
    text = explain("CVE-2023-44487", [_gitea()], _policy(tmp_path), today=TODAY)
    assert text is not None
    assert text.startswith(f"CVE-2023-44487: 2 findings (policy {tmp_path / 'gate.toml'}, 2026-11-27)\n")
    block = _block(text, "GHSA-qppj-fm5r-hxr3 (aliases: CVE-2023-44487) in golang.org/x/net v0.13.0")
    lines = block.splitlines()
    assert "  outcome: FAIL by known-exploited, epss" in lines
    assert "    KEV: listed in CISA KEV" in lines
    assert "    EPSS: 0.81123 (percentile 0.99112)" in lines
    assert (
        "    known-exploited (fail): matches (kind: vulnerability is one of: vulnerability; kev: listed in CISA KEV; "
        "the rule wants kev = true); the rule triggered (2 findings match)"
    ) in lines
    assert (
        "    epss (fail): matches (kind: vulnerability is one of: vulnerability; epss: EPSS 0.81123 is >= 0.1)"
        in block
    )
    assert (
        "    fixable-critical-high (fail): does not match: severity: MEDIUM is not one of: CRITICAL, HIGH"
    ) in lines
    assert (
        "    GHSA-qppj-fm5r-hxr3 (expires 2026-01-31; reason: old waiver): EXPIRED 300 days ago; it no longer waives"
    ) in lines
    nghttp2 = _block(text, "CVE-2023-44487 in nghttp2-libs 1.55.1-r0 [apk]")
    assert "  VEX: affected: Rebuild on nghttp2 1.57.0. [vex.json] -> stays active" in nghttp2.splitlines()


def test_waived_and_scoped_out(tmp_path: Path) -> None:
    text = explain("cve-2023-38039", [_gitea()], _policy(tmp_path), today=TODAY)
    assert text is not None
    libcurl = _block(text, "CVE-2023-38039 in libcurl")
    assert "  outcome: waived by CVE-2023-38039 until 2026-12-05 (curl is only used at build time)" in libcurl
    assert "; not counted: waived" in libcurl
    assert "applies (8 days left)" in libcurl
    curl = _block(text, "CVE-2023-38039 in curl ")
    assert "does not apply: packages ['libcurl'] does not match curl" in curl
    assert "  outcome: FAIL by fixable-critical-high" in curl


def test_vex_suppressed_and_missing_data(tmp_path: Path) -> None:
    text = explain("CVE-2023-38545", [_gitea()], _policy(tmp_path), today=TODAY)
    assert text is not None
    curl = _block(text, "CVE-2023-38545 in curl ")
    assert (
        "  outcome: suppressed (VEX not_affected (code_not_reachable): The image never talks to a SOCKS5 proxy.); "
        "not gated"
    ) in curl.splitlines()
    assert (
        "  VEX: not_affected (code_not_reachable): The image never talks to a SOCKS5 proxy. [vex.json] -> suppressed"
        in curl
    )
    assert "    CVSS: none in the report" in curl.splitlines()
    assert (
        "    fix available since: unknown (the Grype report has no fix.available dates)" in curl.splitlines()
    )


def test_missing_data_is_explained_by_the_setting(tmp_path: Path) -> None:
    trivy = Finding(kind=FindingKind.VULNERABILITY, id="CVE-2024-9", severity=Severity.HIGH, scanner="trivy")
    scan = Scan(source="t.json", scanner="trivy", artifact="app", findings=(trivy,))
    text = explain("CVE-2024-9", [scan], _policy(tmp_path), today=TODAY)
    assert text is not None
    assert (
        "    epss (fail): data missing (epss: no EPSS score: the report has none and the EPSS data (--epss) has no "
        "entry for it); on_missing_intel = fail: counted as matching; the other keys hold (kind: vulnerability is "
        "one of: vulnerability); the rule triggered (1 finding matches; 1 counted because their EPSS score is "
        "unknown (on_missing_intel = fail))"
    ) in text.splitlines()
    assert (
        "known-exploited (fail): data missing" in text
        and "on_missing_intel = skip: not counted; noted" in text
    )


def test_a_waived_finding_is_not_reported_under_missing_intel(tmp_path: Path) -> None:
    # gate check leaves waived findings out of every rule, missing-intel included: explain says the same.
    trivy = Finding(kind=FindingKind.VULNERABILITY, id="CVE-2024-9", severity=Severity.HIGH, scanner="trivy")
    scan = Scan(source="t.json", scanner="trivy", artifact="app", findings=(trivy,))
    path = write_policy(tmp_path, POLICY.replace('match = { kind = "vulnerability", epss = ">=0.1" }',
                                   'match = { kind = "vulnerability", epss = ">=0.1" }\non_missing_intel = "warn"')
                    + '[[waivers]]\nid = "CVE-2024-9"\nreason = "r"\nexpires = 2027-01-31\n')  # fmt: skip
    text = explain("CVE-2024-9", [scan], load_policy(str(path)), today=TODAY)
    assert text is not None
    assert "on_missing_intel = warn: not counted: waived" in text
    assert "reported under missing-intel" not in text


@pytest.mark.parametrize(
    ("expires", "published", "said"),
    [
        ("2026-11-26", "2026-11-26 (1 day before 2026-11-27)", "EXPIRED 1 day ago; it no longer waives"),
        ("2026-11-27", "2026-11-26 (1 day before 2026-11-27)", "applies (its last day)"),
        ("2026-11-28", "2026-11-26 (1 day before 2026-11-27)", "applies (1 day left)"),
    ],
)
def test_one_day_is_a_day(tmp_path: Path, expires: str, published: str, said: str) -> None:
    finding = Finding(
        kind=FindingKind.VULNERABILITY,
        id="CVE-2024-9",
        severity=Severity.HIGH,
        scanner="trivy",
        published=TODAY.replace(day=26),
    )
    scan = Scan(source="t.json", scanner="trivy", artifact="app", findings=(finding,))
    path = write_policy(
        tmp_path,
        f'extends = "builtin:default"\n[[waivers]]\nid = "CVE-2024-9"\nreason = "r"\nexpires = {expires}\n',
    )
    text = explain("CVE-2024-9", [scan], load_policy(str(path)), today=TODAY)
    assert text is not None
    assert f"    published: {published}" in text.splitlines()
    assert f"    CVE-2024-9 (expires {expires}; reason: r): {said}" in text.splitlines()


def test_report_text_is_escaped(tmp_path: Path) -> None:
    hostile = Finding(
        kind=FindingKind.VULNERABILITY,
        id="CVE-2024-7",
        title="x",
        aliases=("::error::pwned\x1b[31m",),
        scanner="grype",
    )
    text = explain("CVE-2024-7", [Scan(source="r.json", scanner="grype", findings=(hostile,))], _policy(tmp_path),
                   today=TODAY)  # fmt: skip
    assert text is not None
    assert "\x1b" not in text and "::error" not in text


def test_a_finding_an_ignore_rule_left_out_is_explained_as_gated_when_the_policy_does_not_honor_it(
    tmp_path: Path,
) -> None:
    ignored = Finding(
        kind=FindingKind.VULNERABILITY,
        id="CVE-2024-7",
        severity=Severity.CRITICAL,
        package=Package(name="openssl", version="1.0", type="apk"),
        fix_state=FixState.FIXED,
        fixed_versions=("1.1",),
        scanner="trivy",
        suppressed=Suppression(status="ignored", source=".trivyignore"),
    )
    scans = [Scan(source="r.json", scanner="trivy", findings=(ignored,))]
    text = explain("CVE-2024-7", scans, load_policy("builtin:default"), today=TODAY)
    assert text is not None and "  outcome: suppressed (ignored); not gated\n" in text
    assert text.endswith("  scanner suppression: ignored by .trivyignore\n")
    path = write_policy(tmp_path, 'extends = "builtin:default"\n[settings]\nhonor_scanner_ignores = false\n')
    text = explain("CVE-2024-7", scans, load_policy(str(path)), today=TODAY)
    assert text is not None and "  outcome: FAIL by fixable-critical-high\n" in text  # as gate check decides
    assert (
        "fixable-critical-high (fail): matches (" in text
        and "; the rule triggered (1 finding matches)" in text
    )
    assert text.endswith(
        "  scanner suppression: ignored by .trivyignore; gated all the same (honor_scanner_ignores = false)\n"
    )


def test_find_matches_aliases_case_insensitively() -> None:
    assert [f.id for _, f in find("cve-2023-39325", [_gitea()])] == ["GHSA-4374-p667-p6c8"]
    assert find("CVE-0000-0000", [_gitea()]) == []


def _run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_cli_explain(tmp_path: Path) -> None:
    need_shared()
    policy = write_policy(tmp_path, POLICY)
    report = str(REAL / GITEA)
    common = ["--policy", str(policy), "--today", "2026-11-27", "--kev", str(TESTDATA / "intel" / "kev.json")]
    code, out, err = _run("explain", "CVE-2023-44487", report, *common)
    assert (code, err) == (0, "")
    assert "KEV: listed in CISA KEV" in out
    code, out, err = _run("explain", "CVE-1999-9999", report, *common)
    assert code == 2 and out == ""
    assert err == (
        "gate: error: CVE-1999-9999: no finding of the reports (33 findings in all) and no rule or image check of "
        "the policy has this ID; check the ID\n"
    )


def test_cli_explain_reads_the_baseline_and_the_metadata_as_check_does() -> None:
    need_shared()
    report = str(REAL / "trivy" / "trivy-integ--alpine-39.json")
    main_branch = str(REAL / "trivy" / "trivy-integ--alpine-39-high-critical.json")
    args = ("CVE-2019-14697", report, "--today", "2026-11-27")
    assert "outcome: FAIL by fixable-critical-high" in _run("explain", *args)[1]
    code, out, _ = _run("explain", *args, "--baseline", main_branch)
    assert code == 0 and "outcome: reported; no rule caught it" in out
    assert "not counted: already in the baseline (scope = new)" in out
    assert _run("check", report, "--baseline", main_branch, "--today", "2026-11-27")[0] == 0  # check agrees
    code, _, err = _run("explain", *args, "--image-metadata", str(TESTDATA / "nope.json"))
    assert code == 2 and "no such file" in err


def test_cli_explain_lays_each_image_metadata_over_its_own_image(tmp_path: Path) -> None:
    from tests.test_cli import two_platforms

    paths = two_platforms(tmp_path)
    files = ["--image-metadata", paths["arm64.inspect"], "--image-metadata", paths["amd64.inspect"]]
    args = ["non-root-user", paths["amd64"], paths["arm64"], *files, "--policy", "builtin:strict"]
    code, out, err = _run("explain", *args, "--today", "2026-11-27")
    assert (code, err) == (0, "")
    amd64, arm64 = out.split("non-root-user (fail) on ")[1:]
    assert amd64.startswith("registry.example.com/team/api:2.0.1 (linux/amd64): passed")
    assert 'runs as user "app"' in amd64
    assert arm64.startswith("registry.example.com/team/api:2.0.1 (linux/arm64): triggered: FAIL")
    code, _, err = _run("explain", *args[:3], "--image-metadata", paths["arm64.inspect"])
    assert code == 2 and f"{paths['arm64.inspect']}: is the docker inspect of another image than" in err


@pytest.mark.parametrize("missing", ["--vex", "--kev", "--epss"])
def test_cli_explain_refuses_missing_files(tmp_path: Path, missing: str) -> None:
    need_shared()
    code, _, err = _run("explain", "CVE-1", str(REAL / GITEA), missing, str(tmp_path / "nope.json"))
    assert code == 2
    assert err.count("\n") == 1 and "no such file" in err


def test_a_rule_or_image_check_id_explains_how_it_came_out_on_each_image(tmp_path: Path) -> None:
    clean, failing = (
        str(TESTDATA / "reports" / "trivy-clean.json"),
        str(TESTDATA / "reports" / "trivy-fail.json"),
    )
    code, out, err = _run(
        "explain", "non-root-user", clean, "--policy", "builtin:strict", "--today", "2026-11-27"
    )
    assert (code, err) == (0, "")
    assert out.startswith("non-root-user: 1 rule result (policy builtin:strict, 2026-11-27)\n\n")
    assert "non-root-user (fail) on registry.example.com/team/api:2.0.1: passed\n" in out
    code, out, _ = _run("explain", "fixable-critical-high", failing, "--today", "2026-11-27")
    assert code == 0 and ": triggered: FAIL\n" in out
    assert "  findings (" in out and "`gate explain ID` explains one" in out
    policy = write_policy(tmp_path, 'extends = "builtin:default"\n[settings]\nmax_report_age_days = 3\n')
    code, out, _ = _run("explain", "stale-report", clean, "--policy", str(policy), "--today", "2026-11-27")
    assert code == 0
    assert "  reports:\n    report-age: " in out and "7 days before 2026-11-27 (at most 3)" in out
    code, _, err = _run(
        "explain", "stale-report", clean, "--today", "2026-11-27"
    )  # no limit set: it did not run
    assert (
        code == 2
        and "stale-report: a built-in rule that did not run for these reports and this policy" in err
    )
    # A subject names no rule: "findings" is not an ID.
    code, _, err = _run("explain", "findings", failing, "--today", "2026-11-27")
    assert code == 2 and "no rule or image check of the policy has this ID" in err


@pytest.mark.parametrize(
    ("rule", "asked"),
    [
        ('id = "secrets"\naction = "off"\nmatch = { kind = "secret" }', "secrets"),
        ('id = "non-root-user"\naction = "off"\nimage = { user = "non-root" }', "non-root-user"),
        ('id = "root"\naction = "off"\nimage = { user = "non-root" }', "non-root-user"),
    ],
)
def test_a_rule_switched_off_is_named_as_such_not_as_unknown(tmp_path: Path, rule: str, asked: str) -> None:
    policy = tmp_path / "gate.toml"
    policy.write_text(
        f'version = 1\n[[rules]]\nid = "r"\nmatch = {{ kind = "license" }}\n[[rules]]\n{rule}\n', "utf-8"
    )
    report = str(TESTDATA / "reports" / "trivy-clean.json")
    code, out, err = _run("explain", asked, report, "--policy", str(policy), "--today", "2026-11-27")
    assert (code, out) == (2, "")
    assert err.startswith(f"gate: error: {asked}: the policy's rule ")
    assert 'is switched off (action = "off"), so it ran on no image' in err
    assert "check the ID" not in err


def test_a_rule_on_images_of_one_name_for_two_platforms_names_each_platform() -> None:
    from gate.explain import explain_rule
    from tests.report.helpers import synthetic_scan

    def on(platform: str, image_id: str) -> Scan:
        scan = synthetic_scan(1)
        assert scan.image is not None
        image = scan.image.model_copy(update={"platform": platform, "image_id": image_id})
        return scan.model_copy(update={"image": image, "source": f"{platform.replace('/', '-')}.json"})

    scans = [on("linux/amd64", "sha256:" + "a" * 64), on("linux/arm64", "sha256:" + "b" * 64)]
    out = explain_rule("non-root-user", scans, load_policy("builtin:default"), today=TODAY)
    assert out is not None
    assert "non-root-user (warn) on registry.example.com/big/app:1.0 (linux/amd64): triggered: WARN\n" in out
    assert "non-root-user (warn) on registry.example.com/big/app:1.0 (linux/arm64): triggered: WARN\n" in out


def test_a_finding_of_images_of_one_name_for_two_platforms_names_each_platform() -> None:
    from tests.report.helpers import synthetic_scan

    def on(platform: str, image_id: str, findings: int) -> Scan:
        scan = synthetic_scan(findings)
        assert scan.image is not None
        image = scan.image.model_copy(update={"platform": platform, "image_id": image_id})
        return scan.model_copy(update={"image": image, "source": f"{platform.replace('/', '-')}.json"})

    # The second finding is the arm64 image's only: its platform still tells it from the amd64 image of the
    # run.
    scans = [on("linux/amd64", "sha256:" + "a" * 64, 1), on("linux/arm64", "sha256:" + "b" * 64, 2)]
    policy = load_policy("builtin:default")
    both, arm64_only = (scans[1].findings[0].id, scans[1].findings[1].id)
    images = [
        line for line in (explain(both, scans, policy, today=TODAY) or "").splitlines() if "image:" in line
    ]
    assert images == [
        "  image: registry.example.com/big/app:1.0 (linux/amd64) (linux-amd64.json, trivy)",
        "  image: registry.example.com/big/app:1.0 (linux/arm64) (linux-arm64.json, trivy)",
    ]
    text = explain(arm64_only, scans, policy, today=TODAY) or ""
    assert "  image: registry.example.com/big/app:1.0 (linux/arm64) (linux-arm64.json" in text
    # One platform alone: the name, as before.
    text = explain(both, scans[:1], policy, today=TODAY) or ""
    assert "  image: registry.example.com/big/app:1.0 (linux-amd64.json" in text


def test_a_platform_scoped_waiver_is_explained_on_each_platform(tmp_path: Path) -> None:
    from tests.report.helpers import synthetic_scan

    def on(platform: str, image_id: str) -> Scan:
        scan = synthetic_scan(1)
        assert scan.image is not None
        image = scan.image.model_copy(update={"platform": platform, "image_id": image_id})
        return scan.model_copy(
            update={"image": image, "source": f"{platform.replace('/', '-') or 'none'}.json"}
        )

    policy = write_policy(tmp_path, 'extends = "builtin:default"\n[[waivers]]\nid = "CVE-2024-10000"\nreason = "r"\n'
                      'expires = 2027-01-31\nplatforms = ["linux/arm64/v8"]\n')  # fmt: skip
    scans = [on("linux/amd64", "sha256:" + "a" * 64), on("linux/aarch64", "sha256:" + "b" * 64), on("", "")]
    text = explain("CVE-2024-10000", scans, load_policy(str(policy)), today=TODAY)
    assert text is not None
    head = "    CVE-2024-10000 (expires 2027-01-31; reason: r): "
    said = [line.removeprefix(head) for line in text.splitlines() if line.startswith(head)]
    assert said == [
        "does not apply: platforms ['linux/arm64/v8'] does not match linux/amd64",
        "applies (65 days left)",
        "does not apply: platforms ['linux/arm64/v8'] does not match: the image's platform is unknown",
    ]


@pytest.mark.parametrize(
    ("setting", "waived", "said"),
    [
        ("warn", False, "vex-under-investigation warns"),
        ("fail", False, "vex-under-investigation fails"),
        ("info", False, "vex-under-investigation lists it (info)"),
        ("off", False, "vex-under-investigation is off"),
        ("fail", True, "vex-under-investigation does not count it: waived"),
    ],
)
def test_under_investigation_says_what_the_builtin_rule_did(
    tmp_path: Path, setting: str, waived: bool, said: str
) -> None:
    # The VEX line named "warns" whatever settings.vex_under_investigation said, and for waived findings too,
    # which the rule leaves out.
    from gate.model import Vex, VexStatus

    finding = Finding(
        kind=FindingKind.VULNERABILITY,
        id="CVE-2024-9",
        severity=Severity.LOW,
        scanner="trivy",
        vex=Vex(status=VexStatus.UNDER_INVESTIGATION, source="v.json"),
    )
    scan = Scan(source="t.json", scanner="trivy", artifact="app", findings=(finding,))
    waiver = '[[waivers]]\nid = "CVE-2024-9"\nreason = "r"\nexpires = 2027-01-31\n' if waived else ""
    policy = load_policy(str(write_policy(tmp_path, f'extends = "builtin:default"\n[settings]\nvex_under_investigation = "{setting}"\n{waiver}')))  # fmt: skip
    text = explain("CVE-2024-9", [scan], policy, today=TODAY)
    assert text is not None
    assert f"  VEX: under_investigation [v.json] -> stays active; {said}" in text.splitlines()
    from gate.policy.engine import evaluate

    image = evaluate(scan, policy, today=TODAY).images[0]  # as gate check decides it
    reported = [v.action.value for v in image.violations if v.rule_id == "vex-under-investigation"]
    assert reported == ({"warn": ["warn"], "fail": ["fail"]}.get(setting, []) if not waived else [])


def test_a_waived_finding_the_baseline_had_is_not_counted_for_the_baseline(tmp_path: Path) -> None:
    # A scope-new rule leaves out a finding the baseline had, waived or not: the record lists no such rule as one
    # the waiver kept off, and explain gave the waiver as the reason.
    from gate.policy.engine import evaluate

    finding = Finding(
        kind=FindingKind.VULNERABILITY,
        id="CVE-2024-9",
        severity=Severity.HIGH,
        fix_state=FixState.FIXED,
        fixed_versions=("2",),
        scanner="trivy",
        baseline="existing",
    )
    scan = Scan(source="t.json", scanner="trivy", artifact="app", findings=(finding,))
    path = write_policy(tmp_path, 'extends = "builtin:default"\n[[rules]]\nid = "all-high"\nscope = "all"\n'
                        'match = { severity = "high" }\n'
                        '[[waivers]]\nid = "CVE-2024-9"\nreason = "r"\nexpires = 2027-01-31\n')  # fmt: skip
    policy = load_policy(str(path))
    (waived,) = evaluate(scan, policy, today=TODAY).images[0].waived
    assert waived.rules == ("all-high",)
    text = explain("CVE-2024-9", [scan], policy, today=TODAY)
    assert text is not None
    lines = [
        line for line in text.splitlines() if line.startswith(("    fixable-critical-high", "    all-high"))
    ]
    assert lines[0].endswith("; not counted: already in the baseline (scope = new)")
    assert lines[1].endswith("; not counted: waived")


def test_a_waiver_of_a_suppressed_finding_is_not_said_to_apply(tmp_path: Path) -> None:
    # The engine matches waivers against the findings it gates: gate check reports this waiver unused, and explain
    # said it applied.
    from gate.policy.decision import WaiverState
    from gate.policy.engine import evaluate

    ignored = Finding(
        kind=FindingKind.VULNERABILITY,
        id="CVE-2024-7",
        severity=Severity.CRITICAL,
        scanner="trivy",
        suppressed=Suppression(status="ignored", source=".trivyignore"),
    )
    scan = Scan(source="r.json", scanner="trivy", findings=(ignored,))
    path = write_policy(tmp_path, 'extends = "builtin:default"\n[[waivers]]\nid = "CVE-2024-7"\nreason = "r"\nexpires = 2027-01-31\n')  # fmt: skip
    policy = load_policy(str(path))
    (status,) = evaluate(scan, policy, today=TODAY).images[0].waivers
    assert status.state is WaiverState.UNUSED
    text = explain("CVE-2024-7", [scan], policy, today=TODAY)
    assert text is not None
    assert (
        "    CVE-2024-7 (expires 2027-01-31; reason: r): not used: the finding is suppressed, and only findings the "
        "gate gates use a waiver"
    ) in text.splitlines()


@pytest.mark.parametrize(
    ("status", "source"), [("not_affected", "CycloneDX VEX"), ("ignored", ".trivyignore")]
)
def test_an_affected_statement_does_not_lift_the_scanners_own_suppression(
    tmp_path: Path, status: str, source: str
) -> None:
    # apply_vex keeps the scanner's VEX statement and an honored ignore rule: the finding is not gated, and
    # explain said the --vex statement left it "active".
    suppressed = Finding(
        kind=FindingKind.VULNERABILITY,
        id="CVE-2024-8",
        severity=Severity.CRITICAL,
        package=Package(name="openssl", version="3.0.1", type="apk", purl="pkg:apk/alpine/openssl@3.0.1"),
        scanner="trivy",
        suppressed=Suppression(status=status, source=source),
    )
    document = (
        b'{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "a", "version": 1,'
        b' "timestamp": "2026-11-01T00:00:00Z", "statements": [{"vulnerability": {"name": "CVE-2024-8"},'
        b' "products": [{"@id": "pkg:apk/alpine/openssl@3.0.1"}], "status": "affected",'
        b' "action_statement": "upgrade"}]}'
    )
    scan = apply_vex(
        Scan(source="r.json", scanner="trivy", findings=(suppressed,)), [read_vex("v.json", document)]
    )
    assert scan.findings[0].vex is not None and scan.findings[0].suppressed is not None
    text = explain("CVE-2024-8", [scan], load_policy("builtin:default"), today=TODAY)
    assert text is not None
    assert (
        f"  VEX: affected: upgrade [v.json] -> stays suppressed by {source}; not gated" in text.splitlines()
    )
