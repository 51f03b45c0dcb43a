"""Image metadata given with `--image-metadata`: what the image is and how it is configured.

The form is detected from the content:

- `docker inspect` / `docker image inspect` (a one-element list or the object) and `podman image inspect`
  (which keeps `User`, `Labels`, `Healthcheck`, `Annotations`, `History` and the manifest `Digest` at the top);
- `skopeo inspect` (labels, env, created, manifest digest and layer digests; no User, ports or healthcheck);
- an image config: `skopeo inspect --config` (OCI) or `--raw --config` (Docker), an OCI layout config blob;
- an OCI image manifest or Docker v2 manifest (config digest = image ID, layers and their sizes, annotations);
- an OCI image index or Docker manifest list (manifest digests, annotations);
- the `manifest.json` of a `docker save` / `skopeo copy docker-archive:` tarball;
- `buildah inspect --type image` (its stored config and manifest).

Everything else (a scanner report, a container inspect, an unknown JSON shape) is refused with one line saying
what it is and what to give instead. `attach` then checks the metadata is of the scanned image (image ID,
else layer DiffIDs, else manifest digests; and the platform) and lays it over the report's own image facts, field
by field. `attach_each` pairs several files (one per image, as a multi-architecture build has) with the reports of
their images.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from gate.errors import InputError
from gate.identity import normalise_platform, other_platform
from gate.ingest._text import json_document
from gate.ingest._wire import ByteCount, Wire
from gate.ingest.image import (
    CONFIG_FIELDS,
    config_differences,
    config_facts,
    config_note,
    differing_config,
    first_error,
    healthcheck_state,
    normal_digest,
    parse_created,
    platform_name,
)
from gate.jsontext import LONE_SURROGATE, has_lone_surrogate
from gate.model import Image, Scan

__all__ = ["Metadata", "attach", "attach_each", "merge_image", "parse_metadata", "read_metadata"]

_ASK = (
    "give docker/podman inspect, skopeo inspect [--config], an OCI image config, manifest or index "
    "of the scanned image"
)
_BLOB = re.compile(r"^(?:blobs/sha256/)?([0-9a-f]{64})(?:\.json|\.tar)?$")
_IMAGE_CONFIG_TYPES = {
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
}


class Metadata(BaseModel):
    """Image metadata read from one file."""

    model_config = ConfigDict(frozen=True)

    source: str
    """The file it was read from (for messages)."""
    form: str
    """What it is: `docker inspect`, `podman inspect`, `skopeo inspect`, `image config`, `OCI manifest`, ..."""
    image: Image
    """The facts it gives; `image.known` lists the fields it carries."""
    digests: tuple[str, ...] = ()
    """Manifest (or index) digests that name the image."""
    warnings: tuple[str, ...] = ()


class _Healthcheck(Wire):
    Test: list[str] | None = None


class _InspectRootFS(Wire):
    Layers: list[str] | None = None


class _Inspect(Wire):
    Id: str | None = None
    Digest: str | None = None
    RepoTags: list[str] | None = None
    RepoDigests: list[str] | None = None
    Created: str | None = None
    Config: dict[str, Any] | None = None
    Os: str | None = None
    Architecture: str | None = None
    Variant: str | None = None
    Size: ByteCount | None = None
    RootFS: _InspectRootFS | None = None
    History: list[dict[str, Any]] | None = None
    # podman keeps these at the top level
    User: str | None = None
    Labels: dict[str, str] | None = None
    Annotations: dict[str, str] | None = None
    Healthcheck: _Healthcheck | None = None
    ManifestType: str | None = None


class _LayerData(Wire):
    Digest: str | None = None
    Size: ByteCount | None = None


class _Skopeo(Wire):
    Name: str | None = None
    Digest: str | None = None
    Created: str | None = None
    Labels: dict[str, str] | None = None
    Os: str | None = None
    Architecture: str | None = None
    Variant: str | None = None
    Layers: list[str] | None = None
    LayersData: list[_LayerData] | None = None
    Env: list[str] | None = None


class _Descriptor(Wire):
    mediaType: str | None = None
    digest: str
    size: ByteCount | None = None
    annotations: dict[str, str] | None = None


class _Manifest(Wire):
    schemaVersion: int
    mediaType: str | None = None
    config: _Descriptor
    layers: list[_Descriptor]
    annotations: dict[str, str] | None = None


class _Index(Wire):
    schemaVersion: int
    mediaType: str | None = None
    manifests: list[_Descriptor]
    annotations: dict[str, str] | None = None


class _SaveEntry(Wire):
    Config: str
    RepoTags: list[str] | None = None
    Layers: list[str] | None = None


class _Buildah(Wire):
    Type: str
    FromImage: str | None = None
    FromImageID: str | None = None
    FromImageDigest: str | None = None
    Config: str | None = None
    Manifest: str | None = None
    Container: str | None = None
    ImageAnnotations: dict[str, str] | None = None


def read_metadata(path: str, data: bytes) -> Metadata:
    """Parse the bytes of an image metadata file read from `path` (used in messages). Raises InputError."""
    if not data.strip(b" \t\r\n\x00"):
        raise InputError(f"{path}: the image metadata file is empty; check the inspect step")
    document, warnings = json_document(data, path)
    try:
        parsed = json.loads(document)
    except RecursionError:
        raise InputError(
            f"{path}: the JSON is nested too deeply to be image metadata; check the file"
        ) from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 or UTF-16 text; {_ASK}") from None
    except json.JSONDecodeError as exc:
        if exc.pos >= len(document.rstrip()):
            raise InputError(f"{path}: the JSON ends early ({exc.msg}); the file is truncated") from None
        raise InputError(f"{path}: not JSON ({exc.msg} at line {exc.lineno}); {_ASK}") from None
    except ValueError:  # a number of more than 4,300 digits: int() refuses to read it
        raise InputError(f"{path}: not JSON (a number too long to read); {_ASK}") from None
    if has_lone_surrogate(document, parsed):
        raise InputError(f"{path}: the JSON holds {LONE_SURROGATE}; the file is damaged")
    metadata = parse_metadata(parsed, path)
    return metadata.model_copy(update={"warnings": tuple(warnings)}) if warnings else metadata


def parse_metadata(document: object, source: str) -> Metadata:
    """Detect the form of a parsed JSON document and read it. Raises InputError for anything else."""
    if isinstance(document, list):
        return _from_list(document, source)
    if isinstance(document, dict):
        return _from_object(document, source)
    what = {type(None): "null", bool: "a boolean", str: "a string"}.get(type(document), "a number")
    raise InputError(f"{source}: the document is {what}, not image metadata; {_ASK}")


def _from_list(items: list[Any], source: str) -> Metadata:
    if not items:
        raise InputError(f"{source}: an empty list: the inspect command found no image; check the image name")
    if not all(isinstance(item, dict) for item in items):
        raise InputError(f"{source}: a list of something other than objects is not image metadata; {_ASK}")
    first = items[0]
    if "Config" in first and isinstance(first.get("Config"), str) and "Layers" in first:
        if len(items) > 1:
            raise InputError(
                f"{source}: the docker save manifest holds {len(items)} images; "
                "give the manifest.json of one image's docker save (docker save IMAGE)"
            )
        return _docker_save(first, source)
    if "Id" in first and ("Config" in first or "RootFS" in first):
        if len(items) > 1:
            raise InputError(
                f"{source}: the inspect output holds {len(items)} images; inspect only the scanned image"
            )
        return _from_object(first, source)
    if "Target" in first or "Vulnerabilities" in first:
        raise InputError(f"{source}: this is a Trivy report; give it as a REPORT, not as --image-metadata")
    raise InputError(f"{source}: a list of {_keys(first)} objects is not image metadata; {_ASK}")


def _from_object(obj: dict[str, Any], source: str) -> Metadata:
    if "SchemaVersion" in obj or "Results" in obj or "matches" in obj:
        raise InputError(
            f"{source}: this is a scanner report; give it as a REPORT, and the image's inspect output "
            "as --image-metadata"
        )
    if isinstance(obj.get("Type"), str) and obj["Type"].startswith("buildah"):
        return _buildah(obj, source)
    if "Id" in obj and ("Config" in obj or "RootFS" in obj):
        if "State" in obj or "Mounts" in obj:
            raise InputError(
                f"{source}: this is the inspect output of a container, not of an image; "
                "run docker image inspect IMAGE"
            )
        return _inspect(obj, source)
    if "schemaVersion" in obj:
        if "manifests" in obj:
            return _index(obj, source)
        if "config" in obj or "layers" in obj:
            return _manifest(obj, source)
        if "fsLayers" in obj:
            raise InputError(
                f"{source}: a schema 1 manifest (deprecated) carries no image config; give the image config"
            )
    if isinstance(obj.get("rootfs"), dict) or (
        isinstance(obj.get("config"), dict) and ("architecture" in obj or "os" in obj)
    ):
        return _config(obj, source)
    if "Digest" in obj and "Layers" in obj:
        return _skopeo(obj, source)
    raise InputError(f"{source}: not image metadata (top-level keys: {_keys(obj)}); {_ASK}")


def _keys(obj: Mapping[str, Any]) -> str:
    names = [_printable(str(k), 30) for k in list(obj)[:6]]
    more = ", ..." if len(obj) > 6 else ""
    return (", ".join(names) + more) if names else "none"


def _printable(text: str, limit: int = 80) -> str:
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _validate(model: type[Wire], obj: Mapping[str, Any], source: str, form: str) -> Any:
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        raise InputError(f"{source}: {form}: {first_error(exc)}; the file is malformed") from None


def _metadata(source: str, form: str, values: dict[str, Any], digests: Iterable[str] = ()) -> Metadata:
    known = tuple(sorted(k for k in values if k not in ("config_known", "known")))
    image = Image(**values, known=known)
    return Metadata(
        source=source, form=form, image=image, digests=tuple(dict.fromkeys(d for d in digests if d))
    )


def _inspect(obj: dict[str, Any], source: str) -> Metadata:
    podman = any(k in obj for k in ("ManifestType", "History", "Digest", "Annotations"))
    form = "podman inspect" if podman else "docker inspect"
    wire: _Inspect = _validate(_Inspect, obj, source, form)
    values: dict[str, Any] = {}
    if wire.Config is not None:
        config: dict[str, Any] = {
            "created": wire.Created,
            "config": wire.Config,
            "os": wire.Os,
            "architecture": wire.Architecture,
            "variant": wire.Variant,
        }
        if wire.RootFS is not None:
            config["rootfs"] = {"diff_ids": wire.RootFS.Layers}
        if wire.History is not None:
            config["history"] = wire.History
        values.update(config_facts(config, source, form, _INSPECT_KEYS))
        if wire.History is None:
            values.pop("history", None)
    elif wire.RootFS is not None and wire.RootFS.Layers:
        values["diff_ids"] = tuple(wire.RootFS.Layers)
    if "User" in wire.model_fields_set and wire.User is not None:
        _same_at_top(source, form, "User", wire.User or "", values.get("user") or "", wire.Config)
        values["user"] = wire.User
    if wire.Labels is not None:
        labels = tuple(sorted(wire.Labels.items()))
        _same_at_top(source, form, "Labels", labels, values.get("labels") or (), wire.Config)
        values["labels"] = labels
    if "Healthcheck" in wire.model_fields_set and wire.Config is not None:
        values.update(
            healthcheck_state(wire.Healthcheck.Test if wire.Healthcheck else None, wire.Healthcheck is None)
        )
    if wire.Annotations:
        values["annotations"] = tuple(sorted(wire.Annotations.items()))
    _put(values, "image_id", normal_digest(wire.Id))
    _put(values, "manifest_digest", normal_digest(wire.Digest))
    _put(values, "repo_tags", tuple(t for t in wire.RepoTags or () if t))
    _put(values, "repo_digests", tuple(d for d in wire.RepoDigests or () if d))
    _put(values, "reference", (wire.RepoTags or [""])[0])
    if wire.Size is not None:
        values["size"] = wire.Size
    digests = [
        normal_digest(wire.Digest),
        *(normal_digest(d.partition("@")[2]) for d in wire.RepoDigests or ()),
    ]
    return _metadata(source, form, values, digests)


def _same_at_top(source: str, form: str, key: str, top: object, config: object, given: object) -> None:
    """Raise InputError when podman's top-level copy of a config field (`User`, `Labels`) differs from the
    `Config` it was copied from: the runtime reads the config, so the file was edited or damaged."""
    if given is not None and top != config:
        raise InputError(
            f"{source}: {form}: {key} at the top level differs from Config.{key}; podman copies one from the "
            "other, so the file was edited or damaged: inspect the image again"
        )


_INSPECT_KEYS = {
    "rootfs.diff_ids": "RootFS.Layers",
    "config": "Config",
    "created": "Created",
    "os": "Os",
    "architecture": "Architecture",
    "variant": "Variant",
    "history": "History",
}
"""The image config keys `_inspect` builds, by the inspect output's name for them (for messages)."""


