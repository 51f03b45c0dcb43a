"""Grype's JSON read as Grype means it: what each field the gate reads says, in Grype's own terms."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from gate.ingest import read_report
from gate.model import Finding, FixState, Severity
from tests.conftest import REAL, need_shared

SOURCE = {"type": "image", "target": {"userInput": "app:1"}}
NVD = "nvd@nist.gov"


def _finding(vulnerability: Mapping[str, object], related: Sequence[Mapping[str, object]]) -> Finding:
    match = {
        "vulnerability": vulnerability,
        "relatedVulnerabilities": related,
        "artifact": {"name": "openssl", "version": "1.0.2k-24.amzn2", "type": "rpm"},
    }
    [finding] = read_report("r.json", json.dumps({"matches": [match], "source": SOURCE}).encode()).findings
    return finding


def _score(source: str | None, score: float) -> dict[str, object]:
    entry: dict[str, object] = {"version": "3.1", "vector": "CVSS:3.1/AV:N", "metrics": {"baseScore": score}}
    if source is not None:
        entry["source"] = source
    return entry


def test_an_advisory_of_several_cves_keeps_each_cves_nvd_score_the_highest_counting() -> None:
    # An advisory (ALAS, RHSA, DSA, a GHSA of several CVEs) has one related record per CVE, each scored by NVD
    # (grype/db/v6/vulnerability.go getRelatedVulnerabilities; models/match.go newMatch). Keeping only the first
    # CVE's score would pass a `cvss` limit the advisory's worst CVE is over.
    vulnerability = {"id": "ALAS-2024-2500", "namespace": "amazon:distro:amazonlinux:2", "severity": "High"}
    related = [
        {"id": "CVE-2024-1", "namespace": "nvd:cpe", "severity": "Medium", "cvss": [_score(NVD, 5.3)]},
        {"id": "CVE-2024-2", "namespace": "nvd:cpe", "severity": "Critical", "cvss": [_score(NVD, 9.8)]},
    ]
    finding = _finding(vulnerability, related)
    assert [(c.source, c.version, c.score) for c in finding.cvss] == [(NVD, "3", 9.8)]


def test_a_related_record_scored_without_a_source_is_its_own_namespaces_not_nvds() -> None:
    # `grype --by-cve` names the CVE and lists the advisory that matched as related; Grype writes a GitHub
    # advisory's scores without `source` (models/cvss.go: `source` is omitted when empty).
    # Read as NVD's, `cvss_source = "nvd"` would compare GitHub's score and `"vendor"` would leave it out.
    vulnerability = {"id": "CVE-2024-26308", "namespace": "nvd:cpe", "cvss": []}
    related = [
        {"id": "GHSA-4265-ccf5-phj5", "namespace": "github:language:java", "severity": "High",
         "cvss": [_score(None, 7.5)]},
        {"id": "CVE-2024-9", "severity": "High", "cvss": [_score(None, 8.1)]},  # no namespace (old Grype): NVD
    ]  # fmt: skip
    finding = _finding(vulnerability, related)
    assert [(c.source, c.score) for c in finding.cvss] == [("github", 7.5), ("nvd", 8.1)]


def test_a_match_grype_has_no_fix_data_for_has_no_fix_though_only_fixed_would_keep_it() -> None:
    # Grype's v6 database gives a match no fix state when no range of it says one (grype/db/v6/vulnerability.go
    # toFix); `--only-fixed` drops only not-fixed, wont-fix and unknown (cmd/grype/cli/commands/root.go), so it
    # keeps such a match. It has no fixed version: builtin:default warns on it, as docs/policy.md says.
    need_shared()
    path = REAL / "grype" / "defectdojo-grype--many_vulns_with_epss_values.json"
    findings = read_report(str(path), path.read_bytes()).findings
    [f] = [f for f in findings if f.id == "CVE-2022-48174"]
    assert (f.severity, f.fix_state, f.fixable) == (Severity.CRITICAL, FixState.UNKNOWN, False)


def test_a_match_only_fixed_ignored_is_suppressed_by_an_ignore_rule() -> None:
    # `--only-fixed` adds ignore rules on the fix state (root.go ignoreNonFixedMatches): an ignore rule, which a
    # policy with honor_scanner_ignores = false gates, not a VEX statement or one of Grype's matching rules.
    ignored = {
        "vulnerability": {"id": "CVE-2024-1", "severity": "Critical", "fix": {"state": "not-fixed"}},
        "artifact": {"name": "openssl", "version": "3.0.1"},
        "appliedIgnoreRules": [{"fix-state": "not-fixed"}],
    }
    report = {"matches": [], "ignoredMatches": [ignored], "source": SOURCE}
    [finding] = read_report("r.json", json.dumps(report).encode()).findings
    assert finding.suppressed is not None
    assert (finding.suppressed.status, finding.suppressed.by_ignore_rule) == ("ignored", True)
