"""Merge reports of one image (Trivy and Grype, or several runs of one scanner) into one Scan.

Reports are grouped by image identity (gate.identity: image ID, manifest digest, normalised reference).
Within a group, findings are deduplicated: two findings of different reports are one when they share an ID
or alias, are in the same package (ecosystem, name, path where both give one) and at the same installed
version. A report's own findings are merged only when they are exact duplicates (`merge_duplicates`): a
scanner that lists one CVE twice on two paths, or in two packages, meant two findings. Each merged finding
records every scanner that reported it (`found_by`).

When scanners disagree:
- severity: `max` (the default) takes the highest; `trivy` or `grype` takes that scanner's (the highest of its
  reports when several disagree), and the highest when that scanner did not report the finding or gave it no
  severity (UNKNOWN);
- IDs: the other reports' IDs become aliases, but not CVEs the merged finding does not stand for (an advisory
  lists all its CVEs; merged with the CVE another scanner named the finding by, that CVE stays, and so do those
  no other finding of the package is named by: they are the advisory's word alone); the merged finding is named
  by the CVE, or by the advisory when it keeps more CVEs, whichever report came first;
- fix: a fix known to either scanner counts (fixed versions are united), known exploited if either says so,
  the highest EPSS and risk, the earliest published and fix dates, every CVSS score;
- suppression: the finding stays suppressed only when every scanner that reported it suppressed it (fail
  closed: one scanner's ignore file does not hide what the other reports);
- package type and URL: each scanner's is kept (`Package.types`, `Package.purls`), so a `package_type` or
  `purl` glob that matches either matches the merged finding;
- layer: where reports place it apart (base image in one, own layers or unknown in the other), its origin is
  unknown, which a `layer = "own"` rule counts.
The other fields come from the report that decides the severity (`trivy`/`grype`), else the first given.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence, Set
from datetime import date
from typing import Literal, TypeVar

from gate.identity import FindingIndex, group_indices, image_identity
from gate.ingest.image import config_differences, config_note
from gate.model import Cvss, Finding, FindingKind, FixState, Image, Package, Scan, Severity, Suppression

__all__ = ["SeverityChoice", "group_scans", "merge_duplicates", "merge_findings", "merge_scans"]

SeverityChoice = Literal["max", "trivy", "grype"]
"""How the severity of a finding both scanners reported is picked."""

_T = TypeVar("_T")


def group_scans(scans: Sequence[Scan]) -> list[list[Scan]]:
    """The scans grouped by image (same image ID, manifest digest or reference), in the order given."""
    groups = group_indices([image_identity(scan) for scan in scans])
    return [[scans[i] for i in group] for group in groups]


def merge_scans(scans: Sequence[Scan], *, severity: SeverityChoice = "max") -> Scan:
    """One Scan of one image from reports of it; a single report comes back unchanged.

    Raises ValueError when given no scans (the caller groups with group_scans first).
    """
    if not scans:
        raise ValueError("no scans to merge")
    if len(scans) == 1:
        return scans[0]
    primary = _primary(scans, severity)
    ordered = [primary, *(s for s in scans if s is not primary)]
    findings = merge_findings([s.findings for s in ordered], severity=severity)
    sources = tuple(dict.fromkeys(src for s in scans for src in (s.sources or (s.source,))))
    scanners = tuple(dict.fromkeys(sc for s in scans for sc in (s.scanners or (s.scanner,))))
    warnings = _warnings(scans) + _config_notes(ordered)
    return Scan(
        source=primary.source,
        scanner=primary.scanner,
        scanner_version=primary.scanner_version,
        artifact=primary.artifact or next((s.artifact for s in scans if s.artifact), ""),
        artifact_type=primary.artifact_type or next((s.artifact_type for s in scans if s.artifact_type), ""),
        image=_merge_images([s.image for s in ordered]),
        findings=tuple(findings),
        warnings=warnings,
        sources=sources,
        scanners=scanners,
        intel_unavailable=tuple(dict.fromkeys(f for s in scans for f in s.intel_unavailable)),
        times=tuple(t for s in scans for t in s.times),
        os=tuple(o for s in scans for o in s.os),
    )


def _warnings(scans: Sequence[Scan]) -> tuple[str, ...]:
    """Each reader's warning once; prefixed with its reports unless every report gave it, or it names its one
    report already (`a.json: skipped 1 line before the JSON document`)."""
    sources: dict[str, list[str]] = {}
    for scan in scans:
        for warning in scan.warnings:
            sources.setdefault(warning, []).append(scan.source)

    def named(text: str, where: list[str]) -> bool:
        return len(where) == len(scans) or (len(set(where)) == 1 and text.startswith(f"{where[0]}: "))

    return tuple(
        text if named(text, where) else f"{', '.join(dict.fromkeys(where))}: {text}"
        for text, where in sources.items()
    )


def _config_notes(scans: Sequence[Scan]) -> tuple[str, ...]:
    """A note for each report whose image config differs from the one used (the first that has one).

    Reports of one image ID read one config; a difference means a file was edited or misread.
    """
    known = [(s.source, s.image) for s in scans if s.image is not None and s.image.config_known]
    if not known:
        return ()
    (used_source, used), notes = known[0], []
    for source, image in known[1:]:
        differ = config_differences(used, image)
        if differ:
            notes.append(config_note(source, used_source, differ, f"{used_source}'s"))
    return tuple(notes)


def _primary(scans: Sequence[Scan], severity: SeverityChoice) -> Scan:
    if severity != "max":
        for scan in scans:
            if scan.scanner == severity:
                return scan
    return scans[0]


def merge_findings(
    reports: Sequence[Sequence[Finding]], *, severity: SeverityChoice = "max"
) -> list[Finding]:
    """The findings of several reports of one image, deduplicated; the first report's come first.

    Each finding of a later report joins the first not-yet-joined finding of the merged list that is the
    same finding at the same version, or is appended.
    """
    merged: list[list[Finding]] = []
    index_items: list[Finding] = []
    for report_no, findings in enumerate(reports):
        index = FindingIndex(index_items)
        taken: set[int] = set()
        additions: list[list[Finding]] = []
        for finding in findings:
            target = None
            if report_no:
                for pos in index.positions(finding):
                    if pos not in taken and _same_version(merged[pos][0], finding):
                        target = pos
                        break
            if target is None:
                additions.append([finding])
            else:
                taken.add(target)
                merged[target].append(finding)
        merged.extend(additions)
        index_items = [group[0] for group in merged]
    named: set[tuple[str, tuple[str, str]]] = {
        (f.id.upper(), _package_key(f)) for group in merged for f in group if f.id.upper().startswith("CVE-")
    }
    return [_combine(group, severity, named) for group in merged]


def merge_duplicates(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    """The findings of one report, each vulnerability once: exact duplicates merged into the first, in place.

    Grype writes one match per matcher, so two matchers (a CPE and a language match) that find one vulnerability
    in one package give the same match twice, and Trivy has listed a package of a JAR twice. A duplicate has the
    same ID, package (name, version, type, purl, path) and target; another path or package is another finding.
    Duplicates are merged as findings of several reports are (the highest severity, every fix and score), and
    stay suppressed only when every copy is. Other kinds are left alone: two secrets of one rule in one file are
    two secrets, though the gate keeps no line to tell them apart by.
    """
    first: dict[tuple[str, ...], int] = {}
    groups: dict[int, list[Finding]] = {}
    later: set[int] = set()
    for at, finding in enumerate(findings):
        if finding.kind is not FindingKind.VULNERABILITY:
            continue
        p = finding.package or _NO_PACKAGE
        seen = first.setdefault((finding.id, p.name, p.version, p.type, p.purl, p.path, finding.target), at)
        if seen != at:
            groups.setdefault(seen, [findings[seen]]).append(finding)
            later.add(at)
    if not groups:
        return tuple(findings)
    merged = {at: _combine(group, "max").model_copy(update={"found_by": ()}) for at, group in groups.items()}
    return tuple(merged.get(at, f) for at, f in enumerate(findings) if at not in later)


_NO_PACKAGE = Package(name="")


def _package_key(finding: Finding) -> tuple[str, str]:
    """The package's name and installed version, which the findings of one package share whoever reports it."""
    package = finding.package
    return (package.name.strip().lower(), package.version.strip()) if package else ("", "")


