"""Same inputs and --today give byte-identical files, in one process and across processes and hash seeds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gate.report import codequality, gitlab, junit, record, sarif, summary
from tests.conftest import REAL, ROOT, TODAY, need_shared
from tests.report.helpers import DATA, OUTPUT_FILES, decide, fixture_decision, readable_fixtures


@pytest.mark.parametrize("path", readable_fixtures()[::7], ids=lambda p: p.name)
def test_rendering_twice_gives_the_same_text(path: Path) -> None:
    first, second = fixture_decision(path), decide(path)
    for render in (
        sarif.render,
        summary.render,
        summary.render_comment,
        junit.render,
        gitlab.render,
        codequality.render,
        record.render,
    ):
        assert render(first) == render(second)


def _run(folder: Path, seed: str) -> dict[str, bytes]:
    folder.mkdir()
    (folder / "Dockerfile").write_text("FROM alpine:3.19\n", encoding="utf-8")
    args = [
        sys.executable,
        "-m",
        "gate",
        "check",
        str(REAL / "trivy" / "trivy-integ--alpine-39.json"),
        str(DATA / "hostile.trivy.json"),
        "--policy",
        str(DATA / "waivers.toml"),
        "--today",
        TODAY.isoformat(),
        "--dockerfile",
        "Dockerfile",
    ]
    for flag, name in OUTPUT_FILES.items():
        args += [flag, name]
    env = {**os.environ, "PYTHONHASHSEED": seed, "GITHUB_ACTIONS": "true", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(args, cwd=folder, env=env, capture_output=True, check=False)
    assert done.returncode == 1, done.stderr.decode()
    files = {name: (folder / name).read_bytes() for name in OUTPUT_FILES.values()}
    files["stdout"] = done.stdout
    return files


def test_separate_runs_are_byte_identical(tmp_path: Path) -> None:
    need_shared()
    one, two = _run(tmp_path / "one", "1"), _run(tmp_path / "two", "2")
    for name in one:
        assert one[name] == two[name], name
    assert b"::error file=Dockerfile,line=1," in one["stdout"]
