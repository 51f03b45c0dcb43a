"""Reading a decision record back (gate merge): a damaged one is refused in JSON's words, never Python's."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from gate.errors import InputError
from gate.ingest import read_report
from gate.model import Image, ReportTimes, Scan
from gate.policy.engine import evaluate
from gate.policy.schema import load_policy
from gate.report.record import load_record, render
from tests.conftest import TESTDATA, TODAY, write_policy


def _record() -> dict[str, Any]:
    path = TESTDATA / "reports" / "trivy-fail.json"
    scan = read_report(str(path), path.read_bytes())
    data: dict[str, Any] = json.loads(render(evaluate(scan, load_policy("builtin:default"), today=TODAY)))
    return data


def _images(data: dict[str, Any], value: object) -> None:
    data["images"] = value


def _outcome(data: dict[str, Any], value: object) -> None:
    data["images"][0]["outcomes"][0] = value


def _outcomes(data: dict[str, Any], value: object) -> None:
    data["images"][0]["outcomes"] = value


def _action(data: dict[str, Any], value: object) -> None:
    data["images"][0]["rules"][0]["action"] = value


def _today(data: dict[str, Any], value: object) -> None:
    data["today"] = value


@pytest.mark.parametrize(
    ("damage", "value", "words"),
    [
        (_images, "x", "images: expected an array of objects"),
        (_images, ["x"], "images: expected an array of objects"),
        (_outcome, 5, "a value has the wrong JSON type"),
        (_outcomes, "x", "a value has the wrong JSON type"),
        (_action, "block", "'block' is not a valid action"),
        (_today, "yesterday", "today: expected a date (YYYY-MM-DD)"),
    ],
)
def test_a_damaged_record_says_what_is_wrong_in_json_words(damage: Any, value: object, words: str) -> None:
    data = _record()
    damage(data, value)
    with pytest.raises(InputError) as info:
        load_record(json.dumps(data), "d.json")
    message = str(info.value)
    assert message.startswith("d.json: the decision record is incomplete or damaged: ")
    assert words in message
    assert message.endswith("; write it again with gate check --json")
    for python in ("subscriptable", "indices", "Action", "Verdict", "Input should", "outcomes'"):
        assert python not in message


def test_a_record_without_a_section_names_it() -> None:
    data = _record()
    del data["today"]
    with pytest.raises(InputError, match=r"'today' is missing \(it may come from an older gate\); write it"):
        load_record(json.dumps(data), "d.json")


@pytest.mark.parametrize("text", ["", " \n"])
def test_an_empty_record_is_named_empty_not_a_json_parser_message(text: str) -> None:
    with pytest.raises(InputError) as info:
        load_record(text, "d.json")
    assert (
        str(info.value)
        == "d.json: the decision record is empty; check that the job's gate check --json finished"
    )


def test_violations_without_a_finding_say_what_they_are_about(tmp_path: Path) -> None:
    """An image check is `image`, a built-in waiver rule's violation `waiver`, a stale report `report`; a
    policy rule whose ID merely starts with `waiver-` is still an image check."""
    made = datetime(2026, 10, 1, tzinfo=timezone.utc)
    scan = Scan(
        source="trivy.json",
        scanner="trivy",
        artifact="app:1",
        image=Image(reference="app:1", config_known=True, user="root"),
        times=(ReportTimes(source="trivy.json", scanner="trivy", created=made),),
    )
    policy = write_policy(
        tmp_path,
        '[settings]\nmax_report_age_days = 7\n[[rules]]\nid = "waiver-free-base"\naction = "fail"\n'
        'image = { user = "non-root" }\n[[waivers]]\nid = "CVE-2020-1"\nreason = "r"\nexpires = 2026-01-01\n',
    )
    record = json.loads(render(evaluate(scan, load_policy(str(policy)), today=TODAY)))
    kinds = {(v["rule"], v["id"]): v["kind"] for v in record["violations"]}
    assert kinds == {
        ("waiver-free-base", "non-root-user"): "image",
        ("waiver-expired", "CVE-2020-1"): "waiver",
        ("stale-report", "report-age"): "report",
    }
