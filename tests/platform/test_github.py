"""The sticky PR comment against a real HTTP server on loopback, and the step outputs (heredoc form)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from gate.cli import main
from gate.errors import InputError, OutputError
from gate.platform import github
from gate.platform.sticky import marker, utf16_length
from tests.platform.conftest import TOKEN, FakeGitHub

BODY = (
    "<!-- container-gate:registry.example.com/acme/web -->\n## container-gate: FAIL\n\n2 findings failed.\n"
)
KEY = "image/registry.example.com/acme/web"


def _run(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err, env=env)
    assert TOKEN not in out.getvalue() + err.getvalue(), "the token was printed"
    return code, out.getvalue(), err.getvalue()


def _env(fake: FakeGitHub, tmp_path: Path, *, number: int | None = 7, token: str = TOKEN) -> dict[str, str]:
    event = tmp_path / "event.json"
    payload = (
        {"pull_request": {"number": number, "head": {"repo": {"full_name": "fork/web"}}}} if number else {}
    )
    event.write_text(json.dumps(payload), encoding="utf-8")
    return {
        "GITHUB_API_URL": fake.base,
        "GITHUB_REPOSITORY": fake.repository,
        "GITHUB_EVENT_NAME": "pull_request" if number else "push",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REF": f"refs/pull/{number}/merge" if number else "refs/heads/main",
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_TOKEN": token,
    }


def _body(tmp_path: Path, text: str = BODY) -> str:
    path = tmp_path / "comment.md"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_creates_the_comment_with_the_marker_first(fake_github: FakeGitHub, tmp_path: Path) -> None:
    code, out, _ = _run(
        ["comment", "github", "--body", _body(tmp_path), "--scope", "image"], _env(fake_github, tmp_path)
    )
    assert code == 0
    assert "comment created on pull request #7" in out
    (post,) = fake_github.writes()
    assert post.method == "POST"
    assert post.path == "/repos/acme/web/issues/7/comments"
    assert post.body["body"].splitlines()[0] == marker(KEY)
    assert "2 findings failed." in post.body["body"]
    assert post.headers["Authorization"] == f"Bearer {TOKEN}"
    assert post.headers["X-Github-Api-Version"] == github.API_VERSION
    assert post.headers["Accept"] == "application/vnd.github+json"


def test_updates_its_own_comment_in_place_across_pages(fake_github: FakeGitHub, tmp_path: Path) -> None:
    for n in range(130):
        fake_github.add(7, f"unrelated comment {n}", login=f"user{n}")
    own = fake_github.add(7, f"{marker(KEY)}\nold verdict: FAIL")
    fake_github.add(7, "a later comment")
    env = _env(fake_github, tmp_path)
    code, out, _ = _run(["comment", "github", "--body", _body(tmp_path), "--scope", "image"], env)
    assert code == 0
    assert "comment updated on pull request #7" in out
    (patch,) = fake_github.writes()
    assert patch.method == "PATCH"
    assert patch.path == f"/repos/acme/web/issues/comments/{own}"
    pages = [s.query.get("page", "1") for s in fake_github.sent if s.method == "GET"]
    assert pages == ["1", "2"]
    assert len(fake_github.comments[7]) == 132
    assert fake_github.comments[7][130]["body"].startswith(marker(KEY))
    assert "2 findings failed." in fake_github.comments[7][130]["body"]


def test_a_second_run_changes_nothing_when_the_body_is_the_same(
    fake_github: FakeGitHub, tmp_path: Path
) -> None:
    env = _env(fake_github, tmp_path)
    argv = ["comment", "github", "--body", _body(tmp_path), "--scope", "image"]
    assert _run(argv, env)[0] == 0
    code, out, _ = _run(argv, env)
    assert code == 0
    assert "up to date" in out
    assert [w.method for w in fake_github.writes()] == ["POST"]


def test_a_comment_by_someone_else_with_the_marker_is_left_alone(
    fake_github: FakeGitHub, tmp_path: Path
) -> None:
    other = fake_github.add(7, f"{marker(KEY)}\nplanted by a user", login="mallory")
    code, _, _ = _run(
        ["comment", "github", "--body", _body(tmp_path), "--scope", "image"], _env(fake_github, tmp_path)
    )
    assert code == 0
    assert [w.method for w in fake_github.writes()] == ["POST"]
    assert fake_github._get(other)["body"].endswith("planted by a user")


@pytest.mark.parametrize("login", ["acme-ci-app[bot]", "release-bot-user"])
def test_a_token_of_an_app_or_a_user_updates_its_own_comment(
    fake_github: FakeGitHub, tmp_path: Path, login: str
) -> None:
    # The action's github-token input may be a GitHub App's token (comments as the App's bot) or a personal
    # access token (as its user): the second run updates the first run's comment instead of adding one.
    fake_github.login = login
    planted = fake_github.add(7, f"{marker(KEY)}\nplanted by a user", login="mallory")
    argv = ["comment", "github", "--body", _body(tmp_path), "--scope", "image"]
    env = _env(fake_github, tmp_path)
    assert _run(argv, env)[0] == 0
    assert _run(argv, env)[0] == 0
    mine = [c for c in fake_github.comments[7] if c["user"]["login"] == login]
    assert len(mine) == 1
    assert [w.method for w in fake_github.writes()] == ["POST"]  # the second run found it up to date
    assert fake_github._get(planted)["body"].endswith("planted by a user")


def test_the_workflows_token_asks_no_user_when_its_comment_is_there(
    fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake_github.add(7, f"{marker(KEY)}\nold")
    argv = ["comment", "github", "--body", _body(tmp_path), "--scope", "image"]
    assert _run(argv, _env(fake_github, tmp_path))[0] == 0
    assert [s.path for s in fake_github.sent if s.path == "/user"] == []
    assert [w.method for w in fake_github.writes()] == ["PATCH"]


def test_scopes_keep_one_comment_per_workflow(fake_github: FakeGitHub, tmp_path: Path) -> None:
    env = _env(fake_github, tmp_path)
    body = _body(tmp_path)
    for scope in ("build", "nightly", "build"):
        assert _run(["comment", "github", "--body", body, "--scope", scope], env)[0] == 0
    assert [w.method for w in fake_github.writes()] == ["POST", "POST"]
    assert len(fake_github.comments[7]) == 2


def test_read_only_token_skips_with_a_notice_and_exit_0(fake_github: FakeGitHub, tmp_path: Path) -> None:
    fake_github.read_only = True
    code, out, err = _run(
        ["comment", "github", "--body", _body(tmp_path), "--key", "k"], _env(fake_github, tmp_path)
    )
    assert code == 0
    assert out.startswith("::notice title=container-gate::PR comment skipped")
    assert "HTTP 403" in out
    assert err == ""
    assert fake_github.comments.get(7) is None


def test_truncates_at_the_limit_and_keeps_the_marker(fake_github: FakeGitHub, tmp_path: Path) -> None:
    row = "| CVE-2024-0001 | openssl | 3.0.11 | \U0001f525 critical |\n"
    text = BODY + "```\n" + row * 5000 + "```\n"
    assert utf16_length(text) > github.COMMENT_LIMIT
    code, _, _ = _run(["comment", "github", "--body", _body(tmp_path, text)], _env(fake_github, tmp_path))
    assert code == 0
    (post,) = fake_github.writes()
    sent = post.body["body"]
    assert utf16_length(sent) <= github.COMMENT_LIMIT
    assert utf16_length(sent) > github.COMMENT_LIMIT - 200
    assert sent.startswith(marker("registry.example.com/acme/web") + "\n")
    assert sent.rstrip().endswith(
        "The full report is in [the workflow run's summary](https://github.example/acme/web/actions/runs/4242)."
    )
    assert sent.count("```") % 2 == 0, "the open code fence is closed"


def test_outside_a_pull_request_nothing_is_sent(fake_github: FakeGitHub, tmp_path: Path) -> None:
    code, out, _ = _run(
        ["comment", "github", "--body", _body(tmp_path)], _env(fake_github, tmp_path, number=None)
    )
    assert code == 0
    assert "not a pull request" in out
    assert fake_github.sent == []


def test_no_token_skips_with_a_notice(fake_github: FakeGitHub, tmp_path: Path) -> None:
    code, out, _ = _run(
        ["comment", "github", "--body", _body(tmp_path)], _env(fake_github, tmp_path, token="")
    )
    assert code == 0
    assert out.startswith("::notice ")
    assert fake_github.sent == []


def test_update_only_never_creates(fake_github: FakeGitHub, tmp_path: Path) -> None:
    argv = ["comment", "github", "--body", _body(tmp_path), "--update-only"]
    code, out, _ = _run(argv, _env(fake_github, tmp_path))
    assert code == 0
    assert "to update" in out
    assert fake_github.writes() == []


def test_server_errors_are_exit_2_without_the_token(fake_github: FakeGitHub, tmp_path: Path) -> None:
    fake_github.fail_with = 500
    fake_github.echo_token_in_errors = True
    code, _, err = _run(["comment", "github", "--body", _body(tmp_path)], _env(fake_github, tmp_path))
    assert code == 2
    assert "HTTP 500" in err
    assert "***" in err


def test_a_rejected_token_is_exit_2(fake_github: FakeGitHub, tmp_path: Path) -> None:
    code, _, err = _run(
        ["comment", "github", "--body", _body(tmp_path)], _env(fake_github, tmp_path, token="ghs_wrong")
    )
    assert code == 2
    assert "HTTP 401" in err
    assert "ghs_wrong" not in err


def test_a_token_with_a_line_break_is_refused_without_showing_it(
    fake_github: FakeGitHub, tmp_path: Path
) -> None:
    code, _, err = _run(
        ["comment", "github", "--body", _body(tmp_path)], _env(fake_github, tmp_path, token=TOKEN + "\n")
    )
    assert code == 2
    assert "$GITHUB_TOKEN contains spaces, line breaks" in err
    assert fake_github.sent == []


def test_a_next_link_to_another_host_is_not_followed(fake_github: FakeGitHub, tmp_path: Path) -> None:
    for n in range(101):
        fake_github.add(7, f"c{n}", login="someone")
    env = _env(fake_github, tmp_path)
    fake_github.base = "http://127.0.0.2:9"  # the Link header now points to another host
    code, _, err = _run(["comment", "github", "--body", _body(tmp_path)], env)
    assert code == 2
    assert "another host" in err
    assert all(s.method == "GET" for s in fake_github.sent)


@pytest.mark.parametrize("page", ["<html><body>Sign in</body></html>", '{"message": "not a list"}'])
def test_a_list_that_is_not_json_is_one_line_and_exit_2(
    httpserver: HTTPServer, tmp_path: Path, page: str
) -> None:
    """A proxy's or sign-in page answering 200, or GITHUB_API_URL set to the web pages: not an internal error."""
    httpserver.expect_request(re.compile(".*")).respond_with_data(page, content_type="text/html")
    fake = FakeGitHub(base=httpserver.url_for("").rstrip("/"))
    code, out, err = _run(["comment", "github", "--body", _body(tmp_path)], _env(fake, tmp_path))
    assert code == 2, out
    assert err == (
        "gate: error: list the comments: the API did not return a JSON list; "
        "check that $GITHUB_API_URL is the API's URL\n"
    )
    assert [r.method for r, _ in httpserver.log] == ["GET"]


