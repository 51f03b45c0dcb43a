"""Every real scanner report in ../shared is either read or refused on purpose, with the reason we chose."""

from __future__ import annotations

import pytest

from gate.errors import InputError
from gate.ingest import read_report
from gate.model import Severity
from tests.conftest import REAL, shared_files

# Files under ../shared/fixtures/real/{trivy,grype} the gate refuses, and the words the refusal must contain.
REFUSED = {
    # A Trivy Kubernetes (cluster) report, not an image report: gating it needs a per-resource view.
    "trivy/securecodebox-trivy--k8s-results_unexpected-attribute.json": "Trivy Kubernetes report",
}

# Documents that are not scanner reports at all, given as reports by mistake.
NOT_REPORTS = {
    "other/ci-klass-web--grype-report.sarif.json": "SARIF",
    "other/trivy-integ--alpine-310.sarif.json": "SARIF",
    "other/docker-inspect--alpine.json": "--image-metadata",
    "other/trivy-fanal--config-alpine310.json": "image config, manifest or index.; pass it with --image-metadata",
    "other/trivy-fanal--image-manifest.json": "image config, manifest or index.; pass it with --image-metadata",
    "other/trivy-integ--alpine-310.gitlab.json": "GitLab security report",
    "other/trivy--oci.openvex.json": "VEX",
    "other/trivy-integ--alpine-310.gitlab-codequality.json": "not a Trivy report",
}

SCANNER_FILES = [*shared_files("trivy"), *shared_files("grype")]


def _key(path: object) -> str:
    text = str(path)
    return text.split("/real/", 1)[1]


@pytest.mark.parametrize("path", SCANNER_FILES, ids=_key)
def test_every_real_report_is_read_or_refused_on_purpose(path: object) -> None:
    from pathlib import Path

    assert isinstance(path, Path)
    key = _key(path)
    if key in REFUSED:
        with pytest.raises(InputError, match=REFUSED[key]):
            read_report(key, path.read_bytes())
        return
    scan = read_report(key, path.read_bytes())
    assert scan.scanner == key.split("/")[0]
    for finding in scan.findings:
        assert finding.id
        assert isinstance(finding.severity, Severity)


@pytest.mark.parametrize(("name", "reason"), sorted(NOT_REPORTS.items()))
def test_documents_that_are_not_reports_are_refused(name: str, reason: str) -> None:
    path = REAL / name
    if not path.is_file():
        pytest.skip(f"shared fixture {name} not found")
    with pytest.raises(InputError, match=reason):
        read_report(name, path.read_bytes())


def test_refusal_table_names_existing_files() -> None:
    if not SCANNER_FILES:
        pytest.skip("shared fixtures not found")
    keys = {_key(p) for p in SCANNER_FILES}
    assert set(REFUSED) <= keys


@pytest.mark.parametrize(
    ("name", "created", "built"),
    [
        ("trivy/securecodebox-trivy--juice-shop-v12.10.2.json", "2024-10-28T15:33:51.265546+00:00", None),
        ("trivy/defectdojo-trivy--issue_9092.json", None, None),  # an older Trivy: no CreatedAt
        (
            "grype/analysis-model--grype-report.json",
            "2023-07-02T00:38:08.435215+02:00",
            "2023-07-01T01:32:26+00:00",
        ),
        (
            "grype/ci-klass-web--grype-report.json",
            "2026-06-23T08:50:16.712896+02:00",
            "2026-06-22T08:20:50+00:00",
        ),
        ("grype/defectdojo-grype--many_vulns2.json", None, None),  # Grype 0.7: no timestamp, an empty db
    ],
)
def test_real_reports_say_when_they_were_made(name: str, created: str | None, built: str | None) -> None:
    path = REAL / name
    if not path.exists():
        pytest.skip("../shared/fixtures is not here")
    [times] = read_report(str(path), path.read_bytes()).times
    assert (times.created and times.created.isoformat(), times.db_built and times.db_built.isoformat()) == (
        created,
        built,
    )


TRIVY_WITH_FINDINGS = [
    p for p in shared_files("trivy") if b'"Vulnerabilities": [' in p.read_bytes() and _key(p) not in REFUSED
]


@pytest.mark.parametrize("path", TRIVY_WITH_FINDINGS, ids=_key)
def test_a_real_report_with_its_keys_rewritten_is_never_read_as_clean(path: object) -> None:
    """Keys in another case (a tool that lower-cases JSON) hide every finding from a reader of Trivy's keys."""
    import json
    from pathlib import Path

    assert isinstance(path, Path)
    key = _key(path)

    def lowered(value: object) -> object:
        if isinstance(value, dict):
            return {k.lower(): lowered(v) for k, v in value.items()}
        if isinstance(value, list):
            return [lowered(v) for v in value]
        return value

    document = json.loads(path.read_bytes().decode("utf-8-sig"))
    results = document["Results"] if isinstance(document, dict) else document
    for result in results:  # only the finding lists: the rest of the report as Trivy wrote it
        for name in ("Vulnerabilities", "Secrets", "Misconfigurations"):
            if name in result:
                result[name.lower()] = result.pop(name)
    whole = lowered(document)
    with pytest.raises(
        InputError, match=r"\.vulnerabilities: not a key Trivy writes \(it writes Vulnerabilities\)"
    ):
        read_report(key, json.dumps(document).encode())
    with pytest.raises(InputError):  # refused for what is missing first: a target, a key, the Results
        read_report(key, json.dumps(whole).encode())
