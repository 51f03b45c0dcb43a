"""Sticky comments, shared by GitHub and GitLab: the hidden marker, the length limit and the HTTP plumbing.

Also the one other thing both platforms read: the verdict and counts of a decision record (`decision_counts`).

A sticky comment is one comment per key (workflow and image), found again by a hidden marker line
`<!-- container-gate:<key> -->` and updated in place. A token that may not write (fork or Dependabot pull
requests, GitLab's CI_JOB_TOKEN) is not an error: the caller skips the comment with a notice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from gate import __version__
from gate.errors import InputError, OutputError, short_value
from gate.report._text import utf16_length

if TYPE_CHECKING:
    import requests

__all__ = [
    "MAX_PAGES",
    "TIMEOUT",
    "Outcome",
    "ReadOnlyTokenError",
    "Status",
    "body_key",
    "check_token",
    "clean_key",
    "decision_counts",
    "fit",
    "json_field",
    "json_list",
    "marker",
    "new_session",
    "request",
    "same_origin",
    "utf16_length",
    "with_key",
]

TIMEOUT = 30.0
MAX_PAGES = 100  # 10,000 comments at 100 a page: more means a misbehaving server, not a real thread
_MAX_KEY = 200
_MARKER_START = "<!-- container-gate:"
_MARKER_LINE = re.compile(r"^[ \t]*<!-- container-gate:(?P<key>[^\r\n]*?) -->[ \t]*\r?$", re.MULTILINE)
_MARKER_LINES = re.compile(r"^[ \t]*<!-- container-gate:[^\r\n]*? -->[ \t]*(?:\r?\n|\Z)", re.MULTILINE)
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9._:/@+=-]+")
_DETAILS = re.compile(r"<(/?)details\b", re.IGNORECASE)
_TOKEN_OK = re.compile(r"[\x21-\x7e]+")
_CONTROL = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]+"
)  # and bidi controls

Status = Literal["created", "updated", "unchanged", "skipped", "forbidden"]


@dataclass(frozen=True)
class Outcome:
    """What happened to the comment: `status`, a one-line `message` for the log, and its `url` if known.

    "forbidden" means the platform answered 403 (a read-only token): the comment was skipped, not failed.
    """

    status: Status
    message: str
    url: str = ""


class ReadOnlyTokenError(Exception):
    """The platform answered 403: the token may read but not write (fork or Dependabot PR, job token)."""


def clean_key(text: str) -> str:
    """`text` made safe inside an HTML comment: letters, digits and `._:/@+=-`, no `--`, at most 200 chars."""
    key = re.sub(r"-{2,}", "-", _KEY_UNSAFE.sub("-", text)).strip("-")
    return key[:_MAX_KEY].rstrip("-") or "default"


def marker(key: str) -> str:
    """The hidden marker line for `key` (cleaned with `clean_key`)."""
    return f"<!-- container-gate:{clean_key(key)} -->"


def body_key(body: str) -> str | None:
    """The key of the first marker line in `body`, or None when it has none."""
    match = _MARKER_LINE.search(body)
    return match.group("key") if match else None


def with_key(body: str, key: str) -> str:
    """`body` with every marker line removed and the marker for `key` as its first line.

    A marker inside a line is escaped (`&lt;!--`), so the comment carries no other key's marker: a body
    from a fork's artifact cannot make its comment the one another key's run finds and updates.
    """
    rest = _MARKER_LINES.sub("", body).lstrip("\r\n").replace(_MARKER_START, f"&lt;{_MARKER_START[1:]}")
    return f"{marker(key)}\n{rest}"


def fit(body: str, limit: int, note: str) -> str:
    """`body` unchanged when it is within `limit` UTF-16 units, else cut at a line end with `note` appended.

    The marker line at the top is kept; an open code fence and open `<details>` folds are closed so the note
    renders as text, and shows.
    """
    if utf16_length(body) <= limit:
        return body
    tail = f"\n\n{note}"
    room = limit - utf16_length(tail) - len("\n```")
    if room <= 0:
        raise OutputError(f"the comment limit of {limit} characters leaves no room for the body")
    cut, used = [], 0
    for ch in body:
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > room:
            break
        cut.append(ch)
    text = "".join(cut)
    line_end = text.rfind("\n")
    if line_end > len(text) // 2:
        text = text[:line_end]
    text = text.rstrip()
    closing = _closing(text)
    while closing and utf16_length(text + closing + tail) > limit and "\n" in text:
        text = text[: text.rfind("\n")].rstrip()  # room for the closing tags: whole lines go
        closing = _closing(text)
    if utf16_length(text + closing + tail) > limit:
        closing = _closing(text, details=False)
    return text + closing + tail


def _closing(text: str, *, details: bool = True) -> str:
    """What closes the blocks a cut left open, so the note after them shows: a code fence, and each
    `<details>` fold (the note would be folded away inside one)."""
    closing = "\n```" if sum(1 for line in text.splitlines() if line.lstrip().startswith("```")) % 2 else ""
    depth = 0
    for found in _DETAILS.finditer(text) if details else ():
        depth = max(0, depth - 1) if found.group(1) else depth + 1
    return closing + "\n\n</details>" * depth


def check_token(token: str, variable: str) -> None:
    """Refuse a token that cannot be sent in a header, without ever showing it.

    Raises InputError naming the variable (never the value).
    """
    if not _TOKEN_OK.fullmatch(token):
        raise InputError(
            f"the token in ${variable} contains spaces, line breaks or non-ASCII characters; "
            "check how the secret was set"
        )


def decision_counts(record: Mapping[str, Any], source: str) -> tuple[str, int, int]:
    """The verdict, failed count and warned count of a decision record (`source` names it in errors).

    Raises InputError when `record` is not a decision record, a count is not a whole number, 0 or more, or the
    counts contradict the verdict.
    """
    verdict = record.get("verdict")
    counts = record.get("counts")
    if verdict not in ("pass", "warn", "fail") or not isinstance(counts, Mapping):
        raise InputError(f"{source}: not a decision record (write one with gate check --json)")
    if "failed" not in counts or "warned" not in counts:
        raise InputError(
            f"{source}: not a decision record (counts.failed / counts.warned missing; "
            "write one with gate check --json)"
        )
    for name in ("failed", "warned"):
        value = counts[name]
        # JSON's true is an int to Python, and neither it nor a negative count is one gate check writes.
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InputError(
                f"{source}: counts.{name} must be a whole number, 0 or more (got {short_value(value)}); "
                "write the record again with gate check --json"
            )
    failed, warned = counts["failed"], counts["warned"]
    # A failed violation fails the verdict and a warned one warns it (gate merge checks the same in full).
    if (verdict == "pass" and (failed or warned)) or (verdict == "warn" and failed):
        raise InputError(
            f"{source}: the verdict is {verdict} but counts.failed is {failed} and counts.warned is {warned}; "
            "the record was edited or damaged, write it again with gate check --json"
        )
    return str(verdict), failed, warned


def new_session() -> requests.Session:
    """A requests Session with the gate's User-Agent; the caller closes it."""
    import requests

    session = requests.Session()
    session.headers["User-Agent"] = f"container-gate/{__version__}"
    return session


