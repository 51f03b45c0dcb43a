"""Merging reports of one image: Trivy and Grype together, deduplicated, severity by policy setting."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from gate.ingest import read_report
from gate.ingest.merge import group_scans, merge_duplicates, merge_findings, merge_scans
from gate.model import Cvss, Finding, FindingKind, FixState, Image, Package, Scan, Severity, Suppression
from tests.conftest import REAL, TESTDATA, need_shared

TRIVY_ALPINE = "trivy/trivy-integ--alpine-310.json"
GRYPE_ALPINE = TESTDATA / "merge" / "grype-alpine-310.json"


def _read(path: Path) -> Scan:
    return read_report(str(path), path.read_bytes())


def _pair() -> tuple[Scan, Scan]:
    need_shared()
    return _read(REAL / TRIVY_ALPINE), _read(GRYPE_ALPINE)


def _key(f: Finding) -> tuple[str, str]:
    return (f.id, f.package.name if f.package else "")


def test_real_trivy_and_grype_of_one_image_merge_as_counted_by_hand() -> None:
    """Counted by hand from the two reports (table in tests/data/merge/README.md).

    Trivy: CVE-2019-1549 and CVE-2019-1551 in libssl1.1 and libcrypto1.1, all MEDIUM (4).
    Grype: CVE-2019-1549 in both (Medium), CVE-2019-1551 libssl1.1 (Low), CVE-2019-1563 libcrypto1.1 (Low) (4).
    Same package and version in 3 pairs -> 4 + 4 - 3 = 5 findings: 3 by both, 1 Trivy only, 1 Grype only.
    """
    trivy, grype = _pair()
    assert (len(trivy.findings), len(grype.findings)) == (4, 4)
    merged = merge_scans([trivy, grype])
    assert len(merged.findings) == 5
    by = Counter(f.reported_by for f in merged.findings)
    assert by == {("trivy", "grype"): 3, ("trivy",): 1, ("grype",): 1}
    only = {_key(f): f.reported_by for f in merged.findings if len(f.reported_by) == 1}
    assert only == {
        ("CVE-2019-1551", "libcrypto1.1"): ("trivy",),
        ("CVE-2019-1563", "libcrypto1.1"): ("grype",),
    }
    assert Counter(f.severity for f in merged.findings) == {Severity.MEDIUM: 4, Severity.LOW: 1}
    assert merged.sources == (str(REAL / TRIVY_ALPINE), str(GRYPE_ALPINE))
    assert merged.times == (*trivy.times, *grype.times)  # each report's age is checked on its own
    assert merged.scanners == ("trivy", "grype")
    assert merged.image is not None
    assert merged.image.image_id == "sha256:961769676411f082461f9ef46626dd7a2d1e2b2a38e6a44364bcbecf51e66dd4"


@pytest.mark.parametrize(
    ("choice", "medium", "low"),
    [("max", 4, 1), ("trivy", 4, 1), ("grype", 3, 2)],
)
def test_severity_setting_picks_when_scanners_disagree(choice: str, medium: int, low: int) -> None:
    trivy, grype = _pair()
    merged = merge_scans([trivy, grype], severity=choice)  # type: ignore[arg-type]
    assert Counter(f.severity for f in merged.findings) == {Severity.MEDIUM: medium, Severity.LOW: low}
    disputed = next(f for f in merged.findings if _key(f) == ("CVE-2019-1551", "libssl1.1"))
    assert disputed.severity is (Severity.LOW if choice == "grype" else Severity.MEDIUM)


@pytest.mark.parametrize("choice", ["trivy", "grype"])
def test_the_named_scanner_without_a_severity_does_not_unrate_the_other_scanners(choice: str) -> None:
    # Grype gives CVE-2023-38545 (curl, alpine 3.18) as Unknown where Trivy falls back to NVD's CRITICAL: taking
    # Grype's "no severity" over it would pass a fixable critical.
    rated, unrated = ("grype", "trivy") if choice == "trivy" else ("trivy", "grype")
    found = _f(rated, "CVE-2023-38545", severity=Severity.CRITICAL)
    blank = _f(unrated, "CVE-2023-38545", severity=Severity.UNKNOWN)
    for reports in ([[found], [blank]], [[blank], [found]]):
        [merged] = merge_findings(reports, severity=choice)  # type: ignore[arg-type]
        assert merged.severity is Severity.CRITICAL
    # The named scanner's own word still stands, lower or not.
    low = _f(unrated, "CVE-2023-38545", severity=Severity.LOW)
    [merged] = merge_findings([[found], [low]], severity=choice)  # type: ignore[arg-type]
    assert merged.severity is Severity.LOW


@pytest.mark.parametrize("choice", ["trivy", "grype"])
def test_two_reports_of_the_named_scanner_give_its_highest_severity_in_either_order(choice: str) -> None:
    # Two Trivy runs of one image (another database, another day) that rate a finding apart: the named scanner
    # said both, and which report came first must not pick the lower (found by the report-order property).
    high = _f(choice, "CVE-2023-38545", severity=Severity.CRITICAL)
    low = _f(choice, "CVE-2023-38545", severity=Severity.LOW)
    for reports in ([[high], [low]], [[low], [high]]):
        [merged] = merge_findings(reports, severity=choice)  # type: ignore[arg-type]
        assert merged.severity is Severity.CRITICAL


@pytest.mark.parametrize(
    ("origins", "merged_origin"),
    [(("base", "base"), "base"), (("own", "own"), "own"), (("base", None), None), (("base", "own"), None)],
)
def test_reports_that_place_a_finding_apart_leave_its_layer_unknown_in_either_order(
    origins: tuple[str | None, str | None], merged_origin: str | None
) -> None:
    # Unknown counts as own for a `layer = "own"` rule: the first report's "base" must not keep it out.
    trivy = _f("trivy", "CVE-2023-38545", origin=origins[0])
    grype = _f("grype", "CVE-2023-38545", origin=origins[1])
    for reports in ([[trivy], [grype]], [[grype], [trivy]]):
        [merged] = merge_findings(reports)
        assert merged.origin == merged_origin


def test_order_of_reports_does_not_change_the_merged_findings() -> None:
    trivy, grype = _pair()
    one = merge_scans([trivy, grype])
    two = merge_scans([grype, trivy])
    summary = sorted((_key(f), f.severity.value, tuple(sorted(f.reported_by))) for f in one.findings)
    assert summary == sorted((_key(f), f.severity.value, tuple(sorted(f.reported_by))) for f in two.findings)


def test_group_scans_keeps_other_images_apart() -> None:
    trivy, grype = _pair()
    other = _read(REAL / "trivy" / "trivy-integ--alpine-39.json")
    groups = group_scans([trivy, other, grype])
    assert [[s.scanner for s in g] for g in groups] == [["trivy", "grype"], ["trivy"]]


def test_one_report_is_returned_unchanged() -> None:
    trivy, _ = _pair()
    assert merge_scans([trivy]) is trivy
    with pytest.raises(ValueError, match="no scans"):
        merge_scans([])


def test_a_reports_own_duplicates_stay_and_the_same_report_twice_adds_nothing() -> None:
    need_shared()
    scan = _read(REAL / "grype" / "defectdojo-grype--same_cve_different_paths.json")
    assert len(scan.findings) == 2  # one CVE, one package, two paths: two findings
    merged = merge_scans([scan, scan])
    assert len(merged.findings) == 2
    assert all(f.reported_by == ("grype",) for f in merged.findings)


def _f(
    scanner: str, id_: str, *, aliases: tuple[str, ...] = (), version: str = "1.0", **kw: object
) -> Finding:
    return Finding(
        kind=FindingKind.VULNERABILITY,
        id=id_,
        aliases=aliases,
        package=Package(
            name="golang.org/x/net", version=version, type="gomod" if scanner == "trivy" else "go-module"
        ),
        scanner=scanner,  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def test_aliases_join_and_are_united() -> None:
    trivy = _f("trivy", "CVE-2023-44487", severity=Severity.HIGH)
    grype = _f("grype", "GHSA-qppj-fm5r-hxr3", aliases=("CVE-2023-44487",), severity=Severity.MEDIUM)
    [merged] = merge_findings([[trivy], [grype]])
    assert merged.id == "CVE-2023-44487"
    assert merged.aliases == ("GHSA-qppj-fm5r-hxr3",)
    assert merged.severity is Severity.HIGH
    assert merged.reported_by == ("trivy", "grype")


def test_a_source_one_scanner_names_as_the_vendor_is_not_a_third_party_whichever_report_comes_first() -> None:
    # Trivy marks Red Hat's score of a package whose severity came from another source third-party; Grype's
    # match in Red Hat's namespace is Red Hat's own. `cvss_source = "vendor"` must not depend on the order.
    trivy = _f("trivy", "CVE-2024-1", cvss=(Cvss(source="redhat", version="3", score=8.1, third_party=True),))
    grype = _f("grype", "CVE-2024-1", cvss=(Cvss(source="redhat", version="3", score=8.1),))
    for reports in ([[trivy], [grype]], [[grype], [trivy]]):
        [merged] = merge_findings(reports)
        assert [(c.source, c.third_party) for c in merged.cvss] == [("redhat", False)]


def test_cves_that_share_an_advisory_stay_apart_and_do_not_borrow_each_others_ids() -> None:
    # Trivy names each CVE with the advisory that fixes it; Grype (Amazon Linux) names the advisory and
    # lists its CVEs. A waiver of the low CVE must not come to waive the critical one through the merge.
    critical = _f("trivy", "CVE-2024-1", aliases=("ALAS-2024-9",), severity=Severity.CRITICAL)
    low = _f("trivy", "CVE-2024-2", aliases=("ALAS-2024-9",), severity=Severity.LOW)
    again = [f.model_copy() for f in (low, critical)]  # a second Trivy run, in another order
    assert [(f.id, f.severity) for f in merge_findings([[critical, low], again])] == [
        ("CVE-2024-1", Severity.CRITICAL),
        ("CVE-2024-2", Severity.LOW),
    ]
    advisory = _f("grype", "ALAS-2024-9", aliases=("CVE-2024-1", "CVE-2024-2"), severity=Severity.HIGH)
    first, second = merge_findings([[critical, low], [advisory]])
    assert (first.id, first.aliases, first.reported_by) == (
        "CVE-2024-1",
        ("ALAS-2024-9",),
        ("trivy", "grype"),
    )
    assert (second.id, second.aliases, second.reported_by) == ("CVE-2024-2", ("ALAS-2024-9",), ("trivy",))
    # Grype's report given first: the merged advisory stands for the CVE it was merged with, and no other, and is
    # named by it, as when Trivy's report comes first.
    first, second = merge_findings([[advisory], [critical, low]])
    assert (first.id, first.aliases, first.reported_by) == (
        "CVE-2024-1",
        ("ALAS-2024-9",),
        ("grype", "trivy"),
    )
    assert (second.id, second.aliases, second.reported_by) == ("CVE-2024-2", ("ALAS-2024-9",), ("trivy",))


def test_an_advisorys_cve_no_other_finding_stands_for_stays_with_it() -> None:
    # Trivy reports only the first CVE of Grype's advisory: the second is Grype's word alone, so the merged
    # advisory still covers it (a waiver or VEX statement about the first CVE must not let it through).
    critical = _f("trivy", "CVE-2024-1", aliases=("ALAS-2024-9",), severity=Severity.CRITICAL)
    advisory = _f("grype", "ALAS-2024-9", aliases=("CVE-2024-1", "CVE-2024-2"), severity=Severity.HIGH)
    for reports in ([[advisory], [critical]], [[critical], [advisory]]):  # whichever report comes first
        [merged] = merge_findings(reports)
        assert (merged.id, set(merged.aliases), set(merged.cves)) == (
            "ALAS-2024-9",
            {"CVE-2024-1", "CVE-2024-2"},
            {"CVE-2024-1", "CVE-2024-2"},
        )
    # Another package's CVE-2024-2 stands for that package only.
    other = _f("trivy", "CVE-2024-2", version="2.0")
    merged, _ = merge_findings([[advisory], [critical, other]])
    assert merged.aliases == ("CVE-2024-1", "CVE-2024-2")


def test_another_version_is_another_finding() -> None:
    merged = merge_findings([[_f("trivy", "CVE-1", version="1.0")], [_f("grype", "CVE-1", version="1.1")]])
    assert [f.reported_by for f in merged] == [("trivy",), ("grype",)]


def test_fix_exploitation_and_scores_take_what_either_scanner_knows() -> None:
    trivy = _f("trivy", "CVE-1", fix_state=FixState.NOT_FIXED, epss=None)
    grype = _f("grype", "CVE-1", fix_state=FixState.FIXED, fixed_versions=("1.1",), kev=True, epss=0.4)
    [merged] = merge_findings([[trivy], [grype]])
    assert merged.fixable
    assert merged.fixed_versions == ("1.1",)
    assert merged.kev is True
    assert merged.epss == 0.4


def test_one_scanners_suppression_does_not_hide_the_other_scanners_finding() -> None:
    ignored = Suppression(status="ignored", source=".trivyignore")
    both_ignored = merge_findings(
        [[_f("trivy", "CVE-1", suppressed=ignored)], [_f("grype", "CVE-1", suppressed=ignored)]]
    )
    one_ignored = merge_findings([[_f("trivy", "CVE-1", suppressed=ignored)], [_f("grype", "CVE-1")]])
    assert both_ignored[0].suppressed == ignored
    assert one_ignored[0].suppressed is None


@pytest.mark.parametrize("grype_first", [False, True])
def test_an_ignore_rule_is_kept_over_the_other_scanners_vex_whichever_report_comes_first(
    grype_first: bool,
) -> None:
    """With honor_scanner_ignores = false the ignore rule is undone: the scanner that ignored the finding then
    reports it, and the other scanner's VEX statement does not hide it; so the merged finding keeps the ignore
    rule, not the report order's first suppression."""
    ignored = Suppression(status="ignored", source=".trivyignore")
    vex = Suppression(status="not_affected", source="grype VEX")
    trivy, grype = [_f("trivy", "CVE-1", suppressed=ignored)], [_f("grype", "CVE-1", suppressed=vex)]
    [merged] = merge_findings([grype, trivy] if grype_first else [trivy, grype])
    assert merged.suppressed == ignored


