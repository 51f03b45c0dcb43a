"""Trivy JSON (SchemaVersion 2, the 0.19 object form and the pre-0.20 list form) -> Scan."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, timezone
from typing import Annotated, Any, Literal

import pydantic_core
from pydantic import AfterValidator, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass

from gate.errors import InputError, field_path, problem_and_value, short_value
from gate.ingest._pool import Pool
from gate.ingest._text import parse_timestamp, shorten
from gate.ingest._wire import WIRE, ByteCount, CvssScore, FindingID, SeverityWord, Wire, misplaced_key
from gate.ingest.image import image_from_config
from gate.ingest.purl import purl_version
from gate.model import (
    Cvss,
    Finding,
    FindingKind,
    FixState,
    Image,
    Layer,
    Package,
    ReportOs,
    ReportTimes,
    Scan,
    Severity,
    Suppression,
)

__all__ = ["TrivyReport", "TrivyResult", "legacy_to_scan", "to_scan"]


@dataclass(config=WIRE, slots=True, kw_only=True)
class _Layer:
    Digest: str | None = None
    DiffID: str | None = None
    CreatedBy: str | None = None


@dataclass(config=WIRE, slots=True, kw_only=True)
class _Cvss:
    V2Vector: str | None = None
    V3Vector: str | None = None
    V40Vector: str | None = None
    V2Score: CvssScore | None = None
    V3Score: CvssScore | None = None
    V40Score: CvssScore | None = None


@dataclass(config=WIRE, slots=True, kw_only=True)
class _PkgIdentifier:
    PURL: str | None = None


_VendorLevel = Annotated[int, Field(ge=0, le=4)]
"""A vendor's severity as Trivy writes it: 0 (unknown) to 4 (critical); another number would read as unknown."""

_Status = Literal[
    "fixed",
    "affected",
    "will_not_fix",
    "fix_deferred",
    "end_of_life",
    "under_investigation",
    "not_affected",
    "unknown",
]
"""The vulnerability statuses Trivy writes (checked by the decoder itself: a Python check per finding is slow)."""


@dataclass(config=WIRE, slots=True, kw_only=True)
class _Vulnerability:
    VulnerabilityID: FindingID
    VendorIDs: list[str] | None = None
    PkgName: str | None = None
    PkgPath: str | None = None
    PkgIdentifier: _PkgIdentifier | None = None
    InstalledVersion: str | None = None
    FixedVersion: str | None = None
    Status: _Status | None = None
    Layer: _Layer | None = None
    SeveritySource: str | None = None
    PrimaryURL: str | None = None
    Title: str | None = None
    Description: str | None = None
    Severity: SeverityWord = None
    VendorSeverity: dict[str, _VendorLevel] | None = None
    CVSS: dict[str, _Cvss] | None = None
    PublishedDate: str | None = None


@dataclass(config=WIRE, slots=True, kw_only=True)
class _Secret:
    RuleID: FindingID
    Category: str | None = None
    Severity: SeverityWord = None
    Title: str | None = None
    StartLine: int | None = None
    Layer: _Layer | None = None


def _misconfiguration_status(text: str | None) -> str:
    """The status in capitals; FAIL when none is given, as when Trivy leaves it out."""
    if text is None or not text.strip():
        return "FAIL"
    status = text.upper()
    if status not in _MISCONFIGURATION_STATUSES:
        # A word read as a pass would drop the finding: a failed check would go unchecked.
        raise ValueError("not a status Trivy writes (PASS, FAIL, EXCEPTION)")
    return status


_MISCONFIGURATION_STATUSES = frozenset({"PASS", "FAIL", "EXCEPTION"})


@dataclass(config=WIRE, slots=True, kw_only=True)
class _Misconfiguration:
    ID: FindingID
    AVDID: str | None = None
    Type: str | None = None
    Title: str | None = None
    Description: str | None = None
    Message: str | None = None
    Resolution: str | None = None
    Severity: SeverityWord = None
    PrimaryURL: str | None = None
    Status: Annotated[str | None, AfterValidator(_misconfiguration_status)] = "FAIL"
    """Only a failed check is a finding (misconfigurations are few: a Python check each is cheap)."""
    Layer: _Layer | None = None