def _put(values: dict[str, Any], key: str, value: Any) -> None:
    if value not in (None, "", ()):
        values[key] = value


def _skopeo(obj: dict[str, Any], source: str) -> Metadata:
    wire: _Skopeo = _validate(_Skopeo, obj, source, "skopeo inspect")
    values: dict[str, Any] = {"labels": tuple(sorted((wire.Labels or {}).items()))}
    if wire.Env is not None:
        values["env"] = tuple(wire.Env)
    created = parse_created(wire.Created)
    if created is not None:
        values["created"] = created
    _put(values, "manifest_digest", normal_digest(wire.Digest))
    _put(values, "layer_digests", tuple(wire.Layers or ()))
    sizes = [d.Size for d in wire.LayersData or ()]
    if sizes and all(s is not None for s in sizes):
        values["layer_sizes"] = tuple(s for s in sizes if s is not None)
    if wire.Name and wire.Digest:
        values["repo_digests"] = (f"{wire.Name}@{wire.Digest}",)
        values["reference"] = wire.Name
    _put(values, "os", wire.Os or "")
    _put(values, "platform", platform_name(wire.Os, wire.Architecture, wire.Variant))
    return _metadata(source, "skopeo inspect", values, [normal_digest(wire.Digest)])


def _config(obj: dict[str, Any], source: str) -> Metadata:
    docker = "container_config" in obj or "docker_version" in obj
    form = "Docker image config" if docker else "OCI image config"
    return _metadata(source, form, config_facts(obj, source, form))


