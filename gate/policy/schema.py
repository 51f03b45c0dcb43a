"""The policy file: strict TOML models, presets, and loading with every error reported at once."""

from __future__ import annotations

import math
import operator
import re
import sys
from collections.abc import Callable, Collection, Sequence
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from gate.errors import PolicyError, field_problem, short_value
from gate.files import read_capped
from gate.model import FindingKind, Severity
from gate.policy.decision import BUILTIN_RULE_IDS, Action
from gate.policy.settings import MissingIntel, Settings, merge_settings
from gate.words import whole_number

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "PRESETS",
    "Compared",
    "Comparison",
    "ImageCheck",
    "Kinds",
    "Match",
    "MergeSettings",
    "Paths",
    "Platform",
    "Policy",
    "Probability",
    "Rule",
    "Score",
    "Severities",
    "Strings",
    "Waiver",
    "load_policy",
    "policy_json_schema",
]

PRESETS = ("default", "strict")
# The blanks after an operator belong to it, and a number's digits before its point are read once: two `\s*`
# side by side, or `[0-9]*\.?[0-9]+`, split a long run of blanks or digits every way, in quadratic time.
_COMPARISON = re.compile(r"^\s*(?:(>=|<=|==|>|<)\s*)?([A-Za-z]+|[0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*$")
_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    ">": operator.gt,
    "<": operator.lt,
}


class Comparison(BaseModel):
    """A parsed comparison such as `>=high` or `>=0.1`."""

    model_config = ConfigDict(frozen=True)

    op: Literal[">=", "<=", "==", ">", "<"]
    value: float

    def test(self, actual: float) -> bool:
        """True when `actual OP value` holds."""
        return _OPERATORS[self.op](actual, self.value)


def _number_comparison(raw: object, *, minimum: float = 0.0, maximum: float | None = None) -> Comparison:
    if isinstance(raw, bool):
        raise ValueError('expected a comparison like ">=7.0" or a number')
    if isinstance(raw, (int, float)):
        # TOML's nan and inf: `>= nan` holds for no value, `>= inf` for no finite one.
        if not math.isfinite(raw):
            raise ValueError(f"{raw} is not a number to compare with (write a finite number)")
        op, value = ">=", float(raw)
    elif isinstance(raw, str):
        found = _COMPARISON.match(raw)
        if not found or found.group(2).isalpha():
            raise ValueError(f'"{raw}" is not a comparison (write it like ">=7.0")')
        op, value = found.group(1) or ">=", float(found.group(2))
    else:
        raise ValueError('expected a comparison like ">=7.0" or a number')
    bound = f"between {minimum:g} and {maximum:g}" if maximum is not None else f"at least {minimum:g}"
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{value:g} is out of range (must be {bound})")
    if (op == "<" and value == minimum) or (op == ">" and value == maximum):  # a rule that can never trigger
        raise ValueError(f'"{raw}" matches nothing (values are {bound})')
    return Comparison(op=op, value=value)  # type: ignore[arg-type]


def _severity_set(raw: object) -> frozenset[Severity]:
    names = [s.value.lower() for s in Severity]
    if isinstance(raw, list):
        if not raw:  # matches nothing, so the rule would never trigger
            raise ValueError(f"expected a non-empty list of severities (one of {', '.join(names)})")
        out = set()
        for item in raw:
            # ASCII only: a dotless i upper-cases to HIGH ("h\u0131gh"), and no schema or reader expects that.
            if (
                not isinstance(item, str)
                or not item.isascii()
                or item.strip().upper() not in Severity.__members__
            ):
                raise ValueError(f"{item!r} is not a severity (one of {', '.join(names)})")
            out.add(Severity[item.strip().upper()])
        return frozenset(out)
    if not isinstance(raw, str):
        raise ValueError('expected a severity like ">=high" or a list of severities')
    found = _COMPARISON.match(raw)
    if not found or not found.group(2).isalpha() or found.group(2).upper() not in Severity.__members__:
        raise ValueError(
            f'"{raw}" is not a severity (write ">=high", "critical", or a list; one of {", ".join(names)})'
        )
    bound = Severity[found.group(2).upper()]
    test = _OPERATORS[found.group(1) or "=="]
    matched = frozenset(s for s in Severity if test(s.rank, bound.rank))
    if not matched:  # "<unknown" or ">critical": a rule that can never trigger is a typo
        end = "lowest" if bound is Severity.UNKNOWN else "highest"
        raise ValueError(f'"{raw}" matches no severity ({bound.value.lower()} is the {end})')
    return matched


def _str_list(raw: object) -> tuple[str, ...]:
    if isinstance(raw, str):
        return (raw,)
    if isinstance(raw, list) and all(isinstance(x, str) for x in raw):
        return tuple(raw)
    raise ValueError("expected a string or a list of strings")