@dataclass(config=WIRE, slots=True, kw_only=True)
class _License:
    Name: FindingID
    Severity: SeverityWord = None
    Category: str | None = None
    PkgName: str | None = None
    FilePath: str | None = None
    Link: str | None = None


_ModifiedStatus = Literal["ignored", "unknown", "not_affected", "affected", "fixed", "under_investigation"]
"""Why Trivy left a finding out: an ignore rule (`ignored`) or a VEX statement. Another word could pass for
one that suppresses even where ignore rules are not honored (`filtered`, the gate's word for Grype's
matching rules)."""


@dataclass(config=WIRE, slots=True, kw_only=True)
class _Modified:
    Type: str | None = None
    Status: _ModifiedStatus | None = None
    Statement: str | None = None
    Source: str | None = None
    Finding: dict[str, Any] | None = None


@dataclass(config=WIRE, slots=True)
class _Unread:
    """An object Trivy writes that the gate does not read: declared, so it is not kept as an unknown key."""


class TrivyResult(Wire):
    """One entry of Trivy's `Results` (also one item of the legacy list form)."""

    # Unknown keys are kept, so a misspelt finding list can be refused. The large keys Trivy writes that the
    # gate does not read are declared below, because keeping them would build every package as a dict.
    model_config = ConfigDict(extra="allow")

    Target: str
    """Trivy writes it for every result; without it the entry is not Trivy's (a `target`/`vulnerabilities`
    rewrite, say), and reading it as one without findings would pass what was never checked."""
    Class: str | None = None
    Type: str | None = None
    Vulnerabilities: list[_Vulnerability] | None = None
    Secrets: list[_Secret] | None = None
    Misconfigurations: list[_Misconfiguration] | None = None
    Licenses: list[_License] | None = None
    ExperimentalModifiedFindings: list[_Modified] | None = None
    Packages: list[_Unread] | None = None
    MisconfSummary: _Unread | None = None
    CustomResources: list[_Unread] | None = None


class _OS(Wire):
    Family: str | None = None
    Name: str | None = None
    EOSL: bool | None = None

    @property
    def name(self) -> str:
        """`alpine 3.19.1`: family and release, as far as the report gives them."""
        return " ".join(p for p in (self.Family, self.Name) if p)


class _Metadata(Wire):
    OS: _OS | None = None
    ImageID: str | None = None
    DiffIDs: list[str] | None = None
    RepoTags: list[str] | None = None
    RepoDigests: list[str] | None = None
    ImageConfig: dict[str, Any] | None = None
    Size: ByteCount | None = None


_ArtifactType = Literal[
    "container_image", "filesystem", "repository", "cyclonedx", "spdx", "aws_account", "vm"
]
"""What Trivy scanned. A report of anything but an image skips the image checks: another word (a damaged or
rewritten report) would skip them too, and pass what was never checked."""


class TrivyReport(Wire):
    """The fields of a Trivy report the gate reads."""

    SchemaVersion: int | None = None
    CreatedAt: str | None = None
    ArtifactName: str | None = None
    ArtifactType: _ArtifactType | None = None
    Metadata: _Metadata | None = None
    Results: list[TrivyResult] | None = None
    # The 0.19 object form kept these at the top level.
    ImageID: str | None = None
    RepoTags: list[str] | None = None
    RepoDigests: list[str] | None = None


_WONT_FIX = {"will_not_fix", "fix_deferred", "end_of_life"}
_NOT_FIXED = {"affected", "under_investigation"}


