"""Image checks: pure functions over an Image that say whether one check passes, and why.

Each check takes the image, the rule's `image` table and the evaluation date, and returns a CheckResult:
passed True/False, or None when the image facts it needs are missing (the engine then fails closed: the
rule triggers and says what data to supply). No check reads the clock, the environment or a file.
Messages never contain the value of an environment variable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from datetime import date, timedelta
from fnmatch import fnmatchcase
from itertools import pairwise

from pydantic import BaseModel, ConfigDict

from gate.identity import is_image_reference, normalise_reference, repository
from gate.model import Image
from gate.policy._time import utc_day
from gate.policy.history import INSTRUCTION, NAME, history_values
from gate.policy.schema import ImageCheck
from gate.words import whole_number

__all__ = ["CHECKS", "CheckFunction", "CheckResult", "credential_reason", "runs_as_root"]


class CheckResult(BaseModel):
    """The outcome of one image check."""

    model_config = ConfigDict(frozen=True)

    check_id: str
    passed: bool | None
    message: str


CheckFunction = Callable[[Image, ImageCheck, date], CheckResult]
"""A check: (image, the rule's `image` table, the evaluation date) -> CheckResult."""

_BASE_NAME = "org.opencontainers.image.base.name"
_BASE_DIGEST = "org.opencontainers.image.base.digest"
_CREATED = "org.opencontainers.image.created"
# The digests OCI registers: anything shorter, upper case or of another algorithm names no content.
_DIGEST = re.compile(r"^(?:sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$")


def _result(check_id: str, passed: bool | None, message: str) -> CheckResult:
    return CheckResult(check_id=check_id, passed=passed, message=message)


def _show(text: str, limit: int = 80) -> str:
    """Image-supplied text made printable, shortened and quoted for a message."""
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in text)
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1] + "…"
    return f'"{cleaned}"'


def _need(what: str) -> str:
    return (
        f"{what} is not known (the report embeds no image config and no metadata carries it); "
        "pass --image-metadata with docker inspect, podman inspect or skopeo inspect --config"
    )


# --- non-root-user --------------------------------------------------------------------------------------


def runs_as_root(user: str | None) -> tuple[bool, bool]:
    """(runs as root, root set explicitly) for a config User value.

    An empty user part (`:1000`) is root by default: the runtime (runc's GetExecUser) keeps uid 0 when only
    a group is given.
    """
    if user is None or not user.strip():
        return True, False
    name = user.strip().split(":", 1)[0].strip()
    if not name:
        return True, False
    # The runtime reads a numeric user as Go's strconv.Atoi does, so "00", "+0" and "-0" are uid 0 as well.
    numeric = re.fullmatch(r"[+-]?[0-9]+", name)
    return (not name.lstrip("+-").strip("0") if numeric else name == "root"), True  # zero: only zeros


def _non_root_user(image: Image, _check: ImageCheck, _today: date) -> CheckResult:
    if not image.has("user"):
        return _result("non-root-user", None, _need("the image's User"))
    root, explicit = runs_as_root(image.user)
    if not root:
        return _result("non-root-user", True, f"runs as user {_show(image.user or '')}")
    if explicit:
        how = f"explicitly (USER {_show(image.user or '')})"
    elif (image.user or "").strip():
        how = f"by default (USER {_show(image.user or '')} names no user, only a group; set USER uid:gid)"
    else:
        how = "by default (no USER is set)"
    return _result("non-root-user", False, f"the image runs as root {how}")


# --- allowed-registries / approved-base-image ----------------------------------------------------------


def _names(image: Image) -> list[str]:
    names = [t for t in image.repo_tags if t.strip() and "<none>" not in t]
    names += [d.partition("@")[0] for d in image.repo_digests if d.strip() and "<none>" not in d]
    # A bare word (`app-oci`) is more often a local file or layout directory than a Docker Hub image.
    if not names and is_image_reference(image.reference) and any(c in image.reference for c in ":/@"):
        names.append(image.reference)
    return names