# Severity names are case-insensitive and may have blanks around them, as _severity_set reads them; JSON Schema
# patterns have no flag for case, so each letter is a class (`[hH][iI][gG][hH]`).
_SEVERITY_NAMES = (
    "(" + "|".join("".join(f"[{c}{c.upper()}]" for c in s.value.lower()) for s in Severity) + ")"
)
_SEVERITY_SCHEMA = {
    "anyOf": [
        {"type": "string", "pattern": f"^\\s*(>=|<=|==|>|<)?\\s*{_SEVERITY_NAMES}\\s*$"},
        {
            "type": "array",
            "items": {
                "anyOf": [
                    {"enum": [s.value.lower() for s in Severity]},
                    {"type": "string", "pattern": f"^\\s*{_SEVERITY_NAMES}\\s*$"},
                ]
            },
            "minItems": 1,
        },
    ],
    "description": 'A severity with an optional comparison (">=high") or a list of severities.',
}


# The numbers a comparison string may hold, as _COMPARISON reads them, up to each maximum the policy has: an
# editor then flags `epss = ">=5"` (a percentage where a probability belongs) as the gate does.
_NUMBERS_UP_TO = {
    None: "[0-9]*\\.?[0-9]+",
    1: "(0*\\.[0-9]+|0+|0*1(\\.0+)?)",
    10: "(0*[0-9]?\\.[0-9]+|0*[0-9]|0*10(\\.0+)?)",
}


def _comparison_schema(maximum: int | None = None) -> dict[str, Any]:
    """A number in range, or a comparison string in range; a comparison that matches nothing (`"<0"`) is left
    to `gate policy validate`."""
    number: dict[str, Any] = {"type": "number", "minimum": 0}
    if maximum is not None:
        number["maximum"] = maximum
    numbers = _NUMBERS_UP_TO[maximum]
    return {
        "anyOf": [
            number,
            {"type": "string", "pattern": f"^\\s*(>=|<=|==|>|<)?\\s*{numbers}\\s*$"},
        ],
        "description": 'A number with an optional comparison (">=7.0"); a bare number means ">=".',
    }


# Globs and names: a blank one, or an empty list, matches nothing, and the policy refuses it.
# Names (packages, IDs, images, licences, labels) have no blanks around them either: `"openssl "` would match
# nothing. Paths may.
_NAME_STRING = {"type": "string", "pattern": "^\\S(.*\\S)?$"}
_NONBLANK_STRING = {"type": "string", "pattern": "\\S"}
_STRINGS_SCHEMA = {"anyOf": [_NAME_STRING, {"type": "array", "items": _NAME_STRING, "minItems": 1}]}
_PATHS_SCHEMA = {"anyOf": [_NONBLANK_STRING, {"type": "array", "items": _NONBLANK_STRING, "minItems": 1}]}
_DIGEST_SCHEMA = {
    "anyOf": [
        {"enum": ["base", "reference"]},
        {"type": "array", "items": {"enum": ["base", "reference"]}, "minItems": 1},
    ],
    "description": 'What must be pinned by digest: "base", "reference", or both.',
}
_PORT_SCHEMA = {
    "anyOf": [
        {"type": "integer", "minimum": 1, "maximum": 65535},
        {
            "type": "string",
            "pattern": "^\\s*[0-9]+(/([tT][cC][pP]|[uU][dD][pP]|[sS][cC][tT][pP]))?\\s*$",
        },
    ]
}
_PORTS_SCHEMA = {
    "anyOf": [_PORT_SCHEMA, {"type": "array", "items": _PORT_SCHEMA, "minItems": 1}],
    "description": 'Ports: 22 (any protocol) or "22/tcp", or a list of them.',
}
Severities = Annotated[frozenset[Severity], WithJsonSchema(_SEVERITY_SCHEMA)]
Compared = Annotated[Comparison, WithJsonSchema(_comparison_schema())]
Probability = Annotated[Comparison, WithJsonSchema(_comparison_schema(1))]
Score = Annotated[Comparison, WithJsonSchema(_comparison_schema(10))]
Strings = Annotated[tuple[str, ...], WithJsonSchema(_STRINGS_SCHEMA)]
Paths = Annotated[tuple[str, ...], WithJsonSchema(_PATHS_SCHEMA)]
_KINDS_SCHEMA = {
    "anyOf": [
        {"enum": [k.value for k in FindingKind]},
        {"type": "array", "items": {"enum": [k.value for k in FindingKind]}, "minItems": 1},
    ]
}
Kinds = Annotated[tuple[FindingKind, ...], WithJsonSchema(_KINDS_SCHEMA)]


def _kind_list(raw: object) -> object:
    """A `kind` or `kinds` value as a list (one kind may be written alone); an empty list is an error."""
    if raw == []:
        raise ValueError(
            f"expected a non-empty list of kinds (one of {', '.join(k.value for k in FindingKind)})"
        )
    return [raw] if isinstance(raw, str) else raw


