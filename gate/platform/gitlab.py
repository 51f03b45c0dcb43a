"""GitLab: the dotenv report that hands the verdict to the enforce job, and the sticky merge-request note.

The note goes through the REST API (merge request notes): list the notes page by page, update the first
note of the token's own user (`GET /user`) that carries the body's marker, else create one. Only its author may
edit a note, so a note someone else wrote with the marker (another user, the bot of an earlier token) must not
stand in for the gate's own: when `GET /user` does not answer, the notes with the marker are tried in turn, and
one GitLab refuses to let this token edit is passed over. CI_JOB_TOKEN may only read notes: its 403 (like any
403) skips the note, never fails it. Posting needs a project/group access token with `api` scope.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from gate.errors import InputError, OutputError
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
)
from gate.words import whole_number

if TYPE_CHECKING:
    import requests

__all__ = [
    "DOTENV_LIMIT",
    "DOTENV_VARIABLES",
    "NOTE_LIMIT",
    "decision_variables",
    "dotenv_text",
    "upsert_note",
]

NOTE_LIMIT = 1_000_000  # characters of a note body
DOTENV_LIMIT = 5 * 1024  # bytes of a dotenv report
DOTENV_VARIABLES = 20  # variables of a dotenv report: the plan limit's default (GitLab.com plans allow more)
_DOTENV_KEY_CHARS = 255  # Ci::HasVariable validates the key's length
_DOTENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOTENV_VALUE = re.compile(r"[^\s\"'`#$\\]*")


def dotenv_text(values: Mapping[str, str]) -> str:
    """`values` as a GitLab dotenv report: `KEY=value` lines, sorted by nothing but insertion order.

    Raises OutputError for a key or value GitLab's dotenv parser does not take (spaces, quotes, `#`, `$`,
    line breaks; a key over 255 characters), a file over 5 KiB or one of more than 20 variables: GitLab refuses
    the whole file (Ci::ParseDotenvArtifactService), and with it the upload of the report job's artifacts.
    """
    lines = []
    for key, value in values.items():
        if not _DOTENV_KEY.fullmatch(key):
            raise OutputError(f"dotenv key {key!r}: use letters, digits and '_'")
        if len(key) > _DOTENV_KEY_CHARS:
            raise OutputError(
                f"dotenv key {key[:40]}...: GitLab takes keys of at most {_DOTENV_KEY_CHARS} characters"
            )
        if not _DOTENV_VALUE.fullmatch(value):
            raise OutputError(f"dotenv {key}: the value may not contain spaces, quotes, '#', '$' or '\\'")
        lines.append(f"{key}={value}\n")
    text = "".join(lines)
    if len(text.encode("utf-8")) > DOTENV_LIMIT:
        raise OutputError(
            f"the dotenv report is over GitLab's limit of {DOTENV_LIMIT} bytes; pass fewer or shorter --set values"
        )
    if len(lines) > DOTENV_VARIABLES:
        raise OutputError(
            f"the dotenv report has {len(lines)} variables, over GitLab's default limit of {DOTENV_VARIABLES}; "
            "pass fewer --set values"
        )
    return text


def decision_variables(record: Mapping[str, Any], source: str) -> dict[str, str]:
    """The dotenv variables from a decision record: GATE_VERDICT, GATE_FAILED_COUNT, GATE_WARNED_COUNT.

    Raises InputError when `record` is not a decision record.
    """
    verdict, failed, warned = decision_counts(record, source)
    return {"GATE_VERDICT": verdict, "GATE_FAILED_COUNT": str(failed), "GATE_WARNED_COUNT": str(warned)}


def upsert_note(
    session: requests.Session,
    *,
    api_url: str,
    project_id: str,
    merge_request_iid: int,
    token: str,
    token_variable: str,
    body: str,
    update_only: bool = False,
) -> Outcome:
    """Create or update the merge request's note that carries the marker of `body`; return what happened.

    With `update_only`, a missing note is not created. A 403 gives a "skipped" Outcome. Raises InputError
    for a body without a marker, OutputError for any other API failure; no message contains the token.
    """
    key = body_key(body)
    if key is None:
        raise InputError("the note body has no '<!-- container-gate:KEY -->' line; pass --key")
    check_token(token, token_variable)
    notes_url = f"{api_url.rstrip('/')}/projects/{quote(project_id, safe='')}/merge_requests/{merge_request_iid}/notes"
    headers = {"PRIVATE-TOKEN": token}
    tag = marker(key)
    where = f"merge request !{merge_request_iid}"
    try:
        author = _user_id(session, api_url, headers, token)
        for note_id, old_body in _find(session, notes_url, headers, token, tag, author):
            if old_body.replace("\r\n", "\n") == body.replace("\r\n", "\n"):
                return Outcome("unchanged", f"note on {where} is up to date")
            try:
                request(
                    session,
                    "PUT",
                    f"{notes_url}/{note_id}",
                    headers=headers,
                    secret=token,
                    what=f"update note {note_id}",
                    payload={"body": body},
                )
            except ReadOnlyTokenError:
                if author is not None:
                    raise
                continue  # whose note it is was not known: someone else's (a read-only token fails below too)
            return Outcome("updated", f"note updated on {where}")
        if update_only:
            return Outcome("skipped", f"no note of this pipeline on {where} to update")
        request(
            session,
            "POST",
            notes_url,
            headers=headers,
            secret=token,
            what=f"create a note on {where}",
            payload={"body": body},
        )
        return Outcome("created", f"note created on {where}")
    except ReadOnlyTokenError:
        return Outcome(
            "forbidden",
            f"MR note skipped: the token in ${token_variable} may not write notes on {where} (HTTP 403; "
            "CI_JOB_TOKEN can only read them: use a project access token with the api scope)",
        )


def _user_id(session: requests.Session, api_url: str, headers: dict[str, str], token: str) -> int | None:
    """The id of the token's user, or None when the API does not say (then any user's note may be updated)."""
    try:
        response = request(
            session,
            "GET",
            f"{api_url.rstrip('/')}/user",
            headers=headers,
            secret=token,
            what="read the token's user",
        )
    except (ReadOnlyTokenError, OutputError):
        return None
    user_id = json_field(response, "id")
    return user_id if isinstance(user_id, int) else None


_MAX_TRIED = 5
"""Notes with the marker tried when the token's user is not known (each may be someone else's)."""


def _find(
    session: requests.Session, url: str, headers: dict[str, str], token: str, tag: str, author: int | None
) -> list[tuple[int, str]]:
    """The notes to update, in the order written: the first with the marker by `author`; when `author` is not
    known, the first few with the marker by anyone."""
    found: list[tuple[int, str]] = []
    page = 1
    for _ in range(MAX_PAGES):
        response = request(
            session,
            "GET",
            url,
            headers=headers,
            secret=token,
            what="list the notes",
            params={"per_page": 100, "page": page, "sort": "asc", "order_by": "created_at"},
        )
        for item in json_list(response, "list the notes", "CI_API_V4_URL"):
            if not isinstance(item, Mapping) or not isinstance(item.get("id"), int) or item.get("system"):
                continue
            user = item.get("author")
            if author is not None and not (isinstance(user, Mapping) and user.get("id") == author):
                continue
            text = item.get("body")
            if isinstance(text, str) and tag in text:
                found.append((int(item["id"]), text))
                if author is not None or len(found) == _MAX_TRIED:
                    return found
        next_page = whole_number(response.headers.get("X-Next-Page", "").strip())
        if next_page is None or next_page <= page:
            return found
        page = next_page
    raise OutputError(f"list the notes: more than {MAX_PAGES} pages; stopped")