def test_reader_warnings_are_kept_once() -> None:
    def scan(source: str, *warnings: str) -> Scan:
        return Scan(source=source, scanner="trivy", warnings=warnings)

    merged = merge_scans([scan("a.json", "same", "only a"), scan("b.json", "same")])
    assert merged.warnings == ("same", "a.json: only a")


def test_a_reader_warning_that_names_its_report_is_not_prefixed_with_it_again() -> None:
    """A log line skipped before a report's JSON is noted as `a.json: skipped 1 line ...`: merged with another
    report of the image it stays so, not `a.json: a.json: skipped ...`."""
    skipped = "a.json: skipped 1 line before the JSON document: 'WARN x' (send the scanner's log to stderr)"
    merged = merge_scans(
        [Scan(source="a.json", scanner="grype", warnings=(skipped,)), Scan(source="b.json", scanner="trivy")]
    )
    assert merged.warnings == (skipped,)


def test_reports_of_one_image_id_whose_configs_differ_are_named_in_a_note() -> None:
    def scan(source: str, user: str, image_id: str = "sha256:" + "a" * 64) -> Scan:
        image = Image(image_id=image_id, config_known=True, user=user, env=("PATH=/bin",))
        return Scan(source=source, scanner="trivy", image=image)

    merged = merge_scans([scan("trivy.json", "app"), scan("grype.json", "root")])
    assert merged.image is not None and merged.image.user == "app"
    assert merged.warnings == (
        "grype.json and trivy.json give the image a different user; the gate used trivy.json's (both name one "
        "image, so one of the files was edited or misread)",
    )
    assert merge_scans([scan("trivy.json", "app"), scan("grype.json", "app")]).warnings == ()
    other_image = merge_scans([scan("a.json", "app"), scan("b.json", "root", "sha256:" + "b" * 64)])
    assert other_image.warnings == ()  # grouped by another identity (a reference): not one config