def _same_version(a: Finding, b: Finding) -> bool:
    version_a = a.package.version if a.package else ""
    version_b = b.package.version if b.package else ""
    return version_a.strip() == version_b.strip()


def _combine(
    group: Sequence[Finding], choice: SeverityChoice, named: Set[tuple[str, tuple[str, str]]] = frozenset()
) -> Finding:
    """One finding of `group`; `named` holds each CVE some finding of the merge is named by, with its package."""
    if len(group) == 1:
        return group[0]
    first = group[0]
    # The named scanner's word, unless it has none (UNKNOWN says nothing, and would unrate the other's): fail closed.
    # Two reports of that scanner (two runs, two databases) that disagree give the higher, whichever came first.
    chosen = [f.severity for f in group if f.scanner == choice and f.severity is not Severity.UNKNOWN]
    severity = max(chosen) if chosen else max(f.severity for f in group)
    ids: dict[str, str] = {}
    for finding in group:
        for i in finding.all_ids:
            ids.setdefault(i.upper(), i)
    name = first.id
    own = {f.id.upper() for f in group if f.id.upper().startswith("CVE-")}
    if own:
        # An advisory (Grype's ALAS-..., DSA-...) lists all its CVEs: merged with the CVE another scanner named the
        # finding by, it gives up the CVEs other findings of its package stand for, and keeps those no other
        # finding does (they are its word alone). The merged finding is named by the CVE, unless the advisory
        # keeps more: then by the advisory, so a waiver or VEX statement of one CVE does not pass the others.
        # Either way, whichever report came first.
        packages = {_package_key(f) for f in group}
        ids = {
            key: i
            for key, i in ids.items()
            if key in own or not key.startswith("CVE-") or not any((key, p) in named for p in packages)
        }
        more = any(key.startswith("CVE-") and key not in own for key in ids)
        name = next((f.id for f in group if f.id.upper().startswith("CVE-") is not more), name)
    fixed = _unique(v for f in group for v in f.fixed_versions)
    fixable = any(f.fix_state is FixState.FIXED for f in group)
    states = [f.fix_state for f in group if f.fix_state is not FixState.UNKNOWN]
    kevs = [f.kev for f in group if f.kev is not None]
    active = [f for f in group if f.suppressed is None]
    origins = {f.origin for f in group}
    return first.model_copy(
        update={
            "id": name,
            "aliases": tuple(i for key, i in ids.items() if key != name.upper()),
            "title": _first(f.title for f in group),
            "description": _first(f.description for f in group),
            "severity": severity,
            "package": _merge_packages([f.package for f in group]),
            "target": _first(f.target for f in group),
            "fix_state": FixState.FIXED if fixable else (states[0] if states else FixState.UNKNOWN),
            "fixed_versions": fixed,
            "cvss": _merge_cvss(group),
            "kev": any(kevs) if kevs else None,
            "epss": _max(f.epss for f in group),
            "epss_percentile": _max(f.epss_percentile for f in group),
            "risk": _max(f.risk for f in group),
            "published": _min_date(f.published for f in group),
            "fix_date": _min_date(f.fix_date for f in group),
            "layer": next((f.layer for f in group if f.layer is not None), None),
            # Reports that place it apart (base in one, unknown or own in the other) leave it unknown, which a
            # `layer = "own"` rule counts, whichever report came first.
            "origin": origins.pop() if len(origins) == 1 else None,
            "url": _first(f.url for f in group),
            "suppressed": None if active else _suppression(group),
            "found_by": tuple(dict.fromkeys(s for f in group for s in f.reported_by)),
        }
    )


