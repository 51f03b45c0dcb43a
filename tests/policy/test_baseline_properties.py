"""Baseline identity, metamorphic: relations between a report, its baseline and mutated copies of either.

Each relation runs over real Trivy and Grype reports (skipped without ../shared), on a fixed sample of their
findings, so it is deterministic and quick. A relation that fails names the report, the mutation and the finding.
The relations that matter most are the fail-open ones: a finding the baseline does not have (a new ID, another
package, another copy, another kind, another lockfile or binary) must be new, whoever scanned the baseline.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

from gate.errors import InputError
from gate.identity import finding_identity
from gate.ingest import read_report
from gate.ingest.merge import merge_scans
from gate.model import Finding, FindingKind, Image, Package, Scan
from gate.policy.baseline import compare, pair_baselines
from tests.conftest import REAL, TESTDATA, need_shared

# Reports with every kind of finding: OS packages (Alpine, Debian, RPM), jars, lockfiles and Go binaries with no
# path of their own, copies of one package, secrets, misconfigurations and licenses, Grype's paths and advisories.
REPORTS = (
    "trivy/trivy-integ--alpine-39.json",
    "trivy/trivy-integ--alpine-310.json",
    "trivy/trivy-integ--debian-buster.json",
    "trivy/trivy-integ--centos-7.json",
    "trivy/trivy-integ--spring4shell-jre11.json",
    "trivy/trivy-integ--gomod.json",
    "trivy/ci-steadybit-k6--trivy-results.json",
    "trivy/securecodebox-trivy--securecodebox-repo.json",
    "trivy/securecodebox-trivy--juice-shop-v12.10.2.json",
    "trivy/defectdojo-trivy--misconfigurations_and_secrets.json",
    "trivy/defectdojo-trivy--license_scheme.json",
    "trivy/trivy-integ--secrets.json",
    "grype/defectdojo-grype--many_vulns3.json",
    "grype/defectdojo-grype--many_vulns4.json",
    "grype/defectdojo-grype--issue_9618.json",
    "grype/defectdojo-grype--same_cve_different_paths.json",
    "grype/analysis-model--grype-report.json",
    "grype/kubevuln--alpine-cve.json",
)

# Reports of one project (another version, another scan of one image): each against the others.
FAMILIES = (
    ("trivy/trivy-integ--alpine-39.json", "trivy/trivy-integ--alpine-310.json",
     "trivy/trivy-integ--alpine-39-high-critical.json", "trivy/trivy-integ--alpine-39-ignore-cveids.json"),
    ("trivy/trivy-integ--debian-buster.json", "trivy/trivy-integ--debian-buster-ignore-unfixed.json",
     "trivy/trivy-integ--debian-stretch.json"),
    ("trivy/trivy-integ--centos-7.json", "trivy/trivy-integ--centos-7-medium.json",
     "trivy/trivy-integ--centos-7-ignore-unfixed.json"),
    ("trivy/trivy-integ--ubuntu-1804.json", "trivy/trivy-integ--ubuntu-1804-ignore-unfixed.json"),
    ("trivy/trivy-report--old.json", "trivy/trivy-report--new.json"),
    ("trivy/securecodebox-trivy--juice-shop-v12.10.2.json",
     "trivy/securecodebox-trivy--juice-shop-v12.10.2-empty-results.json"),
    ("grype/defectdojo-grype--many_vulns2.json", "grype/defectdojo-grype--many_vulns3.json",
     "grype/defectdojo-grype--many_vulns4.json", "grype/defectdojo-grype--many_vulns_with_epss_values.json"),
    ("grype/defectdojo-grype--check_all_fields.json",
     "grype/defectdojo-grype--check_all_fields_different_ids_fabricated.json",
     "grype/defectdojo-grype--check_all_fields_with_ids_fabricated.json"),
    ("grype/kubevuln--alpine-cve.json", "grype/kubevuln--alpine-cvep.json"),
    ("trivy/ci-steadybit-shop--shopping-ui.json", "trivy/ci-steadybit-shop--steadybit-gateway.json",
     "trivy/ci-steadybit-shop--steadybit-hot-deals.json", "trivy/ci-steadybit-shop--steadybit-orders.json"),
)  # fmt: skip

SAMPLE = 25
"""Findings mutated per report: spread over the report, every one of a short report."""

_OS = frozenset({"apk", "deb", "rpm"})


@functools.cache
def _read(name: str) -> Scan:
    return read_report(name, (REAL / name).read_bytes())


def _scan(name: str) -> Scan:
    need_shared()
    return _read(name)


def _sample(scan: Scan) -> Iterator[tuple[int, Finding]]:
    step = max(1, len(scan.findings) // SAMPLE)
    yield from list(enumerate(scan.findings))[::step][:SAMPLE]


def _with(scan: Scan, findings: tuple[Finding, ...]) -> Scan:
    return scan.model_copy(update={"findings": findings})


def _marks(scan: Scan, baseline: Scan) -> list[str]:
    marked, _ = compare(scan, baseline)
    return [f.baseline or "" for f in marked.findings]


def _where(name: str, at: int, finding: Finding) -> str:
    package = finding.package
    return (
        f"{name}[{at}] {finding.kind.value} {finding.id} {package.name if package else ''} {finding.target!r}"
    )


# --- a report against itself ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REPORTS)
def test_a_report_against_itself_is_all_existing(name: str) -> None:
    scan = _scan(name)
    marked, ratchet = compare(scan, scan)
    assert all(f.baseline == "existing" for f in marked.findings)
    assert (ratchet.new, ratchet.fixed, ratchet.before) == (0, (), ratchet.after)


# --- what the baseline does not have is new ---------------------------------------------------------------


def _renamed(package: Package) -> Package:
    """The package renamed to a name the report does not have (`openssl` -> `openssl-x`), its URL too."""
    purl = package.purl.replace(f"/{package.name}@", f"/{package.name}-x@") if package.purl else ""
    if purl == package.purl and package.purl:
        purl = ""  # a URL that spells the name apart (Maven's group): leave it out, the name decides
    return package.model_copy(update={"name": f"{package.name}-x", "purl": purl, "purls": ()})


def _additions(finding: Finding, named: frozenset[str] = frozenset()) -> Iterator[tuple[str, Finding]]:
    """Findings the report does not have, each made from one it has by one change; `named` holds the IDs the
    report's findings are named by (upper case)."""
    yield "another ID", finding.model_copy(update={"id": "CVE-2099-0001", "aliases": ()})
    yield "an ID one digit longer", finding.model_copy(update={"id": f"{finding.id}0", "aliases": ()})
    advisories = tuple(a for a in finding.aliases if a.upper() not in named)
    if advisories:  # two CVEs fixed by one advisory both list it: a shared alias is not enough
        yield (
            "another ID, the same advisories",
            finding.model_copy(update={"id": "CVE-2099-0002", "aliases": advisories}),
        )
    other = FindingKind.SECRET if finding.kind is not FindingKind.SECRET else FindingKind.MISCONFIG
    yield "another kind", finding.model_copy(update={"kind": other})
    package = finding.package
    if package is None:
        yield "another file", finding.model_copy(update={"target": f"other/{finding.target}"})
        return
    yield "another package", finding.model_copy(update={"package": _renamed(package)})
    if package.ecosystem:  # a report that names no ecosystem (secrets, licenses) is compared by name alone
        ecosystem = "gem" if package.ecosystem == "cargo" else "cargo"
        elsewhere = package.model_copy(update={"type": ecosystem, "purl": "", "purls": (), "types": ()})
        yield "another ecosystem", finding.model_copy(update={"package": elsewhere})
    if package.ecosystem in _OS:
        return  # an OS package has one copy: its path is not part of it
    if package.path:
        copy = package.model_copy(update={"path": f"other/{package.path.lstrip('/')}"})
        yield "a second copy", finding.model_copy(update={"package": copy})
    else:
        yield "another lockfile or binary", finding.model_copy(update={"target": f"other/{finding.target}"})


