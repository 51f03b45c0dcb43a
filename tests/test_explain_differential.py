"""`gate explain` against `gate check --json`: on real reports, what explain says of each finding and rule is
what the decision record says the gate decided (the rules that caught it, its waiver, expired waivers,
missing-intel, suppression; each rule triggered or not, and how many findings)."""

from __future__ import annotations

import io
import re
from collections import Counter
from pathlib import Path

import pytest

from gate.cli import _build_parser, main
from gate.cli._common import load_policy, read_scan
from gate.cli._risk import with_risk_data
from gate.cli.check import images_and_baselines, with_image_metadata
from gate.explain import explain, explain_rule
from gate.model import Finding, Scan
from gate.policy.baseline import compare
from gate.policy.decision import ImageDecision
from gate.report.record import load_record
from tests.conftest import REAL, TESTDATA, TODAY, need_shared

POLICY = """version = 1
extends = "builtin:default"

[settings]
on_missing_intel = "warn"
vex_under_investigation = "fail"

[[rules]]
id = "medium-budget"
action = "fail"
match = { kind = "vulnerability", severity = "medium", fixable = true }
max = 3

[[rules]]
id = "low-budget"
action = "warn"
scope = "all"
match = { kind = "vulnerability", severity = "low" }
max = 10

[[rules]]
id = "epss-high"
action = "fail"
match = { kind = "vulnerability", epss = ">=0.5" }

[[rules]]
id = "cvss-9"
action = "warn"
match = { kind = "vulnerability", cvss = ">=9" }
on_missing_intel = "fail"

[[rules]]
id = "old-published"
action = "info"
match = { kind = "vulnerability", age_days = ">365", severity = ">=medium" }
on_missing_intel = "skip"

[[rules]]
id = "listed"
action = "fail"
match = { ids = ["CVE-2019-14697", "CVE-2023-39325", "CVE-2023-44487", "CVE-2023-38039", "AVD-DS-0002"] }

[[rules]]
id = "libs"
action = "warn"
match = { package = ["lib*"], severity = ">=high" }

[[rules]]
id = "misconfig"
action = "warn"
match = { kind = "misconfig", severity = ">=medium" }
max = 1

[[waivers]]
id = "CVE-2023-38039"
reason = "curl only"
expires = 2027-06-01
packages = ["curl"]

[[waivers]]
id = "CVE-2023-39325"
reason = "an alias, aliases off"
expires = 2027-06-01
aliases = false

[[waivers]]
id = "GHSA-4374-p667-p6c8"
reason = "the advisory itself"
expires = 2027-06-01
kinds = ["vulnerability"]

[[waivers]]
id = "CVE-2019-14697"
reason = "expired"
expires = 2026-11-01

[[waivers]]
id = "CVE-2018-14618"
reason = "renewed"
expires = 2027-03-01

[[waivers]]
id = "CVE-2026-35469"
reason = "also in the ignore file"
expires = 2027-03-01
"""
IGNORES = 'version = 1\nextends = "builtin:strict"\n[settings]\nhonor_scanner_ignores = false\non_missing_intel = "fail"\n'
VEX = """{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex-1", "author": "me",
 "timestamp": "2026-11-20T10:00:00Z", "version": 1, "statements": [
  {"vulnerability": {"name": "CVE-2023-44487"}, "products": [{"@id": "pkg:golang/golang.org/x/net"}],
   "status": "under_investigation"},
  {"vulnerability": {"name": "CVE-2023-38039"}, "products": [{"@id": "pkg:apk/alpine/curl"}],
   "status": "under_investigation"},
  {"vulnerability": {"name": "GHSA-4374-p667-p6c8"}, "products": [{"@id": "pkg:golang/golang.org/x/net"}],
   "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}]}
"""
GITEA = "grype/analysis-model--grype-report-wo-description.json"
CASES = [
    (GITEA, "policy", None),
    (GITEA, "ignores", None),
    ("trivy/trivy-integ--alpine-39.json", "policy", "trivy/trivy-integ--alpine-39-high-critical.json"),
    ("trivy/ci-steadybit-k6--trivy-results.json", "policy", None),
    ("trivy/ci-steadybit-shop--steadybit-hot-deals.json", "ignores", None),
    ("trivy/defectdojo-trivy--misconfigurations_and_secrets.json", "policy", None),
    ("trivy/securecodebox-trivy--securecodebox-repo.json", "ignores", None),
]


def _images(args: list[str]) -> list[Scan]:
    """The images of `gate explain ID *args`, built as gate.cli.explain.run_explain builds them."""
    parsed = _build_parser().parse_args(["explain", "ID", *args])
    policy = load_policy(parsed.policy)
    scans = [read_scan(path, io.StringIO()) for path in parsed.reports]
    bases = [read_scan(path, io.StringIO()) for path in parsed.baseline or ()]
    scans, vex = with_risk_data(parsed, scans, {}, TODAY)
    pairs = images_and_baselines(with_image_metadata(None, scans), bases, policy, vex)
    return [image if base is None else compare(image, base)[0] for image, base in pairs]


