"""Apply KEV and EPSS data to a scan's findings: a pure function, Scan in, new Scan out."""

from __future__ import annotations

from collections.abc import Sequence

from gate.intel.feeds import EpssData, KevCatalog
from gate.model import Finding, FindingKind, Scan

__all__ = ["enrich"]


def enrich(
    scan: Scan,
    *,
    kev: KevCatalog | None = None,
    epss: EpssData | None = None,
    notes: Sequence[str] = (),
    unavailable: Sequence[str] = (),
) -> Scan:
    """`scan` with KEV status and EPSS scores filled in, and `notes` added to its warnings.

    `unavailable` names the feed flags given whose data could not be had (`--kev`), for the policy's notes.

    Findings are looked up by their ID and aliases (CVE IDs only: KEV and EPSS know nothing else).
    What the report already says wins: Grype's own `knownExploited` and `epss` are kept. A finding is known
    exploited when the report or the catalog says so; with a catalog every other vulnerability is not.
    (A Grype report whose database carries KEV data already says False for its other matches: gate.ingest.grype.)
    """
    findings = tuple(_enrich(f, kev, epss) for f in scan.findings)
    lines = list(notes)
    for feed in (kev, epss):
        if feed is not None:
            lines.append(f"intel: {feed.describe()} from {feed.source}")
    update = {"findings": findings, "warnings": (*scan.warnings, *lines)}
    if unavailable:
        update["intel_unavailable"] = tuple(dict.fromkeys((*scan.intel_unavailable, *unavailable)))
    return scan.model_copy(update=update)


def _enrich(finding: Finding, kev: KevCatalog | None, epss: EpssData | None) -> Finding:
    if finding.kind is not FindingKind.VULNERABILITY:
        return finding
    cves = finding.cves
    update: dict[str, object] = {}
    if kev is not None:
        listed = any(c in kev.entries for c in cves)
        update["kev"] = bool(finding.kev) or listed
    if epss is not None and finding.epss is None:
        scored = [epss.scores[c] for c in cves if c in epss.scores]
        if scored:
            best = max(scored, key=lambda s: (s.epss, s.percentile))
            update["epss"] = best.epss
            update["epss_percentile"] = best.percentile
    return finding.model_copy(update=update) if update else finding