_PLATFORM_PART = r"\s*[A-Za-z0-9._-]+\s*"
_PLATFORM = re.compile(f"^{_PLATFORM_PART}/{_PLATFORM_PART}(/{_PLATFORM_PART})?$")
_PLATFORM_SCHEMA = {
    "type": "string",
    "pattern": _PLATFORM.pattern,
    "description": 'A platform, os/architecture[/variant] ("linux/arm64", "linux/arm/v7"); no globs.',
}


def _platform(raw: str) -> str:
    """`raw` when it names one platform (`linux/arm64`, `linux/arm/v7`); an error for anything else, globs too."""
    if not raw.strip():
        raise ValueError('expected a platform such as "linux/arm64", not a blank string')
    if any(c in raw for c in "*?[]"):
        # Architectures have aliases (x86_64 is amd64): a glob over the spelling would miss some, so none at all.
        raise ValueError(
            f'"{raw}" is a glob; list each platform instead (such as "linux/amd64", "linux/arm64")'
        )
    if not _PLATFORM.match(raw):
        raise ValueError(f'"{raw}" is not a platform; write os/architecture[/variant], such as "linux/arm64"')
    return raw


Platform = Annotated[str, AfterValidator(_platform), WithJsonSchema(_PLATFORM_SCHEMA)]
"""One platform a waiver is scoped to, as written; compared normalised (gate.identity.platform_covers)."""
_PLATFORMS_SCHEMA = {
    "anyOf": [_PLATFORM_SCHEMA, {"type": "array", "items": _PLATFORM_SCHEMA, "minItems": 1}],
}


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Match(_Strict):
    """Which findings a rule is about. Every key given must hold (AND); absent keys match anything."""

    model_config = ConfigDict(
        json_schema_extra={"not": {"required": ["license_allow", "license_deny"]}}  # as _license_lists says
    )

    kind: Kinds | None = None
    severity: Severities | None = None
    fixable: bool | None = Field(default=None, strict=True)
    kev: bool | None = Field(default=None, strict=True)
    epss: Probability | None = None
    epss_percentile: Probability | None = None
    cvss: Score | None = None
    age_days: Compared | None = None
    fix_age_days: Compared | None = None
    package: Strings | None = None
    package_type: Strings | None = None
    purl: Strings | None = None
    ids: Strings | None = None
    layer: Literal["base", "own"] | None = None
    """Where the finding came in: the base image's layers or the image's own; unknown counts as `own`."""
    license_allow: Strings | None = None
    """License findings whose licence is NOT on this list (globs, case-insensitive; SPDX `OR`/`AND` understood)."""
    license_deny: Strings | None = None
    """License findings whose licence IS on this list (globs, case-insensitive; SPDX `OR`/`AND` understood)."""

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, raw: object) -> object:
        return _kind_list(raw)  # `[]` matches nothing, so the rule would never trigger

    @field_validator("severity", mode="before")
    @classmethod
    def _severity(cls, raw: object) -> object:
        return _severity_set(raw)

    @field_validator("epss", "epss_percentile", mode="before")
    @classmethod
    def _probability(cls, raw: object) -> object:
        return _number_comparison(raw, maximum=1.0)

    @field_validator("cvss", mode="before")
    @classmethod
    def _cvss(cls, raw: object) -> object:
        return _number_comparison(raw, maximum=10.0)

    @field_validator("age_days", "fix_age_days", mode="before")
    @classmethod
    def _days(cls, raw: object) -> object:
        return _number_comparison(raw)

    # An empty list (or a blank glob) matches nothing, so the rule would never trigger.
    @field_validator("package", "package_type", "purl", "ids", "license_allow", "license_deny", mode="before")
    @classmethod
    def _strings(cls, raw: object) -> object:
        return _names(_str_list(raw))

    @model_validator(mode="after")
    def _license_lists(self) -> Match:
        keys = {key for key in self.model_fields_set if getattr(self, key) is not None}
        problem = _match_combination(keys, [k.value for k in self.kind] if self.kind else None)
        if problem:
            raise ValueError(problem)
        return self


def _match_combination(keys: Collection[str], kinds: Collection[str] | None) -> str | None:
    """What is wrong with a `match` table of `keys` and `kind` values `kinds`, judged by them alone; None for
    nothing. Also checked on the TOML as written (_raw_problems), so it is reported beside other problems."""
    licence_keys = {"license_allow", "license_deny"} & set(keys)
    if len(licence_keys) == 2:
        return "give `license_allow` or `license_deny` in one rule, not both (write two rules)"
    if licence_keys and kinds and FindingKind.LICENSE.value not in kinds:
        return '`license_allow` / `license_deny` match license findings; add "license" to `kind`'
    return None


