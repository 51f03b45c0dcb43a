"""The GitHub Action end to end under real act (host executor, no Docker, no network).

Two runs of the docs' quick start (the exact block from docs/github.md) with the remote actions mapped to local
stand-ins: `your-org/container-gate` to a copy of this project, trivy-action to a step that writes a prepared
report, upload-sarif to a step that keeps the SARIF it was given. And one contract run of `uses: ./` on a
pull-request event against a fake GitHub API on loopback: fail-on, outputs, step summary, annotations, the error
path and the sticky PR comment.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from tests.platform.conftest import TOKEN, FakeGitHub
from tests.wrappers._support import (
    DATA,
    ActRun,
    copy_project,
    fork_workflows,
    git_commit,
    need,
    need_index,
    quick_start,
    run_act,
    tool_env,
    vex_all,
    write_intel,
)

pytestmark = pytest.mark.tools

CHECKOUT = "actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0"


def _stub(folder: Path, name: str, inputs: list[str], script: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    declared = "".join(
        f"  {i}:\n    description: {i}\n    required: false\n    default: ''\n" for i in inputs
    )
    env = "".join(f"        IN_{i.upper().replace('-', '_')}: ${{{{ inputs.{i} }}}}\n" for i in inputs)
    (folder / "action.yml").write_text(
        f"name: {name}\ndescription: a local stand-in for the test\ninputs:\n{declared}"
        f"runs:\n  using: composite\n  steps:\n    - shell: bash\n      env:\n{env}"
        f"      run: |\n" + "".join(f"        {line}\n" for line in script.splitlines()),
        encoding="utf-8",
    )
    return folder


def _uses(pattern: str, snippet: str) -> str:
    match = re.search(pattern, snippet)
    assert match, f"the quick start has no step matching {pattern!r}"
    return match.group(1)


def _gate_summary(run: ActRun, step: str = "gate") -> str:
    return "\n".join(run.summaries.get((step,), []))


@pytest.mark.parametrize(
    ("report", "verdict", "job"), [("clean", "pass", "success"), ("failing", "fail", "failure")]
)
def test_the_docs_quick_start_is_green_on_a_clean_image_and_red_on_a_failing_one(
    tmp_path: Path, report: str, verdict: str, job: str
) -> None:
    need("act")
    need_index()  # the action installs its pinned dependencies from the index
    snippet = quick_start("github.md")
    trivy_ref = _uses(r"uses: (aquasecurity/trivy-action@\S+)", snippet)
    codeql_ref = _uses(r"uses: github/codeql-action/upload-sarif@(\S+)", snippet)
    gate_ref = _uses(r"uses: ([\w.-]+/container-gate@\S+)", snippet)
    out = tmp_path / "out"
    out.mkdir()
    source = DATA / f"{report}.trivy.json"
    trivy = _stub(
        tmp_path / "trivy-action", "trivy-action", ["image-ref", "format", "output"],
        f'test "$IN_FORMAT" = json\ncp "{source}" "$IN_OUTPUT"',
    )  # fmt: skip
    codeql = tmp_path / "codeql-action"
    _stub(
        codeql / "upload-sarif", "upload-sarif", ["sarif_file"], f'cp "$IN_SARIF_FILE" "{out}/uploaded.sarif"'
    )
    project = copy_project(tmp_path / "container-gate")
    workspace = tmp_path / "workspace"
    (workspace / ".github" / "workflows").mkdir(parents=True)
    (workspace / ".github" / "workflows" / "container-gate.yml").write_text(snippet, encoding="utf-8")
    git_commit(workspace)

    run = run_act(
        workspace,
        tmp_path / "act-cache",
        args=[
            "--local-repository", f"{trivy_ref}={trivy}",
            "--local-repository", f"github/codeql-action@{codeql_ref}={codeql}",
            "--local-repository", f"{gate_ref}={project}",
        ],
    )  # fmt: skip

    assert run.job_result == job, run.log[-4000:]
    assert run.returncode == (0 if job == "success" else 1)
    outputs = run.outputs[("gate",)]
    assert outputs["verdict"] == verdict
    assert outputs["sarif-file"] == "container-gate.sarif"
    assert outputs["failed-count"] == ("2" if report == "failing" else "0")
    summary = _gate_summary(run)
    assert f"container-gate: {verdict.upper()}" in summary
    sarif = json.loads((out / "uploaded.sarif").read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0"
    rule_ids = sorted(r["ruleId"] for r in sarif["runs"][0]["results"])
    if report == "failing":
        assert rule_ids == ["CVE-2023-4911", "CVE-2024-5535"]
        assert "CVE-2024-5535" in summary
        errors = [c for c in run.commands if c["command"] == "error" and c["stepid"] == ("gate", "gate")]
        assert any("CVE-2024-5535" in c["arg"] for c in errors)
    else:
        assert rule_ids == []


CONTRACT = """\
name: contract
on: pull_request
jobs:
  contract:
    runs-on: ubuntu-latest
    env:
      PYTHONPATH: {spy}  # its sitecustomize records which Python processes saw the token
    steps:
      - uses: {checkout}
        with:
          persist-credentials: false
      - id: warn
        continue-on-error: true
        uses: ./
        with:
          reports: reports/warning.trivy.json
      - id: warn_fails
        continue-on-error: true
        uses: ./
        with:
          reports: "reports/warn*.json"
          fail-on: warn
          sarif-file: out/warn.sarif
          dockerfile: Dockerfile
      - id: meta
        continue-on-error: true
        uses: ./
        with:
          reports: reports/warning.trivy.json
          image-metadata: reports/inspect.json
          baseline: reports/failing.trivy.json
          policy: builtin:default
          fail-on: warn
      - id: intel
        continue-on-error: true
        uses: ./
        with:
          reports: reports/failing.trivy.json
          kev: reports/kev.json
          vex: "reports/*.vex.json"
          fail-on: never
          sarif-file: ""
      - id: never
        continue-on-error: true
        uses: ./
        with:
          reports: reports/failing.trivy.json
          fail-on: never
          annotations: "false"
          summary: "false"
          sarif-file: ""
      - id: missing
        continue-on-error: true
        uses: ./
        with:
          reports: reports/not-there.json reports/clean.trivy.json
      - id: bad_input
        continue-on-error: true
        uses: ./
        with:
          reports: reports/clean.trivy.json
          fail-on: sometimes
      - id: inject
        continue-on-error: true
        uses: ./
        with:
          reports: "*.trivy.json"  # matches a file named --vex=.trivy.json: a report, never an option
          comment: never
          sarif-file: ""
      - id: dash
        continue-on-error: true
        uses: ./
        with:
          reports: reports/failing.trivy.json
          vex: -all.vex.json  # a value starting with '-' is a value, never an option
          baseline: -old-scan.json
          comment: never
          sarif-file: ""
      - id: bad_summary
        continue-on-error: true
        uses: ./
        with:
          reports: reports/clean.trivy.json
          summary: "yes"
          comment: never
      - id: bad_annotations
        continue-on-error: true
        uses: ./
        with:
          reports: reports/clean.trivy.json
          annotations: "False"
          comment: never
      - id: clean
        uses: ./
        with:
          reports: |
            reports/clean.trivy.json
      - name: record
        if: always()
        env:
          STEPS: ${{{{ toJSON(steps) }}}}
          OUT: {out}
          INTEL_DECISION: ${{{{ steps.intel.outputs.decision-file }}}}
        run: |
          printf '%s' "$STEPS" > "$OUT/steps.json"
          cp out/warn.sarif "$OUT/warn.sarif"
          cp "$INTEL_DECISION" "$OUT/intel.json"
