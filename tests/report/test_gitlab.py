"""GitLab container-scanning report: valid against GitLab's schema for every fixture."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.errors import OutputError
from gate.model import FixState, Severity
from gate.policy.decision import Decision
from gate.policy.engine import evaluate
from gate.policy.schema import load_policy
from gate.report import gitlab
from tests.conftest import REAL, TODAY, need_shared
from tests.report.helpers import (
    decide,
    fixture_decision,
    one_finding,
    readable_fixtures,
    schema,
    synthetic_scan,
)

SCHEMA = "gitlab-container-scanning-report-format-15.2.1.json"


def _errors(report: dict[str, Any]) -> list[str]:
    return [e.message for e in jsonschema.Draft7Validator(schema(SCHEMA)).iter_errors(report)]


@pytest.mark.parametrize("path", readable_fixtures(), ids=lambda p: p.name)
def test_every_fixture_validates(path: Path) -> None:
    report = json.loads(gitlab.render(fixture_decision(path)))
    assert _errors(report) == []
    assert report["version"] == "15.0.7"
    ids = [v["id"] for v in report["vulnerabilities"]]
    assert len(ids) == len(set(ids))


def test_fields() -> None:
    need_shared()
    report = json.loads(gitlab.render(decide(REAL / "trivy" / "trivy-integ--alpine-39.json", "waivers.toml")))
    scan = report["scan"]
    assert scan["start_time"] == scan["end_time"] == "2026-11-27T00:00:00"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", scan["start_time"])
    assert scan["analyzer"]["id"] == "container-gate" and scan["scanner"]["id"] == "trivy"
    assert scan["type"] == "container_scanning" and scan["status"] == "success"
    first = report["vulnerabilities"][0]
    assert first["identifiers"][0] == {
        "type": "cve",
        "name": "CVE-2019-14697",
        "value": "CVE-2019-14697",
        "url": "https://nvd.nist.gov/vuln/detail/CVE-2019-14697",
    }
    assert first["severity"] == "Critical"
    assert first["location"] == {
        "dependency": {"package": {"name": "musl-utils"}, "version": "1.1.20-r4"},
        "operating_system": "alpine 3.9.4",
        "image": "testdata/fixtures/images/alpine-39.tar.gz",
    }
    assert first["solution"] == "Upgrade musl-utils to 1.1.20-r5"
    waived = next(
        v for v in report["vulnerabilities"] if v["location"]["dependency"]["package"]["name"] == "musl"
    )
    assert "Waived by container-gate waiver CVE-2019-14697" in waived["description"]
    severities = {v["severity"] for v in report["vulnerabilities"]}
    assert severities <= {"Info", "Unknown", "Low", "Medium", "High", "Critical"}


def test_schema_version_is_configurable() -> None:
    need_shared()
    decision = decide(REAL / "trivy" / "trivy-integ--alpine-39.json")
    assert json.loads(gitlab.render(decision, schema_version="15.1.4"))["version"] == "15.1.4"
    with pytest.raises(OutputError, match=r"not a version like 15\.0\.7"):
        gitlab.render(decision, schema_version="15.0")


def test_ids_are_stable_uuids() -> None:
    need_shared()
    path = REAL / "grype" / "defectdojo-grype--check_all_fields.json"
    one = json.loads(gitlab.render(decide(path)))
    two = json.loads(gitlab.render(decide(path)))
    assert [v["id"] for v in one["vulnerabilities"]] == [v["id"] for v in two["vulnerabilities"]]
    assert all(re.fullmatch(r"[0-9a-f-]{36}", v["id"]) for v in one["vulnerabilities"])
    assert one["scan"]["scanner"]["version"] not in ("", None)


@given(st.text(st.characters(exclude_categories=["Cs"])))  # the parts are one_line text: no lone surrogates
def test_ids_are_the_uuid5_of_the_image_package_version_and_id(name: str) -> None:
    assert gitlab._uuid5(name) == str(uuid.uuid5(gitlab._NAMESPACE, name))


@pytest.mark.parametrize("fixed", ["@" * 400, "<" * 499 + "@", "1." + "#1" * 240])
def test_long_solution_is_cut_between_escapes(fixed: str) -> None:
    # Escaping lengthens the text (`@` takes 8 characters); the cut must not split an entity or escape.
    report = json.loads(gitlab.render(one_finding(fixed_versions=(fixed,))))
    solution = report["vulnerabilities"][0]["solution"]
    assert len(solution) <= 2000 and solution.endswith("…")
    kept = solution.removesuffix("…")
    assert not re.search(r"&#?[0-9A-Za-z]*$", kept), kept[-20:]
    assert (len(kept) - len(kept.rstrip("\\"))) % 2 == 0, kept[-20:]
    assert not re.search(r"[@#]$", kept), kept[-20:]  # a mention or reference sigil without its guard
    assert _errors(report) == []


def test_a_fix_without_a_fixed_version_is_not_called_unavailable() -> None:
    # Trivy `Status: fixed` without a `FixedVersion`: the finding is fixable, the report only leaves the version out.
    report = json.loads(gitlab.render(one_finding(fixed_versions=(), fix_state=FixState.FIXED)))
    assert report["vulnerabilities"][0]["solution"] == (
        "Upgrade "
        + report["vulnerabilities"][0]["location"]["dependency"]["package"]["name"]
        + " to a release with the fix (the report gives no fixed version)."
    )


def test_no_advisory_link_for_an_id_with_non_ascii_digits() -> None:
    finding_id = "CVE-\u0662\u0660\u0662\u0664-\u0661\u0662\u0663\u0664"
    decision = one_finding(id=finding_id)
    identifiers = json.loads(gitlab.render(decision))["vulnerabilities"][0]["identifiers"]
    assert identifiers == [{"type": "cve", "name": finding_id, "value": finding_id}]


def _dropped_by_gitlab(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The vulnerabilities GitLab would drop from the report: each that shares an identifier (CWE and WASC aside)
    and a location (image without a non-version tag, package name) with an earlier one (MergeReportsService over
    Locations::ContainerScanning#fingerprint_data)."""
    dropped: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str]] = set()
    for v in report["vulnerabilities"]:
        image = v["location"]["image"]
        base, _, tag = image.rpartition(":")
        versionish = re.fullmatch(r"\s*([0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?\s*", tag)
        place = (image if versionish and not re.fullmatch(r"[0-9a-f]{8,128}", tag, re.I) else base) + ":"
        place += v["location"]["dependency"]["package"]["name"]
        keys = {(place, i["type"], i["value"]) for i in v["identifiers"] if i["type"] not in ("cwe", "wasc")}
        if keys & seen:
            dropped.append(v)
        else:
            seen |= keys
    return dropped


