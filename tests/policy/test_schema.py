"""The policy file: strict keys, every error at once with its location, presets and extends."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.errors import PolicyError
from gate.model import FindingKind, Severity
from gate.policy.decision import BUILTIN_RULE_IDS, STALE_REPORT_RULE, UNSUPPORTED_OS_RULE, Action
from gate.policy.matching import MISSING_INTEL_RULE, VEX_RULE
from gate.policy.schema import _COMPARISON, Match, load_policy, policy_json_schema
from gate.policy.waivers import WAIVER_RULES
from tests.conftest import ROOT


def _write(tmp_path: Path, text: str, name: str = "gate.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_default_preset_is_exactly_the_design() -> None:
    policy = load_policy("builtin:default")
    rules = {r.id: r for r in policy.rules}
    assert list(rules) == [
        "fixable-critical-high",
        "known-exploited",
        "secrets",
        "unfixed-critical-high",
        "non-root-user",
    ]
    fixable = rules["fixable-critical-high"]
    assert fixable.action is Action.FAIL
    assert fixable.match is not None
    assert fixable.match.severity == frozenset({Severity.HIGH, Severity.CRITICAL})
    assert fixable.match.fixable is True
    assert fixable.match.kind == (FindingKind.VULNERABILITY,)
    kev = rules["known-exploited"]
    assert kev.match is not None
    assert kev.match.kev is True
    assert kev.match.severity is None
    assert rules["secrets"].match is not None
    assert rules["secrets"].match.kind == (FindingKind.SECRET,)
    assert rules["unfixed-critical-high"].action is Action.WARN
    assert rules["non-root-user"].action is Action.WARN
    assert rules["non-root-user"].image is not None


def test_strict_extends_default_and_fails_root() -> None:
    policy = load_policy("builtin:strict")
    rules = {r.id: r for r in policy.rules}
    assert {"fixable-critical-high", "known-exploited", "secrets", "fixable-medium-30-days"} <= set(rules)
    assert rules["non-root-user"].action is Action.FAIL
    assert policy.name == "builtin:strict"


def test_invalid_toml_is_one_problem_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy(_write(tmp_path, '[[waivers]]\nid = "CVE-2024-1"\nexpires = 2026-13-01\n'))
    assert "invalid TOML" in str(info.value)
    assert "line 3" in str(info.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[[rules]]\nid = 'x'\nmax = " + "1" * 5000 + "\n", "invalid TOML: a number too long to read"),
        ("x = " + "[" * 50_000 + "]" * 50_000 + "\n", "invalid TOML: arrays or tables nested too deeply"),
        (
            "x = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n",
            "invalid TOML: arrays or tables nested too deeply",
        ),
    ],
    ids=["long-number", "deep-arrays", "deep-tables"],
)
def test_toml_the_reader_cannot_take_is_one_problem(tmp_path: Path, text: str, problem: str) -> None:
    """tomllib lets int()'s digit limit and its own recursion escape as other errors than TOMLDecodeError."""
    with pytest.raises(PolicyError) as info:
        load_policy(_write(tmp_path, text))
    assert info.value.problems == (problem,)


def test_a_dotted_key_of_hundreds_of_parts_is_refused_before_tomllib_reads_it(tmp_path: Path) -> None:
    """tomllib keeps every prefix of a dotted key: 100,000 parts filled the memory before it answered."""
    for key in ("a" + ".a" * 100_000, "'a'" + " . 'a'" * 300):
        with pytest.raises(PolicyError) as info:
            load_policy(_write(tmp_path, f"version = 1\n{key} = 1\n"))
        assert info.value.problems == (
            "line 2: a dotted key of 256 parts or more; a policy key has at most four",
        )
    # dots in a value are no key's: a long reason is read as usual
    policy = load_policy(
        _write(
            tmp_path,
            'version = 1\n[[rules]]\nid = "x"\ntitle = "' + "." * 5000 + '"\nmatch = { kind = "secret" }\n',
        )
    )
    assert policy.rules[-1].title == "." * 5000


