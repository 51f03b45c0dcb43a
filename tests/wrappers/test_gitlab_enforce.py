"""The GitLab include's enforce job script, run by sh on the gate.env files it may find."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

PIPELINE = "4711"


def _enforce_script(fail_on: str) -> str:
    _, jobs = yaml.safe_load_all((ROOT / "gitlab" / "container-gate.yml").read_text(encoding="utf-8"))
    [script] = jobs["$[[ inputs.job_prefix ]]-enforce"]["script"]
    assert isinstance(script, str)
    return script.replace("$[[ inputs.job_prefix ]]", "cg").replace("$[[ inputs.fail_on ]]", fail_on)


def _enforce(tmp_path: Path, env_file: str | None, fail_on: str = "fail") -> tuple[int, str]:
    if env_file is not None:
        (tmp_path / "cg").mkdir()
        (tmp_path / "cg" / "gate.env").write_text(env_file, encoding="utf-8")
    proc = subprocess.run(
        ["sh", "-c", _enforce_script(fail_on)],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "CI_PIPELINE_ID": PIPELINE, "GATE_VERDICT": "pass"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    return proc.returncode, proc.stdout + proc.stderr


def _env_file(verdict: str, pipeline: str | None = PIPELINE) -> str:
    lines = [f"GATE_VERDICT={verdict}", "GATE_FAILED_COUNT=0", "GATE_WARNED_COUNT=0", "GATE_EXIT_CODE=0"]
    return "\n".join(lines + ([f"GATE_PIPELINE_ID={pipeline}"] if pipeline is not None else [])) + "\n"


@pytest.mark.parametrize(
    ("verdict", "fail_on", "expected"),
    [
        ("pass", "fail", 0),
        ("warn", "fail", 0),
        ("warn", "warn", 1),
        ("fail", "fail", 1),
        ("fail", "never", 0),
    ],
)
def test_this_pipelines_verdict_decides(tmp_path: Path, verdict: str, fail_on: str, expected: int) -> None:
    code, _ = _enforce(tmp_path, _env_file(verdict), fail_on)
    assert code == expected


@pytest.mark.parametrize("pipeline", ["4710", None], ids=["an-earlier-pipeline", "no-pipeline-id"])
def test_a_gate_env_another_pipeline_left_does_not_pass(tmp_path: Path, pipeline: str | None) -> None:
    # The enforce job does not fetch the repository: its build folder may hold an earlier pipeline's files.
    code, log = _enforce(tmp_path, _env_file("pass", pipeline), "never")
    assert code == 2
    assert f"cg/gate.env is from pipeline {pipeline or 'unknown'}, not this one ({PIPELINE})" in log
    assert "verdict stale: ? failing, ? warning" in log  # not the counts of the other pipeline's file
    assert "the gate could not decide (exit code unknown)" in log


def test_no_gate_env_fails_even_with_a_gate_verdict_variable(tmp_path: Path) -> None:
    code, log = _enforce(tmp_path, None)
    assert code == 2
    assert "verdict missing" in log
