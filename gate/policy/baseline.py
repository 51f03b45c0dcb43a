"""Baselines: gate only what a change introduced.

A baseline is an earlier report of the same image (the target branch, the last release). Before the engine
runs, `compare` marks each finding of the scan `new` or `existing` (gate.identity: the same ID or alias in
the same package and path, whatever the version) and measures the ratchet: new, fixed, still present, better
or worse. Rules with `scope = "new"` (the default) then count only new findings; `scope = "all"` counts all.

Which baseline belongs to which image (`pair_baselines`): the same image, else the same repository without
tag or digest (`ghcr.io/org/app:pr-7` against `ghcr.io/org/app:main`); one image and one baseline are paired
whatever their names, since a pull-request build is often tagged or stored differently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from gate.errors import InputError
from gate.identity import FindingIndex, image_identity
from gate.model import Finding, Scan, Severity
from gate.policy.decision import Decision, Ratchet, Trend
from gate.policy.settings import as_gated

__all__ = ["attach", "compare", "mismatch_note", "pair_baselines", "scan_name"]


def scan_name(scan: Scan) -> str:
    """How a scan's image is shown: the image reference, else the artifact name, else the report path."""
    if scan.image is not None and scan.image.reference:
        return scan.image.reference
    return scan.artifact or scan.source


def pair_baselines(images: Sequence[Scan], baselines: Sequence[Scan]) -> list[Scan | None]:
    """For each image (one merged scan per image), its baseline scan or None.

    One image and one baseline are paired whatever their names. Otherwise a baseline goes to the images
    that are the same image or of the same repository. Raises InputError for a baseline that matches no
    image, or an image that two baselines match.
    """
    if not baselines:
        return [None] * len(images)
    if len(images) == 1 and len(baselines) == 1:
        return [baselines[0]]
    image_ids = [image_identity(scan) for scan in images]
    paired: list[Scan | None] = [None] * len(images)
    for baseline in baselines:
        wanted = image_identity(baseline)
        hits = [i for i, ident in enumerate(image_ids) if ident.same_image(wanted)]
        hits = hits or [i for i, ident in enumerate(image_ids) if ident.same_repository(wanted)]
        if not hits:
            raise InputError(
                f"{_sources(baseline)}: the baseline is of {scan_name(baseline)!r}, which matches no image "
                f"checked ({_names(images)}); give a baseline of the same repository, or one report and one "
                "baseline per run"
            )
        for i in hits:
            other = paired[i]
            if other is not None:
                raise InputError(
                    f"{_sources(baseline)}: {scan_name(images[i])!r} already has the baseline "
                    f"{_sources(other)}; give one baseline per image (Trivy and Grype reports of one image merge)"
                )
            paired[i] = baseline
    return paired


def _sources(scan: Scan) -> str:
    return " + ".join(scan.sources or (scan.source,))


def _names(scans: Iterable[Scan]) -> str:
    return ", ".join(repr(scan_name(s)) for s in scans)


def compare(scan: Scan, baseline: Scan, *, honor_scanner_ignores: bool = True) -> tuple[Scan, Ratchet]:
    """The scan with each finding marked new or existing, and the ratchet against the baseline.

    Each baseline finding vouches for one finding of the scan (a second secret in a file that had one is new),
    the one most like it first. Scanner-suppressed findings of either report count for matching (the finding
    was there) but not in the counts, except those of an ignore rule when the policy does not honor them
    (`honor_scanner_ignores`, as the engine gates them); a baseline finding is fixed when the scan has no
    finding like it at all.
    """

    def counted(f: Finding) -> bool:
        return as_gated(f, honor_scanner_ignores).suppressed is None

    existing = _pair(scan.findings, baseline.findings)
    marked = tuple(
        f.model_copy(update={"baseline": "existing" if i in existing else "new"})
        for i, f in enumerate(scan.findings)
    )
    current = FindingIndex(marked)
    fixed = sorted((f for f in baseline.findings if counted(f) and f not in current), key=_severity_order)
    active = [f for f in marked if counted(f)]
    before = _counts(f for f in baseline.findings if counted(f))
    after = _counts(active)
    ratchet = Ratchet(
        baseline=scan_name(baseline),
        sources=baseline.sources or (baseline.source,),
        new=sum(1 for f in active if f.baseline == "new"),
        existing=sum(1 for f in active if f.baseline == "existing"),
        fixed=tuple(fixed),
        before=before,
        after=after,
        trend=_trend(before, after),
    )
    return scan.model_copy(update={"findings": marked}), ratchet


def _pair(findings: Sequence[Finding], baseline: Sequence[Finding]) -> set[int]:
    """Indexes of `findings` that a finding of `baseline` vouches for, each baseline finding once.

    First the pairs alike down to version and place, then any same finding left: a version bump in one copy
    does not take the baseline finding of an untouched copy.
    """
    known = FindingIndex(baseline)
    candidates = [known.positions(f) for f in findings]
    used: set[int] = set()
    paired: set[int] = set()
    for exact in (True, False):
        for i, positions in enumerate(candidates):
            if i in paired:
                continue
            for pos in positions:
                if pos not in used and (not exact or _alike(findings[i], baseline[pos])):
                    used.add(pos)
                    paired.add(i)
                    break
    return paired


def _alike(a: Finding, b: Finding) -> bool:
    """The same finding in the same state: version and path of a package, else the text (a secret's match)."""
    where_a = (a.package.version, a.package.path) if a.package else (a.title, a.description)
    where_b = (b.package.version, b.package.path) if b.package else (b.title, b.description)
    return where_a == where_b and a.target == b.target


def _counts(findings: Iterable[Finding]) -> dict[Severity, int]:
    counts = Counter(f.severity for f in findings)
    return {s: counts.get(s, 0) for s in sorted(Severity, reverse=True)}


def _trend(before: dict[Severity, int], after: dict[Severity, int]) -> Trend:
    for severity in sorted(Severity, reverse=True):
        if after[severity] != before[severity]:
            return Trend.WORSE if after[severity] > before[severity] else Trend.BETTER
    return Trend.SAME


def _severity_order(f: Finding) -> tuple[int, str, str, str]:
    package = f.package.name if f.package else ""
    version = f.package.version if f.package else ""
    return (-f.severity.rank, f.id, package, version)


def attach(decision: Decision, ratchet: Ratchet | None, *, note: str = "") -> Decision:
    """The decision of one image with its ratchet (and a note, if any) added to that image."""
    images = []
    for image in decision.images:
        update: dict[str, object] = {"baseline": ratchet}
        if note:
            update["notes"] = (*image.notes, note)
        images.append(image.model_copy(update=update))
    return decision.model_copy(update={"images": tuple(images)})


def mismatch_note(scan: Scan, baseline: Scan) -> str:
    """A note when a baseline paired by position is of another repository than the image; "" otherwise."""
    if image_identity(scan).same_repository(image_identity(baseline)):
        return ""
    return (
        f"the baseline {scan_name(baseline)!r} is of another repository than {scan_name(scan)!r}; "
        "it was used because it is the only baseline given"
    )
