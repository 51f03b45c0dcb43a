"""Shared helpers of the report tests: decisions from real fixtures, and GitHub's SARIF ingestion rules."""

from __future__ import annotations

import functools
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from gate.errors import GateError
from gate.ingest import read_report
from gate.model import Cvss, Finding, FindingKind, FixState, Image, Package, Scan, Severity
from gate.policy.decision import Decision
from gate.policy.engine import evaluate
from gate.policy.schema import Policy, load_policy
from tests.conftest import SCHEMAS, TESTDATA, TODAY, shared_files

DATA = TESTDATA / "report"
OUTPUT_FILES = {
    "--sarif": "out.sarif",
    "--summary": "summary.md",
    "--comment": "comment.md",
    "--junit": "junit.xml",
    "--gitlab-report": "gitlab.json",
    "--codequality": "codequality.json",
    "--json": "decision.json",
}
"""Every output flag of gate check and a file name for it."""


@functools.cache
def _policy(spec: str) -> Policy:
    policy = load_policy(str(DATA / spec) if spec.endswith(".toml") else spec)
    return policy.model_copy(update={"name": spec})  # a stable name, wherever the checkout lies


def decide(path: Path, policy: str = "builtin:default", *, today: date = TODAY) -> Decision:
    """The decision for one report, named by its file name (so outputs do not depend on the checkout path)."""
    return evaluate(read_report(path.name, path.read_bytes()), _policy(policy), today=today)


@functools.cache
def readable_fixtures() -> tuple[Path, ...]:
    """Every real Trivy and Grype fixture gate can read (the rest are refused on purpose by ingest)."""
    found = []
    for path in shared_files("trivy") + shared_files("grype"):
        try:
            read_report(path.name, path.read_bytes())
        except GateError:
            continue
        found.append(path)
    return tuple(found)


@functools.cache
def fixture_decision(path: Path) -> Decision:
    """decide(path), computed once per test session."""
    return decide(path)


@functools.cache
def schema(name: str) -> dict[str, Any]:
    """A JSON Schema from ../shared/schemas; the test skips here (after its own checks) when there is none."""
    path = SCHEMAS / name
    if not path.is_file():
        pytest.skip(f"shared schema {name} not found at {SCHEMAS} (set GATE_SHARED)")
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def github_sarif_problems(log: dict[str, Any]) -> list[str]:
    """What GitHub code scanning would reject or mishandle in a SARIF log (PLATFORMS.md A.2-A.5)."""
    problems: list[str] = []
    if log.get("version") != "2.1.0" or not log.get("$schema"):
        problems.append("$schema and version 2.1.0 are required")
    runs = log.get("runs", [])
    if not 1 <= len(runs) <= 20:
        problems.append(f"{len(runs)} runs (GitHub takes 1 to 20)")
    categories = []
    for r, run in enumerate(runs):
        driver = run["tool"]["driver"]
        if not driver.get("name"):
            problems.append(f"run {r}: tool.driver.name is empty")
        category = run.get("automationDetails", {}).get("id", "")
        categories.append(category.rsplit("/", 1)[0])
        if not category.endswith("/") or "@" in category or ":" in category:
            problems.append(f"run {r}: automationDetails.id {category!r} is not a stable category")
        rules = {rule["id"]: rule for rule in driver.get("rules", [])}
        if len(rules) != len(driver.get("rules", [])):
            problems.append(f"run {r}: duplicate rule ids")
        for rule in rules.values():
            where = f"run {r} rule {rule['id']!r}"
            for key in ("shortDescription", "fullDescription", "help"):
                text = rule.get(key, {}).get("text", "")
                if not text:
                    problems.append(f"{where}: {key}.text is empty")
                if key != "help" and len(text) > 1024:
                    problems.append(f"{where}: {key}.text is over 1,024 characters")
            props = rule.get("properties", {})
            severity = props.get("security-severity")
            if not isinstance(severity, str) or not re.fullmatch(r"\d+(\.\d+)?", severity):
                problems.append(f"{where}: security-severity {severity!r} is not a numeric string")
            elif not 0.0 <= float(severity) <= 10.0:
                problems.append(f"{where}: security-severity {severity} is out of range")
            if len(props.get("tags", [])) > 10:
                problems.append(f"{where}: more than 10 tags")
            if len(rule.get("name", "")) > 255:
                problems.append(f"{where}: name over 255 characters")
        results = run.get("results")
        if results is None:
            problems.append(f"run {r}: results missing")
            continue
        if len(results) > 5000:
            problems.append(f"run {r}: {len(results)} results (more than 5,000)")
        prints: set[str] = set()
        for i, result in enumerate(results):
            where = f"run {r} result {i}"
            if result.get("ruleId") not in rules:
                problems.append(f"{where}: ruleId {result.get('ruleId')!r} has no rule")
            if not result.get("message", {}).get("text"):
                problems.append(f"{where}: message.text is empty")
            locations = result.get("locations") or []
            if not locations:
                problems.append(f"{where}: no locations")
                continue
            physical = locations[0].get("physicalLocation", {})
            uri = physical.get("artifactLocation", {}).get("uri", "")
            if not uri or re.search(r"[:@\s]", uri) or uri.startswith("/"):
                problems.append(f"{where}: uri {uri!r} is empty, absolute or has ':', '@' or spaces")
            if not isinstance(physical.get("region", {}).get("startLine"), int):
                problems.append(f"{where}: region.startLine missing")
            fingerprint = result.get("partialFingerprints", {}).get("primaryLocationLineHash", "")
            if not fingerprint:
                problems.append(f"{where}: partialFingerprints.primaryLocationLineHash missing")
            elif fingerprint in prints:  # GitHub folds results of one fingerprint into one alert
                problems.append(f"{where}: fingerprint {fingerprint[:12]} repeats an earlier result's")
            prints.add(fingerprint)
    if len(set(categories)) != len(categories):
        problems.append("two runs share a category")
    return problems


def synthetic_scan(findings: int, *, text: int = 600, name: str = "registry.example.com/big/app:1.0") -> Scan:
    """A huge report: `findings` fixable critical vulnerabilities in distinct packages, with long texts."""
    filler = ("long description with | pipes and <html> and [links](https://example.com) " * 40)[:text]
    items = tuple(
        Finding(
            kind=FindingKind.VULNERABILITY,
            id=f"CVE-2024-{10000 + i}",
            title=f"title {i} {filler[:120]}",
            description=filler,
            severity=(Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW)[i % 4],
            package=Package(name=f"package-{i:05d}", version="1.0.0", type="deb"),
            fix_state=FixState.FIXED,
            fixed_versions=("1.0.1",),
            cvss=(
                Cvss(
                    source="nvd",
                    version="3",
                    score=9.8,
                    vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                ),
            ),
            scanner="trivy",
        )
        for i in range(findings)
    )
    image = Image(reference=name, os="debian 12", config_known=True, user="0")
    return Scan(
        source="synthetic.json",
        scanner="trivy",
        artifact=name,
        artifact_type="container_image",
        image=image,
        findings=items,
    )


def one_finding(*, image: str = "registry.example.com/big/app:1.0", **changes: Any) -> Decision:
    """The decision for a report on `image` of one fixable critical vulnerability, its fields set by `changes`."""
    scan = synthetic_scan(1, name=image)
    finding = scan.findings[0].model_copy(update=changes)
    report = scan.model_copy(update={"findings": (finding,)})
    return evaluate(report, load_policy("builtin:default"), today=TODAY)
