"""JUnit XML: valid for every fixture; a suite per image, a case per rule, waived findings skipped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gate.model import Package
from gate.policy.engine import evaluate
from gate.policy.schema import load_policy
from gate.report import junit
from gate.report._text import no_commands
from tests.conftest import REAL, TODAY, need_shared, write_policy
from tests.report.helpers import decide, fixture_decision, one_finding, readable_fixtures, synthetic_scan


def _parse(text: str) -> ET.Element:
    return ET.fromstring(text.encode("utf-8"))  # noqa: S314 (our own output)


@pytest.mark.parametrize("path", readable_fixtures(), ids=lambda p: p.name)
def test_every_fixture_gives_valid_junit(path: Path) -> None:
    decision = fixture_decision(path)
    root = _parse(junit.render(decision))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == len(decision.images)
    for suite, image in zip(suites, decision.images, strict=True):
        cases = suite.findall("testcase")
        assert int(suite.get("tests", "-1")) == len(cases) == len(image.rules) + len(image.waived)
        assert int(suite.get("failures", "-1")) == len(suite.findall("testcase/failure"))
        assert int(suite.get("skipped", "-1")) == len(image.waived)
        names = [c.get("name") for c in cases]
        assert len(names) == len(set(names))  # GitLab keeps one case per name


def test_two_images_of_one_name_get_two_suite_names() -> None:
    # Two architectures of one tag: GitLab keeps one test per classname and name, so the second would vanish.
    need_shared()
    one = decide(REAL / "trivy" / "trivy-integ--alpine-39.json")
    root = _parse(junit.render(one.model_copy(update={"images": one.images * 3})))
    names = [suite.get("name") for suite in root.iter("testsuite")]
    assert names == [names[0], f"{names[0]} (2)", f"{names[0]} (3)"]
    assert {case.get("classname") for case in root.iter("testcase")} == set(names)


def test_failures_warnings_and_waivers() -> None:
    need_shared()
    root = _parse(junit.render(decide(REAL / "trivy" / "trivy-integ--alpine-39.json", "waivers.toml")))
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("name") == "testdata/fixtures/images/alpine-39.tar.gz"
    assert suite.get("timestamp") == "2026-11-27T00:00:00"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    failing = cases["fixable-critical-high: No fixable critical or high vulnerabilities"]
    failure = failing.find("failure")
    assert failure is not None and failure.get("message") == "1 finding matches"
    assert "CVE-2019-14697 in musl-utils 1.1.20-r4 [CRITICAL]" in (failure.text or "")
    assert failing.get("classname") == "testdata/fixtures/images/alpine-39.tar.gz"
    warning = cases["non-root-user: The image does not run as root"]
    assert warning.find("failure") is None
    assert (warning.findtext("system-out") or "").startswith("WARNING: the image runs as root")
    skipped = cases["waived: CVE-2019-14697 in musl 1.1.20-r4"].find("skipped")
    assert skipped is not None
    assert skipped.get("message") == (
        "waived by CVE-2019-14697: musl is only linked by the build stage; the runtime uses musl-utils' "
        "static copy; expires 2026-12-05"
    )
    assert cases["known-exploited: No vulnerabilities known to be exploited"].find("*") is None


def test_a_rule_of_several_image_checks_has_a_case_for_each_check(tmp_path: Path) -> None:
    # One rule, two image checks, both failing: each case is named by its check and lists its own violation,
    # as the log and the summary show them (it was "hygiene: Image hygiene" twice, each with both violations).
    policy = write_policy(
        tmp_path,
        'version = 1\n[[rules]]\nid = "hygiene"\ntitle = "Image hygiene"\naction = "fail"\n'
        'image = { user = "non-root", labels = ["org.opencontainers.image.source"] }\n',
    )
    root = _parse(junit.render(evaluate(synthetic_scan(1), load_policy(str(policy)), today=TODAY)))
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == {
        "hygiene (non-root-user): Image hygiene",
        "hygiene (required-labels): Image hygiene",
    }
    for check, other in (("non-root-user", "required-labels"), ("required-labels", "non-root-user")):
        failure = cases[f"hygiene ({check}): Image hygiene"].find("failure")
        assert failure is not None and failure.get("type") == "hygiene"
        assert (failure.text or "").startswith(f"{check}: ")
        assert f"{other}:" not in (failure.text or "")


@pytest.mark.parametrize(
    "finding_id",
    [
        "::warning title=x::y",
        "::stop-commands::tok",
        "  ::error::x",
        "##[error]legacy",
        "x ##vso[task.complete]",
    ],
)
def test_no_line_is_a_workflow_command(finding_id: str) -> None:
    # `gate check --junit -` in a GitHub Actions job: the runner reads `::cmd::` at a line's start and
    # `##[cmd]` anywhere in one. Failure lines start with the finding's ID.
    package = Package(name="##[warning]pkg", version="::1", type="deb")
    text = junit.render(one_finding(id=finding_id, package=package, title="::notice::t"))
    for line in text.splitlines():
        assert not line.lstrip().startswith("::"), line
        assert "##" not in line, line
    failure = _parse(text).find("testsuite/testcase/failure")
    assert failure is not None and (failure.text or "").startswith(no_commands(finding_id.strip()) + " in ")
