"""GitHub: step outputs in the heredoc form, workflow-command notices, and the sticky pull-request comment.

The comment goes through the REST API (issues comments; a pull request is an issue): list the pull
request's comments page by page, update the first one by `author` that carries the body's marker, else create
one. A 403 (fork or Dependabot pull request: the token is read-only) skips the comment, never fails it.

A fork's pull request is commented on from a second workflow (`workflow_run`), which has a write token and gets
the number from the first run's artifact, written by the fork. So in a `workflow_run` event the comment goes
only to a pull request whose head is the commit that run gated (`head_sha`): a forged number cannot reach
another pull request.

Without an `author`, the comment looked for is the token's own: the workflow's token comments as
github-actions[bot], a personal access token as its user (`GET /user`), a GitHub App's token as the App's bot,
whose name the token cannot look up (any bot's comment then counts; no person can write one). A comment by
github-actions[bot] is taken first whatever the token (the comment of an earlier run with the workflow's token),
so `GET /user` is asked only when there is none; no other person's comment with the marker is taken.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from gate.errors import InputError, OutputError, short_value
from gate.platform.sticky import (
    MAX_PAGES,
    Outcome,
    ReadOnlyTokenError,
    body_key,
    check_token,
    decision_counts,
    json_field,
    json_list,
    marker,
    request,
    same_origin,
)
from gate.words import whole_number

if TYPE_CHECKING:
    import requests

__all__ = [
    "API_VERSION",
    "BOT_LOGIN",
    "COMMENT_LIMIT",
    "decision_outputs",
    "escape_data",
    "notice",
    "output_text",
    "pull_request_number",
    "run_head_sha",
    "run_url",
    "upsert_comment",
]

API_VERSION = "2022-11-28"
COMMENT_LIMIT = 65_536  # characters; more gets 422 "Body is too long"
BOT_LOGIN = "github-actions[bot]"  # the author of comments made with the workflow's GITHUB_TOKEN
_OUTPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_PR_REF = re.compile(r"refs/pull/([0-9]{1,10})/(?:merge|head)")  # as --pull-request takes
_PR_EVENTS = ("pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment")
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def escape_data(text: str) -> str:
    """`text` escaped as a workflow-command message (`%`, CR, LF), so it cannot end the command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def notice(message: str, title: str = "container-gate") -> str:
    """A `::notice` workflow command line (with newline) showing `message` as an annotation."""
    safe_title = escape_data(title).replace(":", "%3A").replace(",", "%2C")
    return f"::notice title={safe_title}::{escape_data(message)}\n"


def output_text(values: Mapping[str, str], delimiter: str) -> str:
    """Step outputs in the heredoc form `name<<DELIM`, one block per value, for appending to $GITHUB_OUTPUT.

    Raises OutputError for a name GitHub does not accept or a value that contains the delimiter.
    """
    if not delimiter or any(ch.isspace() for ch in delimiter):
        raise OutputError("the output delimiter must be a non-empty word")
    blocks = []
    for name, value in values.items():
        if not _OUTPUT_NAME.fullmatch(name):
            raise OutputError(f"output name {name!r}: use letters, digits, '-' and '_'")
        if delimiter in value or delimiter in name:
            raise OutputError(f"output {name}: the value contains the delimiter; run again")
        blocks.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    return "".join(blocks)


def decision_outputs(record: Mapping[str, Any], source: str) -> dict[str, str]:
    """The action's outputs from a decision record: `verdict`, `failed-count`, `warned-count`.

    Raises InputError when `record` is not a decision record.
    """
    verdict, failed, warned = decision_counts(record, source)
    return {"verdict": verdict, "failed-count": str(failed), "warned-count": str(warned)}