def _suppression(group: Sequence[Finding]) -> Suppression | None:
    """The suppression of a finding every scanner suppressed: an ignore rule's before a VEX statement's.

    A policy that does not honor ignore rules (honor_scanner_ignores = false) undoes an ignore rule's: then the
    scanner that ignored the finding reports it, and one scanner's VEX statement does not hide what another
    reports, whichever report came first.
    """
    found = [f.suppressed for f in group if f.suppressed is not None]
    return next((s for s in found if s.by_ignore_rule), found[0] if found else None)


def _merge_packages(packages: Sequence[Package | None]) -> Package | None:
    present = [p for p in packages if p is not None]
    if not present:
        return None
    first = present[0]
    # Each scanner's word for the package type (Trivy's `alpine`, Grype's `apk`) and its package URL: a
    # `package_type` or `purl` glob that matches either catches the merged finding, whichever report came first.
    types = _unique(t for p in present for t in p.all_types if t)
    purls = _unique(u for p in present for u in p.all_purls if u)
    return first.model_copy(
        update={
            "type": _first(p.type for p in present),
            "types": types if len(types) > 1 else (),
            "purl": _first(p.purl for p in present),
            "purls": purls if len(purls) > 1 else (),
            "path": _first(p.path for p in present),
        }
    )


def _merge_cvss(group: Sequence[Finding]) -> tuple[Cvss, ...]:
    seen: dict[tuple[str, str], Cvss] = {}
    for finding in group:
        for score in finding.cvss:
            key = (score.source, score.version)
            # A source one scanner names as the vendor's is not a third party's, whichever report came first.
            if key not in seen or (seen[key].third_party and not score.third_party):
                seen[key] = score
    return tuple(seen.values())


def _merge_images(images: Sequence[Image | None]) -> Image | None:
    present = [i for i in images if i is not None]
    if not present:
        return None
    base = next((i for i in present if i.config_known), present[0])
    return base.model_copy(
        update={
            "reference": _first(i.reference for i in present),
            "image_id": _first(i.image_id for i in present),
            "repo_tags": _unique(t for i in present for t in i.repo_tags),
            "repo_digests": _unique(d for i in present for d in i.repo_digests),
            "os": _first(i.os for i in present),
            "platform": _first(i.platform for i in present),
        }
    )


def _first(values: Iterable[str]) -> str:
    return next((v for v in values if v), "")


def _unique(values: Iterable[_T]) -> tuple[_T, ...]:
    return tuple(dict.fromkeys(values))


def _max(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _min_date(values: Iterable[date | None]) -> date | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None
