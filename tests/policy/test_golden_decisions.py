"""Golden decisions: builtin:default on real reports, each checked by hand.

How they were checked: an independent script over the raw JSON (no gate code) counted, per report,
HIGH/CRITICAL vulnerabilities with a fix (Trivy: non-empty FixedVersion; Grype: fix.state "fixed" or
fixedInVersion), known-exploited matches, HIGH/CRITICAL secrets, HIGH/CRITICAL without a fix, and whether the
image config's User is missing/root; its counts agreed with the gate's for every readable real report. The IDs
below were then read off the reports themselves.
"""

from __future__ import annotations

import pytest

from gate.ingest import read_report
from gate.policy.decision import Action
from gate.policy.engine import evaluate
from gate.policy.schema import load_policy
from tests.conftest import REAL, TODAY, need_shared

# (report, verdict, failing violations, warning violations, IDs that fail)
GOLDEN: list[tuple[str, str, int, int, list[str]]] = [
    ("trivy/ci-twsecom--trivy-report.json", "fail", 5, 1,
     ["CVE-2024-21538", "CVE-2024-34351", "CVE-2024-46982", "CVE-2024-51479", "CVE-2025-29927"]),
    ("trivy/ci-hapifhir--trivy-report.json", "warn", 0, 1, []),
    ("trivy/ci-prommcp--trivy-results.json", "fail", 2, 0, ["CVE-2025-43859", "CVE-2025-47273"]),
    ("trivy/ci-steadybit-k6--trivy-results.json", "pass", 0, 0, []),
    ("trivy/ci-steadybit-shop--steadybit-orders.json", "warn", 0, 1, []),
    ("trivy/defectdojo-trivy--misconfigurations_and_secrets.json", "fail", 3, 0, ["CVE-2021-33503", "github-pat"]),
    ("trivy/defectdojo-trivy--scheme_2_many_vulns.json", "fail", 2, 1, ["CVE-2019-12900", "CVE-2020-28196"]),
    # The old list form does not say what was scanned: non-root-user cannot check (a warning under default).
    ("trivy/defectdojo-trivy--legacy_many_vulns.json", "warn", 0, 19, []),
    # CVE-2020-9999 is listed twice in one package (HIGH, then CRITICAL): one finding, the critical one.
    ("trivy/analysis-model--trivy_result.json", "fail", 1, 1, ["CVE-2020-9999"]),
    ("trivy/trivy-integ--alpine-39.json", "fail", 2, 1, ["CVE-2019-14697"]),
    ("trivy/trivy-integ--alpine-distroless.json", "pass", 0, 0, []),
    ("trivy/trivy-integ--secrets.json", "fail", 2, 0, ["aws-access-key-id", "mysecret"]),
    ("trivy/trivy-integ--gradle.json", "fail", 2, 0, ["CVE-2020-9548", "CVE-2021-20190"]),
    ("trivy/trivy-integ--debian-buster.json", "fail", 1, 1, ["CVE-2019-18224"]),
    ("trivy/trivy-report--old.json", "fail", 1, 1, ["CVE-2020-0001"]),
    ("trivy/trivy-operator--exposedsecret_report.json", "fail", 4, 1,
     ["aws-access-key-id", "aws-secret-access-key", "stripe-access-token", "stripe-publishable-token"]),
    ("trivy/trivy-action--config-scan.json", "pass", 0, 0, []),
    ("grype/analysis-model--grype-report-wo-description.json", "fail", 10, 1,
     ["CVE-2023-38039", "CVE-2023-44487", "GHSA-fg3x-rwq9-74cw", "GHSA-g7p7-x6w7-w6qg", "GHSA-hf6f-jq25-8gq9",
      "GHSA-hfmf-q69j-6m5p", "GHSA-jr9c-h74f-2v28", "GHSA-p5f9-c9j9-g8qx", "GHSA-pg38-r834-g45j"]),
    ("grype/ci-sdlc--grype-report-with-log-prefix.json", "fail", 6, 0,
     ["GHSA-2jv5-9r88-3w3p", "GHSA-3ww4-gg4f-jr7f", "GHSA-59g5-xgcq-4qw3", "GHSA-6c5p-j8vq-pqhj",
      "GHSA-6vqw-3v5j-54x4", "GHSA-pwr2-4v36-6qpr"]),
    ("grype/ci-zilant--grype-report-utf16.json", "fail", 1, 0, ["GHSA-4mgv-m5cm-f9h7"]),
    ("grype/ci-klass-web--grype-report.json", "pass", 0, 0, []),
    ("grype/defectdojo-grype--fix_available.json", "fail", 1, 0, ["CVE-2009-3882"]),
    ("grype/defectdojo-grype--fix_not_available.json", "warn", 0, 1, []),
    # CVE-2024-26308 (`grype --by-cve`) has no severity of its own; the advisory that matched, GHSA-4265-ccf5-phj5,
    # says High, and a fix exists: it fails.
    ("grype/defectdojo-grype--issue_9618.json", "fail", 10, 10,
     ["CVE-2023-2828", "CVE-2023-3341", "CVE-2023-39410", "CVE-2023-44981", "CVE-2024-26308"]),
    ("grype/defectdojo-grype--many_vulns3.json", "fail", 2, 27, ["CVE-2016-1255", "CVE-2019-3466"]),
    ("grype/grype-presenter--TestJsonImgsPresenter.json", "fail", 1, 2, ["CVE-1999-0002"]),
    ("grype/grype-explain--keycloak-test.json", "pass", 0, 0, []),
    ("grype/kubevuln--alpine-cve.json", "fail", 4, 1, ["CVE-2023-0464", "CVE-2023-5363"]),
    ("grype/grype-explain--chainguard-ruby-test.json", "fail", 2, 1, ["CVE-2023-28755", "GHSA-hv5j-3h9f-99c2"]),
    ("grype/defectdojo-grype--no_vuln.json", "warn", 0, 1, []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "verdict", "fails", "warns", "failing_ids"), GOLDEN, ids=[g[0] for g in GOLDEN]
)
def test_default_preset_decision(
    name: str, verdict: str, fails: int, warns: int, failing_ids: list[str]
) -> None:
    need_shared()
    path = REAL / name
    decision = evaluate(
        read_report(str(path), path.read_bytes()), load_policy("builtin:default"), today=TODAY
    )
    assert decision.verdict.value == verdict
    assert sum(v.action is Action.FAIL for v in decision.violations) == fails
    assert sum(v.action is Action.WARN for v in decision.violations) == warns
    assert sorted({v.id for v in decision.violations if v.action is Action.FAIL}) == failing_ids


def test_golden_set_is_large_enough() -> None:
    assert len(GOLDEN) >= 20
    assert {g[1] for g in GOLDEN} == {"pass", "warn", "fail"}