def _host_pattern(pattern: str) -> str:
    """The registry a pattern written as a host names (`ghcr.io`, `*.example.com`, `localhost:5000`), lower case;
    "" for any other pattern."""
    text = pattern.strip()
    host = text.partition(":")[0]
    return text.lower() if "/" not in text and ("." in host or host == "localhost") else ""


def _full_pattern(pattern: str) -> str:
    """A pattern in the normalised form references are compared in (`alpine:3.*` -> `docker.io/library/alpine:3.*`):
    the repository lower case, as normalised references have it; a tag as written, as registries compare tags."""
    text = pattern.strip()
    name, at, digest = text.partition("@")
    tag = ""
    if not at:
        slash, colon = name.rfind("/"), name.rfind(":")
        if colon > slash:
            name, tag = name[:colon], name[colon:]
    # A pattern that starts with a glob has no registry to normalise: lower case is all it can share.
    name = name.lower() if not name or name[0] in "*?[" else repository(name)
    return name + tag + (at + digest.lower() if at else "")


def _matches_any(candidates: Sequence[str], globs: Sequence[str]) -> bool:
    """True when a normalised reference (repository lower case, tag as written) matches a policy glob.

    A glob written as a host allows that registry: it is matched against the registry alone, so its `*` does not
    reach into the path (`*.example.com` does not allow `evil.net/a.example.com/app`).
    """
    for glob in globs:
        if host := _host_pattern(glob):
            hit = any(fnmatchcase(c.partition("/")[0], host) for c in candidates)
        else:
            pattern = _full_pattern(glob)
            hit = any(fnmatchcase(c, pattern) for c in candidates)
        if hit:
            return True
    return False