def test_a_merged_image_keeps_the_platform_a_report_gives() -> None:
    image_id = "sha256:" + "b" * 64
    trivy = Scan(source="t.json", scanner="trivy", image=Image(reference="app:1", image_id=image_id))
    grype = Scan(
        source="g.json",
        scanner="grype",
        image=Image(reference="app:1", image_id=image_id, platform="linux/arm64"),
    )
    for scans in ([trivy, grype], [grype, trivy]):
        merged = merge_scans(scans).image
        assert merged is not None and merged.platform == "linux/arm64"


# Duplicates within one report: a match Grype wrote twice is one finding.

_DJANGO: dict[str, object] = {
    "name": "Django",
    "version": "3.2.9",
    "type": "python",
    "purl": "pkg:pypi/Django@3.2.9",
    "locations": [{"path": "/usr/lib/python3/site-packages/Django-3.2.9.dist-info/METADATA"}],
}


def _match(
    artifact: dict[str, object] = _DJANGO, severity: str = "High", **vulnerability: object
) -> dict[str, object]:
    return {
        "vulnerability": {
            "id": "GHSA-v6rh-hp5x-86rv",
            "severity": severity,
            "fix": {"versions": ["3.2.10"], "state": "fixed"},
            **vulnerability,
        },
        "artifact": artifact,
    }


