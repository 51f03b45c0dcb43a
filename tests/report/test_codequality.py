"""GitLab code-quality report: the fields GitLab requires, stable unique fingerprints, locations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.report import codequality
from gate.report._common import FileLocation
from tests.conftest import REAL, need_shared
from tests.report.helpers import decide, fixture_decision, readable_fixtures

SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


@pytest.mark.parametrize("path", readable_fixtures(), ids=lambda p: p.name)
def test_every_fixture_gives_a_valid_report(path: Path) -> None:
    text = codequality.render(fixture_decision(path))
    assert not text.startswith("\ufeff")
    entries = json.loads(text)
    assert isinstance(entries, list)
    for entry in entries:
        assert entry["description"] and entry["check_name"] and entry["fingerprint"]
        assert entry["severity"] in SEVERITIES
        assert entry["location"]["path"] and entry["location"]["lines"]["begin"] >= 1
    prints = [e["fingerprint"] for e in entries]
    assert len(prints) == len(set(prints))


def test_entries_and_locations() -> None:
    need_shared()
    decision = decide(REAL / "trivy" / "trivy-integ--alpine-39.json")
    entries = json.loads(codequality.render(decision))
    assert [(e["check_name"], e["severity"]) for e in entries] == [
        ("fixable-critical-high", "critical"),
        ("fixable-critical-high", "critical"),
        ("non-root-user", "minor"),
    ]
    assert entries[0]["description"] == (
        "CVE-2019-14697 in musl-utils 1.1.20-r4, image testdata/fixtures/images/alpine-39.tar.gz: critical "
        "vulnerability; fixed in 1.1.20-r5 (fails rule fixable-critical-high)"
    )
    assert entries[0]["location"] == {
        "path": "container-images/testdata/fixtures/images/alpine-39.tar.gz/musl-utils",
        "lines": {"begin": 1},
    }
    located = json.loads(codequality.render(decision, location=FileLocation(path="app/Dockerfile", line=4)))
    assert {json.dumps(e["location"]) for e in located} == {
        '{"path": "app/Dockerfile", "lines": {"begin": 4}}'
    }
    assert [e["fingerprint"] for e in located] == [e["fingerprint"] for e in entries]


def test_duplicate_findings_are_written_once() -> None:
    need_shared()
    entries = json.loads(
        codequality.render(decide(REAL / "grype" / "defectdojo-grype--check_all_fields.json"))
    )
    django = [e for e in entries if "GHSA-v6rh-hp5x-86rv in Django" in e["description"]]
    assert len(django) == 1


def test_copies_of_a_package_at_several_paths_are_an_entry_each() -> None:
    """minimist 1.2.5 is in three places of the juice-shop image: three failing violations in the record and the
    log, so three entries, each saying where its copy is (the log's way), not one."""
    need_shared()
    decision = decide(REAL / "trivy" / "securecodebox-trivy--juice-shop-v12.10.2.json")
    entries = json.loads(codequality.render(decision))
    assert len(entries) == len(decision.violations)
    minimist = [
        e["description"] for e in entries if e["description"].startswith("CVE-2021-44906 in minimist 1.2.5")
    ]
    assert sorted(d.split(", image ")[0] for d in minimist) == [
        "CVE-2021-44906 in minimist 1.2.5 (in juice-shop/node_modules/minimist/package.json)",
        "CVE-2021-44906 in minimist 1.2.5 (in usr/local/lib/node_modules/npm/node_modules/minimist/package.json)",
        "CVE-2021-44906 in minimist 1.2.5 (in usr/local/lib/node_modules/npm/node_modules/mkdirp/node_modules/"
        "minimist/package.json)",
    ]