def to_scan(report: TrivyReport, source: str, warnings: Sequence[str] = ()) -> Scan:
    """Normalize a parsed Trivy report. Raises InputError for malformed embedded data."""
    _refuse_misplaced(_foreign_keys(report, TrivyReport), ("Results",), _RESULTS_BY_KEY, source, "")
    meta = report.Metadata or _Metadata()
    artifact_type = report.ArtifactType or ""
    if not artifact_type and (report.ImageID or report.RepoTags or meta.ImageID or meta.RepoTags):
        artifact_type = "container_image"
    image = None
    if artifact_type == "container_image" or meta.ImageID or meta.ImageConfig:
        os_name = meta.OS.name if meta.OS else ""
        facts: dict[str, Any] = {
            "reference": report.ArtifactName or "",
            "image_id": meta.ImageID or report.ImageID or "",
            "repo_tags": tuple(meta.RepoTags or report.RepoTags or ()),
            "repo_digests": tuple(meta.RepoDigests or report.RepoDigests or ()),
            "os": os_name,
            "size": meta.Size,
        }
        if meta.ImageConfig:
            image = image_from_config(meta.ImageConfig, source, **facts)
            if meta.DiffIDs and not image.diff_ids:
                image = image.model_copy(update={"diff_ids": tuple(meta.DiffIDs)})
        else:
            image = Image(
                **{k: v for k, v in facts.items() if v is not None}, diff_ids=tuple(meta.DiffIDs or ())
            )
    created = parse_timestamp(report.CreatedAt) if report.CreatedAt else None
    return Scan(
        source=source,
        scanner="trivy",
        artifact=report.ArtifactName or "",
        artifact_type=artifact_type,
        image=image,
        findings=tuple(_findings(report.Results or (), source, "Results")),
        warnings=tuple(warnings),
        times=(ReportTimes(source=source, scanner="trivy", created=created),),
        os=_report_os(meta.OS, report.Results or (), source),
    )


def _report_os(os: _OS | None, results: Sequence[TrivyResult], source: str) -> tuple[ReportOs, ...]:
    """What the report says of the image's OS: whether it is past its end of service life, whether its packages
    were scanned."""
    if os is None or not os.name:
        return ()
    # Trivy writes a result for the OS packages it scanned, clean or not (`Class` since 0.2x; older reports
    # have no Class and are not judged).
    scanned = any(r.Class == "os-pkgs" for r in results) if all(r.Class for r in results) else None
    # Trivy writes EOSL only when it is true, and only for releases it knows.
    return (
        ReportOs(
            source=source, scanner="trivy", name=os.name, end_of_life=bool(os.EOSL), packages_scanned=scanned
        ),
    )


def legacy_to_scan(results: list[TrivyResult], source: str, warnings: Sequence[str] = ()) -> Scan:
    """Normalize the pre-0.20 list form (a bare list of results)."""
    return Scan(
        source=source,
        scanner="trivy",
        artifact=results[0].Target or "" if results else "",
        findings=tuple(_findings(results, source, "")),
        warnings=tuple(warnings),
        times=(ReportTimes(source=source, scanner="trivy"),),
    )


def _findings(results: Iterable[TrivyResult], source: str, where: str) -> Iterator[Finding]:
    """The findings of `results`, found at `where` in the report (`Results`, or "" for the legacy list)."""
    pool = Pool()
    for index, result in enumerate(results):
        _refuse_misplaced(
            _foreign_keys(result, TrivyResult), _FINDING_LISTS, _FINDINGS_BY_KEY, source, f"{where}[{index}]"
        )
        target = result.Target or ""
        # Consume the wire objects as they are converted, so the two forms of a large report are not held
        # in memory at the same time (the strings themselves are shared, not copied).
        vulns = list(reversed(result.Vulnerabilities or ()))
        result.Vulnerabilities = None
        while vulns:
            yield _vulnerability(vulns.pop(), target, result.Type or "", pool)
        for secret in result.Secrets or ():
            yield _secret(secret, target, pool)
        for misconf in result.Misconfigurations or ():
            if misconf.Status == "FAIL":
                yield _misconfiguration(misconf, target, pool)
            elif misconf.Status == "EXCEPTION":  # PASS is no finding
                yield _misconfiguration(misconf, target, pool).model_copy(update={"suppressed": _EXCEPTED})
        for lic in result.Licenses or ():
            yield _license(lic, target)
        for number, modified in enumerate(result.ExperimentalModifiedFindings or ()):
            at = f"{where}[{index}].ExperimentalModifiedFindings[{number}]"
            yield _modified(modified, target, result.Type or "", f"{source}: {at}", pool)