def same_origin(url: str, base: str) -> bool:
    """True when `url` has the scheme, host and port of `base` (the token never goes anywhere else)."""
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def request(
    session: requests.Session,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    secret: str,
    what: str,
    params: dict[str, str | int] | None = None,
    payload: dict[str, Any] | None = None,
) -> requests.Response:
    """Send one API request; return the response when its status is 2xx.

    Raises ReadOnlyTokenError on 403, OutputError on any other failure. No message ever contains `secret`.
    Redirects are not followed, so the token cannot be forwarded to another host.
    """
    import requests

    try:
        response = session.request(
            method, url, headers=headers, params=params, json=payload, timeout=TIMEOUT, allow_redirects=False
        )
    except requests.RequestException as exc:
        raise OutputError(_redact(f"{what}: {_network_problem(exc, url)}", secret)) from None
    if response.status_code == 403:
        raise ReadOnlyTokenError(_redact(f"{what}: HTTP 403 {_server_message(response)}", secret))
    if not 200 <= response.status_code < 300:
        hint = (
            " (the token was rejected: check that it is valid and not expired)"
            if response.status_code == 401
            else ""
        )
        raise OutputError(
            _redact(f"{what}: HTTP {response.status_code} {_server_message(response)}{hint}", secret)
        )
    return response


def _network_problem(exc: requests.RequestException, url: str) -> str:
    """What went wrong on the way to `url` and what to check, in words: never the exception's class or the
    text urllib3 nests (`HTTPSConnectionPool(host=..., port=443): Max retries exceeded ...`)."""
    import requests

    host = urlsplit(url).hostname or "the API"
    text = str(exc)
    if isinstance(exc, requests.Timeout):
        why = f"no answer from {host} within {TIMEOUT:.0f} seconds"
    elif isinstance(exc, requests.exceptions.SSLError):
        why = f"the TLS connection to {host} failed (is a proxy's certificate missing?)"
    elif isinstance(exc, requests.ConnectionError):
        if "Failed to resolve" in text or "Name or service not known" in text or "getaddrinfo" in text:
            why = f"cannot resolve the host name {host}"
        elif "Connection refused" in text:
            why = f"{host} refused the connection"
        else:
            why = f"cannot connect to {host}"
    else:
        why = f"the request to {host} failed"
    return f"{why}; check the network and the API URL"


def _json(response: requests.Response) -> object:
    """The response's body as JSON; None when it is not JSON."""
    try:
        return response.json()
    except (ValueError, RecursionError):  # not JSON, or nested too deeply to read
        return None


def json_field(response: requests.Response, key: str) -> object:
    """`key` of the response's JSON object; None when the body is not a JSON object or has no `key`."""
    data = _json(response)
    return data.get(key) if isinstance(data, Mapping) else None


def json_list(response: requests.Response, what: str, api_variable: str) -> list[object]:
    """The response's JSON list (a page of comments or notes).

    Raises OutputError when the body is not JSON or not a list: a proxy's or a sign-in page answering 200, or
    an API URL (`api_variable`) that points at the web pages instead of the API.
    """
    data = _json(response)
    if not isinstance(data, list):
        raise OutputError(
            f"{what}: the API did not return a JSON list; check that ${api_variable} is the API's URL"
        )
    return data


def _server_message(response: requests.Response) -> str:
    message = json_field(response, "message")
    if not isinstance(message, str):
        message = response.reason or ""
    return _CONTROL.sub(" ", str(message)).strip()[:200]


def _redact(text: str, secret: str) -> str:
    text = _CONTROL.sub(" ", text)
    return text.replace(secret, "***") if secret else text