def _named(scan: Scan) -> frozenset[str]:
    return frozenset(f.id.upper() for f in scan.findings)


@pytest.mark.parametrize("name", REPORTS)
def test_a_finding_the_baseline_does_not_have_is_new(name: str) -> None:
    """Added beside the finding it was made from, or in its place (so no baseline finding is taken)."""
    scan = _scan(name)
    for at, finding in _sample(scan):
        for change, added in _additions(finding, _named(scan)):
            replaced = _marks(_with(scan, (*scan.findings[:at], added, *scan.findings[at + 1 :])), scan)
            assert replaced[at] == "new", f"{change} of {_where(name, at, finding)} is existing in its place"
            marks = _marks(_with(scan, (*scan.findings, added)), scan)
            assert marks[-1] == "new", f"{change} of {_where(name, at, finding)} is existing"
            assert marks.count("new") == 1, (
                f"{change} of {_where(name, at, finding)}: {marks.count('new')} new"
            )


@pytest.mark.parametrize("name", REPORTS)
def test_a_finding_left_out_of_the_baseline_is_new(name: str) -> None:
    scan = _scan(name)
    identities = [finding_identity(f) for f in scan.findings]
    for at, finding in _sample(scan):
        baseline = _with(scan, scan.findings[:at] + scan.findings[at + 1 :])
        marks = _marks(scan, baseline)
        assert marks.count("new") == 1, f"without {_where(name, at, finding)}: {marks.count('new')} new"
        twins = [i for i, other in enumerate(identities) if i != at and other.matches(identities[at])]
        if not twins:  # no other finding is the same finding: it is the new one
            assert marks[at] == "new", f"without {_where(name, at, finding)} it is existing"