def _grype(matches: list[dict[str, object]], ignored: list[dict[str, object]] | None = None) -> Scan:
    report = {
        "matches": matches,
        "ignoredMatches": ignored or [],
        "source": {"type": "image", "target": {"userInput": "app:1"}},
        "descriptor": {"name": "grype", "version": "0.80.0"},
    }
    return read_report("grype.json", json.dumps(report).encode())


def test_a_match_grype_wrote_twice_is_one_finding_with_what_either_copy_says() -> None:
    """Two matchers (CPE and language) that find one vulnerability in one package: Grype writes two matches."""
    cpe = _match(
        cvss=[{"source": "nvd", "version": "3.1", "metrics": {"baseScore": 7.5}}],
        fix={"versions": ["3.2.10"], "state": "fixed"},
    )
    purl = {
        **_match(severity="Critical", fix={"versions": ["3.2.11"], "state": "fixed"}),
        "relatedVulnerabilities": [{"id": "CVE-2021-44420"}],
    }
    [finding] = _grype([cpe, purl]).findings
    assert finding.severity is Severity.CRITICAL  # the worse, as when two scanners disagree
    assert finding.aliases == ("CVE-2021-44420",)
    assert finding.fixed_versions == ("3.2.10", "3.2.11")
    assert [(c.source, c.score) for c in finding.cvss] == [("nvd", 7.5)]
    assert finding.found_by == () and finding.reported_by == ("grype",)
    assert finding.suppressed is None