def test_every_error_is_reported_at_once_with_its_location(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
version = 1
[[rules]]
id = "a"
match = { severity = ">=hihg" }

[[rules]]
id = "b"
action = "explode"
match = { kind = "vuln" }

[[rules]]
id = "c"
match = { severity = "high", epss = ">=2" }
colour = "red"

[[waivers]]
id = "CVE-2024-1"
expires = "soon"
""",
    )
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    problems = info.value.problems
    joined = "\n".join(problems)
    assert "rules[0].match.severity: " in joined and "hihg" in joined
    assert "rules[1].action: " in joined
    assert "rules[1].match.kind[0]: " in joined
    assert "rules[2].match.epss: 2 is out of range" in joined
    assert "rules[2].colour: unknown key" in joined
    assert "waivers[0].reason: required" in joined
    assert "waivers[0].expires: " in joined
    assert len(problems) >= 7
    assert str(info.value).startswith(path + ": ")


def test_later_checks_are_reported_with_the_field_errors(tmp_path: Path) -> None:
    # Duplicate ids, a rule's shape and the extends target do not wait for the other keys to be fixed.
    path = _write(
        tmp_path,
        """
extends = "builtin:nope"
[[rules]]
id = "a"
match = { severity = "hihg" }

[[rules]]
id = "a"
match = { severity = "high" }

[[rules]]
id = "b"
action = "explode"
image = { user = "non-root" }
on_missing_intel = "warn"
""",
    )
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    problems = info.value.problems
    assert problems[0].startswith('rules[0].match.severity: "hihg" is not a severity')
    assert problems[1].startswith("rules[2].action: ")
    assert problems[2:] == (
        'rules[1].id: "a" is used twice (also rules[0]); rule ids must be unique',
        "rules[2]: `on_missing_intel` applies to `match` rules only",
        "extends: builtin:nope: unknown preset (choose one of builtin:default, builtin:strict)",
    )


def test_booleans_and_numbers_are_toml_booleans_and_numbers_not_look_alike_strings(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
version = 1
extends = "builtin:default"
[settings]
max_waiver_days = "90"
max_report_age_days = true
[[rules]]
id = "r"
max = "5"
match = { fixable = "yes", kev = 1 }
""",
    )
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert info.value.problems == (
        "rules[0].match.fixable: expected true or false (got 'yes')",
        "rules[0].match.kev: expected true or false (got 1)",
        "rules[0].max: expected a whole number (got '5')",
        "settings.max_waiver_days: expected a whole number (got '90')",
        "settings.max_report_age_days: expected a whole number (got true)",
    )


def test_a_broken_base_is_reported_with_this_files_problems(tmp_path: Path) -> None:
    _write(tmp_path, '[[rules]]\nid = "base"\nmatch = { severity = "hihg" }\n', "base.toml")
    with pytest.raises(PolicyError) as info:
        load_policy(_write(tmp_path, 'extends = "base.toml"\n[[rules]]\nid = "x"\nmatch = { kind = [] }\n'))
    assert [p.split(": ")[0] for p in info.value.problems] == ["rules[0].match.kind", "extends"]
    assert info.value.problems[1].startswith(f"extends: {tmp_path / 'base.toml'}: rules[0].match.severity: ")
    # A valid file with a broken base: the base's problems, under the base's name, as before.
    with pytest.raises(PolicyError) as info:
        load_policy(_write(tmp_path, 'extends = "base.toml"\n'))
    assert info.value.source == str(tmp_path / "base.toml")