def _manifest(obj: dict[str, Any], source: str) -> Metadata:
    form = "image manifest"
    wire: _Manifest = _validate(_Manifest, obj, source, form)
    if wire.config.mediaType and wire.config.mediaType not in _IMAGE_CONFIG_TYPES:
        raise InputError(
            f"{source}: the manifest is not of a container image (config media type "
            f"{_printable(wire.config.mediaType)}); {_ASK}"
        )
    values: dict[str, Any] = {
        "image_id": normal_digest(wire.config.digest),
        "layer_digests": tuple(normal_digest(layer.digest) for layer in wire.layers),
    }
    sizes = [layer.size for layer in wire.layers]
    if all(s is not None for s in sizes):
        values["layer_sizes"] = tuple(s for s in sizes if s is not None)
    if wire.annotations:
        values["annotations"] = tuple(sorted(wire.annotations.items()))
    return _metadata(source, form, values)


def _index(obj: dict[str, Any], source: str) -> Metadata:
    form = "image index"
    wire: _Index = _validate(_Index, obj, source, form)
    if not wire.manifests:
        raise InputError(f"{source}: the image index lists no manifests; {_ASK}")
    digests = [normal_digest(m.digest) for m in wire.manifests]
    values: dict[str, Any] = {}
    annotations = dict(wire.annotations or {})
    if len(wire.manifests) == 1:
        values["manifest_digest"] = digests[0]
        annotations.update(wire.manifests[0].annotations or {})
    if annotations:
        values["annotations"] = tuple(sorted(annotations.items()))
    return _metadata(source, form, values, digests)


