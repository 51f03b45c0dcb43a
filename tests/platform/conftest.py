"""Fake GitHub and GitLab comment APIs on a real loopback HTTP server (pytest-httpserver).

Each fake keeps its comments in memory, pages its lists like the real API, checks the token header and
records every request, so the tests see exactly what the gate sent over the wire.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

TOKEN = "ghs_s3cr3tT0kenValue1234567890"
GITLAB_TOKEN = "glpat-s3cr3tN0teT0ken987654"


@dataclass
class Sent:
    """One request the gate made."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeGitHub:
    """Issue comments of one repository: GET (paged with Link), POST, PATCH; 403 when `read_only`."""

    base: str
    repository: str = "acme/web"
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    read_only: bool = False
    fail_with: int | None = None
    echo_token_in_errors: bool = False
    sent: list[Sent] = field(default_factory=list)
    next_id: int = 1000
    login: str = "github-actions[bot]"
    """Who the token comments as: a bot (the workflow's or an App's token, which `GET /user` refuses) or a user."""
    heads: dict[int, str] = field(default_factory=dict)
    """The head commit of each pull request (`GET /repos/{repository}/pulls/{number}`; others are 404)."""

    def add(self, number: int, body: str, login: str = "github-actions[bot]") -> int:
        """Add an existing comment; return its id."""
        self.next_id += 1
        self.comments.setdefault(number, []).append(
            {
                "id": self.next_id,
                "body": body,
                "user": {"login": login, "type": "Bot" if login.endswith("[bot]") else "User"},
                "html_url": f"https://github.example/{self.repository}/pull/{number}#issuecomment-{self.next_id}",
            }
        )
        return self.next_id

    def __call__(self, request: Request) -> Response:
        body: Any = request.get_json(silent=True)
        self.sent.append(Sent(request.method, request.path, dict(request.args), dict(request.headers), body))
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _json({"message": "Bad credentials"}, 401)
        if self.fail_with:
            message = f"boom {request.headers.get('Authorization')}" if self.echo_token_in_errors else "boom"
            return _json({"message": message}, self.fail_with)
        if request.path == "/user" and request.method == "GET":
            if self.login.endswith("[bot]"):
                return _json({"message": "Resource not accessible by integration"}, 403)
            return _json({"login": self.login, "type": "User"}, 200)
        pull = re.fullmatch(rf"/repos/{self.repository}/pulls/(\d+)", request.path)
        if pull and request.method == "GET" and int(pull.group(1)) in self.heads:
            number = int(pull.group(1))
            return _json({"number": number, "head": {"sha": self.heads[number]}}, 200)
        listing = re.fullmatch(rf"/repos/{self.repository}/issues/(\d+)/comments", request.path)
        single = re.fullmatch(rf"/repos/{self.repository}/issues/comments/(\d+)", request.path)
        if listing and request.method == "GET":
            number = int(listing.group(1))
            per_page, page = int(request.args.get("per_page", 30)), int(request.args.get("page", 1))
            items = self.comments.get(number, [])
            chunk = items[(page - 1) * per_page : page * per_page]
            headers = {}
            if page * per_page < len(items):
                query = urlencode({"per_page": per_page, "page": page + 1})
                headers["Link"] = f'<{self.base}{request.path}?{query}>; rel="next"'
            return _json(chunk, 200, headers)
        if self.read_only and request.method in ("POST", "PATCH"):
            return _json({"message": "Resource not accessible by integration"}, 403)
        if listing and request.method == "POST":
            comment_id = self.add(int(listing.group(1)), body["body"], self.login)
            return _json(self._get(comment_id), 201)
        if single and request.method == "PATCH":
            comment = self._get(int(single.group(1)))
            comment["body"] = body["body"]
            return _json(comment, 200)
        return _json({"message": "Not Found"}, 404)

    def _get(self, comment_id: int) -> dict[str, Any]:
        return next(c for items in self.comments.values() for c in items if c["id"] == comment_id)

    def writes(self) -> list[Sent]:
        """The POST and PATCH requests the gate made."""
        return [s for s in self.sent if s.method in ("POST", "PATCH")]