def _nonempty(values: tuple[str, ...]) -> tuple[str, ...]:
    if not values or not all(v.strip() for v in values):
        raise ValueError("expected a non-empty list of non-empty strings")
    return values


def _names(values: tuple[str, ...]) -> tuple[str, ...]:
    """`values` when each is a name or glob without blanks around it: no package, ID or image has them, so
    `"openssl "` would make a rule that never triggers or a waiver of nothing."""
    for value in _nonempty(values):
        if value != value.strip():
            raise ValueError(f"{value!r} has blanks around it; no name has, so it would match nothing")
    return values


def _port_list(raw: object) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items:
        usable = isinstance(item, (int, str)) and not isinstance(item, bool)
        text = str(item).strip().lower() if usable else ""
        number, slash, proto = text.partition("/")
        port = whole_number(number)
        protocols = ("tcp", "udp", "sctp") if slash else ("",)  # "22/" names no protocol
        if port is None or not 1 <= port <= 65535 or proto not in protocols:
            raise ValueError(f'{item!r} is not a port (write 22 or "22/tcp")')
        out.append(f"{port}/{proto}" if proto else str(port))
    if not out:
        raise ValueError("expected a non-empty list of ports")
    return tuple(out)


def _image_check_schema(schema: dict[str, Any]) -> None:
    # What ImageCheck._one_check refuses, for editors: no check at all, or `env_allow` without `env`.
    schema["anyOf"] = [{"required": [key]} for key in _IMAGE_CHECK_IDS]
    schema["dependentRequired"] = {"env_allow": ["env"]}


class ImageCheck(_Strict):
    """Checks of the image itself. Each key is one check with a fixed ID (see docs/image-checks.md)."""

    model_config = ConfigDict(json_schema_extra=_image_check_schema)

    user: Literal["non-root"] | None = None
    """`non-root-user`: the image must not run as root (missing, empty, `root` or `0` user)."""
    registries: Strings | None = None
    """`allowed-registries`: globs the normalised repository (`docker.io/library/alpine`) must match."""
    digest: Annotated[tuple[Literal["base", "reference"], ...], WithJsonSchema(_DIGEST_SCHEMA)] | None = None
    """`digest-pinned`: the base image is recorded by digest (`base`), the scanned reference names one."""
    labels: Strings | None = None
    """`required-labels`: labels (or manifest annotations) that must be present and non-empty."""
    max_age_days: int | None = Field(default=None, ge=0, strict=True)
    """`image-age`: the image must have been created at most this many days before the evaluation date."""
    max_size_mb: float | None = Field(default=None, gt=0)
    """`image-size`: the uncompressed size must be at most this many MB (1 MB = 1,000,000 bytes)."""
    max_layers: int | None = Field(default=None, ge=1, strict=True)
    """`layer-count`: the image must have at most this many layers."""
    env: Literal["no-secrets"] | None = None
    """`no-secrets-in-env`: no environment variable (or build history ENV/ARG) may look like a credential."""
    env_allow: Strings | None = None
    """Variable names (globs) `env = "no-secrets"` lets through: known false positives."""
    forbidden_ports: Annotated[tuple[str, ...], WithJsonSchema(_PORTS_SCHEMA)] | None = None
    """`forbidden-ports`: ports the image must not expose (`22` any protocol, or `"22/tcp"`)."""
    healthcheck: Literal["required"] | None = None
    """`healthcheck`: the image must declare a HEALTHCHECK."""
    base_images: Strings | None = None
    """`approved-base-image`: globs the base image named by `org.opencontainers.image.base.name` must match."""

    @field_validator("registries", "labels", "env_allow", "base_images", mode="before")
    @classmethod
    def _strings(cls, raw: object) -> object:
        return _names(_str_list(raw))

    @field_validator("digest", mode="before")
    @classmethod
    def _digest(cls, raw: object) -> object:
        if raw == []:  # would check nothing and always pass
            raise ValueError('expected a non-empty list ("base", "reference")')
        return [raw] if isinstance(raw, str) else raw

    @field_validator("max_size_mb", mode="before")
    @classmethod
    def _number(cls, raw: object) -> object:
        # Lax pydantic reads "500" and "inf" too; an infinite size would be a check that never fails.
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
            raise ValueError("expected a number of MB, such as 500 (no quotes)")
        return raw

    @field_validator("forbidden_ports", mode="before")
    @classmethod
    def _ports(cls, raw: object) -> object:
        return _port_list(raw)

    @model_validator(mode="after")
    def _one_check(self) -> ImageCheck:
        problem = _image_combination(self.model_fields_set)
        if problem:
            raise ValueError(problem)
        return self

    def check_ids(self) -> list[str]:
        """The IDs of the checks this table asks for."""
        return [_IMAGE_CHECK_IDS[key] for key in sorted(self.model_fields_set) if key in _IMAGE_CHECK_IDS]


