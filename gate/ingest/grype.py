"""Grype JSON (0.7 up to current schemas) -> Scan."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field
from pydantic.dataclasses import dataclass

from gate.errors import InputError
from gate.ingest._pool import Pool
from gate.ingest._text import parse_timestamp
from gate.ingest._wire import WIRE, ByteCount, CvssScore, FindingID, Probability, SeverityWord, Wire
from gate.ingest.image import image_from_config, platform_name
from gate.ingest.purl import purl_version
from gate.jsontext import LONE_SURROGATE, has_lone_surrogate
from gate.model import (
    Cvss,
    Finding,
    FindingKind,
    FixState,
    Image,
    ReportOs,
    ReportTimes,
    Scan,
    Severity,
    Suppression,
)

__all__ = ["GrypeMatch", "GrypeSource", "PackageAlerts", "to_scan"]


@dataclass(config=WIRE, slots=True, kw_only=True)
class _Metrics:
    baseScore: CvssScore | None = None


@dataclass(config=WIRE, slots=True, kw_only=True)
class _Cvss:
    source: str | None = None
    version: str | None = None
    vector: str | None = None
    metrics: _Metrics | None = None


@dataclass(config=WIRE, slots=True, kw_only=True)
class _LegacyCvss:
    baseScore: CvssScore | None = None
    vector: str | None = None


@dataclass(config=WIRE, slots=True, kw_only=True)
class _FixAvailable:
    version: str | None = None
    date: str | None = None


def _fix_state(text: str | None) -> str | None:
    if text and text.lower() not in _FIX_STATES and text.lower() != "unknown":
        raise ValueError("not a fix state gate knows (fixed, not-fixed, wont-fix, unknown)")
    return text


@dataclass(config=WIRE, slots=True, kw_only=True)
class _Fix:
    versions: list[str] | None = None
    state: Annotated[str | None, AfterValidator(_fix_state)] = None
    """A word gate does not know is an error: read as "unknown", a fixed vulnerability would not count as fixable."""
    available: list[_FixAvailable] | None = None


@dataclass(config=WIRE, slots=True, kw_only=True)
class _Kev:
    cve: str | None = None


@dataclass(config=WIRE, slots=True, kw_only=True)
class _Epss:
    cve: str | None = None
    epss: Probability | None = None
    percentile: Probability | None = None


@dataclass(config=WIRE, slots=True, kw_only=True)
class _Vulnerability:
    id: FindingID
    namespace: str | None = None
    severity: SeverityWord = None
    description: str | None = None
    dataSource: str | None = None
    cvss: list[_Cvss] | None = None
    cvssV2: _LegacyCvss | None = None
    cvssV3: _LegacyCvss | None = None
    fix: _Fix | None = None
    fixedInVersion: str | None = None
    knownExploited: list[_Kev] | None = None
    epss: list[_Epss] | None = None
    risk: Annotated[float, Field(allow_inf_nan=False)] | None = None
    """Grype's risk score, shown as it is: NaN or an infinity is no score."""


@dataclass(config=WIRE, slots=True, kw_only=True)
class _Related:
    id: str
    namespace: str | None = None
    severity: SeverityWord = None
    cvss: list[_Cvss] | None = None


@dataclass(config=WIRE, slots=True, kw_only=True)
class _Location:
    path: str | None = None
    layerID: str | None = None


@dataclass(config=WIRE, slots=True, kw_only=True)
class _Artifact:
    name: str
    version: str | None = None
    type: str | None = None
    locations: list[_Location] | None = None
    purl: str | None = None


@dataclass(config=WIRE, slots=True, kw_only=True)
class _RulePackage:
    name: str | None = None
    type: str | None = None
    upstream_name: str | None = Field(default=None, alias="upstream-name")


_VexStatus = Literal["", "not_affected", "fixed", "affected", "under_investigation"]


@dataclass(config=WIRE, slots=True, kw_only=True)
class _IgnoreRule:
    vulnerability: str | None = None
    reason: str | None = None
    namespace: str | None = None
    vex_status: _VexStatus | None = Field(default=None, alias="vex-status")
    """Set on the rules Grype makes from a VEX document (`--vex`): the statement's status. Another word could
    pass for one that suppresses even where ignore rules are not honored (`filtered`, the gate's word for
    Grype's matching rules)."""
    match_type: str | None = Field(default=None, alias="match-type")
    """Set, without a `vulnerability`, on Grype's own rules that drop indirect matches (kernel headers)."""
    package: _RulePackage | None = None

    @property
    def grype_own(self) -> bool:
        """One of Grype's default rules: an indirect match of a package built from the kernel's source (its
        headers, `linux-libc-dev`) on a kernel vulnerability, which the package does not contain.

        Grype adds to these over time (more `linux-*-headers-*` names), so the shape is checked, not the names: a
        repository's own config may say `match-type` too, and any other rule is an ignore rule, not a false match.
        """
        p = self.package
        return (
            not self.vulnerability
            and self.match_type == "exact-indirect-match"
            and p is not None
            and p.type in ("rpm", "deb")
            and p.upstream_name in _KERNEL_SOURCES
        )