def _allowed_registries(image: Image, check: ImageCheck, _today: date) -> CheckResult:
    assert check.registries is not None
    names = _names(image)
    if not names:
        where = (
            f"the report names {_show(image.reference)}, not a registry reference" if image.reference else ""
        )
        return _result(
            "allowed-registries",
            None,
            f"the image has no registry name ({where or 'no reference'}, no repo tags or digests); "
            "scan it by reference or pass --image-metadata with docker or podman inspect",
        )
    repos = sorted({repository(n) for n in names})
    bad = [r for r in repos if not _matches_any([r], check.registries)]
    if bad:
        shown = ", ".join(_show(r) for r in bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        allowed = ", ".join(_show(p) for p in check.registries)
        return _result("allowed-registries", False, f"{shown} is not from an allowed registry ({allowed})")
    return _result(
        "allowed-registries", True, "from an allowed registry: " + ", ".join(_show(r) for r in repos)
    )


def _base(image: Image) -> tuple[str, str, str]:
    """(base name, base digest, where they were found) from labels, else manifest annotations."""
    for where, get in (("label", image.label), ("manifest annotation", image.annotation)):
        name = (get(_BASE_NAME) or "").strip()
        if name:
            return name, (get(_BASE_DIGEST) or "").strip(), where
    return "", "", ""


def _approved_base_image(image: Image, check: ImageCheck, _today: date) -> CheckResult:
    assert check.base_images is not None
    name, digest, where = _base(image)
    if not name:
        known = "" if image.has("labels") else " (the labels are not known)"
        return _result(
            "approved-base-image",
            None,
            f"the image does not name its base image: no {_BASE_NAME} label or annotation{known}; "
            "add the label (and base.digest) when building so the base can be checked",
        )
    candidates = [repository(name), normalise_reference(name)]
    # A normalised reference keeps the digest and drops the tag; `alpine:3.19@sha256:...` must still match `alpine:3.*`.
    tagged, at, _ = name.partition("@")
    if at and tagged.rfind(":") > tagged.rfind("/"):
        candidates.append(normalise_reference(tagged))
    if _DIGEST.match(digest):
        candidates.append(f"{repository(name)}@{digest.lower()}")
    if _matches_any(candidates, check.base_images):
        return _result(
            "approved-base-image", True, f"built on {_show(name)} ({where}), an approved base image"
        )
    allowed = ", ".join(_show(p) for p in check.base_images)
    return _result(
        "approved-base-image",
        False,
        f"built on {_show(name)} ({where}), which is not an approved base ({allowed})",
    )


# --- digest-pinned ---------------------------------------------------------------------------------------


def _digest_pinned(image: Image, check: ImageCheck, _today: date) -> CheckResult:
    assert check.digest is not None
    outcomes = [
        _base_pinned(image) if scope == "base" else _reference_pinned(image) for scope in check.digest
    ]
    passed: bool | None = True
    if any(p is False for p, _ in outcomes):
        passed = False
    elif any(p is None for p, _ in outcomes):
        passed = None
    return _result("digest-pinned", passed, "; ".join(m for _, m in outcomes))


def _base_pinned(image: Image) -> tuple[bool | None, str]:
    if not image.has("labels"):
        return None, _need("the image's labels (org.opencontainers.image.base.digest)")
    digest = (image.label(_BASE_DIGEST) or "").strip()
    name = (image.label(_BASE_NAME) or "").strip()
    if _DIGEST.match(digest):
        return (
            True,
            f"the base image is recorded by digest ({_show(name or 'unnamed')} at {_show(digest, 19)})",
        )
    _, _, name_digest = name.partition("@")
    if _DIGEST.match(name_digest):
        return True, f"the base image is recorded by digest ({_show(name)})"
    note = ""
    if image.annotation(_BASE_DIGEST):
        note = (
            " (the base.digest manifest annotation does not count: buildah writes it for every build, "
            "whatever FROM named)"
        )
    label = (
        f"its {_BASE_DIGEST} label {_show(digest)} is not a digest (sha256: and 64 or sha512: and 128 lower-case "
        "hex digits)"
        if digest
        else f"no {_BASE_DIGEST} label"
    )
    return False, (
        f"the image does not record a base image pinned by digest: {label}{note}; "
        "build FROM name@sha256:... and label the digest"
    )


def _reference_pinned(image: Image) -> tuple[bool | None, str]:
    reference = image.reference.strip()
    if not is_image_reference(reference):
        what = f"a file or path ({_show(reference)})" if reference else "nothing"
        return None, f"the report names {what}, not an image reference; scan the image by name@sha256:..."
    _, at, digest = reference.partition("@")
    if at and _DIGEST.match(digest):
        return True, f"the scanned reference {_show(reference)} names a digest"
    return (
        False,
        f"the image was scanned by tag ({_show(reference)}), not by digest; scan and deploy name@sha256:...",
    )


# --- required-labels ---------------------------------------------------------------------------------------


def _required_labels(image: Image, check: ImageCheck, _today: date) -> CheckResult:
    assert check.labels is not None
    if not image.has("labels") and not image.annotations:
        return _result("required-labels", None, _need("the image's labels"))
    present = [n for n in check.labels if (image.label(n) or image.annotation(n) or "").strip()]
    missing = [n for n in check.labels if n not in present]
    if not missing:
        return _result("required-labels", True, "has " + ", ".join(present))
    if not image.has("labels"):
        return _result("required-labels", None, _need("the image's labels"))
    has = f" (has {', '.join(present)})" if present else ""
    return _result("required-labels", False, f"missing label {', '.join(missing)}{has}")


# --- image-age / image-size / layer-count ----------------------------------------------------------------


_SKEW_DAYS = 1
"""How far after the evaluation date a created date may lie (clocks and time zones differ) before it is wrong."""
_GO_ZERO = date(1, 1, 1)
"""Go's zero time: docker inspect prints `0001-01-01T00:00:00Z` when it does not know the date."""


def _image_age(image: Image, check: ImageCheck, today: date) -> CheckResult:
    assert check.max_age_days is not None
    limit = check.max_age_days
    created, source, problems = None, "config", []
    if image.has("created") and image.created is not None:
        created = utc_day(image.created)
    elif image.created_unreadable:
        problems.append(f"the config's created date {_show(image.created_unreadable, 40)} is unreadable")
    if created == _GO_ZERO:
        problems.append("the config's created date is 0001-01-01, Go's zero time, which means unknown")
        created = None
    if created is None:
        text = (image.label(_CREATED) or "").strip()
        created, source = _label_date(text), f"{_CREATED} label"
        if created == _GO_ZERO:
            problems.append(f"the {_CREATED} label is 0001-01-01, Go's zero time, which means unknown")
            created = None
        elif text and created is None:
            problems.append(f"the {_CREATED} label {_show(text, 40)} is unreadable")
    if created is None:
        if not problems and not image.has("created"):
            return _result("image-age", None, _need("when the image was created"))
        if not problems:  # the config is known and does not say
            problems.append(f"the image config gives no created date and no {_CREATED} label")
        return _result(
            "image-age",
            None,
            "; ".join(problems) + "; fix the build's metadata or pass --image-metadata with the image's own "
            "config (skopeo inspect --config)",
        )
    age = (today - created).days
    if age < -_SKEW_DAYS:
        return _result(
            "image-age",
            False,
            f"created {created} ({source}), more than {_SKEW_DAYS} day after the evaluation date {today}: the "
            "created date is in the future; the metadata is wrong (check the build's clock, SOURCE_DATE_EPOCH "
            "and --today)",
        )
    if age < 0:
        return _result("image-age", True, f"created {created} ({source}), after the evaluation date {today}")
    if age > limit:
        return _result(
            "image-age",
            False,
            f"created {created} ({source}), {age} days before {today}: older than {limit} days; "
            "rebuild it so it picks up a patched base image",
        )
    return _result("image-age", True, f"created {created} ({source}), {age} days old (limit {limit})")


# An RFC 3339 time after the date: its UTC offset moves the UTC day (`2026-08-30T01:00:00+14:00` is 29 August). An
# hour or an offset out of range (`T99:00`, `-99:00`) is no time: read as one, it moved the day up to eight days.
_LABEL_TIME = re.compile(
    r"[Tt ]([01][0-9]|2[0-3]):([0-5][0-9])(?::[0-9]{2}(?:\.[0-9]+)?)?\s*"
    r"(?:[Zz]|([+-])([01][0-9]|2[0-3]):?([0-5][0-9]))$"
)


def _label_date(text: str | None) -> date | None:
    """The UTC date of an `org.opencontainers.image.created` label (RFC 3339), as the config's is read; a date
    alone, or a time without an offset, as written."""
    if not text or len(text.strip()) < 10:
        return None
    text = text.strip()
    try:
        day = date.fromisoformat(text[:10])
    except ValueError:
        return None
    found = _LABEL_TIME.fullmatch(text, 10)
    if not found or not found[3]:
        return day
    sign = 1 if found[3] == "+" else -1
    local = int(found[1]) * 60 + int(found[2])
    minutes = local - sign * (int(found[4]) * 60 + int(found[5]))
    try:
        return day + timedelta(days=minutes // (24 * 60))
    except OverflowError:  # 0001-01-01 east of UTC or 9999-12-31 west of it: the day as written will do
        return day


def _image_size(image: Image, check: ImageCheck, _today: date) -> CheckResult:
    assert check.max_size_mb is not None
    if image.size is not None:
        size, how = image.size, "uncompressed"
    elif image.layer_sizes:
        size, how = sum(image.layer_sizes), "compressed (registry) size; the uncompressed size is not known"
    else:
        return _result(
            "image-size", None, "the image size is not known; pass --image-metadata (docker inspect)"
        )
    mb = size / 1_000_000
    limit = f"{check.max_size_mb:g} MB"
    if mb > check.max_size_mb:
        return _result("image-size", False, f"{mb:.1f} MB ({how}) is over the limit of {limit}")
    return _result("image-size", True, f"{mb:.1f} MB ({how}), within {limit}")


def _layer_count(image: Image, check: ImageCheck, _today: date) -> CheckResult:
    assert check.max_layers is not None
    count = image.layer_count
    if count is None:
        return _result("layer-count", None, "the number of layers is not known; pass --image-metadata")
    empty = sum(1 for _, is_empty in image.history if is_empty)
    extra = f" ({len(image.history)} history entries, {empty} without a layer)" if image.history else ""
    if count > check.max_layers:
        return _result(
            "layer-count", False, f"{count} layers{extra}, more than the limit of {check.max_layers}"
        )
    return _result("layer-count", True, f"{count} layers{extra}, within {check.max_layers}")


# --- no-secrets-in-env ---------------------------------------------------------------------------------------

_CREDENTIAL_WORDS = frozenset(
    {
        "PASSWORD",
        "PASSWD",
        "PASS",
        "PWD",
        "PASSPHRASE",
        "SECRET",
        "SECRETS",
        "TOKEN",
        "APIKEY",
        "CREDENTIAL",
        "CREDENTIALS",
        "PRIVATEKEY",
        "ACCESSKEY",
        "SECRETKEY",
        "AUTHTOKEN",
    }
)
_CREDENTIAL_PAIRS = frozenset(
    {
        ("API", "KEY"),
        ("ACCESS", "KEY"),
        ("PRIVATE", "KEY"),
        ("SECRET", "KEY"),
        ("SIGNING", "KEY"),
        ("MASTER", "KEY"),
    }
)
# Credential words that also end a word written without separators (PGPASSWORD, MYSQLPASSWORD, HTPASSWD). PASS and
# PWD are left out: BYPASS, COMPASS and OLDPWD are not credentials.
_CREDENTIAL_ENDINGS = (
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "SECRET",
    "TOKEN",
    "APIKEY",
    "SECRETKEY",
    "PRIVATEKEY",
)

_PATH = re.compile(
    r"(?:~|\.{1,2})?/\S*|[A-Za-z]:[\\/]\S*|[\w.-]+(?:/[\w.-]+)+/?|[\w-]+(?:\.[\w-]+)*\.[A-Za-z][A-Za-z0-9]{0,5}"
    r"|[A-Za-z][A-Za-z0-9+.-]*://\S+"
)
# A number with an optional unit (`8`, `30s`, `1h30m`, `10 minutes`), an ISO duration (`P1D`) or a date.
_AMOUNT = re.compile(
    r"[0-9]+(?:\.[0-9]+)?(?:\s*[A-Za-z]{1,7}(?:\s*[0-9]+(?:\.[0-9]+)?\s*[A-Za-z]{1,7})*)?"
    r"|P[0-9YMWDTHS.]+|[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9:.]+(?:Z|[+-][0-9:]+)?)?"
)
_USER_NAME = re.compile(
    r"[0-9]+|[A-Za-z_][A-Za-z_.-]*(?:@[A-Za-z0-9.-]+)?|[\w.%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
)
_HOST = re.compile(r"[A-Za-z0-9.-]+(?::[0-9]+)?|[A-Za-z][A-Za-z0-9+.-]*://\S+")
_VERSION = re.compile(r"[vV]?[0-9]+(?:[.+_-][0-9A-Za-z]+)*")
_TOKEN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


def _anything(_value: str) -> bool:
    return True


def _shape(pattern: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda value: pattern.fullmatch(value) is not None


# A last word that makes the variable about a credential rather than the credential itself, with the shape its
# value must have for that to be believed: `PASSWORD_FILE=/run/secrets/db` describes, `PASSWORD_FILE=hunter2`
# holds. Names, types and modes cannot be told from a password by their shape, so they stay exempt.
_DESCRIBES: dict[str, Callable[[str], bool]] = {
    **dict.fromkeys(("FILE", "FILES", "PATH", "FILENAME"), _shape(_PATH)),
    # A directory is often a bare name (`SECRETS_DIR=secrets`); one with digits in it is not believed.
    **dict.fromkeys(("DIR", "LOCATION"), _shape(re.compile(rf"{_PATH.pattern}|[a-z][a-z_.-]*"))),
    **dict.fromkeys(("ENABLED", "DISABLED", "ENABLE", "DISABLE", "REQUIRED"), _shape(re.compile("[01]"))),
    **dict.fromkeys(
        (
            "TTL", "TIMEOUT", "LENGTH", "LEN", "MIN", "MAX", "EXPIRY", "EXPIRES", "EXPIRATION", "LIFETIME", "AGE",
            "SIZE", "BITS", "COUNT", "RETRIES", "INTERVAL", "PERIOD", "DAYS", "HOURS", "SECONDS", "PORT",
        ),
        _shape(_AMOUNT),
    ),
    **dict.fromkeys(("USER", "USERNAME"), _shape(_USER_NAME)),
    **dict.fromkeys(("URL", "URI", "ENDPOINT", "HOST"), _shape(_HOST)),
    "VERSION": _shape(_VERSION),
    "HEADER": _shape(_TOKEN_NAME),
    **dict.fromkeys(
        (
            "NAME", "TYPE", "MODE", "FORMAT", "POLICY", "ALGORITHM", "COMMAND", "CMD", "PROVIDER", "REGION", "KIND",
            "SCOPE", "SCOPES", "AUDIENCE", "ISSUER",
        ),
        _anything,
    ),
}  # fmt: skip
_NOT_SECRET_VALUES = frozenset(
    {"true", "false", "yes", "no", "on", "off", "none", "null", "enabled", "disabled"}
)
_VALUE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an AWS access key ID", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b")),
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("a GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY")),
    # The scheme is read from the start of its run (the lookbehind) and its first letter on: `[A-Za-z][...]*`
    # alone would read it again from every letter of a long word, in time quadratic in the word's length.
    (
        "a URL with a password",
        re.compile(r"(?<![A-Za-z0-9+.-])[0-9+.-]*[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@"),
    ),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("a Stripe live key", re.compile(r"\b[rs]k_live_[0-9A-Za-z]{16,}")),
    # From the start of a base64url run only, for the same reason: `\beyJ` starts again after every `-`.
    (
        "a JSON web token",
        re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    ),
    ("an npm token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
)
_REFERENCE_ONLY = re.compile(r"^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$")
# Words of a name: split at separators and at camelCase humps (`dbPassword` is DB PASSWORD).
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def credential_reason(name: str, value: str) -> str | None:
    """Why `name=value` looks like a credential ("its name", "its value looks like ..."), or None.

    A value that is empty, a `$VAR` reference, a boolean word, or (for a name-based hit) a file path is not a
    credential; names that end in words like FILE, PATH, TTL or URL describe a credential without holding it.
    """
    for what, pattern in _VALUE_PATTERNS:
        if pattern.search(value):
            return f"its value looks like {what}"
    stripped = value.strip().strip("'\"")
    if not stripped or _REFERENCE_ONLY.match(stripped) or stripped.lower() in _NOT_SECRET_VALUES:
        return None
    words = [w.upper() for w in _WORD.findall(name)]
    if not words or words in (["PWD"], ["OLDPWD"]):
        return None
    named = any(w in _CREDENTIAL_WORDS or w.endswith(_CREDENTIAL_ENDINGS) for w in words) or any(
        pair in _CREDENTIAL_PAIRS for pair in pairwise(words)
    )
    if not named:
        return None
    if stripped.startswith(("/", "./", "~/")) and "=" not in stripped and " " not in stripped:
        return None
    describes = _DESCRIBES.get(words[-1])
    if describes is not None and describes(stripped):
        return None
    return "its name"


