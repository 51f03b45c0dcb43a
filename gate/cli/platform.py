"""`gate comment` and `gate outputs`: what the GitHub Action and the GitLab include call after gate check."""

from __future__ import annotations

import argparse
import contextlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from gate.cli._common import ExitCode, UsageError
from gate.cli._io import read_input
from gate.errors import short_value
from gate.words import whole_number

if TYPE_CHECKING:
    from gate.cli._common import Parser

__all__ = ["add_platform_commands", "run_platform"]


def add_platform_commands(sub: argparse._SubParsersAction[Parser]) -> None:
    """`gate comment` and `gate outputs`: what the GitHub Action and the GitLab include call."""
    comment = sub.add_parser(
        "comment",
        help="create or update the pull-request comment (GitHub) or merge-request note (GitLab)",
        description=(
            "Post the body that gate check --comment wrote as one comment per key, found again by its hidden "
            "marker line and updated in place. Reads the platform's CI variables (GITHUB_*, CI_*). A token "
            "that may not write (HTTP 403: fork or Dependabot pull request, CI_JOB_TOKEN), a missing token or a "
            "run outside a pull/merge request skips the comment with a notice and exit 0. A fork's pull request is "
            "commented on from a workflow_run job with --pull-request (docs/github.md)."
        ),
        epilog="Exit codes: 0 posted, updated or skipped; 2 usage, input or API error.",
    )
    comment.add_argument("platform", choices=("github", "gitlab"), help="where to post")
    comment.add_argument(
        "--body",
        required=True,
        metavar="FILE",
        help="the comment body (gate check --comment); '-' reads stdin",
    )
    comment.add_argument(
        "--key", help="the comment's key (default: the body's <!-- container-gate:KEY --> line)"
    )
    comment.add_argument(
        "--scope", help="prefix the key, e.g. with the workflow name, so each workflow keeps its own comment"
    )
    comment.add_argument(
        "--update-only", action="store_true", help="update an existing comment, never create one"
    )
    comment.add_argument(
        "--token-env",
        metavar="NAME",
        help="environment variable that holds the token (default: GITHUB_TOKEN; GitLab: GATE_GITLAB_TOKEN)",
    )
    comment.add_argument(
        "--author",
        metavar="LOGIN",
        help="GitHub: update only a comment by LOGIN (default: the token's own; '' for anyone's)",
    )
    comment.add_argument(
        "--pull-request",
        metavar="N",
        type=_pull_request,
        help="GitHub: comment on pull request N whatever the event; in a workflow_run job (a fork's pull request, "
        "N from the gate run's artifact) only when its head is the commit that run gated",
    )
    comment.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)

    outputs = sub.add_parser(
        "outputs",
        help="write GitHub step outputs or a GitLab dotenv report from a decision record",
        description=(
            "GitHub: append verdict, failed-count and warned-count (heredoc form, random delimiter) to "
            "$GITHUB_OUTPUT. GitLab: write GATE_VERDICT, GATE_FAILED_COUNT and GATE_WARNED_COUNT as a dotenv "
            "report for the enforce job."
        ),
        epilog="Exit codes: 0 written; 2 usage, input or output error.",
    )
    outputs.add_argument("platform", choices=("github", "gitlab"), help="which format")
    outputs.add_argument("--decision", metavar="FILE", help="the decision record (gate check --json)")
    outputs.add_argument(
        "--set",
        dest="values",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="add or override one value (repeatable)",
    )
    outputs.add_argument(
        "--output",
        metavar="PATH",
        help="GitHub: file to append to (default: $GITHUB_OUTPUT); GitLab: dotenv file (default: container-gate.env)",
    )
    outputs.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


_MAX_NUMBER = 2**31 - 1  # GitHub's issue and pull request numbers are 32-bit


def _pull_request(text: str) -> int:
    """A pull request number: ASCII digits only, from 1 to 2**31 - 1 (it may come from a fork's artifact)."""
    if not re.fullmatch(r"[0-9]{1,10}", text) or not 1 <= int(text) <= _MAX_NUMBER:
        shown = repr(text) if len(text) <= 24 else f"{text[:20]!r}... ({len(text)} characters)"
        raise argparse.ArgumentTypeError(f"{shown} is not a pull request number (1 to {_MAX_NUMBER})")
    return int(text)


def run_platform(args: argparse.Namespace, out: TextIO, stdin: TextIO, env: Mapping[str, str]) -> int:
    """`gate comment` and `gate outputs`: return the exit code.

    Raises UsageError for bad flags or a missing CI variable, InputError for a bad body or record, OutputError
    when the API or the output file fails.
    """
    if args.command == "outputs":
        return _outputs(args, out, stdin, env)
    if args.platform == "gitlab" and args.pull_request is not None:
        raise UsageError(
            "--pull-request applies to github; a GitLab merge request pipeline names its merge request itself "
            "(CI_MERGE_REQUEST_IID)"
        )
    from gate.errors import InputError
    from gate.platform import sticky

    source = "<stdin>" if args.body == "-" else args.body
    text = read_input(args.body, "comment body", stdin=stdin).decode("utf-8", "replace")
    key = args.key or sticky.body_key(text)
    if key is None:
        raise InputError(
            f"{source}: no '<!-- container-gate:KEY -->' line; write the body with gate check --comment "
            "or pass --key"
        )
    if args.scope:
        key = f"{args.scope}/{key}"
    body = sticky.with_key(text, key)
    if args.platform == "github":
        return _comment_github(args, body, out, env)
    return _comment_gitlab(args, body, out, env)