_KERNEL_SOURCES = {"kernel", "linux", "linux.*"}
"""The upstream names Grype's default rules give the kernel's source package (rpm `kernel`, deb `linux`)."""


@dataclass(config=WIRE, slots=True, kw_only=True)
class GrypeMatch:
    """One entry of Grype's `matches` (or `ignoredMatches`)."""

    vulnerability: _Vulnerability
    relatedVulnerabilities: list[_Related] | None = None
    artifact: _Artifact
    appliedIgnoreRules: list[_IgnoreRule] | None = None


class _Target(Wire):
    userInput: str | None = None
    imageID: str | None = None
    manifestDigest: str | None = None
    tags: list[str] | None = None
    repoDigests: list[str] | None = None
    imageSize: ByteCount | None = None
    config: str | None = None
    os: str | None = None
    architecture: str | None = None
    architectureVariant: str | None = None


_SourceType = Literal[
    "image", "directory", "file", "sbom-file", "purl-file", "purl", "cpe", "snap", "unknown"
]
"""What Grype scanned. A report of anything but an image skips the image checks: another word (a damaged or
rewritten report) would skip them too, and pass what was never checked."""


class GrypeSource(Wire):
    """Grype's `source`: what was scanned."""

    type: _SourceType | None = None
    target: _Target | str | None = None


class _Distro(Wire):
    name: str | None = None
    version: str | None = None


class _Alert(Wire):
    type: str | None = None


class PackageAlerts(Wire):
    """One entry of Grype's `alertsByPackage`: what else than vulnerabilities Grype has to say of a package."""

    alerts: list[_Alert] | None = None


_UNCHECKED_ALERTS = frozenset({"distro-unknown", "distro-disabled"})
"""Alerts on packages Grype did not match against vulnerability data: their distribution is one it does not
know, or one whose data it does not use."""


class _Descriptor(Wire):
    name: str | None = None
    version: str | None = None
    # Read only for the report-age settings, so a shape no Grype writes is taken as "not said", not refused.
    timestamp: Any = None
    db: Any = None
    configuration: Any = None

    @property
    def eol_alerts(self) -> bool:
        """True when Grype was set to alert on packages of a distribution past its end of life (the default
        since Grype wrote `alerts.enable-eol-distro-warnings`), so no `distro-eol` alert means none is."""
        config = self.configuration if isinstance(self.configuration, dict) else {}
        alerts = config.get("alerts")
        return isinstance(alerts, dict) and alerts.get("enable-eol-distro-warnings") is True

    def times(self, source: str) -> ReportTimes:
        """When the report was made and its database built: `timestamp`, `db.built` (v5), `db.status.built` (v6)."""
        db = self.db if isinstance(self.db, dict) else {}
        status = db.get("status")
        built = status.get("built") if isinstance(status, dict) else db.get("built")
        return ReportTimes(
            source=source, scanner="grype", created=_timestamp(self.timestamp), db_built=_timestamp(built)
        )


def _timestamp(value: object) -> datetime | None:
    return parse_timestamp(value) if isinstance(value, str) else None


_FIX_STATES = {
    "fixed": FixState.FIXED,
    "not-fixed": FixState.NOT_FIXED,
    "wont-fix": FixState.WONT_FIX,
}


def to_scan(
    matches: Sequence[GrypeMatch],
    ignored: Sequence[GrypeMatch],
    source_info: GrypeSource | None,
    distro: _Distro | None,
    descriptor: _Descriptor | None,
    source: str,
    warnings: Sequence[str] = (),
    alerts: Sequence[PackageAlerts] = (),
) -> Scan:
    """Normalize the parts of a Grype report. Raises InputError for a malformed embedded image config."""
    # A Grype database that carries KEV data lists every KEV entry (and EPSS comes with it): when any match
    # has `knownExploited` or `epss`, a match without `knownExploited` is known not to be exploited.
    has_intel = any(_has_intel(m.vulnerability) for group in (matches, ignored) for m in group)
    unlisted = False if has_intel else None
    pool = Pool()
    findings = [_finding(m, None, unlisted, pool) for m in matches]
    findings += [_finding(m, _suppression(m), unlisted, pool) for m in ignored]
    artifact, artifact_type, image = _source(source_info, distro, source)
    version = descriptor.version if descriptor and descriptor.version else ""
    return Scan(
        source=source,
        scanner="grype",
        scanner_version="" if version == "[not provided]" else version,
        artifact=artifact,
        artifact_type=artifact_type,
        image=image,
        findings=tuple(findings),
        warnings=tuple(warnings),
        times=((descriptor or _Descriptor()).times(source),),
        os=_report_os(distro, descriptor or _Descriptor(), alerts, source),
    )