_IMAGE_CHECK_IDS = {
    "user": "non-root-user",
    "registries": "allowed-registries",
    "digest": "digest-pinned",
    "labels": "required-labels",
    "max_age_days": "image-age",
    "max_size_mb": "image-size",
    "max_layers": "layer-count",
    "env": "no-secrets-in-env",
    "forbidden_ports": "forbidden-ports",
    "healthcheck": "healthcheck",
    "base_images": "approved-base-image",
}


def _rule_schema(schema: dict[str, Any]) -> None:
    # What _rule_shape and _not_builtin refuse, for editors: exactly one of `match` and `image`, the keys of
    # `match` rules only on those, and no built-in rule's id.
    schema["oneOf"] = [
        {"required": ["match"]},
        {"required": ["image"], "not": {"anyOf": [{"required": [key]} for key in _MATCH_ONLY]}},
    ]
    schema["properties"]["id"]["not"] = {"enum": sorted(BUILTIN_RULE_IDS)}


_MATCH_ONLY = ("max", "scope", "on_missing_intel")


_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class Rule(_Strict):
    """One rule: what it matches (findings or the image), and what happens when it triggers."""

    model_config = ConfigDict(json_schema_extra=_rule_schema)

    id: str = Field(min_length=1, json_schema_extra={"pattern": _RULE_ID.pattern})
    title: str = ""
    help: str = ""
    action: Action = Action.FAIL
    match: Match | None = None
    image: ImageCheck | None = None
    max: int | None = Field(default=None, ge=0, strict=True)
    scope: Literal["new", "all"] = "new"
    """With --baseline: `new` counts only findings the baseline lacks; `all` counts every finding."""
    on_missing_intel: MissingIntel | None = None
    """Overrides `settings.on_missing_intel` for this rule."""

    @field_validator("id")
    @classmethod
    def _not_builtin(cls, value: str) -> str:
        # The id names the rule in logs, SARIF and reports: keep it plain.
        if not _RULE_ID.fullmatch(value):
            raise ValueError(
                f"{short_value(value, toml=True)} is not a rule id: use letters, digits, `.`, `_` and `-`, "
                "starting with a letter or digit"
            )
        # The engine adds these rules itself: a second rule of that id would mix with its results.
        if value in BUILTIN_RULE_IDS:
            raise ValueError(
                f'"{value}" is reserved for a built-in rule (see "Built-in rules" in docs/policy.md); choose another id'
            )
        return value

    @model_validator(mode="after")
    def _shape(self) -> Rule:
        problem = _rule_shape({key for key in self.model_fields_set if getattr(self, key) is not None})
        if problem:
            raise ValueError(problem)
        return self


def _rule_shape(keys: Collection[str]) -> str | None:
    """What is wrong with a rule that gives `keys`, judged by the keys alone; None for nothing."""
    if ("match" in keys) == ("image" in keys):
        return "a rule needs exactly one of `match` (findings) or `image` (image checks)"
    if "match" in keys:
        return None
    for key, what in (("max", "`max` (a budget)"), ("scope", "`scope` (new or all findings)")):
        if key in keys:
            return f"{what} applies to `match` rules only"
    return "`on_missing_intel` applies to `match` rules only" if "on_missing_intel" in keys else None


class MergeSettings(_Strict):
    """How reports of one image from several scanners are merged."""

    severity: Literal["max", "trivy", "grype"] = "max"
    """The severity of a finding the scanners rate differently: the highest, or one scanner's."""