# --- pull requests from forks: the workflow_run job ----------------------------------------------------------

HEAD = "0123456789abcdef0123456789abcdef01234567"


def _workflow_run_env(
    fake: FakeGitHub, tmp_path: Path, pull_requests: list[int], head_sha: str | None = HEAD
) -> dict[str, str]:
    """The environment of a job `on: workflow_run`, after a run for commit `head_sha`."""
    env = _env(fake, tmp_path, number=None)
    run: dict[str, object] = {"id": 99, "event": "pull_request", "pull_requests": []}
    run["pull_requests"] = [{"number": n, "head": {"sha": head_sha}} for n in pull_requests]
    if head_sha:
        run["head_sha"] = head_sha
    Path(env["GITHUB_EVENT_PATH"]).write_text(json.dumps({"workflow_run": run}), encoding="utf-8")
    return {**env, "GITHUB_EVENT_NAME": "workflow_run"}


def test_pull_request_flag_posts_to_that_pull_request_in_any_run(
    fake_github: FakeGitHub, tmp_path: Path
) -> None:
    argv = ["comment", "github", "--body", _body(tmp_path), "--pull-request", "12"]
    code, out, _ = _run(
        argv, _env(fake_github, tmp_path, number=None)
    )  # a push: no pull request in the event
    assert code == 0
    assert "comment created on pull request #12" in out
    (post,) = fake_github.writes()
    assert post.path == "/repos/acme/web/issues/12/comments"