def _report_os(
    distro: _Distro | None, descriptor: _Descriptor, alerts: Sequence[PackageAlerts], source: str
) -> tuple[ReportOs, ...]:
    """What the report says of the image's distribution: past its end of life, packages left unchecked."""
    name = " ".join(p for p in ((distro.name, distro.version) if distro else ()) if p)
    kinds = [{a.type for a in entry.alerts or ()} for entry in alerts]
    unchecked = sum(1 for found in kinds if found & _UNCHECKED_ALERTS)
    said_eol = any("distro-eol" in found for found in kinds)
    if not name and not unchecked and not said_eol:
        return ()
    eol = said_eol or (False if descriptor.eol_alerts else None)
    return (
        ReportOs(
            source=source,
            scanner="grype",
            name=name or "an unknown distribution",
            end_of_life=eol,
            packages_scanned=False if unchecked else None,
            unscanned=unchecked,
        ),
    )


def _source(info: GrypeSource | None, distro: _Distro | None, source: str) -> tuple[str, str, Image | None]:
    os_name = " ".join(p for p in ((distro.name, distro.version) if distro else ()) if p)
    if info is None:
        return "", "", None
    target = info.target
    if not isinstance(target, _Target):
        return target or "", info.type or "", None
    if info.type != "image":
        return target.userInput or "", info.type or "", None
    facts: dict[str, Any] = {
        "reference": target.userInput or "",
        "image_id": target.imageID or "",
        "repo_tags": tuple(target.tags or ()),
        "repo_digests": tuple(target.repoDigests or ()),
        "os": os_name,
        "size": target.imageSize,
        "manifest_digest": target.manifestDigest or "",
        "platform": platform_name(target.os, target.architecture, target.architectureVariant),
    }
    config = _decode_config(target.config, source) if target.config else None
    image = image_from_config(config, source, **facts) if config else Image(**facts)
    return target.userInput or "", "container_image", image


def _decode_config(encoded: str, source: str) -> dict[str, Any] | None:
    try:
        raw = base64.b64decode(encoded, validate=True)
        config = json.loads(raw)
    except (binascii.Error, ValueError) as exc:  # binascii.Error is a ValueError: check it first
        what = "base64" if isinstance(exc, binascii.Error) else "JSON once decoded"
        raise InputError(f"{source}: source.target.config is not {what}; the report is damaged") from None
    except RecursionError:  # the report's own parser has a nesting limit; this one overflows the stack
        raise InputError(
            f"{source}: source.target.config is nested too deeply to be an image config; the report is damaged"
        ) from None
    if has_lone_surrogate(raw, config):
        raise InputError(f"{source}: source.target.config holds {LONE_SURROGATE}; the report is damaged")
    if not isinstance(config, dict):
        raise InputError(f"{source}: source.target.config is not a JSON object; the report is damaged")
    return config


def _has_intel(vuln: _Vulnerability) -> bool:
    return bool(vuln.knownExploited) or any(e.epss is not None for e in vuln.epss or ())