class Waiver(_Strict):
    """Lets matching findings through until `expires`, for a stated `reason`."""

    id: str = Field(min_length=1, json_schema_extra={"pattern": _NAME_STRING["pattern"]})
    """A vulnerability or rule ID; also matches a finding's aliases (GHSA <-> CVE) unless `aliases` is false."""
    aliases: bool = Field(default=True, strict=True)
    """False: `id` matches the finding's own ID only (as a Grype ignore rule without include-aliases does)."""
    reason: str = Field(min_length=1, json_schema_extra={"pattern": "\\S"})
    expires: date
    """Last day the waiver applies (TOML date: 2027-02-01)."""
    packages: Strings | None = None
    images: Strings | None = None
    paths: Paths | None = None
    purls: Strings | None = None
    platforms: Annotated[tuple[Platform, ...], WithJsonSchema(_PLATFORMS_SCHEMA)] | None = None
    """Only images for these platforms (`linux/arm64`); an image whose platform is unknown is not waived."""
    kinds: Kinds | None = None
    """Only findings of these kinds (`vulnerability`, `secret`, `misconfig`, `license`), as a scanner applies
    an ignore file's entry to the findings of its section only (`gate policy import` writes it so)."""
    owner: str = ""
    ticket: str = ""
    _written_at: tuple[str, int] | None = PrivateAttr(default=None)

    @property
    def written_at(self) -> tuple[str, int] | None:
        """Where load_policy read the waiver: (its file or builtin:NAME, its index in that file's `waivers`).

        A waiver of a file `extends` names keeps that file's name, so a message can point at where it is written.
        """
        return self._written_at

    def __eq__(self, other: object) -> bool:
        """Equal when every field is: where a waiver was read is not part of it (pydantic compares that too)."""
        if not isinstance(other, Waiver):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not value.strip():  # no finding has a blank ID: the waiver would waive nothing
            raise ValueError("expected the ID of a vulnerability or rule, such as CVE-2024-3094")
        return _names((value,))[0]

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a waiver needs a reason that says why the finding is acceptable")
        return value

    # An empty list (or a blank glob) would waive nothing; `images = []` would not even be reported unused.
    @field_validator("packages", "images", "purls", mode="before")
    @classmethod
    def _strings(cls, raw: object) -> object:
        return _names(_str_list(raw))

    @field_validator("paths", mode="before")
    @classmethod
    def _paths(cls, raw: object) -> object:
        return _nonempty(_str_list(raw))

    @field_validator("kinds", mode="before")
    @classmethod
    def _kinds(cls, raw: object) -> object:
        return _kind_list(raw)  # `[]` would waive nothing

    @field_validator("platforms", mode="before")
    @classmethod
    def _platforms(cls, raw: object) -> object:
        # Each entry is checked by `Platform`, so an error names its index (waivers[0].platforms[1]).
        platforms = _str_list(raw)
        if not platforms:
            raise ValueError('expected a non-empty list of platforms (such as ["linux/arm64"])')
        return platforms

    @field_validator("expires", mode="before")
    @classmethod
    def _expires(cls, raw: object) -> object:
        # Lax pydantic would read "2027-01-01" and 1798761600 (Unix time) as dates; the docs promise a TOML date.
        # A TOML date-time is a datetime, a date subclass: refused too.
        if type(raw) is not date:
            raise ValueError("expected a TOML date such as 2027-01-31 (no quotes)")
        return raw


class Policy(_Strict):
    """A whole policy file (after `extends` is resolved, `rules` holds the preset's rules too)."""

    # Unique rule ids are checked by load_policy on the TOML itself (the docstring is the JSON Schema's text).

    version: Literal[1] = 1
    """The format version; only 1 exists."""
    extends: str | None = Field(default=None, json_schema_extra={"pattern": "\\S"})
    rules: tuple[Rule, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    merge: MergeSettings = MergeSettings()
    settings: Settings = Settings()
    """The `[settings]` table (see docs/policy.md, "Risk, waiver and VEX settings")."""
    name: str = Field(default="", exclude=True)
    """Where the policy came from (a path or builtin:NAME); set by load_policy."""

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, raw: object) -> object:
        # Literal[1] alone takes true (bool is an int) and 1.0.
        if type(raw) is not int or raw != 1:
            raise ValueError("expected the integer 1 (the only format version)")
        return raw

    @field_validator("extends")
    @classmethod
    def _extends(cls, value: str) -> str:
        if not value.strip():  # read as a path, "" is the policy's own folder
            raise ValueError(
                'expected a preset ("builtin:default", "builtin:strict") or a policy file\'s path'
            )
        return value


def load_policy(spec: str, *, read: Callable[[Path], bytes] | None = None) -> Policy:
    """Load `builtin:NAME` or a TOML file, resolving `extends`. Raises PolicyError listing every problem.

    A policy without rules (an empty file, or one that forgot `extends`) is refused: it would pass every report.
    """
    reader = read or _read_policy_file
    policy = _load(spec, reader, chain=())
    if not policy.rules:
        raise PolicyError(spec, [_NO_RULES])
    return policy


_MAX_POLICY_BYTES = 16 * 1024 * 1024
"""A policy is kilobytes, or a few megabytes of waivers: a bigger file (a device that never ends) is not one."""


def _read_policy_file(path: Path) -> bytes:
    return read_capped(path, _MAX_POLICY_BYTES, "a policy")


_NO_RULES = (
    'top level: no rules, so every report would pass; add `extends = "builtin:default"` or [[rules]] '
    "(`gate policy init` writes a starter policy)"
)


def _same_policy(spec: str, other: str) -> bool:
    """True when two specs name one policy: `a.toml` and `sub/../a.toml` (or its absolute path) are one."""
    if spec.startswith("builtin:") or other.startswith("builtin:"):
        return spec == other
    try:
        return spec == other or Path(spec).resolve() == Path(other).resolve()
    except (OSError, RuntimeError):  # a symlink loop: reading it fails with its own message
        return False


