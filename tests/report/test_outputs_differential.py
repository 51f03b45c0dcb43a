"""Every output of `gate check` against its own decision record, on a small fixed sample of real reports: the log,
the summary and comment, JUnit, SARIF, both GitLab reports, `gate outputs github|gitlab` and the exit code give
the record's verdict, counts, failing (rule, ID, package, version) and waived findings (tests/report/outputs_diff.py
says what is compared). The same comparison over every real report is a loop over `outputs_diff.run`."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.report import summary
from tests.conftest import GENERATED, REAL, TESTDATA, TODAY, need_shared
from tests.report.outputs_diff import disagreements, run

POLICY = """version = 1
extends = "builtin:default"

[settings]
on_missing_intel = "warn"

[[rules]]
id = "medium-budget"
action = "fail"
match = { kind = "vulnerability", severity = "medium", fixable = true }
max = 3

[[rules]]
id = "low-budget"
action = "warn"
match = { kind = "vulnerability", severity = "low" }
max = 10

[[rules]]
id = "epss-high"
action = "fail"
match = { kind = "vulnerability", epss = ">=0.5" }

[[rules]]
id = "kev-any"
action = "fail"
match = { kev = true }
on_missing_intel = "fail"

[[rules]]
id = "old-published"
action = "info"
match = { kind = "vulnerability", age_days = ">365", severity = ">=medium" }
on_missing_intel = "skip"

[[waivers]]
id = "CVE-2019-5094"
reason = "used"
expires = 2027-06-01
owner = "team-a"

[[waivers]]
id = "CVE-2023-26136"
reason = "expiring"
expires = 2026-12-01

[[waivers]]
id = "CVE-2019-1551"
reason = "expired"
expires = 2026-01-31

[[waivers]]
id = "CVE-2000-0001"
reason = "unused"
expires = 2027-01-31
"""
INTEL = ["--kev", str(TESTDATA / "intel" / "kev.json"), "--epss", str(TESTDATA / "intel" / "epss.csv")]
CASES = {
    "alpine-39 waivers": (
        ["trivy/trivy-integ--alpine-39.json"],
        ["--policy", str(TESTDATA / "report" / "waivers.toml")],
    ),
    "juice-shop strict (comment cut, copies)": (
        ["trivy/securecodebox-trivy--juice-shop-v12.10.2.json"],
        ["--policy", "builtin:strict"],
    ),
    "secrets default": (
        ["trivy/defectdojo-trivy--misconfigurations_and_secrets.json"],
        ["--policy", "builtin:default"],
    ),
    "three reports, policy, intel, VEX": (
        [
            "trivy/ci-steadybit-k6--trivy-results.json",
            "grype/analysis-model--grype-report-wo-description.json",
            "trivy/trivy-integ--debian-buster.json",
        ],
        ["--policy", "POLICY", *INTEL, "--vex", str(TESTDATA / "vex" / "cyclonedx-vex.json")],
    ),
    "generated with metadata": (
        ["../generated/a-root-implicit-secrets/trivy.oci.json"],
        [
            "--policy",
            "POLICY",
            "--image-metadata",
            str(GENERATED / "a-root-implicit-secrets" / "oci-config.json"),
        ],
    ),
}


def _run(case: str, tmp_path: Path) -> tuple[Path, int]:
    reports, args = CASES[case]
    policy = tmp_path / "gate.toml"
    policy.write_text(POLICY, encoding="utf-8")
    argv = [str(policy) if a == "POLICY" else a for a in args]
    folder = tmp_path / "out"
    code = run([REAL / r for r in reports], [*argv, "--today", TODAY.isoformat()], folder, TODAY)
    assert code != 2, (folder / "log.txt").read_text(encoding="utf-8")
    return folder, code


@pytest.mark.parametrize("case", CASES)
def test_every_output_agrees_with_the_record(case: str, tmp_path: Path) -> None:
    need_shared()
    folder, code = _run(case, tmp_path)
    assert disagreements(folder, code) == []


def test_a_renderer_that_miscounts_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison can fail: a summary headline one failing finding short disagrees with the record."""
    need_shared()
    real = summary._failures
    monkeypatch.setattr(
        summary, "_failures", lambda d: real(d).replace("1 failing finding", "0 failing findings")
    )
    folder, code = _run("alpine-39 waivers", tmp_path)
    found = disagreements(folder, code)
    assert any(d.startswith("s.md: headline failing") for d in found), found
    assert any(d.startswith("c.md: headline failing") for d in found), found