def _assignments(image: Image) -> Iterator[tuple[str, str, bool]]:
    """(name, value, from history) for the config Env and for ENV instructions and build args in history (the
    values the record hides: gate.policy.history)."""
    for entry in image.env:
        name, _, value = entry.partition("=")
        yield name, value, False
    for created_by, _ in image.history:
        text, values = history_values(created_by)
        for name, start, end in values:
            yield name, text[start:end], True


# A `NAME=value` word in a history value: a build argument of its own when the count cannot tell.
_HELD_ASSIGNMENT = re.compile(rf"(?:^|\s)({NAME})=(\S*)")


def _held_credential(value: str, allow: list[str]) -> str | None:
    """Why a history value holds a credential as a `NAME=value` word of its own, or None.

    A RUN whose build arguments hold more `NAME=` words than its count shows only the first name: the others
    are hidden in its value, where a word like `PASSWORD=hunter2` may be an argument of its own. The name is
    not shown: it may be a word of the value.
    """
    for found in _HELD_ASSIGNMENT.finditer(value):
        if not any(fnmatchcase(found[1].upper(), p) for p in allow) and credential_reason(found[1], found[2]):
            return "its value holds an assignment that looks like a credential by its name"
    return None


def _no_secrets_in_env(image: Image, check: ImageCheck, _today: date) -> CheckResult:
    if not image.has("env"):
        return _result("no-secrets-in-env", None, _need("the image's environment"))
    allow = [p.upper() for p in check.env_allow or ()]
    in_env: dict[str, str] = {}
    in_history: dict[str, str] = {}
    for name, value, historic in _assignments(image):
        if any(fnmatchcase(name.upper(), p) for p in allow):
            continue
        in_name = credential_reason("", name)
        reason = credential_reason(name, value) or (in_name and in_name.replace("its value", "its name"))
        # A value of several lines (a dotenv or properties file in one variable) holds assignments of its own.
        if not reason and (historic or "\n" in value or "\r" in value):
            reason = _held_credential(value, allow)
        if not reason:
            continue
        shown = name if in_name is None else "(a variable whose name looks like a secret)"
        (in_history if historic else in_env).setdefault(shown, reason)
    only_history = {n: r for n, r in in_history.items() if n not in in_env}
    if not in_env and not only_history:
        scope = " or build history" if image.history else ""
        return _result("no-secrets-in-env", True, f"no environment variable{scope} looks like a credential")
    parts = []
    if in_env:
        listed = ", ".join(f"{_show(n)} ({r})" for n, r in sorted(in_env.items()))
        noun = "variable looks" if len(in_env) == 1 else "variables look"
        recorded = " (also recorded in the build history)" if set(in_env) & set(in_history) else ""
        parts.append(f"{len(in_env)} environment {noun} like a credential: {listed}{recorded}")
    if only_history:
        listed = ", ".join(f"{_show(n)} ({r})" for n, r in sorted(only_history.items()))
        parts.append(f"the build history records {len(only_history)} more (ENV or build argument): {listed}")
    return _result("no-secrets-in-env", False, "; ".join(parts) + "; values are not shown")