# --- what stays the same finding --------------------------------------------------------------------------


def _bumped(finding: Finding) -> Finding:
    """The finding with its package at another version (in its URL and path too), still vulnerable."""
    package = finding.package
    if package is None or not package.version:
        return finding
    version, bump = package.version, f"{package.version}.1"
    update = {
        "version": bump,
        "purl": package.purl.replace(f"@{version}", f"@{bump}"),
        "path": package.path.replace(version, bump),
        "purls": (),
    }
    return finding.model_copy(
        update={"package": package.model_copy(update=update), "target": finding.target.replace(version, bump)}
    )


@pytest.mark.parametrize("name", REPORTS)
def test_a_version_bump_that_leaves_the_vulnerability_is_existing(name: str) -> None:
    """docs/baseline.md: the installed version, also inside a path, is not part of a finding's identity."""
    scan = _scan(name)
    bumped = _with(scan, tuple(_bumped(f) for f in scan.findings))
    assert _marks(bumped, scan).count("new") == 0
    assert _marks(scan, bumped).count("new") == 0


# --- reports of one project -------------------------------------------------------------------------------


def _loose_key(finding: Finding) -> tuple[str, str, frozenset[str]]:
    """What any two findings of one vulnerability in one package share, however the reports spell them."""
    identity = finding_identity(finding)
    return identity.kind.value, identity.package, identity.ids


def _family_pairs() -> Iterator[tuple[str, str]]:
    for family in FAMILIES:
        for scan in family:
            for baseline in family:
                if scan != baseline:
                    yield scan, baseline


@pytest.mark.parametrize(("name", "base_name"), list(_family_pairs()))
def test_an_existing_finding_has_its_id_and_package_in_the_baseline(name: str, base_name: str) -> None:
    """An oracle apart from gate.identity: an existing finding's ID is an ID of a baseline finding of its kind and
    package name, and there are no more existing findings than baseline findings."""
    scan, baseline = _scan(name), _scan(base_name)
    marks = _marks(scan, baseline)
    known: dict[tuple[str, str], set[str]] = {}
    for old in baseline.findings:
        kind, package, ids = _loose_key(old)
        known.setdefault((kind, package), set()).update(ids)
    for at, (finding, mark) in enumerate(zip(scan.findings, marks, strict=True)):
        kind, package, ids = _loose_key(finding)
        if mark == "existing":
            assert ids & known.get((kind, package), set()), f"{_where(name, at, finding)} against {base_name}"
    assert marks.count("existing") <= len(baseline.findings)


# --- a baseline from the other scanner ---------------------------------------------------------------------

_GRYPE_TYPES = {"apk": "apk", "deb": "deb", "rpm": "rpm", "maven": "java-archive", "golang": "go-module",
                "npm": "npm", "pypi": "python", "gem": "gem", "cargo": "rust-crate"}  # fmt: skip


def _as_grype(finding: Finding) -> Finding:
    """A Trivy finding as Grype writes it: Grype's package type, an absolute path, the lockfile or binary a
    package is in as its path, and the package database as an OS package's path."""
    package = finding.package
    if package is None or finding.kind is not FindingKind.VULNERABILITY:
        return finding.model_copy(update={"scanner": "grype"})
    ecosystem = package.ecosystem
    if ecosystem in _OS:
        path = "/lib/apk/db/installed" if ecosystem == "apk" else "/var/lib/dpkg/status"
    else:
        path = "/" + (package.path or finding.target).lstrip("/")
    grype = package.model_copy(
        update={"type": _GRYPE_TYPES.get(ecosystem, ecosystem), "path": path, "types": ()}
    )
    return finding.model_copy(update={"scanner": "grype", "package": grype, "target": path})


_TRIVY_REPORTS = tuple(name for name in REPORTS if name.startswith("trivy/"))


