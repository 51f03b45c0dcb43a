"""Relations KEV and EPSS must keep: how an ID is written, what else the feeds list, the order of their rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.errors import InputError
from gate.ingest import read_report
from gate.intel import enrich, parse_epss, parse_kev
from gate.model import Finding, FindingKind, Package, Scan, Severity
from tests.conftest import REAL, need_shared, shared_files
from tests.intel.conftest import INTEL

KEV = json.loads((INTEL / "kev.json").read_bytes())
EPSS = (INTEL / "epss.csv").read_bytes()
GITEA = "grype/analysis-model--grype-report-wo-description.json"


def _catalog(*cves: str, extra: int = 0) -> bytes:
    entries = [{"cveID": c} for c in cves] + [{"cveID": f"CVE-2000-{n:05d}"} for n in range(extra)]
    return json.dumps({**KEV, "count": len(entries), "vulnerabilities": entries}).encode()


def _scan(*findings: Finding) -> Scan:
    return Scan(source="r.json", scanner="trivy", findings=findings)


def _vuln(vid: str, *aliases: str) -> Finding:
    return Finding(
        kind=FindingKind.VULNERABILITY,
        id=vid,
        aliases=aliases,
        severity=Severity.HIGH,
        package=Package(name="p", version="1"),
        scanner="trivy",
    )


def _real() -> Scan:
    need_shared()
    path: Path = REAL / GITEA
    return read_report(str(path), path.read_bytes())


@pytest.mark.parametrize(
    "written",
    [
        "CVE-2021-44228",
        "cve-2021-44228",
        " CVE-2021-44228",
        "CVE-2021-44228\n",
        "CVE-2021-44228\u00a0",
        "\u200bCVE-2021-44228",
    ],
)
def test_a_cve_id_with_blanks_or_invisible_characters_around_it_is_still_that_cve(written: str) -> None:
    # A padded ID was "not listed" once a catalog was given: a known-exploited finding passed `kev = true`.
    kev = parse_kev(_catalog("CVE-2021-44228"), "kev.json")
    epss = parse_epss(EPSS, "epss.csv")
    for finding in (_vuln(written), _vuln("GHSA-jfh8-c2jp-5v3q", written)):
        (out,) = enrich(_scan(finding), kev=kev, epss=epss).findings
        assert out.kev is True
        assert out.epss == pytest.approx(0.94358)
        assert out.id == finding.id and out.aliases == finding.aliases  # shown as the report wrote them


def test_a_cve_the_finding_has_only_as_an_alias_makes_it_known_exploited() -> None:
    scan = _real()
    aliased = {f.id: f.cves for f in scan.findings if not f.id.upper().startswith("CVE-") and f.cves}
    assert aliased  # the gitea report names Go advisories by GHSA, with their CVEs as aliases
    for gid, cves in sorted(aliased.items()):
        marked = enrich(scan, kev=parse_kev(_catalog(cves[-1]), "kev.json")).findings
        assert {f.id for f in marked if f.kev} >= {gid}, gid


def test_unrelated_catalog_entries_change_nothing() -> None:
    scan = _real()
    small = enrich(scan, kev=parse_kev(_catalog("CVE-2023-44487"), "kev.json"))
    large = enrich(scan, kev=parse_kev(_catalog("CVE-2023-44487", extra=2000), "kev.json"))
    assert [f.kev for f in small.findings] == [f.kev for f in large.findings]
    assert {f.id for f in small.findings if f.kev} == {"CVE-2023-44487", "GHSA-qppj-fm5r-hxr3"}


def test_the_order_of_epss_rows_changes_nothing() -> None:
    head, rows = EPSS.split(b"cve,epss,percentile\n")
    lines = rows.splitlines(keepends=True)
    expected = parse_epss(EPSS, "epss.csv").scores
    orders = [
        lines[::-1],
        sorted(lines),
        sorted(lines, key=lambda line: line.split(b",")[1]),
        lines[7:] + lines[:7],
    ]
    for order in orders:
        assert order != lines
        assert parse_epss(head + b"cve,epss,percentile\n" + b"".join(order), "epss.csv").scores == expected


@pytest.mark.parametrize("second", ["CVE-2021-44228,0.00100,0.10000", "cve-2021-44228,0.94358,0.99957"])
def test_a_cve_scored_twice_is_refused(second: str) -> None:
    # The later row won: read one way the score was 0.94, the other way round 0.001, and `epss >= 0.1` passed.
    data = EPSS + second.encode() + b"\n"
    with pytest.raises(
        InputError, match=r"line 24: CVE-2021-44228 is scored a second time; the file is damaged"
    ):
        parse_epss(data, "epss.csv")


def _readable(path: Path) -> Scan | None:
    try:
        return read_report(str(path), path.read_bytes())
    except InputError:  # the shared fixtures hold damaged reports too
        return None


def test_each_real_finding_is_found_by_any_of_its_cves_and_by_nothing_else() -> None:
    need_shared()
    reports = [s for p in shared_files("trivy") + shared_files("grype") if (s := _readable(p)) is not None]
    # Advisories (GHSA, ALAS, ...) known by a CVE alias: the relation must hold for them most of all.
    assert sum(1 for s in reports for f in s.findings if f.cves and not f.id.upper().startswith("CVE-")) > 30
    for scan in reports:
        for pick in (0, -1):  # the first CVE (often the ID) and the last (an alias)
            cves = sorted({f.cves[pick] for f in scan.findings if f.cves})
            if not cves:
                continue
            out = enrich(scan, kev=parse_kev(_catalog(*cves), "kev.json")).findings
            assert [f.id for f in out if f.cves and not f.kev] == [], scan.source
        unrelated = enrich(scan, kev=parse_kev(_catalog(extra=50), "kev.json")).findings
        assert [bool(f.kev) for f in unrelated] == [bool(f.kev) for f in scan.findings], scan.source


def test_grype_saying_no_and_the_catalog_saying_yes_is_yes() -> None:
    need_shared()
    path = REAL / "grype" / "defectdojo-grype--many_vulns_with_epss_values.json"
    scan = read_report(str(path), path.read_bytes())
    assert {f.kev for f in scan.findings} == {False}  # its Grype database had KEV data: none listed
    first = scan.findings[0]
    out = enrich(scan, kev=parse_kev(_catalog(first.cves[-1]), "kev.json")).findings
    assert [f.kev for f in out if first.cves[-1] in f.cves] == [True] * sum(
        1 for f in scan.findings if first.cves[-1] in f.cves
    )


def test_an_advisory_is_known_exploited_when_any_of_its_cves_is() -> None:
    # Grype names an Amazon Linux match by its advisory and lists every CVE it fixes as an alias.
    alas = _vuln("ALAS-2023-1234", "CVE-2023-0001", "CVE-2021-44228", "CVE-2023-0002")
    (out,) = enrich(_scan(alas), kev=parse_kev(_catalog("CVE-2021-44228"), "kev.json")).findings
    assert out.kev is True
