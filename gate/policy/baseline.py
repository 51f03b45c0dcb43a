"""Baselines: gate only what a change introduced.

A baseline is an earlier report of the same image (the target branch, the last release). Before the engine
runs, `compare` marks each finding of the scan `new` or `existing` (gate.identity: the same ID or alias in
the same package and path, whatever the version) and measures the ratchet: new, fixed, still present, better
or worse. Rules with `scope = "new"` (the default) then count only new findings; `scope = "all"` counts all.

Which baseline belongs to which image (`pair_baselines`): the same image, else the same repository without
tag or digest (`ghcr.io/org/app:pr-7` against `ghcr.io/org/app:main`), and among several of those the images
for the baseline's platform (a multi-architecture build: `linux/amd64` against `linux/amd64`); one image and one
baseline are paired whatever their names, since a pull-request build is often tagged or stored differently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from gate.errors import InputError, short_value
from gate.identity import FindingIndex, image_identity, normalise_platform
from gate.model import Finding, Scan, Severity
from gate.policy.decision import Decision, Ratchet, Trend
from gate.policy.settings import as_gated

__all__ = [
    "NO_BASELINE_NOTE",
    "attach",
    "compare",
    "mismatch_note",
    "pair_baselines",
    "platformless_note",
    "scan_name",
]

NO_BASELINE_NOTE = "no baseline of this image was given; every finding counts"
"""The note of an image gated on every finding in a run (or a merged matrix) where other images have a baseline."""


def scan_name(scan: Scan) -> str:
    """How a scan's image is shown: the image reference, else the artifact name, else the report path."""
    if scan.image is not None and scan.image.reference:
        return scan.image.reference
    return scan.artifact or scan.source


def pair_baselines(images: Sequence[Scan], baselines: Sequence[Scan]) -> list[Scan | None]:
    """For each image (one merged scan per image), its baseline scan or None.

    One image and one baseline are paired whatever their names. Otherwise a baseline goes to the images
    that are the same image or of the same repository, and when it matches several, to those for its platform
    if it and all of them know their platform. Raises InputError for a baseline that matches no image (or
    none for its platform), or an image that two baselines match.
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
                f"{_sources(baseline)}: the baseline is of {_name(baseline)}, which matches no image "
                f"checked ({_names(images)}); give a baseline of the same repository, or one report and one "
                "baseline per run"
            )
        hits = _same_platform(baseline, [images[i] for i in hits], hits)
        for i in hits:
            other = paired[i]
            if other is not None:
                raise InputError(
                    f"{_sources(baseline)}: {_name(images[i])} already has the baseline "
                    f"{_sources(other)}; give one baseline per image (Trivy and Grype reports of one image "
                    f"merge){_platform_hint(images[i], baseline, other, peers=[images[j] for j in hits])}"
                )
            paired[i] = baseline
    return paired


def _same_platform(baseline: Scan, images: Sequence[Scan], positions: list[int]) -> list[int]:
    """The `positions` of `images` (a baseline's matches) for the baseline's platform, when it matches several
    and every one of them knows its platform; all of them otherwise. Raises InputError when none is for it."""
    if len(images) < 2 or not _platform(baseline) or not all(_platform(image) for image in images):
        return positions
    wanted = image_identity(baseline)
    kept = [
        pos
        for pos, image in zip(positions, images, strict=True)
        if image_identity(image).same_platform(wanted)
    ]
    if not kept:
        raise InputError(
            f"{_sources(baseline)}: the baseline is of {_name(baseline)} for {short_value(_platform(baseline))}, "
            f"and no image checked of its repository is for that platform "
            f"({', '.join(short_value(_platform(image)) for image in images)}); "
            "give a baseline of each image's platform"
        )
    return kept


def _platform(scan: Scan) -> str:
    """The platform a scan's image is for, as its report gives it; "" when unknown."""
    platform = scan.image.platform if scan.image is not None else ""
    return platform if any(normalise_platform(platform)) else ""


def _platform_hint(image: Scan, *baselines: Scan, peers: Sequence[Scan] = ()) -> str:
    """What would let the gate tell two baselines of one image's repository apart: the platforms it lacks (of
    the image, the baselines, or the `peers`: the other images of the repository a baseline went to); or, when
    all are known, which baselines are for another platform than the image (a job of one platform given every
    platform's baseline)."""
    unknown: list[Scan] = []
    for scan in (image, *peers, *baselines):
        if not _platform(scan) and not any(scan is seen for seen in unknown):
            unknown.append(scan)
    if unknown:
        return (
            "; baselines of one repository pair with its images by platform when every report gives it (the image "
            f"config's os and architecture), and none is given in {', '.join(_sources(s) for s in unknown)}"
        )
    ours = image_identity(image)
    others = [b for b in baselines if not image_identity(b).same_platform(ours)]
    if not others:
        return ""
    return (
        f"; the image is for {_platform(image)!r} and "
        f"{', '.join(f'{_sources(b)} for {_platform(b)!r}' for b in others)}: give a run only the baselines of "
        "the platforms it checks"
    )


def _sources(scan: Scan) -> str:
    return " + ".join(scan.sources or (scan.source,))


def _names(scans: Iterable[Scan]) -> str:
    return ", ".join(_name(s) for s in scans)


def _name(scan: Scan) -> str:
    """`scan_name` quoted for a message: a report's text (up to 4,096 characters) cut to 100, on one line."""
    return short_value(scan_name(scan), limit=100)


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
    """A note when a baseline paired by position is of another repository than the image, or for another
    platform; "" otherwise."""
    ours, theirs = image_identity(scan), image_identity(baseline)
    if not ours.same_repository(theirs):
        return (
            f"the baseline {scan_name(baseline)!r} is of another repository than {scan_name(scan)!r}; "
            "it was used because it is the only baseline given"
        )
    if _platform(scan) and _platform(baseline) and not ours.same_platform(theirs):
        return (
            f"the baseline {_sources(baseline)} is for {_platform(baseline)!r} and the image for "
            f"{_platform(scan)!r}; it was used because it is the only baseline of its repository"
        )
    return ""


def platformless_note(baseline: Scan, images: Sequence[Scan]) -> str:
    """A note when a baseline that gives no platform went to the `images` of its repository (all those it is
    paired with) and they are for several platforms: each is decided against a baseline that may be of another
    platform's image; "" otherwise."""
    if _platform(baseline):
        return ""
    platforms = list(dict.fromkeys(_platform(image) for image in images if _platform(image)))
    if len({normalise_platform(p) for p in platforms}) < 2:
        return ""
    listed = ", ".join(repr(p) for p in platforms)
    return (
        f"the baseline {_sources(baseline)} gives no platform, so it was used for the images of every "
        f"platform of its repository ({listed}); give a baseline of each platform's image (its report with "
        "the image config) to compare each with its own"
    )