def _load(spec: str, read: Callable[[Path], bytes], chain: Sequence[str]) -> Policy:
    # Compared as files, not as text: `extends = "../a.toml"` back from `sub/b.toml` spells the same file
    # differently on each lap, and would otherwise be followed until the process runs out of memory.
    if any(_same_policy(spec, seen) for seen in chain):
        raise PolicyError(spec, [f"extends: circular ({' -> '.join([*chain, spec])})"])
    if spec.startswith("builtin:"):
        name = spec.removeprefix("builtin:")
        if name not in PRESETS:
            raise PolicyError(
                spec, [f"unknown preset (choose one of {', '.join('builtin:' + p for p in PRESETS)})"]
            )
        text = resources.files("gate.policy").joinpath("presets", f"{name}.toml").read_bytes()
    else:
        try:
            text = read(Path(spec))
        except OSError as exc:
            raise PolicyError(spec, [f"cannot read the policy file ({exc.strerror or exc})"]) from None
    data = _parse_toml(text, spec)
    policy, problems = _validate(data)
    for i, waiver in enumerate(policy.waivers if policy else ()):
        waiver._written_at = (spec, i)  # just validated from this file: no one else holds it yet
    extends = data.get("extends")
    if not isinstance(extends, str) or not extends.strip():  # absent, or not a path (`problems` says so)
        if policy is None:
            raise PolicyError(spec, problems)
        return policy.model_copy(update={"name": spec})
    base_spec = extends if extends.startswith("builtin:") else str(Path(spec).parent / extends)
    try:
        base = _load(base_spec, read, [*chain, spec])
    except PolicyError as exc:
        if policy is not None:
            raise
        # This file has problems too: list the base's with them, so one run shows every problem.
        raise PolicyError(spec, [*problems, *(f"extends: {exc.source}: {p}" for p in exc.problems)]) from None
    if policy is None:
        raise PolicyError(spec, problems)
    return policy.model_copy(
        update={
            "name": spec,
            "rules": _merge_rules(base.rules, policy.rules),
            "waivers": base.waivers + policy.waivers,
            # Key by key, as settings: an empty `[merge]` keeps the base's choice rather than reset it.
            "merge": base.merge.model_copy(
                update={key: getattr(policy.merge, key) for key in policy.merge.model_fields_set}
            ),
            "settings": merge_settings(base.settings, policy.settings),
        }
    )


def _merge_rules(base: Sequence[Rule], own: Sequence[Rule]) -> tuple[Rule, ...]:
    replaced = {rule.id: rule for rule in own}
    merged = [replaced.pop(rule.id, rule) for rule in base]
    return (*merged, *(rule for rule in own if rule.id in replaced))


_MAX_KEY_PARTS = 256
# A token of a dotted key: a bare or quoted part (a quote left open counts as one), a dot; else any one character.
_KEY_TOKEN = re.compile(r"""(?P<part>[A-Za-z0-9_-]+|"[^"\\\n]*"|'[^'\n]*'|["'])|(?P<dot>[ \t]*\.[ \t]*)|.""")


def _long_dotted_key(toml: str) -> int | None:
    """The number of a line holding a dotted key (`a.b.c`, quoted parts too) of more than `_MAX_KEY_PARTS` parts:
    tomllib keeps every prefix of one, in time and memory that grow with the square of its parts (100,000 parts
    filled the memory). A policy key has at most four. One pass over the lines with that many dots at all."""
    for number, line in enumerate(toml.split("\n"), 1):
        if line.count(".") <= _MAX_KEY_PARTS:
            continue
        dots = 0
        for token in _KEY_TOKEN.finditer(line):
            if token.lastgroup == "dot":
                dots += 1
                if dots >= _MAX_KEY_PARTS:
                    return number
            elif token.lastgroup is None:
                dots = 0  # anything but a part or a dot ends the key
    return None


def _parse_toml(text: bytes, source: str) -> dict[str, Any]:
    try:
        toml = text.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PolicyError(source, ["not UTF-8 text; save the policy file as UTF-8"]) from None
    if (line := _long_dotted_key(toml)) is not None:
        raise PolicyError(
            source,
            [f"line {line}: a dotted key of {_MAX_KEY_PARTS} parts or more; a policy key has at most four"],
        )
    try:
        return tomllib.loads(toml)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(source, [f"invalid TOML: {exc}"]) from None
    except RecursionError:  # tomllib nests arrays and inline tables by recursion
        raise PolicyError(source, ["invalid TOML: arrays or tables nested too deeply"]) from None
    except ValueError:  # tomllib lets int() refuse a number of more than 4,300 digits
        raise PolicyError(source, ["invalid TOML: a number too long to read"]) from None


def _validate(data: dict[str, Any]) -> tuple[Policy | None, list[str]]:
    """The policy, or None and every problem: the models' and those of the raw checks below."""
    raw = _raw_problems(data)
    if "name" in data:  # a field the loader sets (where the policy came from), not a key of the file
        raw.insert(0, f"name: {_UNKNOWN_KEY}")
        data = {key: value for key, value in data.items() if key != "name"}
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(err) for err in exc.errors(include_url=False)]
        # A rule's shape is checked by Rule too, once its fields are valid: report it once.
        return None, list(dict.fromkeys([*problems, *raw]))
    return (None, raw) if raw else (policy, [])