"""


def test_the_action_contract_on_a_pull_request(tmp_path: Path, httpserver: HTTPServer) -> None:
    need("act")
    need_index()  # the action installs its pinned dependencies from the index
    fake = FakeGitHub(base=httpserver.url_for("").rstrip("/"))
    httpserver.expect_request(re.compile(".*")).respond_with_handler(fake)
    out = tmp_path / "out"
    out.mkdir()
    workspace = copy_project(tmp_path / "workspace")
    (workspace / "reports").mkdir()
    for name in ("clean", "failing", "warning"):
        shutil.copy2(DATA / f"{name}.trivy.json", workspace / "reports" / f"{name}.trivy.json")
    # The image's own config says it runs as "app": with it the root-user warning goes away.
    inspect = [
        {
            "Id": "sha256:" + "1" * 64,
            "RepoTags": ["registry.example.com/acme/web:1.4.3-root"],
            "Config": {"User": "app"},
        }
    ]
    (workspace / "reports" / "inspect.json").write_text(json.dumps(inspect), encoding="utf-8")
    (workspace / "Dockerfile").write_text("FROM debian:12\n", encoding="utf-8")
    # The pull request's checkout is the working directory: modules there named like the ones the action runs
    # (python -m venv, python -m pip) must never be imported.
    ran = tmp_path / "checkout-code-ran"
    for module in ("venv", "pip"):
        (workspace / module).mkdir()
        (workspace / module / "__init__.py").write_text(
            f"open({str(ran)!r}, 'a').close()\n", encoding="utf-8"
        )
    write_intel(workspace / "reports")
    (workspace / ".github" / "workflows").mkdir(parents=True)
    # A file name that looks like an option, matched by a reports glob, and a VEX document that would suppress
    # every finding of the failing report if that name were taken as --vex=.trivy.json.
    vex = vex_all()
    (workspace / "scan.trivy.json").write_bytes((DATA / "failing.trivy.json").read_bytes())
    (workspace / ".trivy.json").write_text(vex, encoding="utf-8")
    (workspace / "--vex=.trivy.json").write_text(vex, encoding="utf-8")
    (workspace / "-all.vex.json").write_text(vex, encoding="utf-8")
    (workspace / "-old-scan.json").write_bytes((DATA / "warning.trivy.json").read_bytes())
    spy = tmp_path / "spy"
    spy.mkdir()
    (spy / "sitecustomize.py").write_text(
        "import json, os, sys\n"
        f"with open({str(out / 'processes.jsonl')!r}, 'a') as log:\n"
        # act (unlike GitHub's runner, actions/runner#665) also exports a composite action's inputs as INPUT_*
        # variables (nektos/act#2874): not the action's doing, so not counted here
        f"    seen = sorted(k for k, v in os.environ.items() if v == {TOKEN!r} and k[:6] != 'INPUT_')\n"
        "    log.write(json.dumps({'argv': sys.argv[1:3], 'token_in': seen}) + '\\n')\n",
        encoding="utf-8",
    )
    workflow = CONTRACT.format(checkout=CHECKOUT, out=out, spy=spy)
    (workspace / ".github" / "workflows" / "contract.yml").write_text(workflow, encoding="utf-8")
    git_commit(workspace)
    event = tmp_path / "event.json"
    pr = {"number": 7, "head": {"repo": {"full_name": "acme/web"}}, "base": {"ref": "main"}}
    event.write_text(json.dumps({"number": 7, "pull_request": pr}), encoding="utf-8")

    run = run_act(
        workspace,
        tmp_path / "act-cache",
        event="pull_request",
        args=[
            "-e", str(event), "-s", f"GITHUB_TOKEN={TOKEN}",
            "--env", f"GITHUB_API_URL={fake.base}", "--env", "GITHUB_REPOSITORY=acme/web",
        ],
    )  # fmt: skip

    assert TOKEN not in run.log, "the token was printed"
    assert not ran.exists(), "the action ran a module of the checkout"
    assert run.job_result == "success", run.log[-4000:]
    steps = json.loads((out / "steps.json").read_text(encoding="utf-8"))
    names = (
        "warn", "warn_fails", "meta", "intel", "never", "missing", "bad_input", "inject", "dash", "bad_summary",
        "bad_annotations", "clean",
    )  # fmt: skip
    outcome = {name: steps[name]["outcome"] for name in names}
    assert outcome == {
        "warn": "success",  # a warning passes with fail-on: fail
        "warn_fails": "failure",  # ... and fails with fail-on: warn
        "meta": "success",  # image-metadata, baseline and policy reach the gate: no warning left
        "intel": "success",  # report only
        "never": "success",  # report only: a failing image does not fail the step
        "missing": "failure",  # no decision (exit 2) fails the step whatever fail-on says
        "bad_input": "failure",  # an unknown fail-on value is refused
        "inject": "failure",  # --vex=.trivy.json is a (broken) report, not an option suppressing all
        "dash": "success",  # vex and baseline values starting with '-' reach the gate as values
        "bad_summary": "failure",  # summary and annotations take true or false only
        "bad_annotations": "failure",
        "clean": "success",
    }
    verdicts = {name: steps[name]["outputs"]["verdict"] for name in outcome}
    assert verdicts == {
        "warn": "warn",
        "warn_fails": "warn",
        "meta": "pass",
        "intel": "fail",
        "never": "fail",
        "missing": "error",
        "bad_input": "error",
        "inject": "error",
        "dash": "pass",
        "bad_summary": "error",
        "bad_annotations": "error",
        "clean": "pass",
    }
    assert steps["never"]["outputs"]["failed-count"] == "2"
    # kev and vex reach the gate: the libc6 CVE fails twice (fixable, known exploited), openssl is suppressed
    assert steps["intel"]["outputs"]["failed-count"] == "2"
    intel_record = json.loads((out / "intel.json").read_text(encoding="utf-8"))
    assert {(v["rule"], v["id"]) for v in intel_record["violations"]} == {
        ("fixable-critical-high", "CVE-2023-4911"),
        ("known-exploited", "CVE-2023-4911"),
    }
    assert intel_record["counts"]["suppressed"] == 1
    assert steps["warn"]["outputs"]["warned-count"] == "1"
    assert steps["never"]["outputs"]["sarif-file"] == ""
    assert steps["missing"]["outputs"]["decision-file"] == ""
    assert steps["warn_fails"]["outputs"]["sarif-file"] == "out/warn.sarif"
    warn_sarif = json.loads((out / "warn.sarif").read_text(encoding="utf-8"))
    (result,) = warn_sarif["runs"][0]["results"]
    assert result["ruleId"] == "non-root-user"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "Dockerfile"
    assert "baseline registry.example.com/acme/web:1.4.2" in run.log, "the baseline was read"
    assert steps["clean"]["outputs"]["decision-file"].endswith("decision.json")

    assert "container-gate: WARN" in _gate_summary(run, "warn")
    assert _gate_summary(run, "never") == "", "summary: false writes no step summary"
    assert "could not decide (exit code 2)" in _gate_summary(run, "missing")
    assert [
        c for c in run.commands if c["stepid"] == ("never", "gate") and c["command"] in ("error", "warning")
    ] == []
    assert [c for c in run.commands if c["stepid"] == ("warn", "gate") and c["command"] == "warning"]

    # comment: on-failure, one comment per workflow and image (all the reports are of acme/web). warn passes:
    # nothing to update, no comment; warn_fails fails and creates it; meta, intel, never and clean pass and
    # update it in place. missing has no decision, so no image to key on: it posts the job's error comment
    # (bad_input finds it up to date); clean, deciding again, updates that one to say so.
    writes = [(w.method, w.path) for w in fake.writes()]
    assert writes[0] == ("POST", "/repos/acme/web/issues/7/comments")
    assert [m for m, _ in writes[1:]] == ["PATCH", "PATCH", "PATCH", "POST", "PATCH", "PATCH"]
    comment, error = fake.comments[7]
    assert comment["body"].startswith("<!-- container-gate:contract/acme/web -->")
    assert "container-gate: PASS" in comment["body"]
    assert error["body"].startswith("<!-- container-gate:contract/contract/error -->\n")
    assert "decided again" in error["body"]
    error_body = fake.writes()[4].body["body"]
    assert "could not decide (exit code 2)" in error_body
    assert all(s.headers.get("Authorization") == f"Bearer {TOKEN}" for s in fake.sent)

    # The token reaches `gate comment` only: not the install, `gate check` nor `gate outputs`.
    processes = [
        json.loads(line) for line in (out / "processes.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    commands = {p["argv"][0] for p in processes if p["argv"]}
    assert {"check", "outputs", "comment"} <= commands
    leaked = [p for p in processes if p["token_in"] and p["argv"][:1] != ["comment"]]
    assert leaked == []
    assert all(p["token_in"] for p in processes if p["argv"][:1] == ["comment"])


GATE_STEP_FAILS = """\
name: {name}
on: push
jobs:
  {name}:
    runs-on: ubuntu-latest
    steps:
      - uses: {checkout}
        with:
          persist-credentials: false
{setup}      - id: gate
        continue-on-error: true
        uses: ./
        with:
          reports: reports/clean.trivy.json
      - name: record
        if: always()
        env:
          STEPS: ${{{{ toJSON(steps) }}}}
          OUT: {out}
        run: printf '%s' "$STEPS" > "$OUT/steps.json"
