"""Golden files: each output for a few reports, byte for byte. Regenerate with UPDATE_GOLDEN=1.

UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/report/test_golden.py
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from gate.policy.decision import Decision
from gate.report import annotations as gh_annotations
from gate.report import codequality, gitlab, junit, sarif, summary
from gate.report._common import FileLocation
from tests.conftest import REAL, need_shared
from tests.report.helpers import DATA, decide

GOLDEN = DATA / "golden"
DOCKERFILE = FileLocation(path="docker/Dockerfile", line=3)

RENDERERS: dict[str, Callable[[Decision, FileLocation | None], str]] = {
    "sarif": lambda d, loc: sarif.render(d, location=loc),
    "summary.md": lambda d, loc: summary.render(d),
    "comment.md": lambda d, loc: summary.render_comment(d),
    "junit.xml": lambda d, loc: junit.render(d),
    "gitlab.json": lambda d, loc: gitlab.render(d),
    "codequality.json": lambda d, loc: codequality.render(d, location=loc),
    "annotations.txt": lambda d, loc: gh_annotations.render(d, location=loc),
}
# case -> (report, policy, Dockerfile location or None)
CASES: dict[str, tuple[Path, str, FileLocation | None]] = {
    "alpine-39-waivers": (REAL / "trivy" / "trivy-integ--alpine-39.json", "waivers.toml", DOCKERFILE),
    "grype-check-all-fields": (
        REAL / "grype" / "defectdojo-grype--check_all_fields.json",
        "builtin:default",
        None,
    ),
    "hostile": (DATA / "hostile.trivy.json", "hostile.toml", None),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("output", sorted(RENDERERS))
def test_golden(case: str, output: str) -> None:
    report, policy, location = CASES[case]
    if not report.is_relative_to(DATA):
        need_shared()
    text = RENDERERS[output](decide(report, policy), location)
    golden = GOLDEN / f"{case}.{output}"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8", newline="\n")
    assert golden.is_file(), f"{golden} is missing; run with UPDATE_GOLDEN=1 to write it"
    assert text == golden.read_text(encoding="utf-8"), f"{golden.name} changed; review, then UPDATE_GOLDEN=1"
