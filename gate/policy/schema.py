"""The policy file: strict TOML models, presets, and loading with every error reported at once."""

from __future__ import annotations

import operator
import re
import sys
from collections.abc import Callable, Sequence
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema, field_validator, model_validator

from gate.errors import PolicyError
from gate.model import FindingKind, Severity
from gate.policy.decision import Action

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "PRESETS",
    "Comparison",
    "ImageCheck",
    "Match",
    "Policy",
    "Rule",
    "Waiver",
    "load_policy",
    "policy_json_schema",
]

PRESETS = ("default", "strict")
_COMPARISON = re.compile(r"^\s*(>=|<=|==|>|<)?\s*([A-Za-z]+|[0-9]*\.?[0-9]+)\s*$")
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
        raise ValueError("expected a comparison like \">=7.0\" or a number")
    if isinstance(raw, (int, float)):
        op, value = ">=", float(raw)
    elif isinstance(raw, str):
        found = _COMPARISON.match(raw)
        if not found or found.group(2).isalpha():
            raise ValueError(f'"{raw}" is not a comparison (write it like ">=7.0")')
        op, value = found.group(1) or ">=", float(found.group(2))
    else:
        raise ValueError("expected a comparison like \">=7.0\" or a number")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum:g} and {maximum:g}" if maximum is not None else f"at least {minimum:g}"
        raise ValueError(f"{value:g} is out of range (must be {bound})")
    return Comparison(op=op, value=value)  # type: ignore[arg-type]


def _severity_set(raw: object) -> frozenset[Severity]:
    names = [s.value.lower() for s in Severity]
    if isinstance(raw, list):
        out = set()
        for item in raw:
            if not isinstance(item, str) or item.strip().upper() not in Severity.__members__:
                raise ValueError(f"{item!r} is not a severity (one of {', '.join(names)})")
            out.add(Severity[item.strip().upper()])
        return frozenset(out)
    if not isinstance(raw, str):
        raise ValueError('expected a severity like ">=high" or a list of severities')
    found = _COMPARISON.match(raw)
    if not found or not found.group(2).isalpha() or found.group(2).upper() not in Severity.__members__:
        raise ValueError(f'"{raw}" is not a severity (write ">=high", "critical", or a list; one of {", ".join(names)})')
    bound = Severity[found.group(2).upper()]
    test = _OPERATORS[found.group(1) or "=="]
    return frozenset(s for s in Severity if test(s.rank, bound.rank))


def _str_list(raw: object) -> tuple[str, ...]:
    if isinstance(raw, str):
        return (raw,)
    if isinstance(raw, list) and all(isinstance(x, str) for x in raw):
        return tuple(raw)
    raise ValueError("expected a string or a list of strings")


_SEVERITY_SCHEMA = {
    "anyOf": [
        {"type": "string", "pattern": "^(>=|<=|==|>|<)?(?i:unknown|negligible|low|medium|high|critical)$"},
        {"type": "array", "items": {"enum": [s.value.lower() for s in Severity]}},
    ],
    "description": 'A severity with an optional comparison (">=high") or a list of severities.',
}
_COMPARISON_SCHEMA = {
    "anyOf": [{"type": "number"}, {"type": "string", "pattern": "^(>=|<=|==|>|<)?[0-9]*\\.?[0-9]+$"}],
    "description": 'A number with an optional comparison (">=7.0"); a bare number means ">=".',
}
_STRINGS_SCHEMA = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
Severities = Annotated[frozenset[Severity], WithJsonSchema(_SEVERITY_SCHEMA)]
Compared = Annotated[Comparison, WithJsonSchema(_COMPARISON_SCHEMA)]
Strings = Annotated[tuple[str, ...], WithJsonSchema(_STRINGS_SCHEMA)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Match(_Strict):
    """Which findings a rule is about. Every key given must hold (AND); absent keys match anything."""

    kind: tuple[FindingKind, ...] | None = None
    severity: Severities | None = None
    fixable: bool | None = None
    kev: bool | None = None
    epss: Compared | None = None
    epss_percentile: Compared | None = None
    cvss: Compared | None = None
    age_days: Compared | None = None
    fix_age_days: Compared | None = None
    package: Strings | None = None
    package_type: Strings | None = None
    purl: Strings | None = None
    ids: Strings | None = None

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, raw: object) -> object:
        return [raw] if isinstance(raw, str) else raw

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

    @field_validator("package", "package_type", "purl", "ids", mode="before")
    @classmethod
    def _strings(cls, raw: object) -> object:
        return _str_list(raw)


class ImageCheck(_Strict):
    """Checks of the image itself. Each key is one check with a fixed ID (see docs/image-checks.md)."""

    user: Literal["non-root"] | None = None
    """`non-root-user`: the image must not run as root (missing, empty, `root` or `0` user)."""

    @model_validator(mode="after")
    def _one_check(self) -> ImageCheck:
        if not self.model_fields_set:
            raise ValueError("name at least one image check (e.g. user = \"non-root\")")
        return self

    def check_ids(self) -> list[str]:
        """The IDs of the checks this table asks for."""
        return [_IMAGE_CHECK_IDS[key] for key in sorted(self.model_fields_set)]