def _two_versions(
    first: Severity, second: Severity, *, image: str = "registry.example.com/app:1.0"
) -> Decision:
    finding = synthetic_scan(1, name=image).findings[0]
    package = finding.package
    assert package is not None
    findings = (
        finding.model_copy(update={"severity": first}),
        finding.model_copy(
            update={"severity": second, "package": package.model_copy(update={"version": "2.0.0"})}
        ),
    )
    scan = synthetic_scan(1, name=image).model_copy(update={"findings": findings})
    return evaluate(scan, load_policy("builtin:default"), today=TODAY)


def test_two_versions_of_a_package_are_one_vulnerability_gitlab_keeps() -> None:
    # GitLab's location is the image and the package name, without the version: it would keep the first of two
    # entries of one CVE, here the low one, and drop the critical one without a trace.
    report = json.loads(gitlab.render(_two_versions(Severity.LOW, Severity.CRITICAL)))
    assert _dropped_by_gitlab(report) == []
    (only,) = report["vulnerabilities"]
    assert only["severity"] == "Critical"
    other = ({"1.0.0", "2.0.0"} - {only["location"]["dependency"]["version"]}).pop()
    also = f"Also CVE-2024-10000 in package-00000 {other} of image registry.example.com/app:1.0: "
    assert also in only["description"]
    assert _errors(report) == []


@pytest.mark.parametrize(
    ("one", "two", "kept"),
    [
        ("registry.example.com/app:pr-1", "registry.example.com/app:pr-2", 1),  # tags: GitLab cuts them off
        ("images/app-1.tar", "images/app-2.tar", 1),  # no ':' at all: GitLab's image is "" for both
        ("registry.example.com/app:1.0", "registry.example.com/app:2.0", 2),  # version tags GitLab keeps
    ],
)
def test_images_gitlab_takes_for_one_are_folded(one: str, two: str, kept: int) -> None:
    a, b = (
        _two_versions(Severity.HIGH, Severity.HIGH, image=one),
        _two_versions(Severity.HIGH, Severity.HIGH, image=two),
    )
    decision = a.model_copy(update={"images": (*a.images, *b.images)})
    report = json.loads(gitlab.render(decision))
    assert _dropped_by_gitlab(report) == []
    assert len(report["vulnerabilities"]) == kept
    text = "".join(v["description"] for v in report["vulnerabilities"])
    assert text.count("Also CVE-2024-10000 in package-00000") == 4 - kept
    assert _errors(report) == []
