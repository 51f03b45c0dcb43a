"""Microsoft's SARIF Multitool with GitHub's ingestion rules (`--rule-kind Sarif;Gh`) on the gate's SARIF.

Its exit code is 0 even when it reports errors, so the tests read the results file it writes (TOOLS.md 7).
The binary is called directly: its npm wrapper runs through a shell that splits `Sarif;Gh`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gate.report import sarif
from gate.report._common import FileLocation
from tests.conftest import REAL, ROOT, need_shared
from tests.report.helpers import DATA, decide

pytestmark = pytest.mark.tools
TOOL = ROOT / ".tools" / "sarif" / "node_modules" / "@microsoft" / "sarif-multitool-linux" / "Sarif.Multitool"


def _multitool() -> Path:
    found = shutil.which("Sarif.Multitool")
    for candidate in ([Path(found)] if found else []) + [TOOL]:
        if candidate.is_file():
            return candidate
    pytest.skip("sarif-multitool not installed (make tools: npm @microsoft/sarif-multitool@5.7.0)")


def _validate(tmp_path: Path, text: str) -> dict[str, Any]:
    """The multitool's results run for a SARIF text (GitHub rules on)."""
    tool = _multitool()
    source = tmp_path / "gate.sarif"
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "validation.sarif"
    done = subprocess.run(
        [
            str(tool),
            "validate",
            str(source),
            "-o",
            str(out),
            "--log",
            "ForceOverwrite",
            "--rule-kind",
            "Sarif;Gh",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert out.is_file(), done.stdout + done.stderr
    run: dict[str, Any] = json.loads(out.read_text(encoding="utf-8-sig"))["runs"][0]
    assert run["invocations"][0].get("executionSuccessful") is True
    return run


def test_multitool_catches_what_github_rejects(tmp_path: Path) -> None:
    """The harness itself: a result without locations is an error under GitHub's rules."""
    log = json.loads(sarif.render(decide(DATA / "hostile.trivy.json", "hostile.toml")))
    del log["runs"][0]["results"][0]["locations"]
    run = _validate(tmp_path, json.dumps(log))
    assert any(r.get("level", "warning") == "error" for r in run.get("results", []))


@pytest.mark.parametrize(
    ("report", "policy", "location"),
    [
        (REAL / "grype" / "defectdojo-grype--check_all_fields.json", "builtin:default", None),
        (
            REAL / "trivy" / "trivy-integ--alpine-39.json",
            "waivers.toml",
            FileLocation(path="Dockerfile", line=1),
        ),
        (REAL / "trivy" / "defectdojo-trivy--misconfigurations_and_secrets.json", "builtin:default", None),
        (DATA / "hostile.trivy.json", "hostile.toml", None),
    ],
    ids=["grype", "trivy-waivers-dockerfile", "trivy-secrets", "hostile"],
)
def test_multitool_finds_no_errors(
    tmp_path: Path, report: Path, policy: str, location: FileLocation | None
) -> None:
    if not report.is_relative_to(DATA):
        need_shared()
    run = _validate(tmp_path, sarif.render(decide(report, policy), location=location))
    errors = [r for r in run.get("results", []) if r.get("level", "warning") == "error"]
    assert errors == [], [(r["ruleId"], r["message"]) for r in errors]
    # The one warning the gate accepts: no informationUri (the project has no canonical home page yet).
    assert {r["ruleId"] for r in run.get("results", [])} <= {"SARIF2005"}