# --- forbidden-ports / healthcheck ------------------------------------------------------------------------


def _port_range(exposed: str) -> tuple[int, int, str] | None:
    # Docker (go-connections' SplitProtoPort) reads the protocol up to the next `/`: `22/tcp/x` is 22/tcp.
    number, _, rest = exposed.strip().lower().partition("/")
    proto = rest.partition("/")[0]
    low_text, _, high_text = number.partition("-")
    low = whole_number(low_text)
    high = whole_number(high_text) if high_text else low
    if low is None or high is None:
        return None
    return low, high, proto or "tcp"


def _forbidden_ports(image: Image, check: ImageCheck, _today: date) -> CheckResult:
    assert check.forbidden_ports is not None
    if not image.has("exposed_ports"):
        return _result("forbidden-ports", None, _need("the image's exposed ports"))
    hits = []
    for exposed in image.exposed_ports:
        span = _port_range(exposed)
        if span is None:
            continue
        low, high, proto = span
        for forbidden in check.forbidden_ports:
            number, _, want = forbidden.partition("/")
            if low <= int(number) <= high and want in ("", proto):
                hits.append(exposed)
                break
    if hits:
        return _result(
            "forbidden-ports", False, "exposes forbidden port " + ", ".join(_show(h) for h in hits)
        )
    shown = ", ".join(_show(p) for p in image.exposed_ports) or "no ports"
    return _result("forbidden-ports", True, f"exposes {shown}; none is forbidden")