_EXCEPTED = Suppression(
    status="ignored", source="an exception in Trivy's checks configuration (Status EXCEPTION)"
)
"""A failed check that an exception of the scanner's configuration let through: an ignore rule, which a policy
that does not honor them (honor_scanner_ignores = false) gates."""

_FINDING_LISTS = (
    "Vulnerabilities",
    "Secrets",
    "Misconfigurations",
    "Licenses",
    "ExperimentalModifiedFindings",
)
"""The keys of a result that hold findings."""
_FINDINGS_BY_KEY = {"vulnerabilityid": "Vulnerabilities", "ruleid": "Secrets", "avdid": "Misconfigurations"}
"""A key of a finding (lower case) -> the list of a result Trivy keeps such findings in."""
_RESULTS_BY_KEY = {"target": "Results", **{k: f"Results[].{v}" for k, v in _FINDINGS_BY_KEY.items()}}
"""A key of a result or a finding (lower case) -> where in the report Trivy keeps it."""


def _foreign_keys(wire: Wire, trivy_type: type[Wire]) -> dict[str, Any]:
    """The keys of `wire` that `trivy_type` does not declare, by their names in the report: the unknown ones, and
    those a subclass declares to tell other formats apart (the envelope's `vulnerabilities`, a list item's
    `RepoTags`), which would otherwise slip past the check for a misplaced finding list."""
    fields = type(wire).model_fields
    declared = {
        field.alias or name: getattr(wire, name)
        for name, field in fields.items()
        if name in wire.model_fields_set and name not in trivy_type.model_fields
    }
    return {**(wire.model_extra or {}), **declared}


def _refuse_misplaced(
    extra: Mapping[str, Any] | None, lists: Sequence[str], item_keys: Mapping[str, str], source: str, at: str
) -> None:
    found = misplaced_key(extra, lists, item_keys)
    if found is not None:
        key, meant = shorten(found[0], 60), found[1]  # the report's own key: any length, any characters
        raise InputError(
            f"{source}: {f'{at}.{key}' if at else key}: not a key Trivy writes (it writes {meant}), so what it "
            "holds would go unchecked; give the report as trivy wrote it"
        )


def _layer(wire: _Layer | None, pool: Pool) -> Layer | None:
    if wire is None or not (wire.Digest or wire.DiffID):
        return None
    return pool.layer(wire.Digest or "", wire.DiffID or "", wire.CreatedBy or "")


def _cvss(scores: dict[str, _Cvss] | None, severity_source: str | None, pool: Pool) -> tuple[Cvss, ...]:
    """The scores of `CVSS` by source (sorted), v2, v3 and v4 each when the source gives a score or vector.

    Trivy lists every source's scores, whatever the package (Red Hat's beside a Debian package's); the vendor's
    is `SeveritySource`'s (as Trivy's own SARIF reads it). The others but NVD's are marked third-party, unless
    the report names no source (then which is the vendor's is unknown).
    """
    if not scores:
        return ()
    entries = sorted(scores.items())
    vendor = severity_source or ""
    key = (
        vendor,
        *(
            (source, e.V2Score, e.V2Vector, e.V3Score, e.V3Vector, e.V40Score, e.V40Vector)
            for source, e in entries
        ),
    )
    return pool.cvss_set(
        key,
        lambda: tuple(
            pool.cvss(source, version, score, vector or "", bool(vendor) and source not in (vendor, "nvd"))
            for source, e in entries
            for version, score, vector in (
                ("2", e.V2Score, e.V2Vector),
                ("3", e.V3Score, e.V3Vector),
                ("4", e.V40Score, e.V40Vector),
            )
            if score is not None or vector
        ),
    )