def _finding(match: GrypeMatch, suppressed: Suppression | None, unlisted: bool | None, pool: Pool) -> Finding:
    """One match; `unlisted` is the KEV status of a match without `knownExploited` (False or unknown)."""
    vuln = match.vulnerability
    art = match.artifact
    fix = vuln.fix
    state = _FIX_STATES.get((fix.state or "").lower(), FixState.UNKNOWN) if fix else FixState.UNKNOWN
    versions = tuple(v for v in (fix.versions or ()) if v) if fix else ()
    # Fixed versions listed under no state, or `unknown`: fail closed.
    if versions and state is FixState.UNKNOWN:
        state = FixState.FIXED
    if vuln.fixedInVersion:
        state, versions = FixState.FIXED, (vuln.fixedInVersion,)
    aliases = tuple(
        dict.fromkeys(r.id for r in match.relatedVulnerabilities or () if r.id and r.id != vuln.id)
    )
    severity = Severity.parse(vuln.severity)
    if severity is Severity.UNKNOWN and match.relatedVulnerabilities:
        # The record named has no severity of its own (with `--by-cve`, the CVE's that NVD has not scored yet, in
        # place of the advisory that matched): the highest of the same vulnerability's other records, fail closed.
        severity = max((Severity.parse(r.severity) for r in match.relatedVulnerabilities), default=severity)
    epss = _epss(vuln)
    location = art.locations[0] if art.locations else None
    available = (fix.available or []) if fix else []
    fix_dates = sorted(d for d in (_date(a.date) for a in available) if d)
    return Finding(
        kind=FindingKind.VULNERABILITY,
        id=vuln.id,
        aliases=aliases,
        description=vuln.description or "",
        severity=severity,
        package=pool.package(
            art.name,
            art.version or purl_version(art.purl or ""),
            art.type or "",
            art.purl or "",
            (location.path or "") if location else "",
        ),
        target=(location.path or "") if location else "",
        fix_state=state,
        fixed_versions=versions,
        cvss=tuple(_cvss(match, pool)),
        kev=True if vuln.knownExploited else unlisted,
        epss=epss.epss if epss else None,
        epss_percentile=epss.percentile if epss else None,
        risk=vuln.risk,
        fix_date=fix_dates[0] if fix_dates else None,
        layer=pool.layer(location.layerID) if location and location.layerID else None,
        url=vuln.dataSource or "",
        scanner="grype",
        suppressed=suppressed,
    )


def _epss(vuln: _Vulnerability) -> _Epss | None:
    """The highest score of those listed: an advisory lists one per CVE, and Grype ranks it by the highest."""
    entries = vuln.epss
    if not entries:
        return None
    if len(entries) == 1:  # the common case: one CVE
        return entries[0] if entries[0].epss is not None else None
    scored = [e for e in entries if e.epss is not None]
    return max(scored, key=lambda e: (e.epss or 0.0, e.percentile or 0.0)) if scored else None


def _cvss(match: GrypeMatch, pool: Pool) -> Iterator[Cvss]:
    """One score per source and CVSS version: the highest, since an advisory's related records are its CVEs, each
    scored by NVD. A score written without `source` is its record's namespace's (`nvd` for a related record of
    a Grype that wrote no namespace)."""
    vuln = match.vulnerability
    kept: dict[tuple[str, str], _Cvss] = {}
    default_source = (vuln.namespace or "grype").split(":")[0]
    groups = [(vuln.cvss or [], default_source)] + [
        (r.cvss or [], (r.namespace or "nvd").split(":")[0]) for r in match.relatedVulnerabilities or ()
    ]
    for entries, fallback in groups:
        for entry in entries:
            version = (entry.version or "").split(".")[0]
            if version not in ("2", "3", "4"):
                continue
            key = (entry.source or fallback, version)
            if key not in kept or _base_score(entry) > _base_score(kept[key]):
                kept[key] = entry
    for (src, version), entry in kept.items():
        yield pool.cvss(src, version, entry.metrics.baseScore if entry.metrics else None, entry.vector or "")
    seen = set(kept)
    for legacy, version in ((vuln.cvssV2, "2"), (vuln.cvssV3, "3")):
        if legacy is not None and ("grype", version) not in seen:
            yield pool.cvss("grype", version, legacy.baseScore, legacy.vector or "")


def _base_score(entry: _Cvss) -> float:
    score = entry.metrics.baseScore if entry.metrics else None
    return -1.0 if score is None else score


def _suppression(match: GrypeMatch) -> Suppression:
    rules = match.appliedIgnoreRules or []
    reasons = [r.reason for r in rules if r.reason]
    vex = next((r.vex_status for r in rules if r.vex_status), None)
    if vex is not None:  # a rule Grype made from a VEX statement
        return Suppression(status=vex, statement="; ".join(reasons), source="grype VEX")
    if rules and all(r.grype_own for r in rules):
        # Grype's own matching rules (its default kernel-header rules): a false match dropped, not a waiver
        why = "; ".join(reasons) or "an indirect match Grype's matching rules drop (kernel headers)"
        return Suppression(status="filtered", statement=why, source="grype matching rule")
    return Suppression(status="ignored", statement="; ".join(reasons), source="grype ignore rule")


def _date(text: str | None) -> date | None:
    if not text or len(text) < 10:
        return None
    try:
        parsed = date.fromisoformat(text[:10])
    except ValueError:
        return None
    return None if parsed.year < 1900 else parsed
