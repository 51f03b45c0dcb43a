"""The sticky MR note against a real HTTP server on loopback, and the dotenv report."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from gate.cli import main
from gate.errors import OutputError
from gate.platform import gitlab
from gate.platform.sticky import marker
from tests.platform.conftest import GITLAB_TOKEN, FakeGitLab

BODY = "<!-- container-gate:registry.example.com/acme/web -->\n## container-gate: FAIL\n"


def _run(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err, env=env)
    assert GITLAB_TOKEN not in out.getvalue() + err.getvalue(), "the token was printed"
    return code, out.getvalue(), err.getvalue()


def _env(base: str, *, iid: str = "5", token: str = GITLAB_TOKEN) -> dict[str, str]:
    return {
        "CI_API_V4_URL": f"{base}/api/v4",
        "CI_PROJECT_ID": "42",
        "CI_MERGE_REQUEST_IID": iid,
        "CI_JOB_URL": "https://gitlab.example/acme/web/-/jobs/77",
        "NOTE_TOKEN": token,
    }


def _argv(tmp_path: Path, text: str = BODY, *extra: str) -> list[str]:
    body = tmp_path / "note.md"
    body.write_text(text, encoding="utf-8")
    return ["comment", "gitlab", "--body", str(body), "--token-env", "NOTE_TOKEN", *extra]


@pytest.fixture
def base(fake_gitlab: FakeGitLab, httpserver: object) -> str:
    return str(httpserver.url_for("")).rstrip("/")  # type: ignore[attr-defined]


def test_creates_the_note(fake_gitlab: FakeGitLab, base: str, tmp_path: Path) -> None:
    code, out, _ = _run(_argv(tmp_path, BODY, "--scope", "pipeline"), _env(base))
    assert code == 0
    assert "note created on merge request !5" in out
    (post,) = fake_gitlab.writes()
    assert post.path == "/api/v4/projects/42/merge_requests/5/notes"
    assert post.headers["Private-Token"] == GITLAB_TOKEN
    assert post.body["body"].startswith(marker("pipeline/registry.example.com/acme/web") + "\n")


def test_updates_the_note_in_place_across_pages(fake_gitlab: FakeGitLab, base: str, tmp_path: Path) -> None:
    for n in range(150):
        fake_gitlab.add(5, f"review comment {n}")
    fake_gitlab.add(5, f"{marker('registry.example.com/acme/web')}\nsystem copy", system=True)
    own = fake_gitlab.add(5, f"{marker('registry.example.com/acme/web')}\nold")
    code, out, _ = _run(_argv(tmp_path), _env(base))
    assert code == 0
    assert "note updated" in out
    (put,) = fake_gitlab.writes()
    assert put.method == "PUT"
    assert put.path == f"/api/v4/projects/42/merge_requests/5/notes/{own}"
    assert [s.query["page"] for s in fake_gitlab.sent if s.method == "GET" and "page" in s.query] == [
        "1",
        "2",
    ]
    assert fake_gitlab.notes[5][-1]["body"] == BODY


def test_a_note_of_another_user_with_the_marker_is_left_alone(
    fake_gitlab: FakeGitLab, base: str, tmp_path: Path
) -> None:
    # Anyone may write the marker in a note, and the bot of an earlier token wrote it in its own: only the
    # author may edit a note, so updating theirs got 403 and the gate's note was never posted or updated.
    tag = marker("registry.example.com/acme/web")
    fake_gitlab.add(5, f"{tag}\nPASS (or so says a reviewer)", author=9)
    code, out, _ = _run(_argv(tmp_path), _env(base))
    assert code == 0
    assert "note created on merge request !5" in out
    own = fake_gitlab.notes[5][-1]
    assert own["author"]["id"] == fake_gitlab.user_id and own["body"] == BODY
    code, out, _ = _run(_argv(tmp_path, BODY + "again\n"), _env(base))
    assert "note updated" in out
    assert [n["body"] for n in fake_gitlab.notes[5]] == [
        f"{tag}\nPASS (or so says a reviewer)",
        BODY + "again\n",
    ]


def test_without_the_tokens_user_a_note_someone_else_wrote_is_passed_over(
    fake_gitlab: FakeGitLab, base: str, tmp_path: Path
) -> None:
    # When GET /user does not answer, whose note is whose is unknown: a note with the marker that GitLab will not
    # let this token edit (403) was taken for the gate's, and the verdict was never posted.
    fake_gitlab.user_unknown = True
    tag = marker("registry.example.com/acme/web")
    fake_gitlab.add(5, f"{tag}\nPASS (or so says a reviewer)", author=9)
    code, out, _ = _run(_argv(tmp_path, BODY, "--update-only"), _env(base))
    assert code == 0 and "no note of this pipeline on merge request !5 to update" in out
    code, out, _ = _run(_argv(tmp_path), _env(base))
    assert code == 0 and "note created on merge request !5" in out
    code, out, _ = _run(_argv(tmp_path, BODY + "again\n"), _env(base))
    assert code == 0 and "note updated on merge request !5" in out
    assert [(n["author"]["id"], n["body"]) for n in fake_gitlab.notes[5]] == [
        (9, f"{tag}\nPASS (or so says a reviewer)"),
        (fake_gitlab.user_id, BODY + "again\n"),
    ]
    fake_gitlab.read_only = True  # a token that may write nothing is still told apart
    code, out, _ = _run(_argv(tmp_path, BODY + "once more\n"), _env(base))
    assert code == 0 and "MR note skipped" in out


def test_job_token_403_skips_and_exit_0(fake_gitlab: FakeGitLab, base: str, tmp_path: Path) -> None:
    fake_gitlab.read_only = True
    code, out, err = _run(_argv(tmp_path), _env(base))
    assert code == 0
    assert "MR note skipped" in out
    assert "$NOTE_TOKEN" in out
    assert err == ""
    assert fake_gitlab.notes == {}


def test_truncates_at_the_note_limit(fake_gitlab: FakeGitLab, base: str, tmp_path: Path) -> None:
    text = BODY + "| row | x |\n" * 100_000
    code, _, _ = _run(_argv(tmp_path, text), _env(base))
    assert code == 0
    sent = fake_gitlab.writes()[0].body["body"]
    assert len(sent) <= gitlab.NOTE_LIMIT
    assert sent.startswith(marker("registry.example.com/acme/web"))
    assert sent.endswith(
        "The full report is in [the job's artifacts](https://gitlab.example/acme/web/-/jobs/77/artifacts/browse)."
    )


@pytest.mark.parametrize("iid", ["", "²", "\u0661\u0662"])  # Unicode digits that int() refuses
def test_not_a_merge_request_pipeline(fake_gitlab: FakeGitLab, base: str, tmp_path: Path, iid: str) -> None:
    code, out, _ = _run(_argv(tmp_path), _env(base, iid=iid))
    assert code == 0
    assert "not a merge request pipeline" in out
    assert fake_gitlab.sent == []


def test_a_next_page_that_is_not_a_plain_number_ends_the_listing(
    fake_gitlab: FakeGitLab, base: str, tmp_path: Path
) -> None:
    fake_gitlab.add(5, "another note")
    fake_gitlab.next_page = "²"
    code, out, _ = _run(_argv(tmp_path), _env(base))
    assert code == 0, out
    assert [write.method for write in fake_gitlab.writes()] == ["POST"]


def test_an_empty_token_variable_skips(fake_gitlab: FakeGitLab, base: str, tmp_path: Path) -> None:
    code, out, _ = _run(_argv(tmp_path), _env(base, token=""))
    assert code == 0
    assert "$NOTE_TOKEN is empty" in out
    assert fake_gitlab.sent == []


def test_a_wrong_token_is_exit_2(fake_gitlab: FakeGitLab, base: str, tmp_path: Path) -> None:
    code, _, err = _run(_argv(tmp_path), _env(base, token="glpat-wrong"))
    assert code == 2
    assert "HTTP 401" in err
    assert "glpat-wrong" not in err


def test_a_list_that_is_not_json_is_one_line_and_exit_2(httpserver: HTTPServer, tmp_path: Path) -> None:
    """A proxy's or sign-in page answering 200, or CI_API_V4_URL set to the web pages: not an internal error."""
    httpserver.expect_request(re.compile(".*")).respond_with_data(
        "<html>Sign in</html>", content_type="text/html"
    )
    base = httpserver.url_for("").rstrip("/")
    code, out, err = _run(_argv(tmp_path), _env(base))
    assert code == 2, out
    assert err == (
        "gate: error: list the notes: the API did not return a JSON list; "
        "check that $CI_API_V4_URL is the API's URL\n"
    )
    assert [r.method for r, _ in httpserver.log] == ["GET", "GET"]  # the token's user, then the notes