def _vulnerability(v: _Vulnerability, target: str, pkg_type: str, pool: Pool) -> Finding:
    fixed = v.FixedVersion or ""
    status = v.Status or ""  # Trivy writes its statuses in lower case (the decoder checks them)
    if fixed or status == "fixed":  # fixable even when the report leaves the version out
        fix_state = FixState.FIXED
    elif status in _WONT_FIX:
        fix_state = FixState.WONT_FIX
    elif status in _NOT_FIXED:
        fix_state = FixState.NOT_FIXED
    else:
        fix_state = FixState.UNKNOWN
    severity_text = v.Severity
    if not severity_text and v.VendorSeverity:
        # The vendor Trivy names as the source; without one (or one not listed), the highest: fail closed.
        level = v.VendorSeverity.get(v.SeveritySource or "", max(v.VendorSeverity.values()))
        severity_text = _VENDOR_SEVERITY.get(level, "")
    purl = (v.PkgIdentifier.PURL or "") if v.PkgIdentifier else ""
    return Finding(
        kind=FindingKind.VULNERABILITY,
        id=v.VulnerabilityID,
        aliases=_aliases(v.VulnerabilityID, v.VendorIDs) if v.VendorIDs else (),
        title=v.Title or "",
        description=v.Description or "",
        severity=Severity.parse(severity_text),
        package=pool.package(
            v.PkgName or "",
            v.InstalledVersion or purl_version(purl),
            pkg_type,
            purl,
            v.PkgPath or "",
        ),
        target=target,
        fix_state=fix_state,
        fixed_versions=_versions(fixed),
        cvss=_cvss(v.CVSS, v.SeveritySource, pool),
        published=_date(v.PublishedDate),
        layer=_layer(v.Layer, pool),
        url=v.PrimaryURL or "",
        scanner="trivy",
    )


_VENDOR_SEVERITY = {0: "UNKNOWN", 1: "LOW", 2: "MEDIUM", 3: "HIGH", 4: "CRITICAL"}


def _aliases(primary: str, vendor_ids: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a for a in vendor_ids if a and a != primary))


def _versions(fixed: str) -> tuple[str, ...]:
    """`1.2.3, 1.3.1` -> ("1.2.3", "1.3.1"): Trivy joins the fixed versions of several branches."""
    if "," not in fixed:  # the common case: one version or none
        return (fixed.strip(),) if fixed.strip() else ()
    return tuple(s.strip() for s in fixed.split(",") if s.strip())


def _secret(s: _Secret, target: str, pool: Pool) -> Finding:
    return Finding(
        kind=FindingKind.SECRET,
        id=s.RuleID,
        title=s.Title or s.Category or s.RuleID,
        severity=Severity.parse(s.Severity),
        target=target,
        package=Package(name=target, path=target) if target else None,
        layer=_layer(s.Layer, pool),
        scanner="trivy",
    )


def _misconfiguration(m: _Misconfiguration, target: str, pool: Pool) -> Finding:
    return Finding(
        kind=FindingKind.MISCONFIG,
        id=m.ID,
        aliases=_check_aliases(m.ID, m.AVDID),
        title=m.Title or m.ID,
        description=" ".join(p for p in (m.Message, m.Resolution) if p) or (m.Description or ""),
        severity=Severity.parse(m.Severity),
        target=target,
        layer=_layer(m.Layer, pool),
        url=m.PrimaryURL or "",
        scanner="trivy",
    )


# The names one Trivy check has had: `DS002` with `AVD-DS-0002` beside it, then `DS-0002` alone (trivy-checks
# renamed them); cloud checks were `AVD-AWS-0086`, now `AWS-0086`.
_CHECK_ID = re.compile(r"(?:AVD-)?([A-Z]+)-([0-9]{4})")
_SHORT_CHECK_ID = re.compile(r"([A-Z]+)([0-9]{3,4})")
_SHORT_PREFIXES = frozenset({"DS", "KSV"})
"""The checks that had a short name (`DS002`, `KSV001`) before the `AVD-` one."""