"""
OLD_PYTHON = """\
      - name: A runner whose python3 is too old for the gate
        run: |
          mkdir -p "$RUNNER_TEMP/old-python"
          printf '#!/bin/sh\\nexit 1\\n' > "$RUNNER_TEMP/old-python/python3"
          chmod +x "$RUNNER_TEMP/old-python/python3"
          echo "$RUNNER_TEMP/old-python" >> "$GITHUB_PATH"
"""

NO_VENV = """\
      - name: A runner whose python3 cannot create a virtual environment (Debian's without python3-venv)
        run: |
          mkdir -p "$RUNNER_TEMP/no-venv"
          {
            echo '#!/bin/sh'
            echo 'case " $* " in *" venv "*) echo "ensurepip is not available: install python3-venv"; exit 1 ;; esac'
            echo "exec $(command -v python3) \\"\\$@\\""
          } > "$RUNNER_TEMP/no-venv/python3"
          chmod +x "$RUNNER_TEMP/no-venv/python3"
          echo "$RUNNER_TEMP/no-venv" >> "$GITHUB_PATH"
"""


def _failing_gate_step(
    tmp_path: Path, workspace: Path, name: str, setup: str = ""
) -> tuple[ActRun, dict[str, Any]]:
    """Run, in `workspace` (a copy of the project), a workflow whose gate step fails (continue-on-error) on
    the clean report after the `setup` steps; act's run and the gate step's outcome and outputs."""
    out = tmp_path / "out"
    out.mkdir()
    (workspace / "reports").mkdir()
    shutil.copy2(DATA / "clean.trivy.json", workspace / "reports" / "clean.trivy.json")
    (workspace / ".github" / "workflows").mkdir(parents=True)
    workflow = GATE_STEP_FAILS.format(name=name, checkout=CHECKOUT, out=out, setup=setup)
    (workspace / ".github" / "workflows" / f"{name}.yml").write_text(workflow, encoding="utf-8")
    git_commit(workspace)

    # act's host executor can lose the last lines of a step whose process exits at once (seen about once in
    # twenty runs on a loaded machine), the install step's error annotation among them. Run it again then: an
    # action that never writes the annotation still fails the tests, three times over.
    for _ in range(3):
        run = run_act(workspace, tmp_path / "act-cache")
        if any(c["command"] == "error" and c["stepid"] == ("gate", "setup") for c in run.commands):
            break

    assert run.job_result == "success", run.log[-4000:]
    steps: dict[str, dict[str, Any]] = json.loads((out / "steps.json").read_text(encoding="utf-8"))
    assert steps["gate"]["outcome"] == "failure"
    assert steps["gate"]["outputs"]["verdict"] == "error"
    return run, steps["gate"]


def test_an_install_that_fails_gives_verdict_error_and_says_so(tmp_path: Path) -> None:
    """No gate, no decision: the outputs say `error` (not empty, which a later `verdict == 'fail'` check would
    read as no failure) and the step summary says the gate could not decide."""
    need("act")
    workspace = copy_project(tmp_path / "workspace")
    run, gate = _failing_gate_step(tmp_path, workspace, "no-install", OLD_PYTHON)
    assert gate["outputs"]["failed-count"] == ""
    assert gate["outputs"]["sarif-file"] == ""
    assert "could not decide" in _gate_summary(run)
    assert any("needs Python 3.10 or newer" in c["arg"] for c in run.commands if c["command"] == "error")


def test_a_python_without_venv_fails_the_step_with_an_error(tmp_path: Path) -> None:
    """python3 is new enough but cannot create the venv (Debian and Ubuntu ship venv apart, as python3-venv):
    an error annotation says so, outside the folded install log, next to Python's own message."""
    need("act")
    workspace = copy_project(tmp_path / "workspace")
    run, _ = _failing_gate_step(tmp_path, workspace, "no-venv", NO_VENV)
    assert "could not be installed" in _gate_summary(run)
    errors = [c["arg"] for c in run.commands if c["command"] == "error"]
    assert len(errors) == 1 and "could not create a virtual environment" in errors[0], errors
    assert "python3-venv" in errors[0] and "actions/setup-python" in errors[0]
    setup_log = run.log[run.log.index("Install container-gate into") :]
    assert setup_log.index("ensurepip is not available") < setup_log.index("::endgroup::")
    assert setup_log.index("::endgroup::") < setup_log.index("could not create a virtual environment")


def test_a_gate_that_pip_cannot_install_fails_the_step_with_an_error(tmp_path: Path) -> None:
    """The pinned dependencies install, the gate itself does not (a broken checkout of the action): the step
    fails with an error annotation that says so, outside the folded install log; the verdict is `error`."""
    need("act")
    need_index()  # the pinned dependencies install from the index before the gate's own install fails
    workspace = copy_project(tmp_path / "workspace")
    (workspace / "pyproject.toml").write_text("[project\n", encoding="utf-8")
    run, _ = _failing_gate_step(tmp_path, workspace, "broken-project")
    assert "could not be installed" in _gate_summary(run)
    errors = [c["arg"] for c in run.commands if c["command"] == "error"]
    assert errors == ["pip could not install the gate from this action's checkout; see its message above"]
    setup_log = run.log[run.log.index("Install container-gate into") :]
    assert setup_log.index("::endgroup::") < setup_log.index("pip could not install the gate")


INSTALL_URL = "https://github.com/your-org/container-gate@<release commit SHA>"
FORK_HEAD = "f0" * 20
FORK_PUSHED = "f1" * 20
NEWER_HEAD = "f2" * 20
OTHER_HEAD = "0b" * 20
GATE_RUN_ID = 4242


class _ForkRepo:
    """A base repository holding both workflows of docs/github.md's "Pull requests from forks", run by act with
    local stand-ins for the remote actions and GitHub's artifact storage in a folder."""

    def __init__(self, tmp_path: Path, fake: FakeGitHub) -> None:
        gate_yml, comment_yml = fork_workflows()
        self.tmp = tmp_path
        self.runs = 0
        # The install line is the only one changed: the doc's placeholder URL (github.com, a commit to fill in)
        # becomes this project as a git repository on disk, at its one commit. pip then does what it does on
        # GitHub: clones it, builds it with flit-core and installs the dependencies, from the index.
        project = copy_project(tmp_path / "container-gate")
        git_commit(project)
        sha = subprocess.run(
            [need("git"), "rev-parse", "HEAD"], cwd=project, env=tool_env(), capture_output=True, text=True,
            check=True, timeout=60,
        ).stdout.strip()  # fmt: skip
        for block in (gate_yml, comment_yml):
            assert block.count(INSTALL_URL) == 1, (
                "each workflow installs the gate once, from the placeholder URL"
            )
        local = f"file://{project}@{sha}"
        self.report = tmp_path / "report.trivy.json"  # what the stand-in scanner gives
        self.store = tmp_path / "artifacts"  # GitHub's artifact storage, shared by the two workflows
        self.artifact = self.store / "container-gate-comment"
        trivy = _stub(
            tmp_path / "trivy-action", "trivy-action", ["image-ref", "format", "output"],
            f'test "$IN_FORMAT" = json\ntest "$IN_IMAGE_REF" = ghcr.io/your-org/app:latest\n'
            f'cp "{self.report}" "$IN_OUTPUT"',
        )  # fmt: skip
        # upload-artifact v4 uploads the paths that exist (one is enough) and replaces nothing of another run;
        # download-artifact v4 with a name extracts its files and folders into `path` (default: workspace).
        upload = _stub(
            tmp_path / "upload-artifact", "upload-artifact", ["name", "path", "retention-days"],
            f'rm -rf "{self.store}/$IN_NAME"\nmkdir -p "{self.store}/$IN_NAME"\n'
            "printf '%s\\n' \"$IN_PATH\" | while read -r file; do\n"
            f'  if [ -n "$file" ] && [ -e "$file" ]; then cp "$file" "{self.store}/$IN_NAME/"; fi\n'
            "done",
        )  # fmt: skip
        download = _stub(
            tmp_path / "download-artifact", "download-artifact", ["name", "path", "run-id", "github-token"],
            f'test "$IN_RUN_ID" = {GATE_RUN_ID}\ntest -n "$IN_GITHUB_TOKEN"\n'
            'mkdir -p "$GITHUB_WORKSPACE/$IN_PATH"\n'
            f'cp -R "{self.store}/$IN_NAME/"* "$GITHUB_WORKSPACE/$IN_PATH/"',
        )  # fmt: skip
        self.workspace = tmp_path / "workspace"
        workflows = self.workspace / ".github" / "workflows"
        workflows.mkdir(parents=True)
        (workflows / "container-gate.yml").write_text(gate_yml.replace(INSTALL_URL, local), encoding="utf-8")
        (workflows / "container-gate-comment.yml").write_text(
            comment_yml.replace(INSTALL_URL, local), encoding="utf-8"
        )
        git_commit(self.workspace)
        trivy_ref = _uses(r"uses: (aquasecurity/trivy-action@\S+)", gate_yml)
        upload_ref = _uses(r"uses: (actions/upload-artifact@\S+)", gate_yml)
        download_ref = _uses(r"uses: (actions/download-artifact@\S+)", comment_yml)
        self.args = [
            "--local-repository", f"{trivy_ref}={trivy}",
            "--local-repository", f"{upload_ref}={upload}",
            "--local-repository", f"{download_ref}={download}",
            "--env", f"GITHUB_API_URL={fake.base}", "--env", "GITHUB_REPOSITORY=acme/web",
        ]  # fmt: skip

    def _act(self, event: str, payload: Mapping[str, object], extra: list[str]) -> ActRun:
        self.runs += 1  # each run in a fresh act cache: a fresh workspace and RUNNER_TEMP, as on GitHub
        path = self.tmp / f"{event}-{self.runs}.json"
        path.write_text(json.dumps(payload), encoding="utf-8")
        return run_act(
            self.workspace,
            self.tmp / f"act-cache-{self.runs}",
            event=event,
            args=["-e", str(path), *extra, *self.args],
        )

    def gate(self, report: str, head: str) -> ActRun:
        """The gate workflow on a fork's pull request #7 at `head`: no secrets, and a token that cannot write."""
        self.report.write_bytes(report.encode() if report.startswith("{") else (DATA / report).read_bytes())
        pr = {
            "number": 7,
            "head": {"sha": head, "ref": "patch-1", "repo": {"full_name": "forker/web", "fork": True}},
            "base": {"ref": "main", "repo": {"full_name": "acme/web"}},
        }
        payload = {
            "action": "synchronize",
            "number": 7,
            "pull_request": pr,
            "repository": {"full_name": "acme/web"},
        }
        return self._act("pull_request", payload, [])

    def comment(self, head: str, conclusion: str, event: str = "pull_request") -> ActRun:
        """The comment workflow on `workflow_run` after the gate's run for `head`, as GitHub sends it for a fork."""
        run = {
            "id": GATE_RUN_ID,
            "name": "container-gate",
            "event": event,
            "status": "completed",
            "conclusion": conclusion,
            "head_sha": head,
            "head_branch": "patch-1",
            "head_repository": {"full_name": "forker/web"},
            "pull_requests": [],  # empty for a fork's pull request
        }
        payload = {"action": "completed", "workflow_run": run, "repository": {"full_name": "acme/web"}}
        return self._act("workflow_run", payload, ["-s", f"GITHUB_TOKEN={TOKEN}"])


def test_the_docs_fork_workflows_post_update_and_refuse_a_forged_number(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """Both workflows of "Pull requests from forks" exactly as docs/github.md has them (the install URL aside):
    the gate on a fork's `pull_request` uploads comment.md and pr-number.txt; the comment workflow, on
    `workflow_run`, downloads them and posts, updates the comment after the next push, and posts nothing when the
    artifact names another pull request or the pull request has moved on. Python modules the fork adds to the
    artifact never run."""
    need("act")
    need_index()  # pip builds the gate from its git repository, with flit-core and the dependencies from the index
    fake = FakeGitHub(base=httpserver.url_for("").rstrip("/"))
    httpserver.expect_request(re.compile(".*")).respond_with_handler(fake)
    repo = _ForkRepo(tmp_path, fake)

    # A failing image: the gate's job fails, and its always() steps still upload the comment and the number.
    first = repo.gate("failing.trivy.json", FORK_HEAD)
    assert first.job_result == "failure", first.log[-4000:]
    assert sorted(p.name for p in repo.artifact.iterdir()) == ["comment.md", "pr-number.txt"]
    assert (repo.artifact / "pr-number.txt").read_text(encoding="utf-8") == "7\n"
    written = (repo.artifact / "comment.md").read_text(encoding="utf-8")
    assert fake.sent == [], "the gate workflow makes no API call"

    # The fork's code can upload anything under the artifact's name: here also modules named like the ones the
    # comment workflow's install runs with `python -m` (venv, pip). Python must never import them.
    ran = tmp_path / "artifact-code-ran"
    for module in ("venv", "pip"):
        (repo.artifact / module).mkdir()
        (repo.artifact / module / "__init__.py").write_text(
            f"open({str(ran)!r}, 'a').close()\n", encoding="utf-8"
        )
        (repo.artifact / module / "__main__.py").write_text("", encoding="utf-8")
    fake.heads = {7: FORK_HEAD, 8: OTHER_HEAD}
    posted = repo.comment(FORK_HEAD, "failure")
    assert not ran.exists(), "the comment workflow ran a module from the fork's artifact"
    assert posted.job_result == "success", posted.log[-4000:]
    assert TOKEN not in posted.log, "the token was printed"
    assert [(s.method, s.path) for s in fake.sent] == [
        ("GET", "/repos/acme/web/pulls/7"),  # its head is the commit the gate's run was for
        ("GET", "/repos/acme/web/issues/7/comments"),
        ("POST", "/repos/acme/web/issues/7/comments"),
    ]
    assert all(s.headers.get("Authorization") == f"Bearer {TOKEN}" for s in fake.sent)
    (created,) = fake.comments[7]
    marker = "<!-- container-gate:container-gate/acme/web -->"
    # The body is the gate's comment.md, its marker line (the key, acme/web) replaced by one under --scope.
    first_line, rest = written.split("\n", 1)
    assert first_line == "<!-- container-gate:acme/web -->"
    assert created["body"].rstrip("\n") == f"{marker}\n{rest}".rstrip("\n")
    assert "container-gate: FAIL" in created["body"]
    assert "CVE-2024-5535" in created["body"]

    # The fork pushes a fix, a clean image: the next pair of runs updates the comment in place.
    fake.sent.clear()
    second = repo.gate("clean.trivy.json", FORK_PUSHED)
    assert second.job_result == "success", second.log[-4000:]
    fake.heads[7] = FORK_PUSHED
    updated = repo.comment(FORK_PUSHED, "success")
    assert updated.job_result == "success", updated.log[-4000:]
    assert [(w.method, w.path) for w in fake.writes()] == [
        ("PATCH", f"/repos/acme/web/issues/comments/{created['id']}")
    ]
    assert fake.comments[7] == [created]
    assert created["body"].startswith(marker + "\n")
    assert "container-gate: PASS" in created["body"]

    # The fork pushed again before the comment workflow ran: this run's comment is stale, the next run posts.
    fake.sent.clear()
    fake.heads[7] = NEWER_HEAD
    stale = repo.comment(FORK_PUSHED, "success")
    assert stale.job_result == "success", stale.log[-4000:]
    assert [(s.method, s.path) for s in fake.sent] == [("GET", "/repos/acme/web/pulls/7")]
    assert "PR comment skipped: pull request #7 is at f2f2f2f2f2f2, not at f1f1f1f1f1f1" in stale.log

    # The fork's code wrote another number into the artifact: pull request 8, whose head is not this run's
    # commit. The gate reads it and posts nothing; the step stays green.
    fake.sent.clear()
    (repo.artifact / "pr-number.txt").write_text("8\n", encoding="utf-8")
    forged = repo.comment(FORK_PUSHED, "success")
    assert forged.job_result == "success", forged.log[-4000:]
    assert [(s.method, s.path) for s in fake.sent] == [("GET", "/repos/acme/web/pulls/8")]
    assert fake.comments.keys() == {7}
    assert "PR comment skipped: pull request #8 is at 0b0b0b0b0b0b, not at f1f1f1f1f1f1" in forged.log
    assert "container-gate: PASS" in created["body"]


def test_the_docs_fork_workflows_skip_the_comment_without_a_decision_or_a_pull_request(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """A gate that could not decide (exit 2) writes no comment.md: the artifact holds the number alone and the
    comment step is skipped. A `workflow_run` after a run that was not for a pull request skips the job."""
    need("act")
    need_index()
    fake = FakeGitHub(base=httpserver.url_for("").rstrip("/"))
    httpserver.expect_request(re.compile(".*")).respond_with_handler(fake)
    repo = _ForkRepo(tmp_path, fake)

    undecided = repo.gate("{not a report", FORK_HEAD)
    assert undecided.job_result == "failure", undecided.log[-4000:]
    assert sorted(p.name for p in repo.artifact.iterdir()) == ["pr-number.txt"]
    fake.heads = {7: FORK_HEAD}
    skipped = repo.comment(FORK_HEAD, "failure")
    assert skipped.job_result == "success", skipped.log[-4000:]
    assert "Run Main Download the comment" in skipped.log
    assert "Run Main Post the comment" not in skipped.log, (
        "hashFiles('container-gate-comment/comment.md') is empty: the step is skipped"
    )
    assert fake.sent == []

    pushed = repo.comment(FORK_HEAD, "success", event="push")
    assert pushed.returncode == 0, pushed.log[-4000:]
    assert "Run Main Download the comment" not in pushed.log, "the job runs after a pull request's run only"
    assert fake.sent == []
