"""Package names compared the way their ecosystem compares them: rules (`package`, `purl`) and waivers (`packages`,
`purls`); PyPI by PEP 503, NuGet, Composer and conda case-insensitively, everything else as written."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.model import Finding, FindingKind, FixState, Image, Package, Scan, Severity, pypi_name
from gate.policy.decision import Verdict
from gate.policy.engine import evaluate
from gate.policy.matching import KeyState, check_match, screen
from gate.policy.package_names import _BRACKETS, PackageGlobs, _fold_glob
from gate.policy.schema import Policy, load_policy
from gate.policy.waivers import waiver_mismatch
from tests.conftest import TODAY, write_policy

CVE = "CVE-2024-1111"


def _finding(name: str, pkg_type: str, purl: str = "") -> Finding:
    return Finding(
        kind=FindingKind.VULNERABILITY,
        id=CVE,
        severity=Severity.LOW,
        package=Package(name=name, version="1.0", type=pkg_type, purl=purl),
        fix_state=FixState.NOT_FIXED,
        scanner="trivy",
    )


def _scan(*findings: Finding) -> Scan:
    return Scan(
        source="r.json",
        scanner="trivy",
        artifact="registry.example/app:1.0",
        artifact_type="container_image",
        image=Image(reference="registry.example/app:1.0", config_known=True, user="app"),
        findings=findings,
    )


def _policy(tmp_path: Path, text: str) -> Policy:
    return load_policy(str(write_policy(tmp_path, text)))


def _rule(key: str, pattern: str) -> str:
    return f'[[rules]]\nid = "named"\naction = "fail"\nmatch = {{ {key} = ["{pattern}"] }}\n'


def _waiver(scope: str, pattern: str) -> str:
    expires = (TODAY + timedelta(days=30)).isoformat()
    return (
        f'[[rules]]\nid = "all"\naction = "fail"\nmatch = {{ kind = "vulnerability" }}\n'
        f'[[waivers]]\nid = "{CVE}"\nreason = "r"\nexpires = {expires}\n{scope} = ["{pattern}"]\n'
    )


# (package name, type as the scanner writes it, glob, same package?)
NAMES = [
    # PyPI (PEP 503): case, and runs of `-`, `_` and `.`, do not matter; Trivy and Grype types alike.
    ("PyYAML", "python-pkg", "pyyaml", True),
    ("PyYAML", "python", "PYYAML", True),
    ("ruamel.yaml", "pip", "Ruamel_YAML", True),
    ("zope.interface", "poetry", "zope--interface", True),
    ("typing_extensions", "uv", "typing-extensions", True),
    ("PyYAML", "python-pkg", "py_yaml", False),  # `py-yaml` is another project than `pyyaml`
    ("Flask-SQLAlchemy", "pipenv", "flask_sql*", True),  # globs keep working
    ("Jinja2", "pip", "jinja?", True),
    ("Werkzeug", "pip", "[w]erkzeug", True),
    # NuGet IDs are case-insensitive, but `.` and `-` are different characters.
    ("Newtonsoft.Json", "dotnet-core", "newtonsoft.json", True),
    ("Newtonsoft.Json", "dotnet", "NEWTONSOFT.*", True),
    ("Newtonsoft.Json", "nuget", "newtonsoft-json", False),
    # Composer and conda names are lower case by rule.
    ("Guzzlehttp/Psr7", "composer", "guzzlehttp/psr7", True),
    ("pyyaml", "conda-pkg", "PyYAML", True),
    ("typing_extensions", "conda-pkg", "typing-extensions", False),  # conda does not fold separators
    # Case-sensitive ecosystems stay exact: these are (or can be) other packages.
    ("JSONStream", "npm", "jsonstream", False),
    ("github.com/Sirupsen/logrus", "gomod", "github.com/sirupsen/logrus", False),
    ("github.com/Azure/go-ntlmssp", "go-module", "github.com/azure/*", False),
    ("com.zaxxer:HikariCP", "jar", "com.zaxxer:hikaricp", False),
    ("Saikuro", "gem", "saikuro", False),
    ("serde_json", "cargo", "serde-json", False),
    ("OpenSSL", "alpine", "openssl", False),
]
IDS = [f"{name}~{pattern}@{kind}" for name, kind, pattern, _ in NAMES]


@pytest.mark.parametrize(("name", "pkg_type", "pattern", "same"), NAMES, ids=IDS)
def test_a_fail_rule_catches_every_spelling_its_ecosystem_calls_the_same_package(
    tmp_path: Path, name: str, pkg_type: str, pattern: str, same: bool
) -> None:
    decision = evaluate(
        _scan(_finding(name, pkg_type)), _policy(tmp_path, _rule("package", pattern)), today=TODAY
    )
    assert decision.verdict is (Verdict.FAIL if same else Verdict.PASS)


@pytest.mark.parametrize(("name", "pkg_type", "pattern", "same"), NAMES, ids=IDS)
def test_a_waiver_lets_through_only_spellings_its_ecosystem_calls_the_same_package(
    tmp_path: Path, name: str, pkg_type: str, pattern: str, same: bool
) -> None:
    decision = evaluate(
        _scan(_finding(name, pkg_type)), _policy(tmp_path, _waiver("packages", pattern)), today=TODAY
    )
    assert [w.finding.package.name for w in decision.images[0].waived if w.finding.package] == (
        [name] if same else []
    )
    assert decision.verdict is (Verdict.PASS if same else Verdict.FAIL)


# (package URL, glob, same package?)
PURLS = [
    # Grype writes the name as the package does (pkg:pypi/Django), Trivy normalised (pkg:pypi/django).
    ("pkg:pypi/Django@3.2.9", "pkg:pypi/django@*", True),
    ("pkg:pypi/ruamel.yaml@0.18", "pkg:pypi/Ruamel_Yaml@0.18", True),
    ("pkg:pypi/PyYAML@6.0", "pkg:pypi/pyyaml@5.*", False),  # the version stays as written
    ("pkg:nuget/Newtonsoft.Json@9.0.1", "pkg:nuget/newtonsoft.json@*", True),
    ("pkg:composer/Guzzlehttp/Psr7@1.8.3", "pkg:composer/guzzlehttp/*", True),
    ("pkg:npm/JSONStream@1.3.5", "pkg:npm/jsonstream@*", False),
    ("pkg:golang/github.com/Sirupsen/logrus@v1.9.0", "pkg:golang/github.com/sirupsen/*", False),
]


@pytest.mark.parametrize(("purl", "pattern", "same"), PURLS, ids=[p for p, _, _ in PURLS])
def test_purl_rules_and_waivers_compare_names_as_the_ecosystem_does(
    tmp_path: Path, purl: str, pattern: str, same: bool
) -> None:
    found = _finding("x", "", purl)
    ruled = evaluate(_scan(found), _policy(tmp_path, _rule("purl", pattern)), today=TODAY)
    assert ruled.verdict is (Verdict.FAIL if same else Verdict.PASS)
    waived = evaluate(_scan(found), _policy(tmp_path, _waiver("purls", pattern)), today=TODAY)
    assert len(waived.images[0].waived) == same


def test_a_type_the_table_does_not_list_is_compared_by_its_purl_type() -> None:
    # A scanner release with a new type name for Python packages: the package URL still says PyPI.
    assert PackageGlobs(["pyyaml"]).matches(
        Package(name="PyYAML", type="python-wheel", purl="pkg:pypi/pyyaml@6")
    )
    assert not PackageGlobs(["pyyaml"]).matches(Package(name="PyYAML", type="python-wheel"))


def test_explain_and_waiver_messages_say_how_the_name_was_compared(tmp_path: Path) -> None:
    found = _finding("PyYAML", "python-pkg", "pkg:pypi/PyYAML@6.0")
    match = _policy(tmp_path, _rule("package", "py_yaml")).rules[0].match
    assert match is not None
    [check] = check_match(found, match, today=TODAY)
    assert (check.state, check.detail) == (
        KeyState.FAIL,
        "package 'PyYAML' does not match ['py_yaml'] (PyPI names compare PEP 503-normalised: 'pyyaml')",
    )
    match = _policy(tmp_path, _rule("purl", "pkg:pypi/pyyaml@*")).rules[0].match
    assert match is not None
    [check] = check_match(found, match, today=TODAY)
    assert check.detail == (
        "purl 'pkg:pypi/PyYAML@6.0' matches ['pkg:pypi/pyyaml@*'] "
        "(PyPI names compare PEP 503-normalised: 'pkg:pypi/pyyaml@6.0')"
    )
    [waiver] = _policy(tmp_path, _waiver("packages", "newtonsoft-json")).waivers
    nuget = _finding("Newtonsoft.Json", "nuget")
    assert waiver_mismatch(waiver, nuget, image="x") == (
        "packages ['newtonsoft-json'] does not match Newtonsoft.Json "
        "(NuGet IDs compare case-insensitively: 'newtonsoft.json')"
    )
    [exact] = _policy(tmp_path, _waiver("packages", "jsonstream")).waivers
    assert waiver_mismatch(exact, _finding("JSONStream", "npm"), image="x") == (
        "packages ['jsonstream'] does not match JSONStream"
    )


GLOBS = {
    "package": '["pyyaml", "newtonsoft.*", "jsonstream"]',
    "purl": '["pkg:pypi/django@*", "pkg:nuget/*", "pkg:npm/jsonstream*"]',
}


@pytest.mark.parametrize(("key", "caught"), [("package", 7), ("purl", 2)])
def test_screen_catches_what_check_match_passes(tmp_path: Path, key: str, caught: int) -> None:
    # screen() tests the package and purl keys before it builds checks, with the globs folded once for the rule.
    findings = [_finding(name, kind) for name, kind, _, _ in NAMES] + [
        _finding("x", "", p) for p, _, _ in PURLS
    ]
    policy = _policy(tmp_path, f'[[rules]]\nid = "r"\nmatch = {{ {key} = {GLOBS[key]} }}\n')
    match = policy.rules[0].match
    assert match is not None
    passed = [
        i
        for i, f in enumerate(findings)
        if KeyState.FAIL not in {c.state for c in check_match(f, match, today=TODAY)}
    ]
    assert screen(policy.rules[0], findings, settings=policy.settings, today=TODAY).hits == tuple(passed)
    assert len(passed) == caught


@pytest.mark.parametrize(
    ("name", "pattern", "same"),
    [
        ("fooa", "foo[!.-z]", False),  # folding `.-z` to `-z` would have let PyPI's `fooa` through
        ("Foo_Bar", "foo[_]bar", False),  # a class keeps its characters: `[_]` is not read as PEP 503's `-`
        ("Foo_Bar", "foo_[b]ar", True),  # the rest is folded
        ("FooB", "foo[!a]", True),
        ("FooA", "foo[!a]", False),
        ("Ruamel_YAML", "ruamel.[y]aml", True),
    ],
)
def test_bracket_expressions_are_not_folded_beyond_case(name: str, pattern: str, same: bool) -> None:
    assert PackageGlobs([pattern]).matches(Package(name=name, type="pip")) is same


def _quadratic_fold_glob(pattern: str) -> str:
    """The folding as it was before it read a glob in linear time."""
    classes = _BRACKETS.findall(pattern)
    if not classes:
        return pypi_name(pattern)
    held = _BRACKETS.sub(lambda m: f"\x00{classes.index(m[0])}\x00", pattern)
    return re.sub("\x00([0-9]+)\x00", lambda m: classes[int(m[1])].lower(), pypi_name(held))


@given(st.text(alphabet="[]!aB-_.", max_size=14))
def test_a_glob_is_folded_as_before(pattern: str) -> None:
    assert _fold_glob(pattern, pypi_name) == _quadratic_fold_glob(pattern)


@pytest.mark.parametrize("pattern", ["[" * 200_000, "".join(f"[{i}]" for i in range(25_000))])
def test_a_long_glob_is_folded_in_linear_time(pattern: str) -> None:
    # Milliseconds here; the quadratic folding took 10 s on 100,000 `[`.
    start = time.perf_counter()
    _fold_glob(pattern, pypi_name)
    assert time.perf_counter() - start < 5.0