# Only the instruction as the builders record it: `/bin/sh -c #(nop)  HEALTHCHECK &{...}` (Docker's classic
# builder, any SHELL), `/bin/sh -c #(nop) HEALTHCHECK --interval=30s CMD ...` (buildah), `HEALTHCHECK &{...}`
# (BuildKit); the word elsewhere (a LABEL, a RUN echo) declares nothing.
_HISTORY_HEALTHCHECK = re.compile(INSTRUCTION + r"HEALTHCHECK\s+(.*)$", re.DOTALL)
_HISTORY_TEST_TYPE = re.compile(r'^&\{\[\s*"((?:[^"\\]|\\.)*)"')
# All the options at once: cutting them off one at a time copies the rest each time, in quadratic time.
_HISTORY_OPTIONS = re.compile(r"(?:--[a-z-]+=\S*\s+)*")


def _history_healthcheck(image: Image) -> str | None:
    """The test type of the last HEALTHCHECK instruction in the history (`CMD`, `NONE`, ...), or None."""
    for created_by, _ in reversed(image.history):
        found = _HISTORY_HEALTHCHECK.match(created_by.strip())
        if not found:
            continue
        body = found.group(1).strip()
        typed = _HISTORY_TEST_TYPE.match(body)
        if typed:  # the Go-printed config (Docker, BuildKit): the type as the runtime will see it
            return typed.group(1)
        if body.startswith("&{"):
            continue  # an empty test inherits the one before
        if (options := _HISTORY_OPTIONS.match(body)) is not None:  # always: `*` matches nothing too
            body = body[options.end() :]
        # The Dockerfile text (buildah): the parser upper-cases the type and accepts only CMD and NONE.
        return (body.split(maxsplit=1) or [""])[0].upper()
    return None