def _image_combination(keys: Collection[str]) -> str | None:
    """What is wrong with an `image` table of `keys`, judged by the keys alone; None for nothing. Also checked
    on the TOML as written (_raw_problems), so it is reported beside other problems."""
    if "env_allow" in keys and "env" not in keys:
        return '`env_allow` goes with env = "no-secrets"'
    if not set(keys) & set(_IMAGE_CHECK_IDS):
        return 'name at least one image check (e.g. user = "non-root")'
    return None


def _written_kinds(raw: object) -> list[str] | None:
    """The `kind` values of a `match` table as written; None when some are not kinds (reported apart)."""
    kinds = [raw] if isinstance(raw, str) else raw
    known = {k.value for k in FindingKind}
    if isinstance(kinds, list) and kinds and all(isinstance(k, str) and k in known for k in kinds):
        return kinds
    return None


def _raw_problems(data: dict[str, Any]) -> list[str]:
    """Checks made on the TOML as written, so they are reported even when other keys fail validation.

    Model validators run only once every field of their model is valid; these need no valid field.
    """
    rules = data.get("rules")
    if not isinstance(rules, list):
        return []
    problems = []
    first: dict[str, int] = {}
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict):
            continue
        if (shape := _rule_shape(rule.keys())) is not None:
            problems.append(f"rules[{i}]: {shape}")
        match, image = rule.get("match"), rule.get("image")
        if isinstance(match, dict) and (
            wrong := _match_combination(match, _written_kinds(match.get("kind")))
        ):
            problems.append(f"rules[{i}].match: {wrong}")
        if isinstance(image, dict) and (wrong := _image_combination(image)):
            problems.append(f"rules[{i}].image: {wrong}")
        rule_id = rule.get("id")
        if isinstance(rule_id, str):
            if rule_id in first:
                problems.append(
                    f'rules[{i}].id: "{rule_id}" is used twice (also rules[{first[rule_id]}]); rule ids must be unique'
                )
            first.setdefault(rule_id, i)
    return problems


_UNKNOWN_KEY = "unknown key (see docs/policy.md for the keys this table takes)"
_TOP_LEVEL_KEYS = ("version", "extends")
_TABLES: dict[tuple[str, ...], type[BaseModel]] = {
    (): Policy,
    ("rules",): Rule,
    ("rules", "match"): Match,
    ("rules", "image"): ImageCheck,
    ("waivers",): Waiver,
    ("settings",): Settings,
    ("merge",): MergeSettings,
}
"""Each table of the file by its path (array indexes left out), for suggesting a misspelt key's spelling."""
_MOVE_UP = "is a top-level key: move it above the first [table] or [[table]] header"


def _nearest_key(loc: Sequence[int | str]) -> str | None:
    """The key of the table at `loc` (its last part an unknown key) spelled most like it, if one is close."""
    import difflib

    table = _TABLES.get(tuple(part for part in loc[:-1] if isinstance(part, str)))
    if table is None or not isinstance(loc[-1], str):
        return None
    keys = [key for key in table.model_fields if key != "name"]
    return next(iter(difflib.get_close_matches(loc[-1], keys, n=1, cutoff=0.75)), None)


def _problem(err: Any) -> str:
    location = ""
    for part in err["loc"]:
        if isinstance(part, int):
            location += f"[{part}]"
        else:
            location += f".{part}" if location else str(part)
    kind, value = err["type"], err.get("input")
    if kind == "extra_forbidden":
        message = _UNKNOWN_KEY
        key = err["loc"][-1]
        if len(err["loc"]) > 1 and key in _TOP_LEVEL_KEYS:
            # TOML puts every key after a [table] header into that table: a common slip for these.
            message = f"unknown key; `{key}` {_MOVE_UP}"
        elif near := _nearest_key(err["loc"]):
            message = (
                f"unknown key; did you mean `{near}`? (see docs/policy.md for the keys this table takes)"
            )
    elif kind == "missing":
        message = "required"
    elif kind == "tuple_type" and len(err["loc"]) == 1 and isinstance(value, dict):
        # `[rules]` (one table) where `[[rules]]` (an array of tables) was meant
        message = f"expected an array of tables: write [[{location}]], not [{location}]"
    elif kind in ("value_error", "assertion_error"):
        message = field_problem(err, toml=True)
    else:
        message = f"{field_problem(err, toml=True)} (got {short_value(value, toml=True)})"
    return f"{location or 'top level'}: {message}"


def policy_json_schema() -> dict[str, Any]:
    """The JSON Schema of the policy file as people write it (for editor completion)."""
    schema = Policy.model_json_schema(mode="validation")
    schema["properties"].pop("name", None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "container-gate policy"
    return schema
