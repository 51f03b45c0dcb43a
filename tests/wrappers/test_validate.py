"""The wrappers validate with real linters: check-jsonschema, zizmor and actionlint (GitHub), check-jsonschema
(GitLab, the pipeline part after the `spec:` header). Each test skips when its tool is not installed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.wrappers._support import (
    DATA,
    fork_workflows,
    need,
    quick_start,
    quick_start_with_dismissal,
    tool_env,
)

pytestmark = pytest.mark.tools

ACTIONS = sorted([ROOT / "action.yml", *(ROOT / "actions").rglob("action.yml")])
EXAMPLES = sorted((ROOT / "actions" / "examples").glob("*.yml"))
OWN_ACTION = re.compile(r"uses: [\w.-]+/container-gate@\S+")


def _run(argv: list[str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=tool_env(), capture_output=True, text=True, timeout=120)


def _fork_workflows(tmp_path: Path) -> list[Path]:
    """The two workflows of docs/github.md's "Pull requests from forks", as files: the gate, the comment."""
    paths = [tmp_path / "fork-gate.yml", tmp_path / "fork-comment.yml"]
    for path, block in zip(paths, fork_workflows(), strict=True):
        path.write_text(block, encoding="utf-8")
    return paths


def _workflows(tmp_path: Path) -> list[Path]:
    """The example workflows plus the docs' quick start (also with the alert dismissal) and fork workflows, as
    files."""
    quick = tmp_path / "quick-start.yml"
    quick.write_text(quick_start("github.md"), encoding="utf-8")
    dismissal = tmp_path / "quick-start-dismissal.yml"
    dismissal.write_text(quick_start_with_dismissal(), encoding="utf-8")
    return [*EXAMPLES, quick, dismissal, *_fork_workflows(tmp_path)]


def test_the_expected_files_exist() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"trivy.yml", "grype.yml", "both-scanners.yml", "matrix.yml", "report-only.yml"} <= names
    assert (ROOT / "gitlab" / "container-gate.yml").is_file()


@pytest.mark.parametrize("action", ACTIONS, ids=[str(p.relative_to(ROOT)) for p in ACTIONS])
def test_action_metadata_matches_the_github_actions_schema(action: Path) -> None:
    tool = need("check-jsonschema")
    proc = _run([tool, "--builtin-schema", "vendor.github-actions", str(action)])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_workflows_match_the_github_workflows_schema(tmp_path: Path) -> None:
    tool = need("check-jsonschema")
    proc = _run([tool, "--builtin-schema", "vendor.github-workflows", *map(str, _workflows(tmp_path))])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_schema_check_catches_a_broken_action(tmp_path: Path) -> None:
    tool = need("check-jsonschema")
    broken = tmp_path / "action.yml"
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    broken.write_text(text.replace("      shell: bash\n", "      shel: bash\n", 1), encoding="utf-8")
    proc = _run([tool, "--builtin-schema", "vendor.github-actions", str(broken)])
    assert proc.returncode != 0


ZIZMOR_FILES = [*ACTIONS, *EXAMPLES, ROOT / "docs" / "github.md"]


@pytest.mark.parametrize("path", ZIZMOR_FILES, ids=[str(p.relative_to(ROOT)) for p in ZIZMOR_FILES])
def test_zizmor_finds_nothing_high(path: Path, tmp_path: Path) -> None:
    """No high finding; `your-org/container-gate@v1` (the placeholder for this action) may be ref-pinned."""
    tool = need("zizmor")
    if path.suffix == ".md":
        path = tmp_path / "quick-start.yml"
        path.write_text(quick_start("github.md"), encoding="utf-8")
    proc = _run([tool, "--offline", "--format", "json", "--config", str(DATA / "zizmor.yml"), str(path)])
    assert proc.stdout.strip().startswith("["), proc.stderr
    high = [
        f"{f['ident']} at line {f['locations'][0]['concrete']['location']['start_point']['row'] + 1}"
        for f in json.loads(proc.stdout)
        if f["determinations"]["severity"] == "High"
    ]
    assert high == []