def pull_request_number(event_name: str, event: Mapping[str, Any], ref: str = "") -> int | None:
    """The pull request number of this run from the event payload (or `refs/pull/N/...`), None outside a PR.

    A `workflow_run` event names the pull request of the run it follows only for a branch of the same
    repository: GitHub leaves `workflow_run.pull_requests` empty for a fork's.
    """
    if event_name in _PR_EVENTS:
        pr = event.get("pull_request")
        if isinstance(pr, Mapping) and _is_number(pr.get("number")):
            return int(pr["number"])
    if event_name == "issue_comment":
        issue = event.get("issue")
        if isinstance(issue, Mapping) and issue.get("pull_request") and _is_number(issue.get("number")):
            return int(issue["number"])
    if event_name == "workflow_run":
        run = event.get("workflow_run")
        prs = run.get("pull_requests") if isinstance(run, Mapping) else None
        if isinstance(prs, list) and prs and isinstance(prs[0], Mapping) and _is_number(prs[0].get("number")):
            return int(prs[0]["number"])
    match = _PR_REF.fullmatch(ref)
    return int(match.group(1)) if match else None


def run_head_sha(event_name: str, event: Mapping[str, Any]) -> str | None:
    """In a `workflow_run` event, the commit the run it follows was for (`workflow_run.head_sha`); else None.

    Raises InputError when a `workflow_run` event has none: the pull request to comment on cannot be checked.
    """
    if event_name != "workflow_run":
        return None
    run = event.get("workflow_run")
    sha = run.get("head_sha") if isinstance(run, Mapping) else None
    if not isinstance(sha, str) or not _SHA.fullmatch(sha):
        raise InputError(
            "the workflow_run event has no workflow_run.head_sha, so the pull request cannot be checked; "
            "check GITHUB_EVENT_PATH"
        )
    return sha


def _is_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def run_url(server_url: str, repository: str, run_id: str) -> str:
    """The workflow run's page, where the full step summary is (empty when something is missing)."""
    if not (server_url and repository and whole_number(run_id) is not None):
        return ""
    return f"{server_url.rstrip('/')}/{repository}/actions/runs/{run_id}"


def upsert_comment(
    session: requests.Session,
    *,
    api_url: str,
    repository: str,
    number: int,
    token: str,
    body: str,
    author: str | None = None,
    update_only: bool = False,
    head_sha: str | None = None,
) -> Outcome:
    """Create or update the pull request's comment that carries the marker of `body`; return what happened.

    `author` limits which comments may be updated ('' = anyone's, None = the token's own: see the module's
    docstring). With `update_only`, a missing comment is not created. With `head_sha` (a `workflow_run`
    event's), the pull request's head must be that commit, else no comment is written and the Outcome is
    "skipped". A 403 gives a "forbidden" Outcome. Raises InputError for a body without a marker or a bad
    repository name, OutputError for any other API failure; no message contains the token.
    """
    key = body_key(body)
    if key is None:
        raise InputError("the comment body has no '<!-- container-gate:KEY -->' line; pass --key")
    if not _REPOSITORY.fullmatch(repository):
        raise InputError(
            f"GITHUB_REPOSITORY {short_value(repository, limit=100)} is not owner/name; run inside GitHub Actions "
            "(which sets it), or set it to the repository's owner/name"
        )
    check_token(token, "GITHUB_TOKEN")
    api = api_url.rstrip("/")
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
    }
    comments_url = f"{api}/repos/{quote(repository)}/issues/{number}/comments"
    tag = marker(key)
    try:
        if head_sha is not None:
            head = _head_sha(
                session, f"{api}/repos/{quote(repository)}/pulls/{number}", headers, token, number
            )
            if head != head_sha:
                return Outcome(
                    "skipped",
                    f"PR comment skipped: pull request #{number} is at {head[:12]}, not at {head_sha[:12]}, "
                    "the commit the run was for (a later push, or a number that is not this run's)",
                )
        existing = _own(
            _find(session, comments_url, api, headers, token, tag), author, session, api, headers, token
        )
        if existing is None:
            if update_only:
                return Outcome("skipped", f"no comment of this workflow on pull request #{number} to update")
            response = request(
                session,
                "POST",
                comments_url,
                headers=headers,
                secret=token,
                what=f"create a comment on pull request #{number}",
                payload={"body": body},
            )
            return Outcome("created", f"comment created on pull request #{number}", _html_url(response))
        comment_id, old_body, url = existing
        if old_body.replace("\r\n", "\n") == body.replace("\r\n", "\n"):
            return Outcome("unchanged", f"comment on pull request #{number} is up to date", url)
        response = request(
            session,
            "PATCH",
            f"{api}/repos/{quote(repository)}/issues/comments/{comment_id}",
            headers=headers,
            secret=token,
            what=f"update comment {comment_id}",
            payload={"body": body},
        )
        return Outcome("updated", f"comment updated on pull request #{number}", _html_url(response) or url)
    except ReadOnlyTokenError:
        return Outcome(
            "forbidden",
            f"PR comment skipped: the token may not write to pull request #{number} (HTTP 403; a fork or "
            "Dependabot pull request gets a read-only token, or the job lacks 'pull-requests: write')",
        )


