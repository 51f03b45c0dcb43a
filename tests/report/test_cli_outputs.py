"""gate check with every output flag: the files their consumers accept, and the flags' errors."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from gate.cli import main
from tests.conftest import REAL, ROOT, TODAY, need_shared
from tests.report.helpers import github_sarif_problems, schema

REPORT = REAL / "grype" / "defectdojo-grype--many_vulns3.json"
FLAGS = {
    "--sarif": "gate.sarif",
    "--summary": "summary.md",
    "--comment": "comment.md",
    "--junit": "TEST-container-gate.xml",
    "--gitlab-report": "gl-container-scanning-report.json",
    "--codequality": "gl-code-quality-report.json",
    "--json": "decision.json",
}


class Run:
    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        out, err = io.StringIO(), io.StringIO()
        self.code = main(args, stdout=out, stderr=err, env=env or {}, today=TODAY)
        self.out, self.err = out.getvalue(), err.getvalue()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "Dockerfile").write_text(
        "FROM python:3.7 AS build\nRUN pip wheel .\n\nFROM defectdojo/base\nCOPY --from=build /w /w\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_all_outputs_in_one_run_are_accepted(repo: Path) -> None:
    need_shared()
    args = ["check", str(REPORT), "--today", "2026-11-27", "--dockerfile", "docker/Dockerfile"]
    for flag, name in FLAGS.items():
        args += [flag, f"out/{name}"]
    run = Run(args)
    assert run.code == 1, run.err
    out = repo / "out"

    log = json.loads((out / FLAGS["--sarif"]).read_text(encoding="utf-8"))
    sarif_schema = schema("sarif-schema-2.1.0.json")
    assert list(jsonschema.validators.validator_for(sarif_schema)(sarif_schema).iter_errors(log)) == []
    assert github_sarif_problems(log) == []
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]
    }
    lines = {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in log["runs"][0]["results"]}
    assert (uris, lines) == ({"docker/Dockerfile"}, {4})

    report = json.loads((out / FLAGS["--gitlab-report"]).read_text(encoding="utf-8"))
    gitlab_schema = schema("gitlab-container-scanning-report-format-15.2.1.json")
    assert list(jsonschema.Draft7Validator(gitlab_schema).iter_errors(report)) == []
    assert report["version"] == "15.0.7" and len(report["vulnerabilities"]) == 327

    junit = ET.fromstring((out / FLAGS["--junit"]).read_bytes())  # noqa: S314 (our own output)
    assert junit.get("failures") == "1"

    quality = json.loads((out / FLAGS["--codequality"]).read_text(encoding="utf-8"))
    assert {e["location"]["path"] for e in quality} == {"docker/Dockerfile"}

    summary = (out / FLAGS["--summary"]).read_text(encoding="utf-8")
    comment = (out / FLAGS["--comment"]).read_text(encoding="utf-8")
    assert summary.startswith("## ❌ container-gate: FAIL") and len(summary.encode()) < 1_048_576
    assert (
        comment.startswith("<!-- container-gate:defectdojo/defectdojo-django -->\n## ❌")
        and len(comment) <= 65_536
    )

    record = json.loads((out / FLAGS["--json"]).read_text(encoding="utf-8"))
    record_schema = json.loads((ROOT / "docs" / "decision-record.schema.json").read_text(encoding="utf-8"))
    assert list(jsonschema.Draft202012Validator(record_schema).iter_errors(record)) == []
    assert "::error" not in run.out  # not in GitHub Actions: no annotations


def test_annotations_in_github_actions(repo: Path) -> None:
    need_shared()
    run = Run(["check", str(REPORT), "--dockerfile", "docker/Dockerfile"], env={"GITHUB_ACTIONS": "true"})
    lines = run.out.splitlines()
    assert sum(line.startswith("::error file=docker/Dockerfile,line=4,") for line in lines) == 2
    assert sum(line.startswith("::warning file=docker/Dockerfile,line=4,") for line in lines) == 10
    assert lines[-1].startswith("::notice title=container-gate::17 more")
    quiet = Run(["check", str(REPORT), "--comment", "-"], env={"GITHUB_ACTIONS": "true"})
    assert quiet.out.startswith("<!-- container-gate:")
    assert "::error title=" in quiet.err and "::error" not in quiet.out


@pytest.mark.parametrize(
    ("setup", "flag", "message"),
    [
        (None, "missing/Dockerfile", "--dockerfile missing/Dockerfile: no such file"),
        ("RUN echo no base\n", "Dockerfile", "--dockerfile Dockerfile: no FROM instruction found"),
        ("FROM alpine\n", "../outside/Dockerfile", "not under the working directory"),
    ],
)
def test_dockerfile_errors(repo: Path, setup: str | None, flag: str, message: str) -> None:
    need_shared()
    if setup is not None:
        target = repo / flag
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(setup, encoding="utf-8")
    run = Run(["check", str(REPORT), "--dockerfile", flag, "--sarif", "x.sarif"])
    assert run.code == 2
    assert message in run.err
    assert not (repo / "x.sarif").exists()


def test_gitlab_schema_version(repo: Path) -> None:
    need_shared()
    bad = Run(["check", str(REPORT), "--gitlab-report", "gl.json", "--gitlab-schema-version", "15.0"])
    assert bad.code == 2 and "--gitlab-schema-version '15.0' is not a version like 15.0.7" in bad.err
    good = Run(["check", str(REPORT), "--gitlab-report", "gl.json", "--gitlab-schema-version", "15.1.4"])
    assert good.code == 1
    assert json.loads((repo / "gl.json").read_text(encoding="utf-8"))["version"] == "15.1.4"