def test_zizmor_finds_nothing_in_the_alert_dismissal(tmp_path: Path) -> None:
    """The quick start with the upload and dismissal steps of "Waived findings in code scanning": both actions
    pinned by SHA, the token only where the dismissal needs it."""
    path = tmp_path / "dismissal.yml"
    path.write_text(quick_start_with_dismissal(), encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    assert "wait-for-processing: true" in text and "steps.upload.outputs.sarif-id" in text
    assert [f["ident"] for f in _zizmor(path) if f["determinations"]["severity"] == "High"] == []


def _zizmor(path: Path) -> list[dict[str, Any]]:
    proc = _run(
        [need("zizmor"), "--offline", "--format", "json", "--config", str(DATA / "zizmor.yml"), str(path)]
    )
    assert proc.stdout.strip().startswith("["), proc.stderr
    findings: list[dict[str, Any]] = json.loads(proc.stdout)
    return findings


def test_zizmor_finds_nothing_in_the_fork_workflows(tmp_path: Path) -> None:
    """The fork pattern's two workflows have no finding of any severity. The comment workflow's `workflow_run`
    trigger is ignored for `dangerous-triggers` alone, by a comment on that line that the docs explain; without
    it zizmor reports exactly that, so the rest of the audit still runs on the file."""
    gate, comment = _fork_workflows(tmp_path)
    assert [_zizmor(gate), _zizmor(comment)] == [[], []]
    assert "zizmor:" not in gate.read_text(encoding="utf-8")
    text = comment.read_text(encoding="utf-8")
    ignores = re.findall(r"zizmor: ignore\[([^\]]*)\]", text)
    assert ignores == ["dangerous-triggers"]
    assert re.search(r"^  workflow_run:  # zizmor: ignore\[dangerous-triggers\]", text, re.MULTILINE)
    assert "actions/checkout" not in text.replace("# No actions/checkout", "")
    comment.write_text(re.sub(r"  # zizmor: ignore\[.*", "", text), encoding="utf-8")
    assert [f["ident"] for f in _zizmor(comment)] == ["dangerous-triggers"]


def test_zizmor_would_catch_an_input_inside_run(tmp_path: Path) -> None:
    """The audit is live: the same action with `${{ inputs.reports }}` inside `run:` is a finding."""
    tool = need("zizmor")
    action = tmp_path / "action.yml"
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    action.write_text(text.replace('"$GATE_REPORTS"', '"${{ inputs.reports }}"', 1), encoding="utf-8")
    proc = _run([tool, "--offline", "--format", "json", str(action)])
    assert any(f["ident"] == "template-injection" for f in json.loads(proc.stdout))


def test_actionlint_checks_the_workflows_against_this_action(tmp_path: Path) -> None:
    """actionlint on each example and the quick start, with this action as `uses: ./`, so unknown or missing
    inputs and outputs are errors."""
    tool = need("actionlint")
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    shutil.copy2(ROOT / "action.yml", repo / "action.yml")
    for source in _workflows(tmp_path):
        text = OWN_ACTION.sub("uses: ./", source.read_text(encoding="utf-8"))
        (repo / ".github" / "workflows" / source.name).write_text(text, encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, env=tool_env())
    proc = _run([tool, "-oneline"], cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    bad = repo / ".github" / "workflows" / "trivy.yml"
    bad.write_text(bad.read_text(encoding="utf-8").replace("reports: trivy.json", "report: trivy.json"))
    proc = _run([tool, "-oneline"], cwd=repo)
    assert proc.returncode == 1
    assert 'missing input "reports"' in proc.stdout


def _pipeline_part(path: Path) -> str:
    header, sep, pipeline = path.read_text(encoding="utf-8").partition("\n---\n")
    assert sep, f"{path.name} has no spec header"
    assert "spec:" in header
    return pipeline


def test_gitlab_template_matches_the_gitlab_ci_schema(tmp_path: Path) -> None:
    tool = need("check-jsonschema")
    pipeline = tmp_path / "pipeline.yml"
    pipeline.write_text(_pipeline_part(ROOT / "gitlab" / "container-gate.yml"), encoding="utf-8")
    quick = tmp_path / "quick-start.gitlab-ci.yml"
    quick.write_text(quick_start("gitlab.md"), encoding="utf-8")
    proc = _run([tool, "--builtin-schema", "vendor.gitlab-ci", str(pipeline), str(quick)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The examples use `!reference`, which only the gitlab-ci data transform reads.
    examples = [str(p) for p in sorted((ROOT / "gitlab" / "examples").glob("*.yml"))]
    assert examples
    proc = _run([tool, "--builtin-schema", "vendor.gitlab-ci", "--data-transform", "gitlab-ci", *examples])
    assert proc.returncode == 0, proc.stdout + proc.stderr

    broken = tmp_path / "broken.yml"
    broken.write_text(pipeline.read_text(encoding="utf-8").replace("  script:", "  scriptt:", 1))
    assert _run([tool, "--builtin-schema", "vendor.gitlab-ci", str(broken)]).returncode != 0


def test_gitlab_template_pastes_only_safe_inputs_into_scripts() -> None:
    """CI/CD variables override job variables of the same name, so the inputs that decide or run something are
    pasted into the scripts: only those whose `options:` or `regex:` make them safe in a shell, and `install`
    as a script line of its own. Every other input reaches the scripts as a job variable, quoted there."""
    yaml = pytest.importorskip("yaml")

    header, _, _ = (ROOT / "gitlab" / "container-gate.yml").read_text(encoding="utf-8").partition("\n---\n")
    spec = yaml.safe_load(header)["spec"]["inputs"]
    safe = {name for name, field in spec.items() if "options" in field or "regex" in field} - {"install"}
    assert {"fail_on", "comment", "job_prefix", "note_token_variable"} <= safe
    script: list[str] = []
    inside = False
    for line in _pipeline_part(ROOT / "gitlab" / "container-gate.yml").splitlines():
        indent = len(line) - len(line.lstrip())
        if line.strip() == "script:":
            inside = True
            continue
        if inside and line.strip() and indent <= 2:
            inside = False
        if inside:
            script.append(line)
    assert len(script) > 20
    pasted = {m for line in script for m in re.findall(r"\$\[\[ inputs\.(\w+) \]\]", line)}
    assert pasted - {"install"} <= safe
    assert "    - $[[ inputs.install ]]" in script, "install runs as a script line of its own"
    assert [line for line in script if "inputs.install" in line] == ["    - $[[ inputs.install ]]"]
    assert "eval" not in "\n".join(script)
    assert "GATE_FAIL_ON" not in "\n".join(script)


@pytest.mark.parametrize(
    ("result", "code"), [("success", 0), ("failure", 2), ("cancelled", 2), ("skipped", 2)]
)
def test_the_matrix_merge_job_fails_unless_every_gate_job_succeeded(result: str, code: int) -> None:
    """GitHub counts a skipped required check as passing: the merge job runs when a gate job failed
    (`!cancelled()`), and its first step fails unless `needs.gate.result` is success."""
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load(
        (ROOT / "actions" / "examples" / "matrix-merge.yml").read_text(encoding="utf-8")
    )
    merge = workflow["jobs"]["merge"]
    assert merge["needs"] == "gate"
    assert merge["if"].replace(" ", "") == "${{!cancelled()}}"
    first = merge["steps"][0]
    assert first["env"] == {"GATE_RESULT": "${{ needs.gate.result }}"}
    proc = subprocess.run(
        ["bash", "-c", first["run"]],
        env={**tool_env(), "GATE_RESULT": result},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "matrix-merge.yml" in (ROOT / "docs" / "github.md").read_text(encoding="utf-8")
    assert (
        "require the check of the `merge` job"
        in (ROOT / "actions" / "examples" / "matrix-merge.yml").read_text()
    )