@dataclass
class FakeGitLab:
    """Merge request notes of one project: GET (paged with X-Next-Page), POST, PUT; 403 when `read_only`."""

    project: str = "42"
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    read_only: bool = False
    sent: list[Sent] = field(default_factory=list)
    next_id: int = 500
    user_id: int = 77
    """The id of the token's user (`GET /user`), the author of the notes the gate writes."""
    user_unknown: bool = False
    """`GET /user` answers 404 (an API that does not say whose the token is)."""
    next_page: str | None = None
    """The X-Next-Page header of every page when set, in place of the real next page."""

    def add(self, iid: int, body: str, *, system: bool = False, author: int | None = None) -> int:
        """Add an existing note (by the token's user unless `author` says otherwise); return its id."""
        self.next_id += 1
        note = {"id": self.next_id, "body": body, "system": system, "author": {"id": author or self.user_id}}
        self.notes.setdefault(iid, []).append(note)
        return self.next_id

    def __call__(self, request: Request) -> Response:
        body: Any = request.get_json(silent=True)
        self.sent.append(Sent(request.method, request.path, dict(request.args), dict(request.headers), body))
        if request.headers.get("PRIVATE-TOKEN") != GITLAB_TOKEN:
            return _json({"message": "401 Unauthorized"}, 401)
        if request.path == "/api/v4/user" and request.method == "GET":
            if self.user_unknown:
                return _json({"message": "404 Not Found"}, 404)
            return _json({"id": self.user_id, "username": f"project_{self.project}_bot"}, 200)
        match = re.fullmatch(
            rf"/api/v4/projects/{self.project}/merge_requests/(\d+)/notes(?:/(\d+))?", request.path
        )
        if not match:
            return _json({"message": "404 Not Found"}, 404)
        iid, note_id = int(match.group(1)), match.group(2)
        if request.method == "GET" and note_id is None:
            per_page, page = int(request.args.get("per_page", 20)), int(request.args.get("page", 1))
            items = self.notes.get(iid, [])
            chunk = items[(page - 1) * per_page : page * per_page]
            more = page * per_page < len(items)
            next_page = str(page + 1) if more else ""
            return _json(chunk, 200, {"X-Next-Page": next_page if self.next_page is None else self.next_page})
        if self.read_only:
            return _json({"message": "403 Forbidden"}, 403)
        if request.method == "POST" and note_id is None:
            new_id = self.add(iid, body["body"])
            return _json({"id": new_id, "body": body["body"]}, 201)
        if request.method == "PUT" and note_id is not None:
            note = next(n for n in self.notes.get(iid, []) if n["id"] == int(note_id))
            if note["author"]["id"] != self.user_id:
                return _json({"message": "403 Forbidden"}, 403)  # only the author may edit a note
            note["body"] = body["body"]
            return _json(note, 200)
        return _json({"message": "405"}, 405)

    def writes(self) -> list[Sent]:
        """The POST and PUT requests the gate made."""
        return [s for s in self.sent if s.method in ("POST", "PUT")]


def _json(data: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data), status=status, headers=headers or {}, content_type="application/json")


@pytest.fixture
def fake_github(httpserver: HTTPServer) -> FakeGitHub:
    """A fake GitHub API on 127.0.0.1; its base URL is `fake_github.base`."""
    fake = FakeGitHub(base=httpserver.url_for("").rstrip("/"))
    httpserver.expect_request(re.compile(".*")).respond_with_handler(fake)
    return fake


@pytest.fixture
def fake_gitlab(httpserver: HTTPServer) -> FakeGitLab:
    """A fake GitLab API on 127.0.0.1 under /api/v4."""
    fake = FakeGitLab()
    httpserver.expect_request(re.compile(".*")).respond_with_handler(fake)
    return fake