def _docker_save(obj: dict[str, Any], source: str) -> Metadata:
    form = "docker save manifest"
    wire: _SaveEntry = _validate(_SaveEntry, obj, source, form)
    values: dict[str, Any] = {}
    found = _BLOB.match(wire.Config.strip())
    if found:
        values["image_id"] = f"sha256:{found.group(1)}"
    layers = [_BLOB.match(layer.strip()) for layer in wire.Layers or ()]
    if layers and all(layers):
        values["layer_digests"] = tuple(f"sha256:{m.group(1)}" for m in layers if m)
    _put(values, "repo_tags", tuple(t for t in wire.RepoTags or () if t))
    _put(values, "reference", (wire.RepoTags or [""])[0])
    return _metadata(source, form, values)


def _buildah(obj: dict[str, Any], source: str) -> Metadata:
    form = "buildah inspect"
    wire: _Buildah = _validate(_Buildah, obj, source, form)
    if wire.Container:
        raise InputError(
            f"{source}: this is buildah inspect of a working container; run buildah inspect --type image IMAGE"
        )
    values: dict[str, Any] = {}
    if wire.Config:
        values.update(config_facts(_embedded(wire.Config, source, "Config"), source, f"{form} Config"))
    if wire.Manifest:
        manifest = _manifest(_embedded(wire.Manifest, source, "Manifest"), source).image
        for key in ("layer_digests", "layer_sizes", "annotations"):
            _put(values, key, getattr(manifest, key))
    if wire.ImageAnnotations:
        values["annotations"] = tuple(sorted(wire.ImageAnnotations.items()))
    _put(values, "image_id", normal_digest(wire.FromImageID))
    _put(values, "manifest_digest", normal_digest(wire.FromImageDigest))
    _put(values, "repo_tags", (wire.FromImage,) if wire.FromImage else ())
    _put(values, "reference", wire.FromImage or "")
    return _metadata(source, form, values, [normal_digest(wire.FromImageDigest)])