# --- dotenv ---------------------------------------------------------------------------------------------


def test_dotenv_from_the_decision_record(tmp_path: Path) -> None:
    record = tmp_path / "decision.json"
    record.write_text(json.dumps({"verdict": "warn", "counts": {"failed": 0, "warned": 2}}), encoding="utf-8")
    target = tmp_path / "gate.env"
    argv = [
        "outputs",
        "gitlab",
        "--decision",
        str(record),
        "--set",
        "GATE_EXIT_CODE=0",
        "--output",
        str(target),
    ]
    code, _, _ = _run(argv, {})
    assert code == 0
    assert target.read_text(encoding="utf-8") == (
        "GATE_VERDICT=warn\nGATE_FAILED_COUNT=0\nGATE_WARNED_COUNT=2\nGATE_EXIT_CODE=0\n"
    )


def test_dotenv_refuses_a_record_with_a_boolean_count(tmp_path: Path) -> None:
    record = tmp_path / "decision.json"
    record.write_text(
        json.dumps({"verdict": "pass", "counts": {"failed": True, "warned": 0}}), encoding="utf-8"
    )
    target = tmp_path / "gate.env"
    code, _, err = _run(["outputs", "gitlab", "--decision", str(record), "--output", str(target)], {})
    assert code == 2
    assert err.count("\n") == 1
    assert "counts.failed must be a whole number, 0 or more (got true)" in err
    assert not target.exists()