_IMAGE_CHECK_IDS = {"user": "non-root-user"}


class Rule(_Strict):
    """One rule: what it matches (findings or the image), and what happens when it triggers."""

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    title: str = ""
    help: str = ""
    action: Action = Action.FAIL
    match: Match | None = None
    image: ImageCheck | None = None
    max: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _shape(self) -> Rule:
        if (self.match is None) == (self.image is None):
            raise ValueError("a rule needs exactly one of `match` (findings) or `image` (image checks)")
        if self.max is not None and self.match is None:
            raise ValueError("`max` (a budget) applies to `match` rules only")
        return self


class Waiver(_Strict):
    """Lets matching findings through until `expires`, for a stated `reason`."""

    id: str = Field(min_length=1)
    """A vulnerability or rule ID; also matches a finding's aliases (GHSA <-> CVE)."""
    reason: str = Field(min_length=1)
    expires: date
    """Last day the waiver applies (TOML date: 2027-02-01)."""
    packages: Strings | None = None
    images: Strings | None = None
    paths: Strings | None = None
    purls: Strings | None = None
    owner: str = ""
    ticket: str = ""

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a waiver needs a reason that says why the finding is acceptable")
        return value

    @field_validator("packages", "images", "paths", "purls", mode="before")
    @classmethod
    def _strings(cls, raw: object) -> object:
        return _str_list(raw)


class Policy(_Strict):
    """A whole policy file (after `extends` is resolved, `rules` holds the preset's rules too)."""

    version: Literal[1] = 1
    extends: str | None = None
    rules: tuple[Rule, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    name: str = Field(default="", exclude=True)
    """Where the policy came from (a path or builtin:NAME); set by load_policy."""

    @model_validator(mode="after")
    def _unique_ids(self) -> Policy:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used twice; rule ids must be unique")
            seen.add(rule.id)
        return self


def load_policy(spec: str, *, read: Callable[[Path], bytes] | None = None) -> Policy:
    """Load `builtin:NAME` or a TOML file, resolving `extends`. Raises PolicyError listing every problem."""
    reader = read or Path.read_bytes
    return _load(spec, reader, chain=())


def _load(spec: str, read: Callable[[Path], bytes], chain: Sequence[str]) -> Policy:
    if spec in chain:
        raise PolicyError(spec, [f"extends: circular ({' -> '.join([*chain, spec])})"])
    if spec.startswith("builtin:"):
        name = spec.removeprefix("builtin:")
        if name not in PRESETS:
            raise PolicyError(spec, [f"unknown preset (choose one of {', '.join('builtin:' + p for p in PRESETS)})"])
        text = resources.files("gate.policy").joinpath("presets", f"{name}.toml").read_bytes()
    else:
        try:
            text = read(Path(spec))
        except OSError as exc:
            raise PolicyError(spec, [f"cannot read the policy file ({exc.strerror or exc})"]) from None
    data = _parse_toml(text, spec)
    policy = _validate(data, spec)
    if policy.extends is None:
        return policy.model_copy(update={"name": spec})
    base_spec = policy.extends
    if not base_spec.startswith("builtin:"):
        base_spec = str(Path(spec).parent / base_spec)
    base = _load(base_spec, read, [*chain, spec])
    return policy.model_copy(
        update={"name": spec, "rules": _merge_rules(base.rules, policy.rules), "waivers": base.waivers + policy.waivers}
    )


def _merge_rules(base: Sequence[Rule], own: Sequence[Rule]) -> tuple[Rule, ...]:
    replaced = {rule.id: rule for rule in own}
    merged = [replaced.pop(rule.id, rule) for rule in base]
    return (*merged, *(rule for rule in own if rule.id in replaced))


def _parse_toml(text: bytes, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise PolicyError(source, ["not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(source, [f"invalid TOML: {exc}"]) from None


def _validate(data: dict[str, Any], source: str) -> Policy:
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(source, [_problem(err) for err in exc.errors(include_url=False)]) from None


def _problem(err: Any) -> str:
    location = ""
    for part in err["loc"]:
        if isinstance(part, int):
            location += f"[{part}]"
        else:
            location += f".{part}" if location else str(part)
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown key (see docs/policy.md for the keys this table takes)"
    elif err["type"] == "missing":
        message = "required"
    return f"{location or 'top level'}: {message}"


def policy_json_schema() -> dict[str, Any]:
    """The JSON Schema of the policy file as people write it (for editor completion)."""
    schema = Policy.model_json_schema(mode="validation")
    schema["properties"].pop("name", None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "container-gate policy"
    return schema
