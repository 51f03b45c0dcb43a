"""Report text is attacker-controlled: every output and the log stay inert whatever a report holds.

tests/data/report/hostile.trivy.json carries HTML, Markdown links and images, @mentions, `|`, newlines
followed by `::warning::`, ANSI escapes, NUL and other control bytes, `]]>`, bidi overrides and `##[`
in the image name, IDs, package names, versions, titles, descriptions, targets and waiver text.
"""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gate.cli import main
from tests.conftest import TODAY, need_shared
from tests.report.helpers import DATA, OUTPUT_FILES, github_sarif_problems, schema

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
OUR_LINKS = re.compile(
    r"\]\(https://(nvd\.nist\.gov/vuln/detail|github\.com/advisories|osv\.dev/vulnerability)/[A-Za-z0-9-]+\)"
)
OUR_HTML = re.compile(r"</?details>|</?summary>|<!-- container-gate:[A-Za-z0-9._/+-]+ -->")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("hostile")
    dockerfile = folder / "Dockerfile"
    dockerfile.write_text("FROM alpine:3.19\n", encoding="utf-8")
    args = ["check", str(DATA / "hostile.trivy.json"), "--policy", str(DATA / "hostile.toml")]
    args += ["--today", TODAY.isoformat(), "--dockerfile", str(dockerfile)]
    for flag, name in OUTPUT_FILES.items():
        args += [flag, str(folder / name)]
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        code = main(args, stdout=out, stderr=err, env={"GITHUB_ACTIONS": "true"})
    assert code == 1, err.getvalue()
    found = {flag: (folder / name).read_text(encoding="utf-8") for flag, name in OUTPUT_FILES.items()}
    found["log"] = out.getvalue() + err.getvalue()
    return found


def _markdown_is_inert(text: str) -> None:
    assert not CONTROL.search(text)
    bare = OUR_HTML.sub("", text)
    assert "<" not in bare and ">" not in bare, "raw HTML"
    assert not re.search(r"(?<!\\)!\[", text), "an image"
    assert not re.search(r"(?<!\\)\]\(", OUR_LINKS.sub("", text)), "a link from report text"
    assert not re.search(r"@(?!&#8203;)\w", text), "a mention"
    assert not re.search(
        r"(?i)(?<!&#8203;)(https?:|www\.)//?", OUR_LINKS.sub("", text).replace("https:&#8203;//", "")
    )
    for line in text.splitlines():
        assert not line.startswith("::")
        if line.startswith("|"):
            cells = re.split(r"(?<!\\)\|", line)
            assert cells[0] == "" and cells[-1] == "", line


def test_summary_and_comment(outputs: dict[str, str]) -> None:
    need_shared()
    for flag in ("--summary", "--comment"):
        text = outputs[flag]
        _markdown_is_inert(text)
        # Shown, as text (a zero-width space before the `>`: GitLab would read `script>` as a project reference).
        assert "octocat" in text and "&lt;script&#8203;&gt;" in text


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_sarif(outputs: dict[str, str]) -> None:
    need_shared()
    log = json.loads(outputs["--sarif"])
    document = schema("sarif-schema-2.1.0.json")
    assert [e.message for e in jsonschema.validators.validator_for(document)(document).iter_errors(log)] == []
    assert github_sarif_problems(log) == []
    for text in _strings(log):
        assert not CONTROL.search(text), text
    for rule in log["runs"][0]["tool"]["driver"]["rules"]:
        _markdown_is_inert(rule["help"]["markdown"])


def test_junit(outputs: dict[str, str]) -> None:
    need_shared()
    root = ET.fromstring(outputs["--junit"].encode("utf-8"))  # noqa: S314 (our own output)
    texts = [root.itertext(), *(e.attrib.values() for e in root.iter())]
    for group in texts:
        for text in group:
            assert not CONTROL.search(text)
    assert "]]>" not in outputs["--junit"]


def test_gitlab_reports(outputs: dict[str, str]) -> None:
    need_shared()
    report = json.loads(outputs["--gitlab-report"])
    validator = jsonschema.Draft7Validator(schema("gitlab-container-scanning-report-format-15.2.1.json"))
    assert [e.message for e in validator.iter_errors(report)] == []
    for vulnerability in report["vulnerabilities"]:
        _markdown_is_inert(vulnerability["description"])
        _markdown_is_inert(vulnerability["solution"])
    entries = json.loads(outputs["--codequality"])
    assert entries
    for text in _strings(entries) + _strings(report):
        assert not CONTROL.search(text)
        assert "\n" not in text or text.count("\n\n")  # only the paragraph breaks the gate writes


def test_decision_record(outputs: dict[str, str]) -> None:
    need_shared()
    record = json.loads(outputs["--json"])
    record_schema = json.loads(
        (Path(__file__).resolve().parents[2] / "docs" / "decision-record.schema.json").read_text()
    )
    assert [e.message for e in jsonschema.Draft202012Validator(record_schema).iter_errors(record)] == []


def test_log_and_annotations(outputs: dict[str, str]) -> None:
    need_shared()
    log = outputs["log"]
    assert "\x1b" not in log and "\x00" not in log and "\u202e" not in log
    commands = 0
    for line in log.splitlines():
        assert not line.lstrip().startswith("##"), line
        if line.lstrip().startswith("::"):
            commands += 1
            # only the gate's own annotations; the rest of the line is one escaped message
            assert re.match(r"^::(error|warning|notice) (file=[^:,]+,line=\d+,)?title=[^:,]+::", line), line
            message = line.split("::", 2)[2]
            assert not re.search(
                r"(?<!%0A)::(error|warning|notice|set-output|add-mask)", message.replace(": :", "")
            )
    assert commands == 5  # 2 failing, 3 warnings
    assert "%0A" not in log  # newlines in report text were folded, not smuggled through escapes


def test_no_line_of_an_output_is_a_workflow_command(outputs: dict[str, str]) -> None:
    # Any output can go to stdout (`-`) in a CI job: GitHub's runner reads `::cmd::` at the start of a line
    # and the legacy `##[cmd]` anywhere in one; Azure reads `##vso[cmd]` anywhere.
    need_shared()
    for flag, text in outputs.items():
        if flag == "log":
            continue  # the gate's own annotations; test_log_and_annotations checks the rest
        for line in text.splitlines():
            assert not line.lstrip().startswith("::"), (flag, line)
            assert "##[" not in line and "##vso[" not in line, (flag, line[:200])
