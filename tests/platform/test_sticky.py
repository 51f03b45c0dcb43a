"""The marker and the length limit shared by the PR comment and the MR note."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.errors import InputError, OutputError
from gate.platform import github, gitlab
from gate.platform.sticky import (
    body_key,
    clean_key,
    decision_counts,
    fit,
    marker,
    same_origin,
    utf16_length,
    with_key,
)
from gate.report import _text


@given(st.text())
def test_a_key_cannot_end_the_html_comment(text: str) -> None:
    key = clean_key(text)
    assert key
    assert "--" not in key
    assert ">" not in key
    assert len(key) <= 200
    assert body_key(marker(text) + "\nbody") == key


def test_with_key_replaces_every_marker_line() -> None:
    body = "<!-- container-gate:a -->\ntext\n<!-- container-gate:b -->\nmore\n"
    assert with_key(body, "wf/a") == "<!-- container-gate:wf/a -->\ntext\nmore\n"
    assert body_key("no marker") is None
    assert body_key("x\r\n<!-- container-gate:k -->\r\n") == "k"


def test_with_key_leaves_no_other_keys_marker_inside_a_line() -> None:
    # A hand-written body (a fork's artifact) must not carry another key's marker: the comment would be the one
    # that key's next run finds and updates, leaving that key's own comment stale.
    body = "<!-- container-gate:a -->\nPASS x <!-- container-gate:b --> y\n"
    posted = with_key(body, "a")
    assert posted == "<!-- container-gate:a -->\nPASS x &lt;!-- container-gate:b --> y\n"
    assert marker("b") not in posted
    assert posted.count("<!-- container-gate:") == 1


@given(st.text(min_size=0, max_size=3000), st.integers(min_value=120, max_value=2000))
def test_fit_never_exceeds_the_limit(text: str, limit: int) -> None:
    body = marker("k") + "\n" + text
    fitted = fit(body, limit, "cut here")
    assert utf16_length(fitted) <= limit
    if utf16_length(body) <= limit:
        assert fitted == body
    else:
        assert fitted.endswith("cut here")
        assert fitted.startswith(marker("k"))


def test_fit_closes_a_fold_the_cut_left_open() -> None:
    # Cut inside a folded table, the note was folded away with it (and the fold never closed).
    rows = "".join(f"| CVE-2024-{n:04} | pkg | 1.0 |\n" for n in range(400))
    body = f"{marker('k')}\n## FAIL\n\n<details><summary>400 more</summary>\n\n{rows}\n</details>\n"
    fitted = fit(body, 2000, "**Cut.**")
    assert utf16_length(fitted) <= 2000
    assert fitted.endswith("| pkg | 1.0 |\n\n</details>\n\n**Cut.**")
    assert fitted.count("<details>") == fitted.count("</details>") == 1


def test_fit_counts_utf16_units() -> None:
    assert utf16_length("a\U0001f600") == 3
    assert utf16_length is _text.utf16_length  # one measure: the comment renderer's too
    body = "\U0001f600" * 60
    fitted = fit(body, 100, "n")
    assert utf16_length(fitted) <= 100
    assert len(fitted) < 50


def test_fit_without_room_is_an_error() -> None:
    with pytest.raises(OutputError, match="no room"):
        fit("x" * 100, 10, "a long note that does not fit")


def test_same_origin() -> None:
    assert same_origin("https://api.github.com/repos/a/b?page=2", "https://api.github.com")
    assert not same_origin("https://api.github.com.evil.example/x", "https://api.github.com")
    assert not same_origin("http://api.github.com/x", "https://api.github.com")


def test_both_platforms_read_a_decision_record_alike() -> None:
    record = {"verdict": "warn", "counts": {"failed": 0, "warned": 3}}
    assert decision_counts(record, "r.json") == ("warn", 0, 3)
    assert github.decision_outputs(record, "r.json") == {
        "verdict": "warn",
        "failed-count": "0",
        "warned-count": "3",
    }
    assert gitlab.decision_variables(record, "r.json") == {
        "GATE_VERDICT": "warn",
        "GATE_FAILED_COUNT": "0",
        "GATE_WARNED_COUNT": "3",
    }
    bad_records: list[tuple[dict[str, Any], str]] = [
        ({"verdict": "maybe", "counts": {}}, "write one with gate check --json"),
        ({"verdict": "pass"}, "write one with gate check --json"),
        (
            {"verdict": "pass", "counts": {"failed": 1}},
            "counts.failed / counts.warned missing; write one with gate check --json",
        ),
    ]
    for bad, why in bad_records:
        for read in (decision_counts, github.decision_outputs, gitlab.decision_variables):
            with pytest.raises(InputError, match=rf"^r\.json: not a decision record \({re.escape(why)}\)$"):
                read(bad, "r.json")


@pytest.mark.parametrize(
    ("counts", "why"),
    [
        ({"failed": True, "warned": 0}, "counts.failed must be a whole number, 0 or more (got true)"),
        ({"failed": 0, "warned": -1}, "counts.warned must be a whole number, 0 or more (got -1)"),
        ({"failed": 1.0, "warned": 0}, "counts.failed must be a whole number, 0 or more (got 1.0)"),
        ({"failed": "3", "warned": 0}, "counts.failed must be a whole number, 0 or more (got '3')"),
    ],
)
def test_a_count_that_gate_check_never_writes_is_refused(counts: dict[str, Any], why: str) -> None:
    # A hand-edited record must not put "True" or "-1" into a step output or dotenv variable.
    record = {"verdict": "fail", "counts": counts}
    with pytest.raises(
        InputError, match=rf"^r\.json: {re.escape(why)}; write the record again with gate check"
    ):
        decision_counts(record, "r.json")


@pytest.mark.parametrize(
    ("error", "why"),
    [
        (
            "ConnectionError",
            "cannot resolve the host name api.example.invalid; check the network and the API URL",
        ),
        ("ConnectTimeout", "no answer from api.example.invalid within 30 seconds; check the network"),
        ("SSLError", "the TLS connection to api.example.invalid failed (is a proxy's certificate missing?)"),
        ("ChunkedEncodingError", "the request to api.example.invalid failed; check the network"),
    ],
)
def test_a_network_failure_is_said_in_words_not_as_a_python_exception(error: str, why: str) -> None:
    import requests

    from gate.platform.sticky import request

    class Failing(requests.Session):
        def request(self, *args: Any, **kwargs: Any) -> Any:
            raise getattr(requests.exceptions, error)(
                "HTTPSConnectionPool(host='api.example.invalid', port=443): Max retries exceeded with url: /x "
                "(Caused by NameResolutionError(\"Failed to resolve 'api.example.invalid'\"))"
            )

    with pytest.raises(OutputError) as caught:
        request(
            Failing(), "GET", "https://api.example.invalid/x", headers={}, secret="s3cr3t-token", what="list"
        )
    assert str(caught.value).startswith(f"list: {why}")
    assert "Pool" not in str(caught.value) and error not in str(caught.value)


@pytest.mark.parametrize(("verdict", "failed", "warned"), [("pass", 2, 0), ("pass", 0, 1), ("warn", 1, 3)])
def test_a_verdict_its_counts_contradict_is_refused(verdict: str, failed: int, warned: int) -> None:
    # A failed violation fails the verdict and a warned one warns it: "pass" with 2 failed is an edited record,
    # and its outputs (verdict=pass, failed-count=2) would let GitLab's enforce job pass a failing image.
    record = {"verdict": verdict, "counts": {"failed": failed, "warned": warned}}
    for read in (decision_counts, github.decision_outputs, gitlab.decision_variables):
        with pytest.raises(
            InputError, match=rf"^r\.json: the verdict is {verdict} but counts\.failed is {failed}"
        ):
            read(record, "r.json")


def test_an_answer_nested_too_deeply_to_read_is_not_json() -> None:
    import requests

    from gate.platform.sticky import json_field, json_list

    response = requests.Response()
    response.status_code = 200
    response._content = b"[" * 100_000 + b"]" * 100_000
    assert json_field(response, "id") is None
    with pytest.raises(OutputError, match=r"^list: the API did not return a JSON list"):
        json_list(response, "list", "GITHUB_API_URL")
