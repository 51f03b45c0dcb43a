"""The GitLab include end to end under real gitlab-ci-local 4.73.0 (shell executor, shell isolation, no network).

The docs' quick start (the exact block from docs/gitlab.md, its include made `local` and `install` pointed at this
checkout) passes on a clean report and fails on a failing one; a pipeline with three includes checks fail_on,
the error path and the MR note against a fake GitLab API on loopback. Job results come from gitlab-ci-local's
summary lines (its exit code is unreliable); report files are read from .gitlab-ci-local/builds/<job>/.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import ROOT, SCHEMAS
from tests.platform.conftest import GITLAB_TOKEN, FakeGitLab
from tests.wrappers._support import (
    DATA,
    copy_project,
    git_commit,
    need,
    quick_start,
    tool_env,
    vex_all,
    write_intel,
)

pytestmark = pytest.mark.tools


def _install(tmp_path: Path) -> str:
    """The `install` input: pip install from a snapshot of this checkout (the working tree may be changing)."""
    project = copy_project(tmp_path / "container-gate")
    return f"python -I -m pip install --quiet --disable-pip-version-check {shlex.quote(str(project))}"


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_RESULT = re.compile(r"^\s*(PASS|FAIL|WARN)\s+(\S+)", re.MULTILINE)


@dataclass
class Pipeline:
    """What one gitlab-ci-local run did."""

    results: dict[str, str]
    log: str
    builds: Path


def _run_pipeline(repo: Path, ci: str, reports: dict[str, str], *extra: str) -> Pipeline:
    tool = need("gitlab-ci-local")
    need("rsync")
    (repo / "gitlab").mkdir(parents=True)
    shutil.copy2(ROOT / "gitlab" / "container-gate.yml", repo / "gitlab" / "container-gate.yml")
    for target, source in reports.items():
        shutil.copy2(DATA / f"{source}.trivy.json", repo / target)
    (repo / ".gitlab-ci.yml").write_text(ci, encoding="utf-8")
    git_commit(repo)
    proc = subprocess.run(
        [tool, "--force-shell-executor", "--shell-isolation", *extra],
        cwd=repo,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=540,
    )
    log = _ANSI.sub("", proc.stdout + proc.stderr)
    summary = log[log.rfind("\n\n", 0, max(log.rfind(" PASS "), log.rfind(" FAIL "), log.rfind(" WARN "))) :]
    results = {job: state for state, job in _RESULT.findall(summary)}
    return Pipeline(results, log, repo / ".gitlab-ci-local" / "builds")


def _from_docs(install: str) -> str:
    """The quick start from docs/gitlab.md with the include made local and `install` set to this checkout."""
    snippet = quick_start("gitlab.md")
    include = re.compile(r"- project: \S+\n(\s+)ref: \S+\n\s+file: gitlab/container-gate.yml\n")
    assert include.search(snippet), "the quick start includes gitlab/container-gate.yml with include: project"
    local = include.sub(lambda m: "- local: gitlab/container-gate.yml\n", snippet)
    line = re.compile(r"^(\s+install: ).*$", re.MULTILINE)
    assert line.search(local), "the quick start sets install (it has no default)"
    return line.sub(lambda m: m.group(1) + install, local, count=1)


@pytest.mark.parametrize(("report", "verdict"), [("clean", "pass"), ("failing", "fail")])
def test_the_docs_quick_start_passes_a_clean_image_and_fails_a_failing_one(
    tmp_path: Path, report: str, verdict: str
) -> None:
    # The merge request's checkout is the jobs' working directory: modules there named like the ones the report
    # job runs (python -m venv, python -m pip) must never be imported.
    ran = tmp_path / "checkout-code-ran"
    for module in ("venv", "pip"):
        (tmp_path / "repo" / module).mkdir(parents=True)
        (tmp_path / "repo" / module / "__init__.py").write_text(
            f"open({str(ran)!r}, 'a').close()\n", encoding="utf-8"
        )
    pipeline = _run_pipeline(tmp_path / "repo", _from_docs(_install(tmp_path)), {"trivy.json": report})

    assert not ran.exists(), "the report job ran a module of the checkout"
    expected = {
        "container-gate-report": "PASS",
        "container-gate-enforce": "PASS" if verdict == "pass" else "FAIL",
    }
    assert pipeline.results == expected, pipeline.log[-4000:]
    out = pipeline.builds / "container-gate-report" / "container-gate"
    dotenv = (out / "gate.env").read_text(encoding="utf-8")
    assert f"GATE_VERDICT={verdict}\n" in dotenv
    assert "GATE_EXIT_CODE=" + ("0" if verdict == "pass" else "1") in dotenv
    assert f"container-gate: verdict {verdict}:" in pipeline.log, "the enforce job got the verdict via dotenv"

    scanning = json.loads((out / "gl-container-scanning-report.json").read_text(encoding="utf-8"))
    assert scanning["scan"]["type"] == "container_scanning"
    ids = sorted(v["identifiers"][0]["value"] for v in scanning["vulnerabilities"])
    assert ids == (["CVE-2023-4911", "CVE-2024-5535"] if report == "failing" else [])
    schema = SCHEMAS / "gitlab-container-scanning-report-format-15.2.1.json"
    if schema.is_file():
        import jsonschema

        jsonschema.validate(scanning, json.loads(schema.read_text(encoding="utf-8")))
    quality = json.loads((out / "gl-codequality.json").read_text(encoding="utf-8"))
    assert isinstance(quality, list)
    assert len(quality) == (2 if report == "failing" else 0)
    junit = (out / "junit.xml").read_text(encoding="utf-8")
    assert re.search(r'<testsuites [^>]*failures="' + ("1" if report == "failing" else "0") + '"', junit)
    record = json.loads((out / "decision.json").read_text(encoding="utf-8"))
    assert record["verdict"] == verdict


CONTRACT = """\
stages: [test]
include:
  - local: gitlab/container-gate.yml
    inputs:
      reports: "reports/warn*.json"
      fail_on: warn
      job_prefix: gate-warn
      dockerfile: Dockerfile
      install: {install}
      note_token_variable: GATE_NOTE_TOKEN
  - local: gitlab/container-gate.yml
    inputs:
      reports: reports/failing.trivy.json
      fail_on: never
      image_metadata: reports/inspect.json
      baseline: reports/warning.trivy.json
      kev: reports/kev.json
      vex: reports/app.vex.json
      policy: builtin:default
      job_prefix: gate-never
      install: {install}
      note_token_variable: GATE_NOTE_TOKEN
      comment: always
      schema_version: 15.1.4
  - local: gitlab/container-gate.yml
    inputs:
      reports: reports/not-there.json
      job_prefix: gate-broken
      install: {install}
      note_token_variable: GATE_NOTE_TOKEN
  - local: gitlab/container-gate.yml
    inputs:
      reports: "*.trivy.json"
      job_prefix: gate-inject
      install: {install}
