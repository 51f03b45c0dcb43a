"""Layer attribution: was a finding inherited from the base image, or introduced by the image's own layers?

Where the base image ends is read from the config history, and only from evidence that can be trusted:

1. buildah and podman write `FROM <reference>` in the comment of the first history entry of a build
   (`FROM 93dd166b709d`, an intermediate image ID, marks later steps of the same build). The last entry
   whose comment names a reference starts the image's own part; `FROM scratch` means there is no base.
2. BuildKit writes `buildkit.dockerfile.v0` in the comment of every entry it creates. When the history ends in
   such a run and something else comes before it, the run is the image's own part. If the base image was
   also built with BuildKit, its entries join the run: base layers may then count as own, never the reverse.

The boundary is used only when the history's layer-making entries (those without `empty_layer`) are exactly as
many as the layers. A finding is then placed by its layer (Trivy `Layer.DiffID` / `Layer.Digest`, Grype
`locations[].layerID`) among the DiffIDs (or manifest layer digests). Everything else stays unknown (`None`);
policy rules with `layer = "own"` treat unknown as own, so missing evidence never lets a finding through.

The `org.opencontainers.image.base.name` label or annotation only names the base; it does not say how many
layers it has, so it does not move the boundary.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from gate.model import Finding, Image, Scan

__all__ = ["HistoryEntry", "attribute", "base_boundary"]

HistoryEntry = tuple[str, bool, str]
"""(created_by, empty_layer, comment) of one history entry."""

_FROM_COMMENT = re.compile(r"^FROM\s+(\S+)\s*$")
_IMAGE_ID = re.compile(r"^(sha256:)?[0-9a-f]{12,64}$")
_BUILDKIT = "buildkit.dockerfile.v0"


def base_boundary(history: Sequence[HistoryEntry], layer_count: int) -> int | None:
    """How many layers (base first) come from the base image, from a config history; None when it does not show.

    None also when the history's layer-making entries do not match `layer_count` (pass 0 when the number of
    layers is unknown: it is then not checked).
    """
    made = sum(1 for _, empty, _ in history if not empty)
    if not history or (layer_count and made != layer_count):
        return None
    start = _buildah_start(history)
    if start is None:
        start = _buildkit_start(history)
    if start is None:
        return None
    return sum(1 for _, empty, _ in history[:start] if not empty)


def _buildah_start(history: Sequence[HistoryEntry]) -> int | None:
    for index in range(len(history) - 1, -1, -1):
        found = _FROM_COMMENT.match(history[index][2].strip())
        if found and not _IMAGE_ID.match(found.group(1)):
            return 0 if found.group(1) == "scratch" else index
    return None


def _buildkit_start(history: Sequence[HistoryEntry]) -> int | None:
    start = len(history)
    while start > 0 and history[start - 1][2].strip() == _BUILDKIT:
        start -= 1
    if start in (0, len(history)):
        return None
    return start


def attribute(scan: Scan) -> Scan:
    """The scan with each finding's `origin` set to "base" or "own" where its layer says so (else None)."""
    image = scan.image
    if image is None or not any(f.layer is not None for f in scan.findings):
        return scan
    positions = _layer_positions(image)
    findings = tuple(_with_origin(f, image, positions) for f in scan.findings)
    return scan.model_copy(update={"findings": findings})


def _layer_positions(image: Image) -> dict[str, int]:
    positions: dict[str, int] = {}
    if not image.diff_ids or len(image.layer_digests) == len(image.diff_ids):
        positions.update((digest.lower(), i) for i, digest in enumerate(image.layer_digests))
    positions.update((diff_id.lower(), i) for i, diff_id in enumerate(image.diff_ids))
    return positions


def _with_origin(finding: Finding, image: Image, positions: dict[str, int]) -> Finding:
    origin = None
    if finding.layer is not None and image.base_layers is not None:
        for ref in (finding.layer.diff_id, finding.layer.digest):
            index = positions.get(ref.strip().lower()) if ref else None
            if index is not None:
                origin = "base" if index < image.base_layers else "own"
                break
    if origin == finding.origin:
        return finding
    return finding.model_copy(update={"origin": origin})