def _check_aliases(check_id: str, avd_id: str | None) -> tuple[str, ...]:
    """The other names of the Trivy check `check_id` (`DS-0002` -> `AVD-DS-0002`, `DS002`), so that a rule's
    `ids` or a waiver written for one Trivy release holds for the reports of another."""
    names = dict.fromkeys(n for n in (check_id, avd_id) if n)
    for name in list(names):
        found = _CHECK_ID.fullmatch(name.upper()) or _SHORT_CHECK_ID.fullmatch(name.upper())
        if found is None:
            continue
        prefix, number = found[1], int(found[2])
        names.update(dict.fromkeys((f"AVD-{prefix}-{number:04d}", f"{prefix}-{number:04d}")))
        if prefix in _SHORT_PREFIXES and number < 1000:
            names[f"{prefix}{number:03d}"] = None
    return tuple(n for n in names if n.upper() != check_id.upper())


def _license(lic: _License, target: str) -> Finding:
    return Finding(
        kind=FindingKind.LICENSE,
        id=lic.Name,
        title=f"{lic.Name} ({lic.Category})" if lic.Category else lic.Name,
        severity=Severity.parse(lic.Severity),
        package=Package(name=lic.PkgName, path=lic.FilePath or "") if lic.PkgName else None,
        target=lic.FilePath or target,
        scanner="trivy",
    )


_MODIFIED_KINDS: dict[str, type[Any]] = {
    "vulnerability": _Vulnerability,
    "secret": _Secret,
    "misconfiguration": _Misconfiguration,
    "license": _License,
}


def _modified(m: _Modified, target: str, pkg_type: str, at: str, pool: Pool) -> Finding:
    """The finding a VEX or ignore rule modified (suppressed); `at` is `source: location` for messages.

    A type Trivy does not write, or no finding, is refused: dropping the entry would hide a finding that a policy
    not honoring the scanner's ignore rules gates.
    """
    if m.Type is None:
        raise InputError(f"{at}.Type: missing; the report is malformed")
    wire = _MODIFIED_KINDS.get(m.Type.lower())
    if wire is None:
        raise InputError(
            f"{at}.Type: {short_value(m.Type)} is not a finding type Trivy writes ({', '.join(_MODIFIED_KINDS)}); "
            "the report is malformed"
        )
    if m.Finding is None:
        raise InputError(f"{at}.Finding: missing; the report is malformed")
    try:
        # As JSON, so the finding is checked exactly as the report's own findings are (strict JSON types).
        parsed = TypeAdapter(wire).validate_json(pydantic_core.to_json(m.Finding))
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = field_path(err["loc"], under=f"{at}.Finding")
        raise InputError(f"{where}: {problem_and_value(err)}; the report is malformed") from None
    if isinstance(parsed, _Vulnerability):
        finding = _vulnerability(parsed, target, pkg_type, pool)
    elif isinstance(parsed, _Secret):
        finding = _secret(parsed, target, pool)
    elif isinstance(parsed, _Misconfiguration):
        finding = _misconfiguration(parsed, target, pool)
    else:
        assert isinstance(parsed, _License)
        finding = _license(parsed, target)
    suppression = Suppression(status=m.Status or "", statement=m.Statement or "", source=m.Source or "")
    return finding.model_copy(update={"suppressed": suppression})


def _date(text: str | None) -> date | None:
    """The UTC date of a time Trivy writes (RFC 3339, `Z` in practice), or of a bare date."""
    if not text or len(text) < 10:
        return None
    if len(text) > 10 and not text.endswith(("Z", "z")):  # an offset: the date at it may not be the UTC date
        moment = parse_timestamp(text)
        if moment is not None and moment.tzinfo is not None:
            return moment.astimezone(timezone.utc).date()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None