def _embedded(text: str, source: str, field: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # ValueError: not JSON, or a number of more than 4,300 digits
        raise InputError(f"{source}: buildah inspect: {field} is not JSON; the file is malformed") from None
    if has_lone_surrogate(text, value):
        raise InputError(f"{source}: buildah inspect: {field} holds {LONE_SURROGATE}; the file is damaged")
    if not isinstance(value, dict):
        raise InputError(f"{source}: buildah inspect: {field} is not a JSON object; the file is malformed")
    return value


# --- attaching metadata to reports -------------------------------------------------------------------------


def attach(scans: Sequence[Scan], metadata: Metadata) -> list[Scan]:
    """The scans with the metadata laid over each image report's image facts (metadata wins field by field).

    Reports of other artifacts (a directory, a repository) are left alone. Raises InputError when no report
    is of an image, or when the metadata is of another image than a report (another image ID, other layers,
    or no manifest digest in common).
    """
    targets = _image_reports(scans, metadata.source)
    out = list(scans)
    for i in targets:
        scan = scans[i]
        if scan.image is not None:
            reason = _mismatch(scan.image, metadata)
            if reason:
                raise InputError(
                    f"{metadata.source}: is the {metadata.form} of another image than {scan.source} ({reason}); "
                    "give the metadata of the image that was scanned (a copy converted between Docker and "
                    "OCI formats has another image ID)"
                )
        out[i] = _laid_over(scan, metadata)
    return out


def attach_each(scans: Sequence[Scan], metadata: Sequence[Metadata]) -> list[Scan]:
    """The scans with each metadata file laid over the image reports of its own image (see `attach`).

    One file is `attach`: every image report must be of its image. Of several (a multi-architecture build: one
    inspect per platform), each image report takes the one file that is of its image, and reports of one image
    (Trivy and Grype) take the same file. Raises InputError, naming the files, when a report could be of
    several files' image (it names too little to tell them apart), when a file is of no report's image (it was
    meant for something), and when an image report has no file of its image: with one file every image report
    must be its image, so with several every image report must have its own, not be decided silently without.
    """
    if len(metadata) == 1:
        return attach(scans, metadata[0])
    if not metadata:
        return list(scans)
    targets = _image_reports(scans, _files(metadata))
    chosen: dict[int, int] = {}  # report position -> metadata position
    for i in targets:
        fits = [k for k, m in enumerate(metadata) if not _mismatch_of(scans[i], m)]
        if len(fits) > 1:
            candidates = [metadata[k] for k in fits]
            files = _series([m.source for m in candidates], "and")
            raise InputError(
                f"{scans[i].source}: the image metadata {files} could each be of its image; "
                f"{_what_tells_apart(scans[i].image, candidates)}"
            )
        if fits:
            chosen[i] = fits[0]
    used = set(chosen.values())
    for orphan in (m for k, m in enumerate(metadata) if k not in used):
        reasons = [f"{scans[i].source}: {_mismatch_of(scans[i], orphan)}" for i in targets]
        raise InputError(
            f"{orphan.source}: the {orphan.form} is of none of the images of the reports ({_first(reasons)}); "
            "give the metadata of the images the run checks, one file per image"
        )
    for i in (i for i in targets if i not in chosen):
        reasons = [f"{m.source}: {_mismatch_of(scans[i], m)}" for m in metadata]
        raise InputError(
            f"{scans[i].source}: none of the image metadata files is of its image ({_first(reasons)}); give "
            "one file per image the run checks, or gate this report in a run of its own"
        )
    out = list(scans)
    for i, k in chosen.items():
        out[i] = _laid_over(scans[i], metadata[k])
    return out


def _image_reports(scans: Sequence[Scan], sources: str) -> list[int]:
    """The positions of the reports metadata goes with: of an image, or of an unknown artifact. Raises
    InputError, naming the metadata `sources`, when there are none."""
    targets = [i for i, scan in enumerate(scans) if scan.is_image or not scan.artifact_type]
    if not targets:
        kinds = ", ".join(sorted({scan.artifact_type for scan in scans}))
        raise InputError(
            f"{sources}: none of the reports is of a container image ({kinds}); image metadata goes "
            "with an image scan (trivy image, grype IMAGE)"
        )
    return targets


def _laid_over(scan: Scan, metadata: Metadata) -> Scan:
    """The scan with the metadata laid over its image facts, and the notes of where the two disagree."""
    base = scan.image or Image(reference=scan.artifact)
    differ = config_differences(base, metadata.image, metadata.image.known) if base.config_known else []
    note = [config_note(metadata.source, scan.source, differ, f"the {metadata.form}'s")] if differ else []
    return scan.model_copy(
        update={
            "image": merge_image(base, metadata.image),
            "artifact_type": scan.artifact_type or "container_image",
            "warnings": (*scan.warnings, *metadata.warnings, *note),
        }
    )


def _mismatch_of(scan: Scan, metadata: Metadata) -> str:
    return _mismatch(scan.image, metadata) if scan.image is not None else ""


def _what_tells_apart(report: Image | None, files: Sequence[Metadata]) -> str:
    """What the report would need to name to tell the `files` (all of which could be of its image) apart."""
    facts = [_identity_facts(m.image, set(m.digests)) for m in files]
    differing = [name for name in facts[0] if len({f[name] for f in facts if f[name]}) > 1]
    ours = _identity_facts(report, _report_digests(report)) if report is not None else {}
    lacking = [name for name in differing if not ours.get(name)]
    if lacking:
        return (
            f"the report gives no {_series(lacking, 'or')}, in which they differ: scan the image itself (trivy "
            "image, grype IMAGE) so its report names it, or gate this report in a run with its own file"
        )
    return "they are of one image: give one metadata file per image"


def _identity_facts(image: Image, digests: set[str]) -> dict[str, object]:
    """What tells images apart (empty when unknown), by name for messages."""
    platform = normalise_platform(image.platform)
    return {
        "image ID": normal_digest(image.image_id),
        "layer list": tuple(normal_digest(d) for d in image.diff_ids),
        "manifest digest": frozenset({*digests, normal_digest(image.manifest_digest)} - {""}),
        "platform": platform if platform[0] else (),
    }


def _files(metadata: Sequence[Metadata]) -> str:
    return ", ".join(m.source for m in metadata)


def _series(words: Sequence[str], conjunction: str) -> str:
    """`a`, `a and b`, `a, b and c` as a sentence lists them (`a, b or c` with the `conjunction` "or")."""
    *rest, last = words
    return f"{', '.join(rest)} {conjunction} {last}" if rest else last


def _first(reasons: Sequence[str], shown: int = 2) -> str:
    """The first `shown` reasons, and how many more there are (a message stays one readable line)."""
    more = f"; and {len(reasons) - shown} more" if len(reasons) > shown else ""
    return "; ".join(reasons[:shown]) + more


def merge_image(report: Image, metadata: Image) -> Image:
    """The report's image facts with every field the metadata carries (`metadata.known`) taken from it.

    The report's reference (what was scanned) is kept unless it has none.
    """
    update = {f: getattr(metadata, f) for f in metadata.known if f != "reference" or not report.reference}
    update["config_known"] = report.config_known or metadata.config_known
    update["known"] = tuple(sorted(set(report.known) | set(metadata.known)))
    return report.model_copy(update=update)


def _mismatch(report: Image, metadata: Metadata) -> str:
    """Why the metadata is of another image than the report, or "" when it is of the report's image."""
    theirs = metadata.image
    report_digests = _report_digests(report)
    ours_id, their_id = normal_digest(report.image_id), normal_digest(theirs.image_id)
    if ours_id and their_id and ours_id == their_id:
        return ""
    # The images of a multi-architecture build can have the same layers, user and date (architecture-free files,
    # a reproducible build): only the platform tells their configs apart.
    platform = (
        f"it is for {_printable(theirs.platform)}, the report's image for {_printable(report.platform)}"
        if other_platform(theirs.platform, report.platform)
        else ""
    )
    if ours_id and their_id and (their_id in report_digests or ours_id in metadata.digests):
        # An ID that is a digest of the other's (containerd's docker inspect gives the index digest as Id) can
        # name every platform of the image: only the platform, when both give it, tells them apart.
        return platform
    if ours_id and their_id:
        return "; ".join(
            filter(None, (f"image ID {_short(their_id)}, the report's is {_short(ours_id)}", platform))
        )
    if platform:
        return platform
    if report.diff_ids and theirs.diff_ids:
        if [normal_digest(d) for d in report.diff_ids] == [normal_digest(d) for d in theirs.diff_ids]:
            return _other_config(report, theirs)
        return f"its {len(theirs.diff_ids)} layers are not the report's {len(report.diff_ids)}"
    if report_digests and metadata.digests:
        if not report_digests.isdisjoint(metadata.digests):
            return ""
        return (
            f"manifest digest {_short(metadata.digests[0])}, the report's is {_short(sorted(report_digests)[0])}; "
            "for a multi-platform image, inspect the platform's manifest"
        )
    if not (report.image_id or report.diff_ids or report_digests):
        return ""  # the report names nothing of its image: the metadata is all there is
    # Nothing to compare (a tarball's report has no manifest digest, skopeo inspect no image ID or layer
    # list): metadata of another image would pass unnoticed, so it is not taken on trust.
    return (
        "nothing in common to compare: no image ID, layer list or manifest digest in both; use docker or podman "
        "inspect, or skopeo inspect --config, which name the image ID or its layers"
    )


def _other_config(report: Image, theirs: Image) -> str:
    """Why metadata with the report's layers is still of another image, or "": USER, ENV, LABEL and EXPOSE add no
    layer, so an image built again with another user has the same layers, and without image IDs to compare only
    the configs tell the builds apart. The healthcheck is not compared: a copy converted to OCI drops it."""
    if not report.config_known:
        return ""
    fields = {f for f in CONFIG_FIELDS if theirs.has(f)} - {"healthcheck", "healthcheck_test"}
    differ = differing_config(report, theirs, fields)
    if not differ:
        return ""
    return (
        f"the same layers but another {', '.join(differ)}, as a build that changed only USER, ENV, LABEL or "
        "EXPOSE has"
    )


def _report_digests(image: Image) -> set[str]:
    found = {normal_digest(d.partition("@")[2]) for d in image.repo_digests if "@" in d}
    _, at, digest = image.reference.partition("@")
    if at:
        found.add(normal_digest(digest))
    if image.manifest_digest:
        found.add(normal_digest(image.manifest_digest))
    return {d for d in found if d}


def _short(digest: str) -> str:
    algorithm, _, value = digest.partition(":")
    return _printable(f"{algorithm}:{value[:12]}" if value else algorithm, 40)
