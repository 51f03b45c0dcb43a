"""docs/ci.md: its shell commands run as written (exit codes and JUnit), its CI files match their schemas."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.wrappers._support import DATA, need, tool_env

DOC = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
VENV = Path(sys.executable).parent.parent  # the environment running the tests has the gate installed


def _blocks(language: str, text: str = DOC) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)


def _commands() -> list[str]:
    section = DOC[DOC.index("## The commands") : DOC.index("## Jenkins")]
    blocks = _blocks("sh", section)
    assert len(blocks) == 3, "the install-and-check block, fail-on-warn and report-only"
    return blocks


def _run(script: str, tmp_path: Path, report: str | None) -> tuple[int, Path]:
    """Run `script` without its install line, with .gate pointing at an installed gate."""
    # Both spellings (python3 in the commands, python in CircleCI): the install line must never run here, where
    # .gate is a link to the environment running the tests.
    script = "\n".join(line for line in script.splitlines() if not re.match(r"python3? -I -m venv ", line))
    (tmp_path / ".gate").symlink_to(VENV, target_is_directory=True)
    if report:
        shutil.copy2(DATA / f"{report}.trivy.json", tmp_path / "trivy.json")
    proc = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=tool_env(), capture_output=True, timeout=120
    )
    return proc.returncode, tmp_path / "container-gate-junit.xml"


@pytest.mark.parametrize(
    ("mode", "report", "expected"),
    [
        (0, "clean", 0),
        (0, "warning", 0),
        (0, "failing", 1),
        (0, None, 2),
        (1, "clean", 0),
        (1, "warning", 1),
        (1, "failing", 1),
        (1, None, 2),
        (2, "clean", 0),
        (2, "warning", 0),
        (2, "failing", 0),
        (2, None, 1),
    ],
)
def test_the_documented_commands_give_the_documented_exit_codes(
    tmp_path: Path, mode: int, report: str | None, expected: int
) -> None:
    code, junit = _run(_commands()[mode], tmp_path, report)
    assert code == expected
    if report:
        failures = re.search(r'<testsuites [^>]*failures="(\d+)"', junit.read_text(encoding="utf-8"))
        assert failures
        assert failures.group(1) == ("1" if report == "failing" else "0")
    else:
        assert not junit.exists()


def test_a_json_module_in_the_checkout_cannot_pass_a_warning(tmp_path: Path) -> None:
    # The fail-on-warn line imports json with the checkout as the working directory: isolated, it is the
    # standard library's, not a json.py the change under test adds.
    (tmp_path / "json.py").write_text("raise SystemExit(0)\n", encoding="utf-8")
    code, _ = _run(_commands()[1], tmp_path, "warning")
    assert code == 1


def test_every_documented_install_runs_python_isolated() -> None:
    installs = re.findall(r"^.*-m venv .*$", DOC, re.MULTILINE)
    assert len(installs) == 4
    assert all(
        re.search(r"python3? -I -m venv \.gate && \.gate/bin/python -I -m pip ", line) for line in installs
    )


@pytest.mark.parametrize(("report", "expected"), [("clean", 0), ("failing", 1), (None, 2)])
def test_the_circleci_steps_record_and_enforce_the_exit_code(
    tmp_path: Path, report: str | None, expected: int
) -> None:
    circleci = _blocks("yaml", DOC[DOC.index("## CircleCI") :])[0]
    gate = re.search(r"name: Gate the image\n\s+command: \|\n((?: {12}.*\n)+)", circleci)
    enforce = re.search(r"name: Enforce the verdict\n\s+command: (.*)\n", circleci)
    assert gate
    assert enforce
    code, _ = _run(textwrap.dedent(gate.group(1)), tmp_path, report)
    assert code == 0, "the gate step itself always succeeds so store_test_results runs"
    assert (tmp_path / "container-gate.exit").read_text().strip() == str(expected)
    if report:
        assert (tmp_path / "test-results" / "container-gate" / "junit.xml").is_file()
    proc = subprocess.run(["bash", "-c", enforce.group(1)], cwd=tmp_path, capture_output=True, timeout=30)
    assert proc.returncode == expected


@pytest.mark.tools
@pytest.mark.parametrize(
    ("heading", "schema"), [("## Azure", "azure-pipelines"), ("## CircleCI", "circle-ci")]
)
def test_the_ci_files_match_their_schemas(tmp_path: Path, heading: str, schema: str) -> None:
    tool = need("check-jsonschema")
    path = tmp_path / "ci.yml"
    path.write_text(_blocks("yaml", DOC[DOC.index(heading) :])[0], encoding="utf-8")
    proc = subprocess.run(
        [tool, "--regex-variant", "python", "--builtin-schema", f"vendor.{schema}", str(path)],
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
