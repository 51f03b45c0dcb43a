"""Image facts from an OCI / Docker image config, as embedded in scanner reports and given as image metadata.

The config is machine-written JSON: unknown keys are ignored, missing keys tolerated, wrong types refused.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import Field, ValidationError

from gate.errors import InputError, field_path, problem_and_value
from gate.ingest._text import parse_timestamp
from gate.ingest._wire import ByteCount, Wire
from gate.ingest.layers import base_boundary
from gate.model import Image

__all__ = [
    "CONFIG_FIELDS",
    "config_differences",
    "config_facts",
    "config_note",
    "differing_config",
    "first_error",
    "healthcheck_state",
    "image_from_config",
    "normal_digest",
    "parse_created",
    "platform_name",
]


class _Healthcheck(Wire):
    Test: list[str] | None = None


class _RunConfig(Wire):
    User: str | None = None
    Env: list[str] | None = None
    Labels: dict[str, str] | None = None
    ExposedPorts: dict[str, Any] | None = None
    Healthcheck: _Healthcheck | None = None


class _History(Wire):
    created_by: str | None = None
    empty_layer: bool | None = None
    comment: str | None = None


class _RootFS(Wire):
    diff_ids: list[str] | None = None


class _Config(Wire):
    created: str | None = None
    config: _RunConfig | None = None
    container_config: _RunConfig | None = None
    history: list[_History] | None = None
    rootfs: _RootFS | None = None
    os: str | None = None
    architecture: str | None = None
    variant: str | None = None
    size: ByteCount | None = Field(default=None, alias="Size")


def image_from_config(config: Mapping[str, Any], source: str, **facts: Any) -> Image:
    """Build an Image from an OCI/Docker image config plus facts the report knows (reference, digests).

    Raises InputError when a field has the wrong type.
    """
    values = config_facts(config, source)
    values.update({k: v for k, v in facts.items() if v not in (None, "", ())})
    return Image(**values)


def config_facts(
    config: Mapping[str, Any], source: str, where: str = "image config", keys: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The Image fields an OCI/Docker image config gives (`config_known` is True), keyed by field name.

    `where` names the config's place in the document for messages, and `keys` the file's own name of a
    config key the caller renamed (docker inspect's `Config` is the config's `config`). Raises InputError for
    wrong types.
    """
    try:
        wire = _Config.model_validate(_go_keys(config, _CONFIG_KEYS))
    except ValidationError as exc:
        raise InputError(f"{source}: {where}: {first_error(exc, keys)}; the file is malformed") from None
    run = wire.config or _RunConfig()
    entries = [(h.created_by or "", bool(h.empty_layer), h.comment or "") for h in wire.history or ()]
    diff_ids = tuple((wire.rootfs.diff_ids or []) if wire.rootfs else ())
    created = parse_created(wire.created)
    values: dict[str, Any] = {
        "config_known": True,
        "user": run.User,
        "labels": tuple(sorted((run.Labels or {}).items())),
        "env": tuple(run.Env or ()),
        "exposed_ports": tuple(sorted(run.ExposedPorts or {})),
        **healthcheck_state(run.Healthcheck.Test if run.Healthcheck else None, run.Healthcheck is None),
        "created": created,
        "created_unreadable": (wire.created or "").strip() if created is None else "",
        "diff_ids": diff_ids,
        "history": tuple((created_by, empty) for created_by, empty, _ in entries),
    }
    if wire.os:
        values["os"] = wire.os
    platform = platform_name(wire.os, wire.architecture, wire.variant)
    if platform:
        values["platform"] = platform
    if entries:
        values["base_layers"] = base_boundary(entries, len(diff_ids))
    return values


# The keys of an image config the gate reads, as Go's encoding/json reads them: Docker, containerd and podman
# read a config with it, and it takes a key that differs only in case (`user`, `ENV`) for the field. A nested
# object's keys are matched the same way; a "map" holds data (label names, ports), whose keys are kept.
_Keys = dict[str, "_Keys | str | None"]
_RUN_KEYS: _Keys = {
    "User": None,
    "Env": None,
    "Labels": "map",
    "ExposedPorts": "map",
    "Healthcheck": {"Test": None},
}
_CONFIG_KEYS: _Keys = {
    "created": None,
    "config": _RUN_KEYS,
    "container_config": _RUN_KEYS,
    "history": "list",
    "rootfs": {"diff_ids": None},
    "os": None,
    "architecture": None,
    "variant": None,
    "Size": None,
}
_HISTORY_KEYS: _Keys = {"created_by": None, "empty_layer": None, "comment": None}


def _same_key(key: str, name: str) -> bool:
    """True when Go's encoding/json takes `key` for the field `name`: equal under simple case folding, letter by
    letter (`USER`, and `user` with a long s for its s, are `User`; a ligature that folds to two letters is not)."""
    return len(key) == len(name) and all(a.casefold() == b.casefold() for a, b in zip(key, name, strict=True))