def _does_not_run(kind: str, where: str) -> CheckResult:
    if kind == "NONE":
        return _result("healthcheck", False, f"the HEALTHCHECK is disabled (HEALTHCHECK NONE {where})")
    return _result(
        "healthcheck",
        False,
        f"the HEALTHCHECK {where} has the test type {_show(kind, 20)}, which Docker does not run (only CMD and "
        "CMD-SHELL run); write HEALTHCHECK CMD ...",
    )


def _healthcheck(image: Image, _check: ImageCheck, _today: date) -> CheckResult:
    state = image.healthcheck
    # The config, when it has a Healthcheck, is what the runtime uses: an older HEALTHCHECK in the history
    # (a base image's) does not count against its NONE.
    if state is True:
        return _result("healthcheck", True, "the image config has a HEALTHCHECK")
    if image.healthcheck_test:
        return _does_not_run(image.healthcheck_test, "in the image config")
    declared = _history_healthcheck(image)
    if declared in ("CMD", "CMD-SHELL"):
        return _result(
            "healthcheck",
            True,
            "a HEALTHCHECK is declared in the build history (this config format, OCI, does not carry it)",
        )
    if declared is not None:
        return _does_not_run(declared, "in the build history")
    if not image.has("healthcheck"):
        return _result("healthcheck", None, _need("whether the image has a HEALTHCHECK"))
    if state is None:
        return _result(
            "healthcheck",
            None,
            "the image config's HEALTHCHECK has an empty test: it inherits the base image's, which is not known; "
            "write HEALTHCHECK CMD ... in the image's own Dockerfile",
        )
    return _result("healthcheck", False, "the image has no HEALTHCHECK")


CHECKS: dict[str, CheckFunction] = {
    "non-root-user": _non_root_user,
    "allowed-registries": _allowed_registries,
    "digest-pinned": _digest_pinned,
    "required-labels": _required_labels,
    "image-age": _image_age,
    "image-size": _image_size,
    "layer-count": _layer_count,
    "no-secrets-in-env": _no_secrets_in_env,
    "forbidden-ports": _forbidden_ports,
    "healthcheck": _healthcheck,
    "approved-base-image": _approved_base_image,
}