def test_workflow_run_posts_a_forks_comment_with_the_number_from_the_artifact(
    fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake_github.heads[12] = HEAD
    argv = ["comment", "github", "--body", _body(tmp_path), "--pull-request", "12", "--scope", "image"]
    code, out, _ = _run(argv, _workflow_run_env(fake_github, tmp_path, []))
    assert code == 0
    assert "comment created on pull request #12" in out
    assert fake_github.sent[0].path == "/repos/acme/web/pulls/12"
    (post,) = fake_github.writes()
    assert post.path == "/repos/acme/web/issues/12/comments"
    assert post.body["body"].splitlines()[0] == marker(KEY)


def test_workflow_run_of_a_same_repository_pull_request_needs_no_flag(
    fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake_github.heads[9] = HEAD
    code, out, _ = _run(
        ["comment", "github", "--body", _body(tmp_path)], _workflow_run_env(fake_github, tmp_path, [9, 4])
    )
    assert code == 0
    assert "comment created on pull request #9" in out
    assert [w.path for w in fake_github.writes()] == ["/repos/acme/web/issues/9/comments"]


def test_workflow_run_without_pull_requests_or_flag_posts_nothing(
    fake_github: FakeGitHub, tmp_path: Path
) -> None:
    code, out, err = _run(
        ["comment", "github", "--body", _body(tmp_path)], _workflow_run_env(fake_github, tmp_path, [])
    )
    assert (code, err) == (0, "")
    assert out == "gate: not a pull request run (a fork's pull request: pass --pull-request); no PR comment\n"
    assert fake_github.sent == []


def test_a_number_that_is_not_the_runs_pull_request_gets_no_comment(
    fake_github: FakeGitHub, tmp_path: Path
) -> None:
    # A fork writes the artifact: its number may name another pull request, whose head is another commit (or
    # the run's pull request has been pushed to since, and its own later run will comment).
    fake_github.heads[12] = "f" * 40
    victim = fake_github.add(12, f"{marker(KEY)}\nthe real verdict")
    argv = ["comment", "github", "--body", _body(tmp_path), "--pull-request", "12", "--scope", "image"]
    code, out, _ = _run(argv, _workflow_run_env(fake_github, tmp_path, []))
    assert code == 0
    assert out == (
        f"gate: PR comment skipped: pull request #12 is at {'f' * 12}, not at {HEAD[:12]}, the commit the run "
        "was for (a later push, or a number that is not this run's)\n"
    )
    assert fake_github.writes() == []
    assert [s.path for s in fake_github.sent] == ["/repos/acme/web/pulls/12"]
    assert fake_github._get(victim)["body"].endswith("the real verdict")


def test_a_number_that_is_no_pull_request_is_exit_2(fake_github: FakeGitHub, tmp_path: Path) -> None:
    argv = ["comment", "github", "--body", _body(tmp_path), "--pull-request", "31"]
    code, _, err = _run(argv, _workflow_run_env(fake_github, tmp_path, []))
    assert code == 2
    assert err == "gate: error: read pull request #31: HTTP 404 Not Found\n"
    assert fake_github.writes() == []


def test_a_workflow_run_event_without_its_commit_is_exit_2(fake_github: FakeGitHub, tmp_path: Path) -> None:
    fake_github.heads[12] = HEAD
    argv = ["comment", "github", "--body", _body(tmp_path), "--pull-request", "12"]
    code, _, err = _run(argv, _workflow_run_env(fake_github, tmp_path, [], head_sha=None))
    assert code == 2
    assert "no workflow_run.head_sha" in err
    assert fake_github.sent == []


@pytest.mark.parametrize(
    "value",
    ["0", "-1", "12a", "+12", " 12", "12\n", "1_2", "\u0661\u0662", "\u00b2", "2147483648", "9" * 5000, ""],
)
def test_a_bad_pull_request_number_is_one_line_and_exit_2(
    fake_github: FakeGitHub, tmp_path: Path, value: str
) -> None:
    code, out, err = _run(
        ["comment", "github", "--body", _body(tmp_path), f"--pull-request={value}"],
        _workflow_run_env(fake_github, tmp_path, []),
    )
    assert (code, out) == (2, "")
    assert err.startswith("gate: error: argument --pull-request: ")
    assert "is not a pull request number (1 to 2147483647)" in err
    assert err.count("\n") == 1
    assert len(err) < 200
    assert fake_github.sent == []


def test_the_largest_pull_request_number_is_taken(fake_github: FakeGitHub, tmp_path: Path) -> None:
    argv = ["comment", "github", "--body", _body(tmp_path), "--pull-request", "2147483647"]
    code, out, _ = _run(argv, _env(fake_github, tmp_path, number=None))
    assert code == 0
    assert "pull request #2147483647" in out


def test_gitlab_refuses_the_pull_request_flag(tmp_path: Path) -> None:
    code, _, err = _run(["comment", "gitlab", "--body", _body(tmp_path), "--pull-request", "3"], {})
    assert code == 2
    assert err == (
        "gate: error: --pull-request applies to github; a GitLab merge request pipeline names its merge "
        "request itself (CI_MERGE_REQUEST_IID)\n"
    )


def test_a_body_without_marker_needs_a_key(tmp_path: Path) -> None:
    code, _, err = _run(["comment", "github", "--body", _body(tmp_path, "no marker\n")], {})
    assert code == 2
    assert "pass --key" in err


@pytest.mark.parametrize(
    ("event_name", "event", "ref", "number"),
    [
        ("pull_request", {"pull_request": {"number": 12}}, "", 12),
        ("pull_request_target", {"pull_request": {"number": 3}}, "refs/heads/main", 3),
        ("issue_comment", {"issue": {"number": 9, "pull_request": {"url": "x"}}}, "", 9),
        ("issue_comment", {"issue": {"number": 9}}, "", None),
        ("push", {}, "refs/heads/main", None),
        ("workflow_dispatch", {}, "refs/pull/31/merge", 31),
        (
            "workflow_run",
            {"workflow_run": {"pull_requests": [{"number": 5}, {"number": 6}]}},
            "refs/heads/a",
            5,
        ),
        ("workflow_run", {"workflow_run": {"pull_requests": []}}, "refs/heads/main", None),
        ("workflow_run", {"workflow_run": {"pull_requests": [{"number": "5"}]}}, "", None),
        ("workflow_run", {"workflow_run": {"pull_requests": [{"number": True}]}}, "", None),
        ("workflow_run", {"workflow_run": None}, "", None),
        ("pull_request", {"pull_request": {"number": 0}}, "", None),
        # more digits than a pull request number has (and than int() reads) name none
        ("workflow_dispatch", {}, f"refs/pull/{'1' * 5000}/merge", None),
    ],
)
def test_pull_request_number(event_name: str, event: dict[str, object], ref: str, number: int | None) -> None:
    assert github.pull_request_number(event_name, event, ref) == number


# --- step outputs -------------------------------------------------------------------------------------


def _parse_outputs(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        name, delimiter = line.split("<<", 1)
        collected = []
        for value_line in lines:
            if value_line == delimiter:
                break
            collected.append(value_line)
        values[name] = "\n".join(collected)
    return values


def test_outputs_from_the_decision_record(tmp_path: Path) -> None:
    record = tmp_path / "decision.json"
    record.write_text(json.dumps({"verdict": "fail", "counts": {"failed": 3, "warned": 1}}), encoding="utf-8")
    target = tmp_path / "github_output"
    target.write_text("earlier=1\n", encoding="utf-8")
    argv = ["outputs", "github", "--decision", str(record), "--set", "sarif-file=out dir/x.sarif"]
    code, out, _ = _run(argv, {"GITHUB_OUTPUT": str(target)})
    assert code == 0
    assert "verdict" in out
    text = target.read_text(encoding="utf-8")
    assert text.startswith("earlier=1\n"), "appends, never overwrites"
    assert _parse_outputs(text.removeprefix("earlier=1\n")) == {
        "verdict": "fail",
        "failed-count": "3",
        "warned-count": "1",
        "sarif-file": "out dir/x.sarif",
    }
    delimiters = set(re.findall(r"<<(\S+)", text))
    assert len(delimiters) == 1
    assert re.fullmatch(r"ghadelimiter_[0-9a-f]{32}", delimiters.pop())


def test_each_run_gets_a_new_delimiter(tmp_path: Path) -> None:
    target = tmp_path / "out"
    for _ in range(2):
        assert _run(["outputs", "github", "--set", "verdict=pass", "--output", str(target)], {})[0] == 0
    assert len(set(re.findall(r"<<(\S+)", target.read_text(encoding="utf-8")))) == 2


def test_output_text_refuses_a_value_with_the_delimiter() -> None:
    with pytest.raises(OutputError, match="delimiter"):
        github.output_text({"x": "a\nEOF\nb"}, "EOF")
    with pytest.raises(OutputError, match="output name"):
        github.output_text({"bad name": "a"}, "EOF")
    assert github.output_text({"multi": "a\nb"}, "D") == "multi<<D\na\nb\nD\n"


def test_outputs_refuse_what_is_not_a_decision_record(tmp_path: Path) -> None:
    sarif = tmp_path / "x.sarif"
    sarif.write_text('{"version": "2.1.0", "runs": []}', encoding="utf-8")
    code, _, err = _run(["outputs", "github", "--decision", str(sarif), "--output", str(tmp_path / "o")], {})
    assert code == 2
    assert "not a decision record" in err
    with pytest.raises(InputError):
        github.decision_outputs({"verdict": "maybe", "counts": {}}, "x")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000, encoding="utf-8")  # nested past what json reads: no internal error
    code, _, err = _run(["outputs", "github", "--decision", str(deep), "--output", str(tmp_path / "o")], {})
    assert (code, err) == (2, f"gate: error: {deep}: not JSON; give the file gate check --json wrote\n")


def test_outputs_refuse_json_nested_too_deeply(tmp_path: Path) -> None:
    # json.loads gives up on deep nesting with a RecursionError, which was an internal error here.
    record = tmp_path / "decision.json"
    record.write_text("[" * 100_000, encoding="utf-8")
    code, _, err = _run(["outputs", "github", "--decision", str(record), "--output", str(tmp_path / "o")], {})
    assert code == 2
    assert err.startswith("gate: error: ") and err.count("\n") == 1
    assert "not JSON" in err


def test_outputs_without_github_output_is_a_usage_error() -> None:
    code, _, err = _run(["outputs", "github", "--set", "verdict=pass"], {})
    assert code == 2
    assert "GITHUB_OUTPUT is not set" in err


def test_notice_escapes_the_message() -> None:
    assert github.notice("a\nb%c::d") == "::notice title=container-gate::a%0Ab%25c::d\n"


def test_an_event_file_nested_too_deeply_to_read_is_no_event(fake_github: FakeGitHub, tmp_path: Path) -> None:
    env = _env(fake_github, tmp_path)
    Path(env["GITHUB_EVENT_PATH"]).write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    code, out, err = _run(["comment", "github", "--body", _body(tmp_path), "--scope", "image"], env)
    assert (code, err) == (0, "")  # the pull request's number comes from GITHUB_REF, as for any other event
    assert "comment created on pull request #7" in out
