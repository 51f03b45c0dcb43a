"""action.yml's run step under bash with a stub gate: how the verdict of the decision record and fail-on decide
the step's exit status, without act or a runner."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.conftest import ROOT

# A stub for $GATE_BIN: `check --json=FILE ...` writes a record with the verdict in $STUB_VERDICT and exits 0
# (as the gate does for pass or warn), its arguments one per line to ./check-args, and a comment body to
# --comment=FILE; any other command (`outputs github`, `comment github`) is written to ./calls, followed by the
# body it posts, and succeeds.
STUB = """#!/usr/bin/env bash
if [ "$1" = check ]; then
  printf '%s\\n' "$@" > check-args
  for arg in "$@"; do
    case "$arg" in
      --json=*) printf '{"verdict": %s}' "$STUB_VERDICT" > "${arg#--json=}" ;;
      --comment=*) printf 'the image comment\\n' > "${arg#--comment=}" ;;
    esac
  done
else
  printf '%s\\n' "$*" >> calls
  for arg in "$@"; do
    case "$arg" in --body=*) cat "${arg#--body=}" >> calls ;; esac
  done
fi
exit 0
"""


def _run_step() -> str:
    yaml = pytest.importorskip("yaml")
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "gate")
    return str(step["run"])


def _run(
    tmp_path: Path, verdict: str, fail_on: str = "fail", **inputs: str
) -> subprocess.CompletedProcess[str]:
    gate = tmp_path / "gate"
    gate.write_text(STUB, encoding="utf-8")
    gate.chmod(gate.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "r.json").write_text("{}", encoding="utf-8")
    env = {
        "PATH": os.environ["PATH"],
        "STUB_VERDICT": json.dumps(verdict),
        "GATE_BIN": str(gate),
        "GATE_PYTHON": sys.executable,
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "GATE_REPORTS": "r.json",
        "GATE_FAIL_ON": fail_on,
        "GATE_COMMENT": "never",
        "GATE_SUMMARY": "false",
        "GATE_ANNOTATIONS": "false",
        "GATE_TOKEN": "",
        **dict.fromkeys(
            ["GATE_POLICY", "GATE_IMAGE_METADATA", "GATE_BASELINE", "GATE_KEV", "GATE_EPSS", "GATE_VEX"], ""
        ),
        "GATE_DOCKERFILE": "",
        "GATE_SARIF_FILE": "",
        "GATE_MATRIX": "null",
        **inputs,
    }
    return subprocess.run(
        ["bash", "-e", "-c", _run_step()], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("verdict", "fail_on", "status"),
    [
        ("pass", "fail", 0),
        ("warn", "fail", 0),
        ("fail", "fail", 1),
        ("pass", "warn", 0),
        ("warn", "warn", 1),
        ("fail", "warn", 1),
        ("pass", "never", 0),
        ("warn", "never", 0),
        ("fail", "never", 0),
    ],
)
def test_fail_on_picks_the_verdicts_that_fail_the_step(
    tmp_path: Path, verdict: str, fail_on: str, status: int
) -> None:
    proc = _run(tmp_path, verdict, fail_on)
    assert proc.returncode == status, proc.stdout + proc.stderr
    assert "::error" not in proc.stdout


@pytest.mark.parametrize("verdict", ["maybe", "error", "PASS", ""])
def test_a_verdict_the_gate_does_not_write_fails_the_step(tmp_path: Path, verdict: str) -> None:
    proc = _run(tmp_path, verdict, "never")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"::error title=container-gate::the decision record's verdict is {verdict}, not" in proc.stdout
    assert (tmp_path / "calls").read_text(encoding="utf-8").startswith("outputs github --set=verdict=error ")


@pytest.mark.parametrize("fail_on", ["fail", "warn", "never"])
def test_an_unknown_verdict_fails_the_step_and_is_named_escaped(tmp_path: Path, fail_on: str) -> None:
    """A record from a later version, or a corrupted one: its verdict is no reason to pass."""
    proc = _run(tmp_path, "maybe\n::notice::100%", fail_on)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    errors = [line for line in proc.stdout.splitlines() if line.startswith("::error")]
    assert errors == [
        "::error title=container-gate::the decision record's verdict is maybe%0A::notice::100%25, "
        "not pass, warn or fail"
    ]
    assert not any(line.startswith("::notice") for line in proc.stdout.splitlines())


def test_an_unknown_fail_on_fails_the_step(tmp_path: Path) -> None:
    proc = _run(tmp_path, "pass", "sometimes")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "::error title=container-gate::fail-on must be fail, warn or never" in proc.stdout


def test_image_metadata_takes_several_paths_and_globs_each_its_own_flag(tmp_path: Path) -> None:
    """One inspect per platform: each file reaches the gate as its own --image-metadata, a glob sorted."""
    for name in ("arm64.config.json", "amd64.config.json"):
        (tmp_path / name).write_text("{}", encoding="utf-8")
    proc = _run(tmp_path, "pass", GATE_IMAGE_METADATA="inspect.json\n*.config.json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    args = (tmp_path / "check-args").read_text(encoding="utf-8").splitlines()
    assert [a for a in args if a.startswith("--image-metadata")] == [
        "--image-metadata=inspect.json",
        "--image-metadata=amd64.config.json",
        "--image-metadata=arm64.config.json",
    ]
    assert args[-2:] == ["--", "r.json"]
    _run(tmp_path, "pass")
    assert not any("--image-metadata" in a for a in (tmp_path / "check-args").read_text().splitlines())


@pytest.mark.parametrize(
    ("sarif", "annotations", "passed"),
    [("gate.sarif", "false", True), ("", "true", True), ("", "false", False)],
)
def test_the_dockerfile_reaches_the_gate_only_where_an_output_points_at_it(
    tmp_path: Path, sarif: str, annotations: str, passed: bool
) -> None:
    # The gate refuses --dockerfile with neither SARIF nor annotations: the input then does nothing.
    proc = _run(
        tmp_path, "pass", GATE_DOCKERFILE="Dockerfile", GATE_SARIF_FILE=sarif, GATE_ANNOTATIONS=annotations
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    args = (tmp_path / "check-args").read_text(encoding="utf-8").splitlines()
    assert ("--dockerfile=Dockerfile" in args) is passed


def test_a_json_module_in_the_checkout_cannot_pick_the_verdict(tmp_path: Path) -> None:
    """The step runs in the pull request's checkout: a json.py there must not be what reads the decision
    record (it would say pass for a failing image)."""
    (tmp_path / "json.py").write_text("def load(_file):\n    return {'verdict': 'pass'}\n", encoding="utf-8")
    proc = _run(tmp_path, "fail")
    assert proc.returncode == 1, proc.stdout + proc.stderr


def _comment(tmp_path: Path, verdict: str, matrix: str) -> str:
    """The calls the step makes to post comments (with their bodies) for a job whose matrix is `matrix`."""
    for leftover in ("calls", "output"):
        (tmp_path / leftover).unlink(missing_ok=True)
    proc = _run(
        tmp_path,
        verdict,
        GATE_COMMENT="always",
        GATE_MATRIX=matrix,
        GITHUB_JOB="gate",
        GITHUB_WORKFLOW="images",
        GITHUB_SERVER_URL="https://github.example",
        GITHUB_REPOSITORY="org/repo",
        GITHUB_RUN_ID="7",
    )
    assert proc.returncode == (0 if verdict == "pass" else 2), proc.stdout + proc.stderr
    calls = (tmp_path / "calls").read_text(encoding="utf-8")
    return calls[calls.index("comment github") :]


def _leg_key(matrix: Mapping[str, object]) -> str:
    return "gate/" + hashlib.sha256(json.dumps(matrix, sort_keys=True).encode()).hexdigest()[:12] + "/error"


def test_without_a_matrix_the_error_comment_is_keyed_by_the_job(tmp_path: Path) -> None:
    posted = _comment(tmp_path, "maybe", "null")
    assert posted.startswith("comment github --scope=images --key=gate/error --body=")
    assert (
        "could not decide (exit code 2) in job `gate`; see the job log: https://github.example/org/repo/"
        in posted
    )


def test_each_job_of_a_matrix_has_its_own_error_comment_named_by_its_values(tmp_path: Path) -> None:
    """The jobs of a matrix share $GITHUB_JOB: one job's error must not overwrite, or be marked decided by,
    another's. The key is a digest of the job's matrix values, so a re-run, or the same values in another order,
    finds the same comment; the values are shown in a code span with anything that could end it replaced."""
    amd64 = {"image": "app`<b>\n", "platform": "linux/amd64", "debug": False}
    posted = _comment(tmp_path, "maybe", json.dumps(amd64, indent=2))
    assert posted.startswith(f"comment github --scope=images --key={_leg_key(amd64)} --body=")
    assert "in job `gate` (`debug=false, image=app??b??, platform=linux/amd64`); see the job log" in posted

    reordered = json.dumps(dict(reversed(list(amd64.items()))))
    assert _comment(tmp_path, "maybe", reordered).startswith(
        f"comment github --scope=images --key={_leg_key(amd64)} "
    )
    arm64 = {**amd64, "platform": "linux/arm64"}
    assert _leg_key(arm64) != _leg_key(amd64)
    assert f"--key={_leg_key(arm64)} " in _comment(tmp_path, "maybe", json.dumps(arm64))


def test_a_matrix_job_that_decides_updates_only_its_own_error_comment(tmp_path: Path) -> None:
    matrix = {"image": "api"}
    posted = _comment(tmp_path, "pass", json.dumps(matrix))
    image_comment, error_update = posted.split("comment github ")[1:]
    assert image_comment.startswith("--scope=images --body=") and "the image comment" in image_comment
    assert error_update.startswith(f"--scope=images --key={_leg_key(matrix)} --body=")
    assert error_update.rstrip().endswith("is up to date.") and "--update-only" in error_update
    assert "A later run of job `gate` (`image=api`) decided after an error" in error_update