def _said(block: str) -> dict[str, object]:
    """What one finding's explanation claims the gate decided."""
    outcome = re.search(r"^  outcome: (.*)$", block, re.M)
    assert outcome is not None
    text = outcome[1]
    if text.startswith("suppressed"):
        status: tuple[str, ...] = ("suppressed",)
    elif text.startswith("waived by "):
        status = ("waived", text.split()[2])
    elif text.startswith("reported; no rule caught it"):
        status = ("none",)
    else:
        action, rules = text.split(" by ", 1)
        status = ("caught", action.lower(), *rules.split(", "))
    rules = dict(re.findall(r"^    ([^\s(]+) \(\w+\): (.*)$", block.split("\n  waivers:")[0], re.M))
    # A waiver applies to a finding the gate gates (the record counts it used), never to a suppressed one.
    said: dict[str, object] = {
        "status": status,
        "applies": re.findall(r"^    (\S+) \(expires [^)]*\): applies", block, re.M)[:1],
    }
    if status[0] == "suppressed":
        return said
    said["triggered"] = {r for r, why in rules.items() if "; the rule triggered" in why}
    said["kept off"] = {
        r for r, why in rules.items() if why.startswith("matches (") or "counted as matching" in why
    } - {r for r, why in rules.items() if not why.endswith("; not counted: waived")}
    said["missing-intel"] = {r for r, why in rules.items() if "reported under missing-intel" in why}
    said["expired"] = set(re.findall(r"^    (\S+) \(expires [^)]*\): EXPIRED", block, re.M))
    vex = re.search(r"^  VEX: under_investigation .*; vex-under-investigation (\w+)", block, re.M)
    said["vex"] = (vex[1] if vex[1] in ("fails", "warns") else "not counted") if vex else None
    return said


def _decided(f: Finding, image: ImageDecision) -> dict[str, object]:
    """What the decision record says the gate decided for `f`."""
    if f in image.suppressed:
        return {"status": ("suppressed",), "applies": []}
    outcome = next(o for o in image.outcomes if o.finding == f)
    waived = next((w for w in image.waived if w.finding == f), None)
    if outcome.waiver_id is not None:
        status: tuple[str, ...] = ("waived", outcome.waiver_id)
    elif outcome.action is None:
        status = ("none",)
    else:
        status = ("caught", outcome.action.value, *outcome.rules)
    mine = [v for v in image.violations if v.finding == f]
    vex = next((v.action.value for v in mine if v.rule_id == "vex-under-investigation"), None)
    under_investigation = "not counted" if f.vex and f.vex.status.value == "under_investigation" else None
    return {
        "status": status,
        "triggered": set(outcome.rules),
        "kept off": set(waived.rules) if waived else set(),
        "missing-intel": {v.message.split()[1] for v in mine if v.rule_id == "missing-intel"},
        "applies": [outcome.waiver_id] if outcome.waiver_id else [],
        "expired": set(outcome.expired_waivers),
        "vex": {"fail": "fails", "warn": "warns"}[vex] if vex else under_investigation,
    }


@pytest.mark.parametrize(("report", "policy", "baseline"), CASES)
def test_explain_says_what_the_decision_record_says(
    tmp_path: Path, report: str, policy: str, baseline: str | None
) -> None:
    need_shared()
    policy_path = tmp_path / "gate.toml"
    policy_path.write_text(POLICY if policy == "policy" else IGNORES, encoding="utf-8")
    vex = tmp_path / "vex.json"
    vex.write_text(VEX, encoding="utf-8")
    record = tmp_path / "decision.json"
    intel = TESTDATA / "intel"
    args = [str(REAL / report), "--policy", str(policy_path), "--today", TODAY.isoformat(), "--vex", str(vex)]
    args += ["--kev", str(intel / "kev.json"), "--epss", str(intel / "epss.csv")]
    args += ["--baseline", str(REAL / baseline)] if baseline else []
    assert main(["check", *args, "--json", str(record)], stdout=io.StringIO(), stderr=io.StringIO()) in (0, 1)
    (image,) = load_record(record.read_bytes(), "decision.json").images
    images = _images(args)
    today, rules = TODAY, load_policy(str(policy_path))
    findings = [*(o.finding for o in image.outcomes), *image.suppressed]
    assert findings
    compared = 0
    for finding_id in sorted({f.id for f in findings}):
        text = explain(finding_id, images, rules, today=today)
        assert text is not None
        blocks = text.rstrip("\n").split("\n\n")[1:]
        mine = [f for f in findings if finding_id.upper() in (i.upper() for i in f.all_ids)]
        said = Counter(repr(sorted(_said(b).items())) for b in blocks)
        decided = Counter(repr(sorted(_decided(f, image).items())) for f in mine)
        assert said == decided, finding_id
        compared += len(blocks)
    assert compared >= len(findings)  # each finding at least once (more: an alias of another's ID)
    for result in image.rules:
        text = explain_rule(result.rule_id, images, rules, today=today)
        assert text is not None
        (block,) = [b for b in text.split("\n\n")[1:] if f" on {image.name}" in b.split("\n")[0]
                    and b.startswith(result.name + " (")]  # fmt: skip
        state = f"triggered: {result.verdict.value.upper()}" if result.triggered else "passed"
        assert block.split("\n")[0].endswith(f": {state}"), block
        counted = re.search(r"^  findings \((\d+);", block, re.M)
        if result.subject == "findings":
            caught = sum(1 for v in image.violations if v.rule_id == result.rule_id)
            assert (int(counted[1]) if counted else 0) == caught, block