def _comment_github(args: argparse.Namespace, body: str, out: TextIO, env: Mapping[str, str]) -> int:
    import json

    from gate.platform import github, sticky

    event: object = {}
    event_path = env.get("GITHUB_EVENT_PATH", "")
    if event_path:
        with contextlib.suppress(OSError, ValueError, RecursionError):  # unreadable: no event to read
            event = json.loads(Path(event_path).read_bytes())
    event_name, payload = env.get("GITHUB_EVENT_NAME", ""), event if isinstance(event, dict) else {}
    number = args.pull_request or github.pull_request_number(event_name, payload, env.get("GITHUB_REF", ""))
    if number is None:
        hint = " (a fork's pull request: pass --pull-request)" if event_name == "workflow_run" else ""
        out.write(f"gate: not a pull request run{hint}; no PR comment\n")
        return ExitCode.PASS
    token_variable = args.token_env or "GITHUB_TOKEN"
    token = env.get(token_variable, "")
    if not token:
        out.write(
            github.notice(f"PR comment skipped: ${token_variable} is empty (pass the github-token input)")
        )
        return ExitCode.PASS
    repository = env.get("GITHUB_REPOSITORY", "")
    link = github.run_url(env.get("GITHUB_SERVER_URL", ""), repository, env.get("GITHUB_RUN_ID", ""))
    where = f"[the workflow run's summary]({link})" if link else "the workflow run's summary"
    body = sticky.fit(
        body, github.COMMENT_LIMIT, f"**Cut at GitHub's comment limit.** The full report is in {where}."
    )
    session = sticky.new_session()
    try:
        outcome = github.upsert_comment(
            session,
            api_url=env.get("GITHUB_API_URL") or "https://api.github.com",
            repository=repository,
            number=number,
            token=token,
            body=body,
            author=args.author,
            update_only=args.update_only,
            head_sha=github.run_head_sha(event_name, payload),
        )
    finally:
        session.close()
    if outcome.status == "forbidden":
        out.write(github.notice(outcome.message))
    else:
        out.write(f"gate: {outcome.message}" + (f": {outcome.url}" if outcome.url else "") + "\n")
    return ExitCode.PASS


def _comment_gitlab(args: argparse.Namespace, body: str, out: TextIO, env: Mapping[str, str]) -> int:
    from gate.platform import gitlab, sticky

    iid = whole_number(env.get("CI_MERGE_REQUEST_IID", ""))
    if iid is None:
        out.write("gate: not a merge request pipeline; no MR note\n")
        return ExitCode.PASS
    token_variable = args.token_env or "GATE_GITLAB_TOKEN"
    token = env.get(token_variable, "")
    if not token:
        out.write(f"gate: MR note skipped: ${token_variable} is empty\n")
        return ExitCode.PASS
    api_url, project = env.get("CI_API_V4_URL", ""), env.get("CI_PROJECT_ID", "")
    if not api_url or not project:
        raise UsageError("CI_API_V4_URL and CI_PROJECT_ID are not set; run inside GitLab CI")
    job_url = env.get("CI_JOB_URL", "")
    where = (
        f"[the job's artifacts]({job_url}/artifacts/browse)"
        if job_url.startswith("http")
        else "the job's artifacts"
    )
    body = sticky.fit(
        body, gitlab.NOTE_LIMIT, f"**Cut at GitLab's note limit.** The full report is in {where}."
    )
    session = sticky.new_session()
    try:
        outcome = gitlab.upsert_note(
            session,
            api_url=api_url,
            project_id=project,
            merge_request_iid=iid,
            token=token,
            token_variable=token_variable,
            body=body,
            update_only=args.update_only,
        )
    finally:
        session.close()
    out.write(f"gate: {outcome.message}\n")
    return ExitCode.PASS


def _outputs(args: argparse.Namespace, out: TextIO, stdin: TextIO, env: Mapping[str, str]) -> int:
    import json
    import secrets

    from gate.errors import InputError, OutputError
    from gate.platform import github, gitlab

    values: dict[str, str] = {}
    if args.decision:
        source = "<stdin>" if args.decision == "-" else args.decision
        try:
            record = json.loads(read_input(args.decision, "decision record", stdin=stdin))
        except (ValueError, RecursionError):  # RecursionError: nested too deeply to read
            raise InputError(f"{source}: not JSON; give the file gate check --json wrote") from None
        if not isinstance(record, dict):
            raise InputError(f"{source}: not a decision record (write one with gate check --json)")
        if args.platform == "github":
            values.update(github.decision_outputs(record, source))
        else:
            values.update(gitlab.decision_variables(record, source))
    for item in args.values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--set {short_value(item)}: use NAME=VALUE")
        values[name] = value
    if not values:
        raise UsageError("nothing to write: pass --decision or --set")
    if args.platform == "github":
        target = args.output or env.get("GITHUB_OUTPUT", "")
        if not target:
            raise UsageError("GITHUB_OUTPUT is not set; pass --output or run inside GitHub Actions")
        text, mode = github.output_text(values, f"ghadelimiter_{secrets.token_hex(16)}"), "a"
    else:
        target = args.output or "container-gate.env"
        text, mode = gitlab.dotenv_text(values), "w"
    try:
        with open(target, mode, encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write ({exc.strerror or exc})") from None
    out.write(f"gate: wrote {', '.join(values)}\n")
    return ExitCode.PASS