def test_a_rules_shape_is_reported_once(tmp_path: Path) -> None:
    body = '[[rules]]\nid = "x"\nimage = { user = "non-root" }\non_missing_intel = "warn"\n'
    with pytest.raises(PolicyError) as info:
        load_policy(_write(tmp_path, body))
    assert info.value.problems == ("rules[0]: `on_missing_intel` applies to `match` rules only",)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('[[rules]]\nid = "x"\n', "exactly one of `match`"),
        ('[[rules]]\nid = "x"\nimage = { user = "non-root" }\nmax = 3\n', "`max`"),
        ('[[rules]]\nid = "x"\nmatch = {}\nmax = -1\n', "rules[0].max"),
        ('[[rules]]\nid = "x"\nmatch = {}\n[[rules]]\nid = "x"\nmatch = {}\n', "used twice"),
        ('[[waivers]]\nid = "CVE-1"\nreason = "  "\nexpires = 2027-01-01\n', "needs a reason"),
        ("version = 2\n", "version"),
        # version is the integer 1: TOML true and 1.0 are not it, though Python counts them equal.
        ('version = true\nextends = "builtin:default"\n', "version: expected the integer 1"),
        ('version = 1.0\nextends = "builtin:default"\n', "version: expected the integer 1"),
        ('extends = "builtin:lenient"\n', "unknown preset"),
        ('[[rules]]\nid = "x"\nmatch = { cvss = "high" }\n', "not a comparison"),
        ('[[rules]]\nid = "x"\nimage = {}\n', "at least one image check"),
        ('[[rules]]\nid = "bad id"\nmatch = {}\n', "rules[0].id"),
        # A match key that can match nothing makes a rule that never triggers: a typo, not a policy.
        (
            '[[rules]]\nid = "x"\nmatch = { severity = [] }\n',
            "rules[0].match.severity: expected a non-empty list",
        ),
        ('[[rules]]\nid = "x"\nmatch = { kind = [] }\n', "rules[0].match.kind: expected a non-empty list"),
        (
            '[[rules]]\nid = "x"\nmatch = { package = [] }\n',
            "rules[0].match.package: expected a non-empty list",
        ),
        ('[[rules]]\nid = "x"\nmatch = { package_type = [] }\n', "match.package_type: expected a non-empty"),
        ('[[rules]]\nid = "x"\nmatch = { purl = [] }\n', "rules[0].match.purl: expected a non-empty list"),
        ('[[rules]]\nid = "x"\nmatch = { purl = "" }\n', "rules[0].match.purl: expected a non-empty list"),
        (
            '[[rules]]\nid = "x"\nmatch = { severity = ">=high", ids = [] }\n',
            "match.ids: expected a non-empty",
        ),
        ('[[rules]]\nid = "x"\nmatch = { license_deny = [] }\n', "match.license_deny: expected a non-empty"),
        ('[[rules]]\nid = "x"\nmatch = { severity = "<unknown" }\n', '"<unknown" matches no severity'),
        ('[[rules]]\nid = "x"\nmatch = { severity = ">CRITICAL" }\n', '">CRITICAL" matches no severity'),
        ('[[rules]]\nid = "x"\nmatch = { cvss = ">10" }\n', '">10" matches nothing (values are between 0'),
        (
            '[[rules]]\nid = "x"\nmatch = { age_days = "<0" }\n',
            '"<0" matches nothing (values are at least 0)',
        ),
        (
            '[[rules]]\nid = "x"\nimage = { digest = [] }\n',
            "rules[0].image.digest: expected a non-empty list",
        ),
        # Wrong types and values, in TOML's words with what the file has: not the validator's messages.
        (
            'extends = "builtin:default"\n[rules]\nid = "x"\n',
            "rules: expected an array of tables: write [[rules]]",
        ),
        ('[waivers]\nid = "x"\n', "waivers: expected an array of tables: write [[waivers]], not [waivers]"),
        (
            '[[rules]]\nid = "x"\naction = "block"\nmatch = {}\n',
            "rules[0].action: expected 'fail', 'warn', 'info' or 'off' (got 'block')",
        ),
        ('[[rules]]\nid = "x"\nmatch = "high"\n', "rules[0].match: expected a table (got 'high')"),
        ("extends = 5\n", "extends: expected a string (got 5)"),
        (
            '[[rules]]\nid = "x"\nimage = { max_age_days = "90" }\n',
            "rules[0].image.max_age_days: expected a whole number (got '90')",
        ),
        # `name` is where the policy came from, set by the loader: written in the file, it would be ignored.
        ('name = "team policy"\nextends = "builtin:default"\n', "name: unknown key"),
        # An empty scope would waive nothing (`images = []`: reviewed for no image, so not even reported unused).
        (
            'extends = "builtin:default"\n[[waivers]]\nid = "CVE-1"\nreason = "r"\nexpires = 2027-01-01\nimages = []\n',
            "waivers[0].images: expected a non-empty list",
        ),
        (
            'extends = "builtin:default"\n[[waivers]]\nid = "CVE-1"\nreason = "r"\nexpires = 2027-01-01\npackages = ""\n',
            "waivers[0].packages: expected a non-empty list",
        ),
        # Nothing to gate on: an empty file, or waivers without `extends` (an import written with `>`).
        ("", "no rules, so every report would pass"),
        ("\n# only a comment\n", "no rules, so every report would pass"),
        (
            '[[waivers]]\nid = "CVE-1"\nreason = "r"\nexpires = 2027-01-01\n',
            'add `extends = "builtin:default"`',
        ),
    ],
)
def test_invalid_policies(tmp_path: Path, body: str, problem: str) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy(_write(tmp_path, body))
    assert problem in str(info.value)
    assert "should be" not in str(info.value).lower() and "instance of" not in str(info.value)


@pytest.mark.parametrize(
    "expires",
    [
        '"2027-01-01"',  # a string, not a date
        "1798761600",  # an integer pydantic would read as Unix time
        "20270101",
        "2027-01-01T00:00:00",  # a TOML date-time
        "2027-01-01T00:00:00Z",
        "12:00:00",
    ],
)
def test_waiver_expires_is_a_toml_date(tmp_path: Path, expires: str) -> None:
    body = f'extends = "builtin:default"\n[[waivers]]\nid = "CVE-1"\nreason = "r"\nexpires = {expires}\n'
    with pytest.raises(PolicyError) as info:
        load_policy(_write(tmp_path, body))
    assert info.value.problems == ("waivers[0].expires: expected a TOML date such as 2027-01-31 (no quotes)",)


def test_json_schema_keeps_expires_a_date_and_version_the_integer_1() -> None:
    schema = policy_json_schema()
    assert schema["$defs"]["Waiver"]["properties"]["expires"] == {
        "format": "date",
        "title": "Expires",
        "type": "string",
    }
    assert schema["properties"]["version"] == {
        "const": 1,
        "default": 1,
        "title": "Version",
        "type": "integer",
    }