@pytest.mark.parametrize("name", _TRIVY_REPORTS)
def test_a_grype_baseline_of_the_same_image_matches_trivy_and_no_more(name: str) -> None:
    """docs/baseline.md: Trivy's and Grype's names of one package compare alike; what the baseline lacks is new,
    either way round (a Trivy report against a Grype baseline, a Grype report against a Trivy baseline)."""
    trivy = _scan(name)
    grype = _with(trivy, tuple(_as_grype(f) for f in trivy.findings)).model_copy(update={"scanner": "grype"})
    assert _marks(trivy, grype).count("new") == 0
    assert _marks(grype, trivy).count("new") == 0
    for at, finding in _sample(trivy):
        for change, added in _additions(finding, _named(trivy)):
            for scan, baseline, new in ((trivy, grype, added), (grype, trivy, _as_grype(added))):
                marks = _marks(_with(scan, (*scan.findings[:at], new, *scan.findings[at + 1 :])), baseline)
                against = f"against a {baseline.scanner} baseline"
                assert marks[at] == "new", f"{change} of {_where(name, at, finding)} is existing {against}"


@pytest.mark.parametrize("name", _TRIVY_REPORTS)
def test_a_merged_trivy_and_grype_baseline_matches_no_more(name: str) -> None:
    """A baseline of both scanners' reports, merged (in either order), against the Trivy report: every finding is
    existing, and a finding the baseline does not have is new (a merged finding keeps Grype's path)."""
    trivy = _scan(name)
    grype = _with(trivy, tuple(_as_grype(f) for f in trivy.findings)).model_copy(update={"scanner": "grype"})
    for baseline in (merge_scans([trivy, grype]), merge_scans([grype, trivy])):
        assert _marks(trivy, baseline).count("new") == 0
        for at, finding in _sample(trivy):
            for change, added in _additions(finding, _named(trivy)):
                marks = _marks(
                    _with(trivy, (*trivy.findings[:at], added, *trivy.findings[at + 1 :])), baseline
                )
                assert marks[at] == "new", (
                    f"{change} of {_where(name, at, finding)} is existing, merged baseline"
                )


def test_a_real_grype_baseline_of_the_same_image() -> None:
    """The real Trivy report of alpine 3.10 against a Grype report of that image: what both found is existing,
    what only Trivy found is new."""
    trivy = _scan("trivy/trivy-integ--alpine-310.json")
    path: Path = TESTDATA / "merge" / "grype-alpine-310.json"
    grype = read_report(str(path), path.read_bytes())
    found = {(f.id, f.package.name if f.package else "") for f in grype.findings}
    marked, _ = compare(trivy, grype)
    for finding in marked.findings:
        key = (finding.id, finding.package.name if finding.package else "")
        assert finding.baseline == ("existing" if key in found else "new"), key


# --- which baseline an image is decided against ------------------------------------------------------------


def _image_scan(reference: str, platform: str, findings: tuple[Finding, ...]) -> Scan:
    image = Image(reference=reference, platform=platform)
    return Scan(source=f"{reference}-{platform}.json", scanner="trivy", image=image, findings=findings)


def _paired(images: list[Scan], baselines: list[Scan]) -> list[Scan | None]:
    return pair_baselines(images, baselines)


@pytest.mark.parametrize(
    "name", ["trivy/trivy-integ--alpine-310.json", "grype/defectdojo-grype--many_vulns3.json"]
)
def test_a_baseline_of_another_image_or_platform_makes_nothing_existing(name: str) -> None:
    findings = _scan(name).findings
    amd, arm = (_image_scan("ghcr.io/acme/app:pr-7", p, ()) for p in ("linux/amd64", "linux/arm64"))
    other = _image_scan("ghcr.io/acme/tool:pr-7", "linux/amd64", ())
    # The arm64 baseline has every finding, the amd64 one none: the amd64 image's findings are all new.
    base_amd = _image_scan("ghcr.io/acme/app:main", "linux/amd64", ())
    base_arm = _image_scan("ghcr.io/acme/app:main", "linux/arm64", findings)
    images = [_with(amd, findings), _with(arm, findings), _with(other, findings)]
    for order in ([base_amd, base_arm], [base_arm, base_amd]):
        paired = _paired(images, order)
        assert [p.image.platform if p and p.image else None for p in paired] == [
            "linux/amd64",
            "linux/arm64",
            None,
        ]
        got = paired[0]
        assert got is not None
        assert _marks(images[0], got).count("existing") == 0
    # A baseline of no image checked is refused, not used for one of them.
    with pytest.raises(InputError):
        _paired(images[:2], [_image_scan("ghcr.io/acme/tool:main", "linux/amd64", findings), base_amd])