_Comment = tuple[int, str, str, str, bool]
"""A comment that carries the marker: id, body, web address, its author's login, and whether that is a bot."""


def _own(
    found: list[_Comment],
    author: str | None,
    session: requests.Session,
    api: str,
    headers: dict[str, str],
    token: str,
) -> tuple[int, str, str] | None:
    """The first of the `found` comments by `author` (see upsert_comment), as (id, body, web address)."""
    if author is None and found:
        author = (
            BOT_LOGIN if any(c[3] == BOT_LOGIN for c in found) else _token_login(session, api, headers, token)
        )
    for comment_id, text, url, login, bot in found:
        if bot if author is None else (not author or login == author):  # None: an App's token
            return comment_id, text, url
    return None


def _head_sha(session: requests.Session, url: str, headers: dict[str, str], token: str, number: int) -> str:
    """The commit at the head of pull request `number` (`GET /repos/{repository}/pulls/{number}`)."""
    what = f"read pull request #{number}"
    head = json_field(request(session, "GET", url, headers=headers, secret=token, what=what), "head")
    sha = head.get("sha") if isinstance(head, Mapping) else None
    if not isinstance(sha, str) or not _SHA.fullmatch(sha):
        raise OutputError(f"{what}: the API did not give its head commit")
    return sha


def _token_login(session: requests.Session, api: str, headers: dict[str, str], token: str) -> str | None:
    """The login of the token's user (`GET /user`), or None for an App's token, which has no user."""
    try:
        response = request(
            session, "GET", f"{api}/user", headers=headers, secret=token, what="read the token's user"
        )
    except ReadOnlyTokenError:  # "Resource not accessible by integration": the workflow's or an App's token
        return None
    login = json_field(response, "login")
    if not isinstance(login, str) or not login:
        raise OutputError("read the token's user: the API did not say who it is")
    return login


def _find(
    session: requests.Session,
    url: str,
    api: str,
    headers: dict[str, str],
    token: str,
    tag: str,
) -> list[_Comment]:
    """Every comment of the pull request that carries `tag`, in order."""
    found: list[_Comment] = []
    next_url: str | None = url
    params: dict[str, str | int] | None = {"per_page": 100}
    for _ in range(MAX_PAGES):
        if next_url is None:
            return found
        if not same_origin(next_url, api):
            raise OutputError(
                "the API's next-page link points to another host; stopped (the token stays here)"
            )
        response = request(
            session, "GET", next_url, headers=headers, secret=token, what="list the comments", params=params
        )
        for item in json_list(response, "list the comments", "GITHUB_API_URL"):
            if not isinstance(item, Mapping) or not isinstance(item.get("id"), int):
                continue
            text = item.get("body")
            user = item.get("user")
            login = user.get("login") if isinstance(user, Mapping) else None
            bot = isinstance(user, Mapping) and user.get("type") == "Bot"
            if isinstance(text, str) and tag in text:
                found.append((int(item["id"]), text, str(item.get("html_url") or ""), str(login or ""), bot))
        next_url = response.links.get("next", {}).get("url")
        params = None  # the next link carries the query
    raise OutputError(f"list the comments: more than {MAX_PAGES} pages; stopped")


def _html_url(response: requests.Response) -> str:
    return str(json_field(response, "html_url") or "")