@pytest.mark.parametrize("rule_id", sorted(BUILTIN_RULE_IDS))
@pytest.mark.parametrize("table", ['match = { severity = "high" }', 'image = { user = "non-root" }'])
def test_builtin_rule_ids_are_reserved(tmp_path: Path, rule_id: str, table: str) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy(_write(tmp_path, f'[[rules]]\nid = "{rule_id}"\n{table}\n'))
    assert info.value.problems == (
        f'rules[0].id: "{rule_id}" is reserved for a built-in rule (see "Built-in rules" in docs/policy.md); '
        "choose another id",
    )


def test_reserved_ids_are_every_built_in_rule() -> None:
    section = (ROOT / "docs" / "policy.md").read_text().split("### Built-in rules", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", section, re.MULTILINE))
    assert documented == BUILTIN_RULE_IDS
    engine = {MISSING_INTEL_RULE, VEX_RULE, STALE_REPORT_RULE, UNSUPPORTED_OS_RULE}
    assert {rule_id for rule_id, _, _ in WAIVER_RULES.values()} | engine == documented


def test_extends_replaces_rules_with_the_same_id_and_keeps_order(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
extends = "builtin:default"
[[rules]]
id = "secrets"
action = "warn"
match = { kind = "secret" }

[[rules]]
id = "medium-budget"
match = { severity = "medium" }
max = 5
""",
    )
    policy = load_policy(path)
    ids = [r.id for r in policy.rules]
    assert ids[2] == "secrets"
    assert ids[-1] == "medium-budget"
    assert next(r for r in policy.rules if r.id == "secrets").action is Action.WARN


def test_extends_a_file_relative_to_the_policy(tmp_path: Path) -> None:
    _write(tmp_path, '[[rules]]\nid = "base"\nmatch = { severity = "low" }\n', "base.toml")
    policy = load_policy(_write(tmp_path, 'extends = "base.toml"\n'))
    assert [r.id for r in policy.rules] == ["base"]


def test_circular_extends_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path, 'extends = "b.toml"\n', "a.toml")
    _write(tmp_path, 'extends = "a.toml"\n', "b.toml")
    with pytest.raises(PolicyError, match="circular"):
        load_policy(str(tmp_path / "a.toml"))


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(str(tmp_path / "nope.toml"))


def test_severity_and_number_comparisons(tmp_path: Path) -> None:
    policy = load_policy(
        _write(
            tmp_path,
            """
[[rules]]
id = "a"
match = { severity = ["low", "CRITICAL"], cvss = 7, epss = "<0.5", age_days = ">30" }
""",
        )
    )
    match = policy.rules[0].match
    assert match is not None
    assert match.severity == frozenset({Severity.LOW, Severity.CRITICAL})
    assert match.cvss is not None and match.cvss.op == ">=" and match.cvss.value == 7.0
    assert match.epss is not None and match.epss.test(0.4) and not match.epss.test(0.5)
    assert match.age_days is not None and match.age_days.test(31) and not match.age_days.test(30)


def test_json_schema_describes_the_file() -> None:
    schema = policy_json_schema()
    assert schema["title"] == "container-gate policy"
    assert "name" not in schema["properties"]
    assert {"version", "extends", "rules", "waivers"} <= set(schema["properties"])
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    good = {"version": 1, "rules": [{"id": "a", "match": {"severity": ">=high", "cvss": ">=7.0"}}]}
    assert not list(validator.iter_errors(good))
    assert list(validator.iter_errors({"rules": [{"id": "a", "match": {"severity": ">=hihg"}}]}))


@pytest.mark.parametrize(
    "match",
    [
        {"severity": "High"},  # names are case-insensitive (docs/policy.md)
        {"severity": ">= high"},
        {"severity": ["HIGH", "Critical"]},
        {"cvss": ">= 7.0"},
        {"epss": " 0.1"},
    ],
)
def test_the_published_schema_accepts_what_the_policy_accepts(match: dict[str, object]) -> None:
    import jsonschema

    Match.model_validate(match)
    document = {"version": 1, "rules": [{"id": "a", "match": match}]}
    errors = [e.message for e in jsonschema.Draft202012Validator(policy_json_schema()).iter_errors(document)]
    assert errors == []


@pytest.mark.parametrize("name", ["default", "strict", "starter"])
def test_presets_validate_against_the_published_schema(name: str) -> None:
    import sys

    import jsonschema

    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib

    preset = Path(__file__).resolve().parents[2] / "gate" / "policy" / "presets" / f"{name}.toml"
    document = tomllib.loads(preset.read_text(encoding="utf-8"))
    errors = [e.message for e in jsonschema.Draft202012Validator(policy_json_schema()).iter_errors(document)]
    assert errors == []


def test_waiver_platforms_are_platforms_each_refused_at_its_place(tmp_path: Path) -> None:
    waiver = '[[waivers]]\nid = "CVE-1"\nreason = "r"\nexpires = 2027-01-01\n'
    body = (
        'extends = "builtin:default"\n'
        f'{waiver}platforms = ["linux/arm64", "arm64", "linux/", " ", "linux/*", "linux/arm/v7/x", "linux/arm64/"]\n'
        f"{waiver}platforms = []\n"
        f"{waiver}platforms = [64]\n"
    )
    with pytest.raises(PolicyError) as info:
        load_policy(_write(tmp_path, body))
    assert info.value.problems == (
        'waivers[0].platforms[1]: "arm64" is not a platform; write os/architecture[/variant], such as "linux/arm64"',
        'waivers[0].platforms[2]: "linux/" is not a platform; write os/architecture[/variant], such as "linux/arm64"',
        'waivers[0].platforms[3]: expected a platform such as "linux/arm64", not a blank string',
        'waivers[0].platforms[4]: "linux/*" is a glob; list each platform instead (such as "linux/amd64", '
        '"linux/arm64")',
        'waivers[0].platforms[5]: "linux/arm/v7/x" is not a platform; write os/architecture[/variant], such as '
        '"linux/arm64"',
        'waivers[0].platforms[6]: "linux/arm64/" is not a platform; write os/architecture[/variant], such as '
        '"linux/arm64"',
        'waivers[1].platforms: expected a non-empty list of platforms (such as ["linux/arm64"])',
        "waivers[2].platforms: expected a string or a list of strings",
    )
    # One string is a list of one, as for the other scopes; kept as written (compared normalised).
    [one] = load_policy(
        _write(tmp_path, f'extends = "builtin:default"\n{waiver}platforms = "linux/x86_64"\n')
    ).waivers
    assert one.platforms == ("linux/x86_64",)


def test_the_published_schema_takes_waiver_platforms_as_the_policy_does() -> None:
    from datetime import date

    import jsonschema
    from pydantic import ValidationError

    from gate.policy.schema import Waiver

    validator = jsonschema.Draft202012Validator(policy_json_schema())
    waiver = {"id": "CVE-1", "reason": "r", "expires": "2027-01-01"}
    for good in ("linux/arm64", ["linux/arm64/v8", "linux/amd64"], [" linux / arm / v7 "]):
        assert list(validator.iter_errors({"waivers": [{**waiver, "platforms": good}]})) == [], good
        Waiver.model_validate({**waiver, "expires": date(2027, 1, 1), "platforms": good})
    for bad in (
        "arm64",
        ["linux/*"],
        [],
        ["linux/"],
        ["linux/arm64/"],
        [" "],
        ["a/b/c/d"],
        ["linux/\x00"],
        ["linux/<b>"],
    ):
        assert list(validator.iter_errors({"waivers": [{**waiver, "platforms": bad}]})), bad
        with pytest.raises(ValidationError):
            Waiver.model_validate({**waiver, "expires": date(2027, 1, 1), "platforms": bad})


def test_circular_extends_through_a_parent_directory_is_an_error(tmp_path: Path) -> None:
    # `sub/deeper/../a.toml` is `sub/a.toml` spelled otherwise: without comparing files the loop never ended.
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    _write(tmp_path, 'extends = "deeper/b.toml"\n', "sub/a.toml")
    _write(tmp_path, 'extends = "../a.toml"\n', "sub/deeper/b.toml")
    reads: list[Path] = []

    def read(path: Path) -> bytes:
        reads.append(path)
        assert len(reads) < 10, "extends followed in a loop"
        return path.read_bytes()

    with pytest.raises(PolicyError, match="circular") as caught:
        load_policy(str(tmp_path / "sub" / "a.toml"), read=read)
    assert caught.value.problems[-1].endswith(
        f"circular ({tmp_path}/sub/a.toml -> {tmp_path}/sub/deeper/b.toml -> {tmp_path}/sub/deeper/../a.toml)"
    )


def test_nan_and_infinite_limits_are_refused_not_left_to_never_trigger(tmp_path: Path) -> None:
    # `cvss >= nan` and `age_days >= inf` hold for no finding; `max_size_mb = "inf"` passes every image.
    body = (
        '[[rules]]\nid = "a"\nmatch = { cvss = nan }\n'
        '[[rules]]\nid = "b"\nmatch = { age_days = inf }\n'
        '[[rules]]\nid = "c"\nimage = { max_size_mb = "inf" }\n'
        '[[rules]]\nid = "d"\nimage = { max_size_mb = "500" }\n'
        '[[rules]]\nid = "e"\nimage = { max_size_mb = inf }\n'
    )
    with pytest.raises(PolicyError) as info:
        load_policy(_write(tmp_path, body))
    assert info.value.problems == (
        "rules[0].match.cvss: nan is not a number to compare with (write a finite number)",
        "rules[1].match.age_days: inf is not a number to compare with (write a finite number)",
        "rules[2].image.max_size_mb: expected a number of MB, such as 500 (no quotes)",
        "rules[3].image.max_size_mb: expected a number of MB, such as 500 (no quotes)",
        "rules[4].image.max_size_mb: expected a number of MB, such as 500 (no quotes)",
    )
    [rule] = load_policy(_write(tmp_path, '[[rules]]\nid = "a"\nimage = { max_size_mb = 2.5 }\n')).rules
    assert rule.image is not None and rule.image.max_size_mb == 2.5


def test_a_blank_waiver_id_is_refused(tmp_path: Path) -> None:
    body = 'extends = "builtin:default"\n[[waivers]]\nid = "  "\nreason = "r"\nexpires = 2027-01-01\n'
    with pytest.raises(PolicyError) as info:
        load_policy(_write(tmp_path, body))
    assert info.value.problems == (
        "waivers[0].id: expected the ID of a vulnerability or rule, such as CVE-2024-3094",
    )


def _inline(value: object) -> str:
    """`value` as TOML: a table inline, a bool in lower case, a string quoted."""
    import json

    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_inline(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def _schema_errors(document: dict[str, object]) -> list[str]:
    import jsonschema

    return [e.message for e in jsonschema.Draft202012Validator(policy_json_schema()).iter_errors(document)]


@pytest.mark.parametrize(
    "image",
    [
        {"forbidden_ports": 22},  # one port, not in a list: the policy takes it
        {"forbidden_ports": "23/TCP"},
        {"forbidden_ports": [22, "53/udp"]},
        {"max_size_mb": 2.5},
    ],
)
def test_the_published_schema_accepts_the_image_checks_the_policy_accepts(image: dict[str, object]) -> None:
    from gate.policy.schema import ImageCheck

    ImageCheck.model_validate(image)
    assert _schema_errors({"version": 1, "rules": [{"id": "a", "image": image}]}) == []


@pytest.mark.parametrize(
    ("rule", "table"),
    [
        ({"match": {"kind": []}}, "match"),
        ({"match": {"severity": []}}, "match"),
        ({"match": {"package": []}}, "match"),
        ({"match": {"package": " "}}, "match"),
        ({"match": {"ids": ["CVE-1", ""]}}, "match"),
        ({"match": {"cvss": 11}}, "match"),
        ({"match": {"epss": 1.5}}, "match"),
        ({"match": {"age_days": -1}}, "match"),
        ({"image": {"forbidden_ports": []}}, "image"),
        ({"image": {"forbidden_ports": ["ssh"]}}, "image"),
        ({"image": {"digest": []}}, "image"),
        ({"image": {"labels": []}}, "image"),
        ({"image": {}}, "image"),
        ({"image": {"user": "non-root", "env_allow": ["X"]}}, "image"),
        ({"match": {"kind": "license", "license_allow": ["MIT"], "license_deny": ["GPL-*"]}}, "match"),
    ],
)
def test_the_published_schema_flags_what_the_policy_refuses(rule: dict[str, object], table: str) -> None:
    from pydantic import ValidationError

    from gate.policy.schema import ImageCheck

    with pytest.raises(ValidationError):
        (Match if table == "match" else ImageCheck).model_validate(rule[table])
    assert _schema_errors({"version": 1, "rules": [{"id": "a", **rule}]}) != []


def test_the_published_schema_flags_blank_waiver_ids_and_reasons() -> None:
    waiver = {"id": "CVE-1", "reason": "r", "expires": "2027-01-01"}
    assert _schema_errors({"waivers": [waiver]}) == []
    assert _schema_errors({"waivers": [{**waiver, "id": " "}]}) != []
    assert _schema_errors({"waivers": [{**waiver, "reason": " "}]}) != []


@pytest.mark.parametrize(
    "rule",
    [
        {"id": "a"},
        {"id": "a", "match": {"kev": True}, "image": {"user": "non-root"}},
        {"id": "a", "image": {"user": "non-root"}, "max": 1},
        {"id": "a", "image": {"user": "non-root"}, "scope": "all"},
        {"id": "a", "image": {"user": "non-root"}, "on_missing_intel": "skip"},
        {"id": "waiver-expired", "match": {"kev": True}},
    ],
)
def test_the_published_schema_flags_rules_of_the_wrong_shape(tmp_path: Path, rule: dict[str, object]) -> None:
    policy = _write(tmp_path, "[[rules]]\n" + "".join(f"{k} = {_inline(v)}\n" for k, v in rule.items()))
    with pytest.raises(PolicyError) as info:
        load_policy(policy)
    assert not any("invalid TOML" in problem for problem in info.value.problems)
    assert _schema_errors({"rules": [rule]}) != []
    assert _schema_errors({"rules": [{"id": "a", "match": {"kev": True}, "max": 1, "scope": "all"}]}) == []


def test_keys_that_do_not_go_together_are_reported_beside_the_other_problems(tmp_path: Path) -> None:
    # These were checked only once every other key of their table was valid: a second run showed them.
    body = (
        '[[rules]]\nid = "a"\n'
        'match = { severity = "hihg", license_allow = ["MIT"], license_deny = ["GPL-*"] }\n'
        '[[rules]]\nid = "b"\nimage = { env_allow = ["X"], max_layers = "many" }\n'
        '[[rules]]\nid = "c"\nmatch = { kind = "vulnerability", license_deny = ["GPL-*"], cvss = "high" }\n'
        '[[rules]]\nid = "d"\nimage = { }\n'
    )
    with pytest.raises(PolicyError) as info:
        load_policy(_write(tmp_path, body))
    assert sorted(info.value.problems) == [
        'rules[0].match.severity: "hihg" is not a severity (write ">=high", "critical", or a list; one of '
        "unknown, negligible, low, medium, high, critical)",
        "rules[0].match: give `license_allow` or `license_deny` in one rule, not both (write two rules)",
        "rules[1].image.max_layers: expected a whole number (got 'many')",
        'rules[1].image: `env_allow` goes with env = "no-secrets"',
        'rules[2].match.cvss: "high" is not a comparison (write it like ">=7.0")',
        'rules[2].match: `license_allow` / `license_deny` match license findings; add "license" to `kind`',
        'rules[3].image: name at least one image check (e.g. user = "non-root")',
    ]


def test_a_rule_id_that_is_not_plain_says_what_an_id_may_hold(tmp_path: Path) -> None:
    body = '[[rules]]\nid = "no fixable"\nmatch = { kev = true }\n[[rules]]\nid = "a\\n"\nmatch = { kev = true }\n'
    with pytest.raises(PolicyError) as info:
        load_policy(_write(tmp_path, body))
    plain = "use letters, digits, `.`, `_` and `-`, starting with a letter or digit"
    assert info.value.problems == (
        f"rules[0].id: 'no fixable' is not a rule id: {plain}",
        f"rules[1].id: 'a\\n' is not a rule id: {plain}",
    )
    assert _schema_errors({"rules": [{"id": "no fixable", "match": {"kev": True}}]}) != []


def test_names_with_blanks_around_them_are_refused_for_they_match_nothing(tmp_path: Path) -> None:
    # `package = "openssl "` made a rule that never triggered, `id = "CVE-1 "` a waiver of nothing.
    body = (
        'extends = "builtin:default"\n'
        '[[rules]]\nid = "a"\nmatch = { package = "openssl ", ids = [" CVE-1"] }\n'
        '[[rules]]\nid = "b"\nimage = { registries = ["ghcr.io/org/*\\t"] }\n'
        '[[waivers]]\nid = "CVE-1 "\nreason = "r"\nexpires = 2027-01-01\npurls = ["pkg:npm/x "]\n'
        '[[waivers]]\nid = "CVE-2"\nreason = "r"\nexpires = 2027-01-01\npaths = ["/srv/my app/ "]\n'
    )
    with pytest.raises(PolicyError) as info:
        load_policy(_write(tmp_path, body))
    nothing = "has blanks around it; no name has, so it would match nothing"
    assert info.value.problems == (
        f"rules[0].match.package: 'openssl ' {nothing}",
        f"rules[0].match.ids: ' CVE-1' {nothing}",
        f"rules[1].image.registries: 'ghcr.io/org/*\\t' {nothing}",
        f"waivers[0].id: 'CVE-1 ' {nothing}",
        f"waivers[0].purls: 'pkg:npm/x ' {nothing}",
    )
    waiver = {"id": "CVE-1", "reason": "r", "expires": "2027-01-01"}
    assert _schema_errors({"waivers": [{**waiver, "paths": "/srv/my app/ "}]}) == []  # a path may end so
    assert _schema_errors({"waivers": [{**waiver, "id": "CVE-1 "}]}) != []
    assert _schema_errors({"rules": [{"id": "a", "match": {"package": "openssl "}}]}) != []


def test_a_severity_in_a_list_is_spelled_in_ascii() -> None:
    # A dotless i upper-cases to HIGH; the published schema refuses it, and so does the policy now.
    from pydantic import ValidationError

    dotless = "h\u0131gh"
    with pytest.raises(ValidationError, match=f"'{dotless}' is not a severity"):
        Match.model_validate({"severity": [dotless]})
    assert _schema_errors({"rules": [{"id": "a", "match": {"severity": [dotless]}}]}) != []


def test_merge_combines_with_the_base_key_by_key(tmp_path: Path) -> None:
    _write(
        tmp_path, '[[rules]]\nid = "a"\nmatch = { kev = true }\n[merge]\nseverity = "grype"\n', "base.toml"
    )
    # An empty [merge] table used to reset the base's choice to the default.
    assert load_policy(_write(tmp_path, 'extends = "base.toml"\n[merge]\n')).merge.severity == "grype"
    assert load_policy(_write(tmp_path, 'extends = "base.toml"\n')).merge.severity == "grype"
    own = 'extends = "base.toml"\n[merge]\nseverity = "trivy"\n'
    assert load_policy(_write(tmp_path, own)).merge.severity == "trivy"


def test_a_top_level_key_written_under_a_table_says_where_it_belongs(tmp_path: Path) -> None:
    # TOML reads `extends` after [[rules]] as a key of that rule: the message says why it is unknown there.
    body = (
        '[[rules]]\nid = "a"\nmatch = { kev = true }\nextends = "builtin:default"\n[settings]\nversion = 1\n'
    )
    with pytest.raises(PolicyError) as info:
        load_policy(_write(tmp_path, body))
    move = "is a top-level key: move it above the first [table] or [[table]] header"
    assert info.value.problems == (
        f"rules[0].extends: unknown key; `extends` {move}",
        f"settings.version: unknown key; `version` {move}",
    )


@pytest.mark.parametrize("extends", ['""', '" "'])
def test_a_blank_extends_is_refused_not_read_as_the_policys_folder(tmp_path: Path, extends: str) -> None:
    body = f'extends = {extends}\n[[rules]]\nid = "a"\nmatch = {{ kev = true }}\n'
    with pytest.raises(PolicyError) as info:
        load_policy(_write(tmp_path, body))
    assert info.value.problems == (
        'extends: expected a preset ("builtin:default", "builtin:strict") or a policy file\'s path',
    )
    assert _schema_errors({"extends": "", "rules": [{"id": "a", "match": {"kev": True}}]}) != []


def test_a_misspelt_key_is_named_with_the_key_it_is_closest_to(tmp_path: Path) -> None:
    body = (
        'extend = "builtin:default"\nxyz = 1\n'
        '[[rules]]\nid = "a"\nmatch = { severty = "high" }\n'
        '[[waivers]]\nid = "CVE-1"\nreson = "r"\nreason = "r"\nexpires = 2027-01-01\n'
        '[settings]\nwaiver_unsued = "info"\n'
    )
    with pytest.raises(PolicyError) as info:
        load_policy(_write(tmp_path, body))
    see = "(see docs/policy.md for the keys this table takes)"
    assert sorted(info.value.problems) == [
        f"extend: unknown key; did you mean `extends`? {see}",
        f"rules[0].match.severty: unknown key; did you mean `severity`? {see}",
        f"settings.waiver_unsued: unknown key; did you mean `waiver_unused`? {see}",
        f"waivers[0].reson: unknown key; did you mean `reason`? {see}",
        f"xyz: unknown key {see}",
    ]


@pytest.mark.parametrize(
    ("key", "maximum"), [("epss", 1.0), ("epss_percentile", 1.0), ("cvss", 10.0), ("age_days", None)]
)
def test_the_published_schema_and_the_policy_agree_on_comparison_strings(
    key: str, maximum: float | None
) -> None:
    """Every comparison string the policy accepts the schema accepts, and every number out of range it flags
    too (`epss = ">=5"`, a percentage where a probability belongs); only a comparison in range that matches
    nothing (`"<0"`, `">1"`) is left to `gate policy validate`."""
    from pydantic import ValidationError

    numbers = ["0", "00", "0.0", ".5", "0.25", "1", "01", "1.0", "1.00", "1.5", "5", "9.99", "09.5", "10"]
    numbers += ["10.0", "10.01", "11", "100", "30"]
    for op in ("", ">=", "<=", "==", ">", "<", ">= "):
        for number in numbers:
            text = f"{op}{number}"
            try:
                Match.model_validate({key: text})
            except ValidationError:
                accepted = False
            else:
                accepted = True
            value = float(number)
            in_range = maximum is None or value <= maximum
            matches_nothing = (op == "<" and value == 0) or (op == ">" and value == maximum)
            assert accepted == (in_range and not matches_nothing), text
            flagged = _schema_errors({"version": 1, "rules": [{"id": "a", "match": {key: text}}]}) != []
            assert flagged == (not in_range), text


# The comparison as it was read before blanks and digits were read in linear time.
_QUADRATIC_COMPARISON = re.compile(r"^\s*(>=|<=|==|>|<)?\s*([A-Za-z]+|[0-9]*\.?[0-9]+)\s*$")


@given(st.text(alphabet=" \t\n<>=.0123456789aZ!", max_size=12))
def test_a_comparison_is_read_as_before(text: str) -> None:
    old, new = _QUADRATIC_COMPARISON.match(text), _COMPARISON.match(text)
    assert (old and (old.groups(), old.span())) == (new and (new.groups(), new.span()))


@pytest.mark.parametrize(
    "value", [" " * 100_000 + "!", ">=" + "1" * 100_000 + "!", "1" + " " * 100_000 + "!"]
)
def test_a_long_comparison_is_refused_in_linear_time(tmp_path: Path, value: str) -> None:
    # Milliseconds here; the quadratic reading took 5 s on 10,000 blanks and would take minutes on these.
    path = _write(tmp_path, f'[[rules]]\nid = "x"\nmatch = {{ cvss = "{value}", severity = "{value}" }}\n')
    start = time.perf_counter()
    with pytest.raises(PolicyError, match="is not a comparison"):
        load_policy(path)
    assert time.perf_counter() - start < 5.0