"""


def test_fail_on_the_error_path_and_the_mr_note(tmp_path: Path, httpserver: HTTPServer) -> None:
    fake = FakeGitLab()
    httpserver.expect_request(re.compile(".*")).respond_with_handler(fake)
    repo = tmp_path / "repo"
    (repo / "reports").mkdir(parents=True)
    inspect = [
        {
            "Id": "sha256:" + "2" * 64,
            "RepoTags": ["registry.example.com/acme/web:1.4.2"],
            "Config": {"User": "app"},
        }
    ]
    (repo / "reports" / "inspect.json").write_text(json.dumps(inspect), encoding="utf-8")
    (repo / "Dockerfile").write_text("FROM debian:12\n", encoding="utf-8")
    write_intel(repo / "reports")
    # A file name that looks like an option, matched by the reports glob *.trivy.json, and a VEX document that
    # would suppress every finding of the failing report if that name were taken as --vex=.trivy.json.
    (repo / "--vex=.trivy.json").write_text(vex_all(), encoding="utf-8")
    (repo / ".trivy.json").write_text(vex_all(), encoding="utf-8")
    # Reports committed where the job writes its own: the job that cannot decide must not publish them.
    (repo / "gate-broken").mkdir()
    for stale in ("gl-container-scanning-report.json", "gl-codequality.json", "junit.xml", "summary.md"):
        (repo / "gate-broken" / stale).write_text("{}", encoding="utf-8")
    pwned = tmp_path / "pwned"
    variables = {
        "GATE_NOTE_TOKEN": GITLAB_TOKEN,
        "CI_MERGE_REQUEST_IID": "5",
        "CI_PROJECT_ID": fake.project,
        "CI_API_V4_URL": httpserver.url_for("/api/v4"),
        # CI/CD variables named like the template's own must not change what it decides or runs
        "GATE_FAIL_ON": "never",
        "GATE_COMMENT": "never",
        "GATE_VERDICT": "pass",
        "GATE_EXIT_CODE": "0",
        "GATE_INSTALL": f"touch {pwned}",
        "GATE_OUT": "elsewhere",
    }
    args = [arg for key, value in variables.items() for arg in ("--variable", f"{key}={value}")]
    pipeline = _run_pipeline(
        repo,
        CONTRACT.format(install=_install(tmp_path)),
        {
            "reports/warning.trivy.json": "warning",
            "reports/failing.trivy.json": "failing",
            "scan.trivy.json": "failing",
        },
        *args,
    )

    assert pipeline.results == {
        "gate-warn-report": "PASS",
        "gate-warn-enforce": "FAIL",  # a warning fails with fail_on: warn
        "gate-never-report": "PASS",
        "gate-never-enforce": "PASS",  # report only: a failing image passes
        "gate-broken-report": "PASS",  # the report job succeeds even without a decision ...
        "gate-broken-enforce": "FAIL",  # ... and the enforce job fails on it
        "gate-inject-report": "PASS",
        "gate-inject-enforce": "FAIL",  # --vex=.trivy.json is a (broken) report, not an option
    }, pipeline.log[-4000:]
    assert not pwned.exists(), "a GATE_INSTALL variable was run"
    inject = (pipeline.builds / "gate-inject-report" / "gate-inject" / "gate.env").read_text(encoding="utf-8")
    assert re.fullmatch(r"GATE_VERDICT=error\nGATE_EXIT_CODE=2\nGATE_PIPELINE_ID=\d+\n", inject)
    broken = (pipeline.builds / "gate-broken-report" / "gate-broken" / "gate.env").read_text(encoding="utf-8")
    assert re.fullmatch(r"GATE_VERDICT=error\nGATE_EXIT_CODE=2\nGATE_PIPELINE_ID=\d+\n", broken)
    written = sorted(p.name for p in (pipeline.builds / "gate-broken-report" / "gate-broken").iterdir())
    assert written == ["error.md", "gate.env"], "a committed report was left for the job's artifacts"
    never = pipeline.builds / "gate-never-report" / "gate-never"
    assert (
        json.loads((never / "gl-container-scanning-report.json").read_text(encoding="utf-8"))["version"]
        == "15.1.4"
    )
    assert "| User | app |" in (never / "summary.md").read_text(encoding="utf-8"), (
        "image_metadata reached the gate"
    )
    assert "baseline registry.example.com/acme/web:1.4.3-root" in pipeline.log, "the baseline was read"
    record = json.loads((never / "decision.json").read_text(encoding="utf-8"))
    assert {(v["rule"], v["id"]) for v in record["violations"]} == {
        ("fixable-critical-high", "CVE-2023-4911"),
        ("known-exploited", "CVE-2023-4911"),  # kev reached the gate
    }
    assert record["counts"]["suppressed"] == 1, "vex reached the gate"
    quality = json.loads(
        (pipeline.builds / "gate-warn-report" / "gate-warn" / "gl-codequality.json").read_text()
    )
    assert [q["location"]["path"] for q in quality] == ["Dockerfile"]
    assert "the gate could not decide (exit code 2)" in pipeline.log
    assert GITLAB_TOKEN not in pipeline.log.replace(f"GATE_NOTE_TOKEN={GITLAB_TOKEN}", "")

    # One note per report job, each created once on merge request !5, with the job's marker first; the job
    # without a decision has no image to key on and posts its error note under <job>/error.
    posts = [w for w in fake.writes() if w.method == "POST"]
    assert [w.path for w in posts] == ["/api/v4/projects/42/merge_requests/5/notes"] * 3
    bodies = sorted(n["body"] for n in fake.notes[5])
    assert bodies[0].startswith("<!-- container-gate:gate-broken-report/error -->\n")
    assert "container-gate could not decide (exit code 2)" in bodies[0]
    assert bodies[1].startswith("<!-- container-gate:gate-never-report/")
    assert "container-gate: FAIL" in bodies[1]
    assert bodies[2].startswith("<!-- container-gate:gate-warn-report/")
    assert "container-gate: WARN" in bodies[2]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (
            "fail_on: BOGUS\n      install: pip install x",
            "`fail_on` input: `BOGUS` cannot be used because it is not in the list of allowed options",
        ),
        # install has no default: the name container-gate is not ours on PyPI
        ("fail_on: fail", "`install` input: required value has not been provided"),
        ("install: ' '", "`install` input: ` ` does not match required regex"),
        (
            "install: pip install x\n      job_prefix: a;b",
            "`job_prefix` input: `a;b` does not match required regex",
        ),
        (
            "install: pip install x\n      note_token_variable: A B",
            "`note_token_variable` input: `A B` does not match required regex",
        ),
    ],
)
def test_an_input_outside_its_options_is_refused(tmp_path: Path, inputs: str, message: str) -> None:
    ci = f"include:\n  - local: gitlab/container-gate.yml\n    inputs:\n      reports: r.json\n      {inputs}\n"
    pipeline = _run_pipeline(tmp_path / "repo", ci, {"r.json": "clean"})
    assert pipeline.results == {}
    assert message in pipeline.log


def _rules_snippet() -> str:
    """The block in docs/gitlab.md that adds `rules` to the template's jobs."""
    text = (ROOT / "docs" / "gitlab.md").read_text(encoding="utf-8")
    blocks: list[str] = re.findall(r"^```yaml\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)
    (block,) = [b for b in blocks if "rules:" in b and "include:" not in b]
    return block


def test_the_docs_rules_apply_to_both_jobs(tmp_path: Path) -> None:
    """Adding the docs' rules leaves no enforce job that `needs` a report job the rules took away."""
    ci = (
        f"include:\n  - local: gitlab/container-gate.yml\n    inputs:\n      reports: r.json\n"
        f"      install: {_install(tmp_path)}\n{_rules_snippet()}"
    )
    ci = ci.replace("needs: [trivy-scan]", "needs: []")  # no scan job here
    pipeline = _run_pipeline(tmp_path / "repo", ci, {"r.json": "clean"})
    assert "but its needed by" not in pipeline.log, pipeline.log[-2000:]
    assert pipeline.results == {}, "not a merge-request pipeline: neither job runs"
    tool = need("gitlab-ci-local")
    listed = subprocess.run(
        [tool, "--list", "--variable", "CI_PIPELINE_SOURCE=merge_request_event"],
        cwd=tmp_path / "repo",
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert re.search(r"^container-gate-report\s", listed.stdout, re.MULTILINE), listed.stdout
    assert re.search(r"^container-gate-enforce\s", listed.stdout, re.MULTILINE), listed.stdout


_TEMPLATE_INCLUDE = re.compile(
    r"- project: [^\n]+\n\s+ref: [^\n]+\n\s+file: gitlab/container-gate\.yml"
    r"|- remote: https://\S+/gitlab/container-gate\.yml"
    r"|- local: ci/container-gate\.yml"
)


def _docs_pipelines() -> list[tuple[str, str]]:
    """Every YAML block of the docs and README that includes the template, with the include made local."""
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for n, block in enumerate(re.findall(r"^```yaml\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)):
            if "container-gate.yml" in block and "include:" in block:
                local = _TEMPLATE_INCLUDE.sub("- local: gitlab/container-gate.yml", block)
                assert "- local: gitlab/container-gate.yml" in local, f"{doc.name} block {n}: {block}"
                found.append((f"{doc.name}-{n}", local))
    return found


DOCS_PIPELINES = _docs_pipelines()


@pytest.mark.parametrize(("name", "ci"), DOCS_PIPELINES, ids=[name for name, _ in DOCS_PIPELINES])
def test_every_documented_include_is_a_valid_pipeline(tmp_path: Path, name: str, ci: str) -> None:
    """GitLab refuses a pipeline whose include leaves out a required input (`install`) or gives one outside its
    options; each block of the docs that includes the template must create a pipeline with both jobs."""
    tool = need("gitlab-ci-local")
    repo = tmp_path / "repo"
    (repo / "gitlab").mkdir(parents=True)
    shutil.copy2(ROOT / "gitlab" / "container-gate.yml", repo / "gitlab" / "container-gate.yml")
    (repo / ".gitlab-ci.yml").write_text(ci, encoding="utf-8")
    git_commit(repo)
    listed = subprocess.run(
        [tool, "--list", "--variable", "CI_PIPELINE_SOURCE=merge_request_event"],
        cwd=repo,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = _ANSI.sub("", listed.stdout + listed.stderr)
    assert "configuration is invalid" not in log, log
    assert re.search(r"^[\w.-]+-report\s", listed.stdout, re.MULTILINE), log
    assert re.search(r"^[\w.-]+-enforce\s", listed.stdout, re.MULTILINE), log