@pytest.mark.parametrize("value", ["two words", "a\nb", "'q'", "#x", "$HOME", "back\\slash"])
def test_dotenv_refuses_values_gitlab_cannot_parse(value: str) -> None:
    with pytest.raises(OutputError, match="may not contain"):
        gitlab.dotenv_text({"GATE_X": value})


def test_dotenv_refuses_bad_keys_and_size() -> None:
    with pytest.raises(OutputError, match="dotenv key"):
        gitlab.dotenv_text({"GATE-X": "1"})
    with pytest.raises(OutputError, match="5120 bytes"):
        gitlab.dotenv_text({f"K{n}": "x" * 100 for n in range(60)})


def test_dotenv_refuses_what_gitlab_refuses_the_whole_file_for() -> None:
    # Ci::ParseDotenvArtifactService: a key over 255 characters fails Ci::HasVariable's validation, and more
    # variables than the plan limit (20 unless raised) fail the file; GitLab then refuses the artifact upload.
    with pytest.raises(OutputError, match="at most 255 characters"):
        gitlab.dotenv_text({"K" * 256: "1"})
    assert gitlab.dotenv_text({"K" * 255: "1"}) == "K" * 255 + "=1\n"
    with pytest.raises(OutputError, match="21 variables, over GitLab's default limit of 20"):
        gitlab.dotenv_text({f"K{n}": "1" for n in range(21)})
    assert gitlab.dotenv_text({f"K{n}": "1" for n in range(20)}).count("\n") == 20