def _go_keys(obj: Mapping[str, Any], keys: _Keys) -> dict[str, Any]:
    """`obj` with each key Go's encoding/json takes for one of `keys` renamed to it, as Go decodes it: in the
    order written, a later value replaces an earlier one, and an object (a nested config, a map) is merged
    into the one before it. Other keys are kept as they are (and ignored by the wire types)."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = key if key in keys else next((n for n in keys if _same_key(key, n)), key)
        shape = keys.get(name)
        if isinstance(shape, dict) and isinstance(value, Mapping):
            value = _go_keys(value, shape)
        elif shape == "list" and isinstance(value, list):
            value = [_go_keys(v, _HISTORY_KEYS) if isinstance(v, Mapping) else v for v in value]
        earlier = out.get(name)
        if (
            (shape == "map" or isinstance(shape, dict))
            and isinstance(earlier, dict)
            and isinstance(value, Mapping)
        ):
            value = {**earlier, **value} if shape == "map" else _merged(earlier, value)
        out[name] = value
    return out


def _merged(earlier: Mapping[str, Any], later: Mapping[str, Any]) -> dict[str, Any]:
    """Two objects of one nested config decoded one after the other: the later one's objects merge, the rest
    replaces."""
    out = dict(earlier)
    for key, value in later.items():
        before = out.get(key)
        out[key] = {**before, **value} if isinstance(before, dict) and isinstance(value, Mapping) else value
    return out


def platform_name(os: str | None, architecture: str | None, variant: str | None = None) -> str:
    """`os/architecture[/variant]` as written (`linux/arm64/v8`); "" unless both the OS and the architecture are
    given, or when a part holds a `/` (it would read as another platform)."""
    parts = [(p or "").strip() for p in (os, architecture, variant)]
    if not parts[0] or not parts[1] or any("/" in p for p in parts):
        return ""
    return "/".join(p for p in parts if p)


CONFIG_FIELDS = ("user", "env", "labels", "exposed_ports", "healthcheck", "healthcheck_test", "created")
"""The Image fields an image config sets: one image ID is one config, so one value of each, whoever reads it."""


def config_differences(ours: Image, theirs: Image, fields: Collection[str] = CONFIG_FIELDS) -> list[str]:
    """The config `fields` two reads of one image ID both know and give different values (`exposed ports`), in
    CONFIG_FIELDS order; none for images of other (or unknown) image IDs.

    Only one image ID is one config: a copy converted between Docker and OCI formats has the same layers but
    another config (OCI drops `Healthcheck`). A healthcheck or created date nobody read (None) is not compared;
    no User and an empty one are one config.
    """
    image_id = normal_digest(ours.image_id)
    if not image_id or image_id != normal_digest(theirs.image_id):
        return []
    return differing_config(ours, theirs, fields)


def differing_config(ours: Image, theirs: Image, fields: Collection[str]) -> list[str]:
    """The config `fields` both images know and give different values, in CONFIG_FIELDS order, whatever their
    image IDs (a value nobody read, None, is not compared; no User and an empty one are one config)."""
    differ = []
    for field in CONFIG_FIELDS:
        a, b = getattr(ours, field), getattr(theirs, field)
        if field == "user":
            a, b = a or "", b or ""
        if field in fields and None not in (a, b) and a != b:
            differ.append("created date" if field == "created" else field.replace("_", " "))
    return differ


def config_note(first: str, second: str, differ: Sequence[str], used: str) -> str:
    """The note that two files of one image ID give it a different config (`differ`), and whose the gate `used`."""
    return (
        f"{first} and {second} give the image a different {', '.join(differ)}; the gate used {used} (both name "
        "one image, so one of the files was edited or misread)"
    )


_HEX_ID = re.compile(r"^[0-9a-f]{64}$")


def normal_digest(text: str | None) -> str:
    """A digest in `algorithm:hex` form, lower case; a bare 64-hex ID gets `sha256:`."""
    value = (text or "").strip().lower()
    return f"sha256:{value}" if _HEX_ID.match(value) else value


def healthcheck_state(test: Sequence[str] | None, absent: bool) -> dict[str, bool | str | None]:
    """The image fields `healthcheck` and `healthcheck_test` for a config's Healthcheck `test` (`absent`: none).

    True for a HEALTHCHECK that runs, False when there is none, None when it is inherited (an empty test). One
    that does not run is False with its test type: `NONE`, or any type but `CMD` and `CMD-SHELL` (Docker compares
    them case-sensitively and runs no probe for an unknown one).
    """
    if absent:
        return {"healthcheck": False, "healthcheck_test": ""}
    if not test:
        return {"healthcheck": None, "healthcheck_test": ""}
    runs = test[0] in ("CMD", "CMD-SHELL")
    return {"healthcheck": runs, "healthcheck_test": "" if runs else test[0]}


def parse_created(text: str | None) -> datetime | None:
    """Parse an RFC 3339 timestamp as images carry it (nanoseconds and `Z` included); None if absent or odd."""
    return parse_timestamp(text) if text else None


def first_error(exc: ValidationError, keys: Mapping[str, str] | None = None) -> str:
    """The first problem of a metadata validation error: `where: what the file should hold (got what)`.

    `keys` maps a validated key path (`rootfs.diff_ids`) to the file's own (`RootFS.Layers`).
    """
    err = exc.errors(include_url=False)[0]
    where = field_path(err["loc"]) or "(document)"
    for key, name in (keys or {}).items():
        if where == key or where.startswith((f"{key}.", f"{key}[")):
            where = name + where[len(key) :]
            break
    return f"{where}: {problem_and_value(err)}"