def test_one_vulnerability_in_two_places_or_two_packages_stays_two_findings() -> None:
    elsewhere = {
        **_DJANGO,
        "locations": [{"path": "/opt/venv/lib/site-packages/Django-3.2.9.dist-info/METADATA"}],
    }
    other_version = {**_DJANGO, "version": "3.2.8", "purl": "pkg:pypi/Django@3.2.8"}
    findings = _grype([_match(), _match(elsewhere), _match(other_version), _match()]).findings
    assert [(f.package.version, f.target) for f in findings if f.package] == [
        ("3.2.9", "/usr/lib/python3/site-packages/Django-3.2.9.dist-info/METADATA"),
        ("3.2.9", "/opt/venv/lib/site-packages/Django-3.2.9.dist-info/METADATA"),
        ("3.2.8", "/usr/lib/python3/site-packages/Django-3.2.9.dist-info/METADATA"),
    ]


def test_a_duplicate_one_copy_of_which_an_ignore_rule_hides_is_not_hidden() -> None:
    """Fail closed: an ignore rule that matched one copy (by matcher, say) does not hide the other."""
    ignored = {
        **_match(),
        "appliedIgnoreRules": [{"vulnerability": "GHSA-v6rh-hp5x-86rv", "reason": "accepted"}],
    }
    [finding] = _grype([_match()], [ignored]).findings
    assert finding.suppressed is None
    [both] = _grype([], [ignored, ignored]).findings
    assert both.suppressed is not None and both.suppressed.status == "ignored"


@pytest.mark.parametrize("suppressed_first", [True, False])
def test_merged_duplicates_stay_suppressed_only_when_every_copy_is(suppressed_first: bool) -> None:
    ignored = Suppression(status="ignored", source="grype ignore rule")
    copies = [_f("grype", "CVE-1", suppressed=ignored), _f("grype", "CVE-1")]
    [finding] = merge_duplicates(copies if suppressed_first else copies[::-1])
    assert finding.suppressed is None


def test_trivy_duplicates_are_one_finding_but_not_across_targets_or_kinds() -> None:
    def vuln(severity: str) -> dict[str, object]:
        return {"VulnerabilityID": "CVE-1", "PkgName": "request", "InstalledVersion": "2.88.2",
                "FixedVersion": "3.0.0", "Severity": severity}  # fmt: skip

    secret = {"RuleID": "aws-access-key-id", "Severity": "CRITICAL"}
    report = {
        "SchemaVersion": 2,
        "ArtifactName": "app:1",
        "ArtifactType": "container_image",
        "Results": [
            {
                "Target": "app/package-lock.json",
                "Type": "npm",
                "Vulnerabilities": [vuln("HIGH"), vuln("CRITICAL")],
            },
            {"Target": "web/package-lock.json", "Type": "npm", "Vulnerabilities": [vuln("HIGH")]},
            # Two secrets of one rule in one file (lines the gate does not keep) are two secrets.
            {"Target": "app/.env", "Secrets": [secret, secret]},
        ],
    }
    findings = read_report("trivy.json", json.dumps(report).encode()).findings
    assert [(f.kind, f.target, f.severity) for f in findings] == [
        (FindingKind.VULNERABILITY, "app/package-lock.json", Severity.CRITICAL),
        (FindingKind.VULNERABILITY, "web/package-lock.json", Severity.HIGH),
        (FindingKind.SECRET, "app/.env", Severity.CRITICAL),
        (FindingKind.SECRET, "app/.env", Severity.CRITICAL),
    ]


def test_a_report_without_duplicates_keeps_its_findings() -> None:
    findings = (_f("grype", "CVE-1"), _f("grype", "CVE-2"))
    assert merge_duplicates(findings) == findings
