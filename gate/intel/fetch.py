"""Fetch a feed over HTTP: timeouts, retries with backoff, conditional requests, an on-disk cache, offline mode.

The one place (with gate.platform) that uses requests. The session, the clock and `sleep` are injected: this
module holds no global state and reads no environment.

Cache layout: `<dir>/<sha256 of the URL>.data` (the body as served) and `.json` (URL, ETag, Last-Modified,
when it was last confirmed fresh). A cached copy is used when the server says 304, when the network fails
and in offline mode, but never once it is older than `max_age` (counted from the last 200 or 304).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Generic, Literal, TypeVar

import requests

from gate.errors import InputError

__all__ = ["FetchOptions", "Fetched", "Fetcher", "IntelUnavailable", "Origin", "open_session"]

_T = TypeVar("_T")
Origin = Literal["network", "not-modified", "cache", "file"]
"""Where a feed came from: downloaded, confirmed by a 304, the cache after a failure (or offline), a file."""
_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}


class IntelUnavailable(InputError):
    """A feed could not be had: the network failed and no cached copy is young enough (or offline without one)."""


@dataclass(frozen=True)
class FetchOptions:
    """How feeds are fetched."""

    cache_dir: Path | None = None
    """Where fetched feeds are kept; None for no cache."""
    max_age: timedelta = timedelta(days=7)
    """A cached copy older than this (since the server last confirmed it) is never used."""
    offline: bool = False
    """Never touch the network: use the cache (within max_age) or nothing."""
    timeout: float = 30.0
    """Seconds to connect and between bytes read."""
    retries: int = 2
    """Further attempts after the first on timeouts, connection errors, 429 and 5xx."""
    backoff: float = 1.0
    """Seconds before the first retry; doubles each time."""


@dataclass(frozen=True)
class Fetched(Generic[_T]):
    """A parsed feed and where it came from."""

    value: _T
    origin: Origin
    note: str = ""
    """What the log should say about how it was obtained ("" when fetched fresh)."""


@dataclass(frozen=True)
class _Cached:
    body: bytes
    etag: str
    last_modified: str
    fetched: datetime


class Fetcher:
    """Gets feeds by URL through one `requests.Session`, with the options given."""

    def __init__(
        self,
        session: requests.Session,
        options: FetchOptions,
        *,
        now: datetime,
        sleep: Callable[[float], None],
        user_agent: str = "container-gate",
    ) -> None:
        self._session = session
        self._options = options
        self._now = now
        self._sleep = sleep
        self._user_agent = user_agent

    def get(self, url: str, parse: Callable[[bytes, str], _T], *, accept: Sequence[str]) -> Fetched[_T]:
        """Fetch `url` and parse it; fall back to the cache. Raises IntelUnavailable when neither works.

        `accept` lists the content types the feed may be served as; anything else (an HTML error page) is
        treated as a failed download. A body that does not parse is never cached.
        """
        cached = self._read_cache(url)
        age = self._age(cached)
        if self._options.offline:
            if cached is not None and age is not None and age <= self._options.max_age:
                value = self._parse_cached(url, cached, parse)
                return Fetched(value, "cache", f"offline: using the cached copy of {url} ({_days(age)} old)")
            raise IntelUnavailable(f"{url}: offline and {self._why_no_cache(cached, age)}")
        problem = self._download(url, parse, accept, cached)
        if isinstance(problem, Fetched):
            return problem
        if cached is not None and age is not None and age <= self._options.max_age:
            value = self._parse_cached(url, cached, parse)
            return Fetched(value, "cache", f"{url}: {problem}; using the cached copy ({_days(age)} old)")
        raise IntelUnavailable(f"{url}: {problem}, and {self._why_no_cache(cached, age)}")

    def _download(
        self, url: str, parse: Callable[[bytes, str], _T], accept: Sequence[str], cached: _Cached | None
    ) -> Fetched[_T] | str:
        headers = {"User-Agent": self._user_agent, "Accept": ", ".join([*accept, "*/*;q=0.1"])}
        if cached is not None:
            if cached.etag:
                headers["If-None-Match"] = cached.etag
            if cached.last_modified:
                headers["If-Modified-Since"] = cached.last_modified
        problem = "no attempt made"
        for attempt in range(self._options.retries + 1):
            if attempt:
                self._sleep(self._options.backoff * 2 ** (attempt - 1))
            try:
                response = self._session.get(url, headers=headers, timeout=self._options.timeout)
                body = response.content
            except requests.Timeout:
                problem = f"timed out after {self._options.timeout:g} s"
                continue
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                problem = f"the connection failed ({_first_line(exc)})"
                continue
            except requests.RequestException as exc:
                return f"the request failed ({_first_line(exc)})"
            status = response.status_code
            if status == 304 and cached is not None:
                value = self._parse_cached(url, cached, parse)
                self._write_meta(url, cached.etag, cached.last_modified)
                return Fetched(value, "not-modified")
            if status in _RETRY_STATUS:
                problem = f"HTTP {status}"
                continue
            if status != 200:
                return f"HTTP {status}"
            kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if kind and kind not in accept:
                return f"served as {kind}, not {' or '.join(accept)}"
            try:
                value = parse(body, url)
            except InputError as exc:
                return f"the download is not usable ({_first_line(exc).removeprefix(url + ': ')})"
            self._write_cache(
                url, body, response.headers.get("ETag", ""), response.headers.get("Last-Modified", "")
            )
            return Fetched(value, "network")
        return f"{problem} ({self._options.retries + 1} attempts)"

    def _parse_cached(self, url: str, cached: _Cached, parse: Callable[[bytes, str], _T]) -> _T:
        try:
            return parse(cached.body, url)
        except InputError as exc:
            raise IntelUnavailable(f"{url}: the cached copy is damaged ({_first_line(exc)})") from None

    def _age(self, cached: _Cached | None) -> timedelta | None:
        return None if cached is None else self._now - cached.fetched

    def _why_no_cache(self, cached: _Cached | None, age: timedelta | None) -> str:
        if self._options.cache_dir is None:
            return "no cache directory is set (--intel-cache)"
        if cached is None or age is None:
            return "there is no cached copy"
        return (
            f"the cached copy is {_days(age)} old, older than the maximum of {_days(self._options.max_age)} "
            "(--intel-max-age)"
        )

    # --- the cache ---------------------------------------------------------------------------------------

    def _paths(self, url: str) -> tuple[Path, Path] | None:
        if self._options.cache_dir is None:
            return None
        key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]
        return self._options.cache_dir / f"{key}.data", self._options.cache_dir / f"{key}.json"

    def _read_cache(self, url: str) -> _Cached | None:
        paths = self._paths(url)
        if paths is None:
            return None
        try:
            meta = json.loads(paths[1].read_text(encoding="utf-8"))
            body = paths[0].read_bytes()
            if meta.get("url") != url:
                return None
            fetched = datetime.fromisoformat(meta["fetched"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        if fetched.tzinfo is None or hashlib.sha256(body).hexdigest() != meta.get("sha256"):
            return None
        return _Cached(body, str(meta.get("etag", "")), str(meta.get("last_modified", "")), fetched)

    def _write_cache(self, url: str, body: bytes, etag: str, last_modified: str) -> None:
        paths = self._paths(url)
        if paths is None:
            return
        try:
            paths[0].parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(paths[0], body)
        except OSError:
            return
        self._write_meta(url, etag, last_modified, sha256=hashlib.sha256(body).hexdigest())

    def _write_meta(self, url: str, etag: str, last_modified: str, *, sha256: str | None = None) -> None:
        paths = self._paths(url)
        if paths is None:
            return
        if sha256 is None:
            try:
                sha256 = json.loads(paths[1].read_text(encoding="utf-8"))["sha256"]
            except (OSError, ValueError, KeyError, TypeError):
                return
        meta = {
            "url": url,
            "etag": etag,
            "last_modified": last_modified,
            "fetched": self._now.isoformat(),
            "sha256": sha256,
        }
        try:
            _atomic_write(paths[1], (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode("utf-8"))
        except OSError:
            return


def open_session(user_agent: str) -> requests.Session:
    """A new requests.Session for feed downloads (the caller closes it)."""
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    return session


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
        raise


def _days(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 48:
        return f"{max(hours, 0):.0f} h"
    return f"{hours / 24:.0f} days"


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
