"""Fetch a feed over HTTP: timeouts, a deadline, retries with backoff, conditional requests, a cache, offline mode.

The one place (with gate.platform) that uses requests. The session, the clocks and `sleep` are injected: this
module holds no global state and reads no environment.

Cache layout: one file per URL, `<dir>/<sha256 of the URL>.feed`: a JSON header line (the URL and the URL the
data came from, both redacted, ETag, Last-Modified, when it was downloaded and last confirmed, the body's
sha256), then the body as served. One file, replaced atomically, so a concurrent run never reads a body with
another body's header. A cached copy is used when the server says 304 to a conditional request, when the network
fails and in offline mode, but never once it is older than `max_age` (counted from the last 200 or 304).

URLs are shown and stored redacted (`redact`): a user:password or a query value (an API key) never reaches a
note, an error, or the cache header.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Generic, Literal, TypeVar
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

import requests
from urllib3.exceptions import HTTPError as TransportError
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from gate.errors import InputError
from gate.intel.feeds import MAX_UNPACKED, gunzip
from gate.words import quantity, whole_number

__all__ = [
    "MAX_WIRE_BYTES",
    "FetchOptions",
    "Fetched",
    "Fetcher",
    "IntelUnavailable",
    "Origin",
    "open_session",
    "plain_http_elsewhere",
    "redact",
    "url_problem",
]

_T = TypeVar("_T")
Origin = Literal["network", "not-modified", "cache", "file"]
"""Where a feed came from: downloaded, confirmed by a 304, the cache after a failure (or offline), a file."""
MAX_WIRE_BYTES = 64 * 1024 * 1024
"""Bytes a feed's body may have on the wire: the KEV catalog is about 1.5 MB, EPSS .csv.gz about 2 MB."""
_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}
_REDIRECT_STATUS = {301, 302, 303, 307, 308}
_MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
_SKEW = timedelta(days=1)
"""How far in the future a cache timestamp may be (clocks of machines sharing a cache differ a little)."""
_MIB = 1024 * 1024


class IntelUnavailable(InputError):
    """A feed could not be had: the network failed and no cached copy is young enough (or offline without one)."""


@dataclass(frozen=True)
class FetchOptions:
    """How feeds are fetched."""

    cache_dir: Path | None = None
    """Where fetched feeds are kept; None for no cache."""
    max_age: timedelta = timedelta(days=7)
    """A cached copy older than this (since the server last sent or confirmed it) is never used."""
    offline: bool = False
    """Never touch the network: use the cache (within max_age) or nothing."""
    timeout: float = 30.0
    """Seconds to connect and between bytes read."""
    deadline: float = 120.0
    """Seconds one feed's download may take in all: every attempt, redirect, read and wait between attempts."""
    retries: int = 2
    """Further attempts after the first on timeouts, connection errors, 429 and 5xx."""
    backoff: float = 1.0
    """Seconds before the first retry; doubles each time."""
    max_wait: float = 30.0
    """Seconds of waiting between attempts in all (backoff and Retry-After); a longer wait is not made."""
    max_bytes: int = MAX_WIRE_BYTES
    """Bytes of body on the wire."""
    max_decoded: int = MAX_UNPACKED
    """Bytes of body once a `Content-Encoding: gzip` is undone."""


@dataclass(frozen=True)
class Fetched(Generic[_T]):
    """A parsed feed and where it came from."""

    value: _T
    origin: Origin
    note: str = ""
    """What the log should say about how it was obtained ("" when fetched fresh from the URL given)."""


@dataclass(frozen=True)
class _Cached:
    body: bytes
    final_url: str
    """Where the body came from after redirects, redacted."""
    etag: str
    last_modified: str
    fetched: datetime
    """When the body was downloaded."""
    confirmed: datetime
    """When the server last sent or confirmed it (a 304): the copy's age counts from here."""


@dataclass(frozen=True)
class _Body:
    data: bytes
    final_url: str
    etag: str
    last_modified: str


@dataclass(frozen=True)
class _NotModified:
    etag: str


@dataclass(frozen=True)
class _Failed:
    problem: str
    retry: bool = False
    retry_after: float | None = None
    """Seconds the server asked to wait (Retry-After)."""


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
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._options = options
        self._now = now
        self._sleep = sleep
        self._user_agent = user_agent
        self._monotonic = monotonic

    def get(self, url: str, parse: Callable[[bytes, str], _T], *, accept: Sequence[str]) -> Fetched[_T]:
        """Fetch `url` and parse it; fall back to the cache. Raises IntelUnavailable when neither works.

        `accept` lists the content types the feed may be served as; anything else (an HTML error page) is
        treated as a failed download. A body that does not parse is never cached. Notes and errors name the
        URL redacted (see `redact`).
        """
        shown = redact(url)
        cached = self._read_cache(url)
        usable = isinstance(cached, _Cached) and self._now - cached.confirmed <= self._options.max_age
        if self._options.offline:
            if isinstance(cached, _Cached) and usable:
                value = self._parse_cached(shown, cached, parse)
                return Fetched(
                    value, "cache", f"offline: using the cached copy of {shown} ({self._copy(shown, cached)})"
                )
            raise IntelUnavailable(f"{shown}: offline and {self._why_not(cached)}")
        outcome = self._download(url, accept, cached if isinstance(cached, _Cached) else None)
        if isinstance(outcome, _NotModified):
            assert isinstance(cached, _Cached)
            value = self._parse_cached(shown, cached, parse)
            self._write_cache(url, replace(cached, confirmed=self._now))
            return Fetched(
                value,
                "not-modified",
                f"{shown}: not modified (HTTP 304); the server confirmed the cached copy downloaded "
                f"{_stamp(cached.fetched)}{_via(shown, cached.final_url)}",
            )
        if isinstance(outcome, _Body):
            try:
                value = parse(outcome.data, shown)
            except InputError as exc:
                outcome = f"the download is not usable ({_first_line(exc).removeprefix(shown + ': ')})"
            else:
                body = _Cached(
                    outcome.data,
                    outcome.final_url,
                    outcome.etag,
                    outcome.last_modified,
                    self._now,
                    self._now,
                )
                self._write_cache(url, body)
                note = f"{shown}: redirected; the data came from {outcome.final_url}"
                return Fetched(value, "network", note if outcome.final_url != shown else "")
        if isinstance(cached, _Cached) and usable:
            value = self._parse_cached(shown, cached, parse)
            return Fetched(
                value, "cache", f"{shown}: {outcome}; using the cached copy ({self._copy(shown, cached)})"
            )
        raise IntelUnavailable(f"{shown}: {outcome}, and {self._why_not(cached)}")

    # --- the download --------------------------------------------------------------------------------------

    def _download(
        self, url: str, accept: Sequence[str], cached: _Cached | None
    ) -> _Body | _NotModified | str:
        """The body, a valid 304, or why neither: retries, backoff and the deadline are applied here."""
        start = self._monotonic()
        waited = 0.0
        attempts = 0
        failed = _Failed("no attempt made")
        for attempt in range(self._options.retries + 1):
            if attempt:
                delay = self._options.backoff * 2 ** (attempt - 1)
                if failed.retry_after is not None:
                    delay = max(delay, failed.retry_after)
                budget = min(self._options.max_wait - waited, self._left(start))
                if delay > budget:
                    # Waiting longer would hold up the job: give up now, with the cache as a fallback.
                    cap = f"{self._options.max_wait:g} s of waiting, {self._options.deadline:g} s in all"
                    tried = quantity(attempts, "attempt")
                    return f"{failed.problem} ({tried}; a wait of {delay:g} s more would pass {cap})"
                self._sleep(delay)
                waited += delay
            attempts += 1
            outcome = self._attempt(url, accept, cached, start)
            if not isinstance(outcome, _Failed):
                return outcome
            failed = outcome
            if not outcome.retry:
                return outcome.problem
        return f"{failed.problem} ({quantity(attempts, 'attempt')})"

    def _attempt(
        self, url: str, accept: Sequence[str], cached: _Cached | None, start: float
    ) -> _Body | _NotModified | _Failed:
        current = url
        for _ in range(_MAX_REDIRECTS + 1):
            headers = {
                "User-Agent": self._user_agent,
                "Accept": ", ".join([*accept, "*/*;q=0.1"]),
                "Accept-Encoding": "gzip, identity",
            }
            # Validators go only to where the cached copy came from: another server's 304 would vouch for nothing.
            validated = cached if cached is not None and redact(current) == cached.final_url else None
            if validated is not None and validated.etag:
                headers["If-None-Match"] = validated.etag
            if validated is not None and validated.last_modified:
                headers["If-Modified-Since"] = validated.last_modified
            if "If-None-Match" not in headers and "If-Modified-Since" not in headers:
                validated = None
            left = self._left(start)
            if left <= 0:
                return self._too_slow()
            timeout = min(self._options.timeout, left)
            try:
                response = self._session.get(
                    current, headers=headers, timeout=timeout, stream=True, allow_redirects=False
                )
            except requests.Timeout:
                return _Failed(f"timed out after {timeout:g} s", retry=True)
            except requests.ConnectionError as exc:
                return _Failed(f"the connection failed ({_scrub(_reason(exc), current)})", retry=True)
            except requests.RequestException as exc:
                return _Failed(f"the request failed ({_scrub(_first_line(exc), current)})")
            # requests reads a redirect's Location itself, even one it will not follow
            except ValueError as exc:
                return _Failed(f"the answer cannot be used ({_scrub(_first_line(exc), current)}); refused")
            with response:
                status = response.status_code
                if status in _REDIRECT_STATUS:
                    try:
                        target = urljoin(current, response.headers.get("Location", ""))
                    except ValueError:
                        return _Failed("redirected to a Location that is not a URL; refused")
                    refused = _refused_redirect(current, target)
                    if refused:
                        return _Failed(refused)
                    current = target
                    continue
                if status == 304:
                    return self._not_modified(response, validated)
                if status in _RETRY_STATUS:
                    after = _retry_after(response.headers.get("Retry-After", ""), self._now)
                    return _Failed(f"HTTP {status}", retry=True, retry_after=after)
                if status != 200:
                    return _Failed(f"HTTP {status}")
                kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
                if kind and kind not in accept:
                    return _Failed(f"served as {kind}, not {' or '.join(accept)}")
                data = self._read_body(response, start, current)
                if isinstance(data, _Failed):
                    return data
                etag, modified = response.headers.get("ETag", ""), response.headers.get("Last-Modified", "")
                return _Body(data, redact(current), etag, modified)
        return _Failed(f"more than {_MAX_REDIRECTS} redirects")

    def _not_modified(self, response: requests.Response, cached: _Cached | None) -> _NotModified | _Failed:
        if cached is None:
            # Without If-None-Match/If-Modified-Since there is nothing the 304 could confirm.
            return _Failed(
                "HTTP 304 Not Modified to a request that carried no validators (a broken server or proxy)"
            )
        etag = response.headers.get("ETag", "")
        if etag and cached.etag and _weak(etag) != _weak(cached.etag):
            return _Failed(f"HTTP 304 Not Modified with ETag {etag}, but the cached copy has {cached.etag}")
        return _NotModified(etag)

    def _read_body(self, response: requests.Response, start: float, url: str) -> bytes | _Failed:
        """The body, streamed under the byte cap and the deadline, with `Content-Encoding: gzip` undone here.

        urllib3 would undo the encoding without checking the gzip end marker (so a cut stream passes) and
        without a cap on the unpacked size; read1 returns what has arrived, so a slow drip meets the deadline.
        """
        encoding = response.headers.get("Content-Encoding", "").strip().lower()
        if encoding not in {"", "identity", "gzip", "x-gzip"}:
            return _Failed(f"served with Content-Encoding {encoding}, which gate does not decode")
        limit = self._options.max_bytes
        length = whole_number(response.headers.get("Content-Length", ""))
        if length is not None and length > limit:
            return _Failed(f"the body is {length:,} bytes, more than the limit of {_size(limit)}")
        chunks: list[bytes] = []
        size = 0
        try:
            while chunk := response.raw.read1(_CHUNK, decode_content=False):
                size += len(chunk)
                if size > limit:
                    return _Failed(f"the body is more than the limit of {_size(limit)}")
                if self._left(start) <= 0:
                    return self._too_slow()
                chunks.append(chunk)
        except ReadTimeoutError:
            return _Failed(f"timed out after {self._options.timeout:g} s while reading", retry=True)
        except ProtocolError as exc:
            if "IncompleteRead" in str(exc):
                return _Failed(
                    f"the body was cut short after {size:,} bytes (the connection closed early)", retry=True
                )
            return _Failed(f"the connection failed ({_scrub(_reason(exc), url)})", retry=True)
        except (TransportError, OSError) as exc:
            return _Failed(f"the connection failed ({_scrub(_reason(exc), url)})", retry=True)
        data = b"".join(chunks)
        if encoding in {"gzip", "x-gzip"}:
            try:
                data = gunzip(data, self._options.max_decoded)
            except ValueError as exc:
                return _Failed(f"the gzip-encoded download is not usable ({exc})")
        return data

    def _left(self, start: float) -> float:
        return self._options.deadline - (self._monotonic() - start)

    def _too_slow(self) -> _Failed:
        return _Failed(
            f"not done within the deadline of {self._options.deadline:g} s (the server is too slow)"
        )

    # --- the cache ---------------------------------------------------------------------------------------

    def _parse_cached(self, shown: str, cached: _Cached, parse: Callable[[bytes, str], _T]) -> _T:
        try:
            return parse(cached.body, shown)
        except InputError as exc:
            raise IntelUnavailable(f"{shown}: the cached copy is damaged ({_first_line(exc)})") from None

    def _copy(self, shown: str, cached: _Cached) -> str:
        """`2 days old; downloaded 2026-11-20 17:00 UTC` (and where from, when that was another URL)."""
        text = f"{_days(self._now - cached.confirmed)} old"
        if cached.fetched != cached.confirmed:
            text += f" as last confirmed by the server; downloaded {_stamp(cached.fetched)}"
        return text + _via(shown, cached.final_url)

    def _why_not(self, cached: _Cached | str | None) -> str:
        if self._options.cache_dir is None:
            return "no cache directory is set (--intel-cache)"
        if cached is None:
            return "there is no cached copy"
        if isinstance(cached, str):
            return f"the cached copy is unusable: {cached}"
        return (
            f"the cached copy is {_days(self._now - cached.confirmed)} old, older than the maximum of "
            f"{_days(self._options.max_age)} (--intel-max-age)"
        )

    def _path(self, url: str) -> Path | None:
        if self._options.cache_dir is None:
            return None
        key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]
        return self._options.cache_dir / f"{key}.feed"

    def _read_cache(self, url: str) -> _Cached | str | None:
        """The cached copy; a string saying what is wrong with it; None when there is none."""
        path = self._path(url)
        if path is None:
            return None
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            return f"it cannot be read ({exc.strerror or exc})"
        header, _, body = raw.partition(b"\n")
        try:
            meta = json.loads(header)
            shown, final_url, sha256 = str(meta["url"]), str(meta["final_url"]), str(meta["sha256"])
            etag, last_modified = str(meta.get("etag", "")), str(meta.get("last_modified", ""))
            stamps = {key: datetime.fromisoformat(meta[key]) for key in ("fetched", "confirmed")}
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return "its header is damaged"
        if shown != redact(url):
            return f"it holds {shown}, not this URL"
        if hashlib.sha256(body).hexdigest() != sha256:
            return "its data does not match its checksum (damaged or edited)"
        for key, stamp in stamps.items():
            if stamp.tzinfo is None:
                return f"its {key} time {stamp.isoformat()} has no time zone"
            if stamp > self._now + _SKEW:
                return f"its {key} time {_stamp(stamp)} is in the future (a wrong clock or an edited cache)"
        return _Cached(body, final_url, etag, last_modified, stamps["fetched"], stamps["confirmed"])

    def _write_cache(self, url: str, cached: _Cached) -> None:
        path = self._path(url)
        if path is None:
            return
        meta = {
            "url": redact(url),
            "final_url": cached.final_url,
            "etag": cached.etag,
            "last_modified": cached.last_modified,
            "fetched": cached.fetched.isoformat(),
            "confirmed": cached.confirmed.isoformat(),
            "sha256": hashlib.sha256(cached.body).hexdigest(),
        }
        header = json.dumps(meta, sort_keys=True).encode("utf-8")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(path, header + b"\n" + cached.body)
        except OSError:
            return  # a cache that cannot be written costs a download next time, nothing more


def open_session(user_agent: str) -> requests.Session:
    """A new requests.Session for feed downloads (the caller closes it)."""
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    return session


def redact(url: str) -> str:
    """`url` fit to show or store: a user and password become `***`, each query value `***`, no fragment."""
    try:
        parts = _split(url)
        host = parts.netloc.rpartition("@")[2]
        netloc = f"***@{host}" if "@" in parts.netloc else host
        query = "&".join(
            f"{name}=***" if sep else name
            for name, sep, _ in (p.partition("=") for p in parts.query.split("&"))
        )
        return urlunsplit((parts.scheme, netloc, parts.path, query if parts.query else "", ""))
    except ValueError:
        return "(a URL that cannot be parsed)"


def _scrub(text: str, url: str) -> str:
    """`text` (an error message from requests or urllib3) without the secrets of `url`."""
    text = re.sub(r"([?&][^=\s&#'\"]+=)[^&\s#'\")]*", r"\1***", text)
    text = re.sub(r"//[^/\s@'\"]+@", "//***@", text)
    parts = urlsplit(url)
    secrets = [parts.username or "", parts.password or ""]
    secrets += [value for _, _, value in (p.partition("=") for p in parts.query.split("&"))]
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:  # shorter values are unlikely secrets and would blank out ordinary words
            text = text.replace(secret, "***")
    return text


def url_problem(url: str) -> str:
    """Why the http(s) URL `url` cannot be downloaded from, "" when it can: no host, or a host or port that does
    not parse (`http://[zz]/`, `https://host:99999999/`). Its callers have checked the scheme."""
    try:
        parts = _split(url)
        host, _ = parts.hostname, parts.port
    except ValueError as exc:
        return f"not a URL that can be read ({exc})"
    if not host:
        return "it names no host"
    return ""


def _split(url: str) -> SplitResult:
    """`urlsplit(url)` with the check of a host in brackets that `urlsplit` makes itself from Python 3.11.4 on, on
    every Python (before it, `http://[zz]/` parsed and `zz` was looked up). Raises ValueError."""
    parts = urlsplit(url)
    host = parts.hostname if "[" in parts.netloc else None
    if host and isinstance(ipaddress.ip_address(host), ipaddress.IPv4Address):
        raise ValueError("An IPv4 address cannot be in brackets")
    return parts


def plain_http_elsewhere(url: str) -> bool:
    """True for a plain http URL to another machine: anyone on the way can change the answer, and a KEV entry
    taken out would pass what the policy fails. This machine (a mirror or a test server on loopback) is kept."""
    try:
        parts = _split(url)
        hostname = parts.hostname
    except ValueError:  # not an http URL that can be used anywhere (url_problem says why)
        return False
    if parts.scheme.lower() != "http":
        return False
    host = (hostname or "").rstrip(".")
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name, not an address
        return True


def _refused_redirect(current: str, target: str) -> str:
    # Where urllib.parse checks a host in brackets itself (Python 3.11.4 on), requests refuses such a Location first.
    try:
        scheme = _split(target).scheme.lower()
    except ValueError as exc:
        return f"redirected to a Location that is not a URL ({exc}); refused"
    if scheme not in {"http", "https"}:
        return f"redirected to {redact(target)}, not an http(s) URL; refused"
    if urlsplit(current).scheme.lower() == "https" and scheme == "http":
        return f"redirected from https to plain http ({redact(target)}); refused (a downgrade)"
    if problem := url_problem(target):
        return f"redirected to {redact(target)}: {problem}; refused"
    if plain_http_elsewhere(target):
        return f"redirected to plain http on another machine ({redact(target)}); refused"
    return ""


def _retry_after(value: str, now: datetime) -> float | None:
    value = value.strip()
    seconds = whole_number(value)
    if seconds is not None:
        return float(seconds)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max((when - now).total_seconds(), 0.0)


def _weak(etag: str) -> str:
    """The ETag for a weak comparison (RFC 9110: If-None-Match ignores the W/ prefix)."""
    return etag.strip().removeprefix("W/")


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
        raise


def _via(shown: str, final_url: str) -> str:
    return f" from {final_url}" if final_url != shown else ""


def _stamp(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _size(count: int) -> str:
    return f"{count // _MIB} MiB" if count >= _MIB else f"{count:,} bytes"


def _days(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 48:
        return f"{max(hours, 0):.0f} h"
    return f"{hours / 24:.0f} days"


def _reason(exc: Exception) -> str:
    """The cause inside requests' long wrapper messages: `Connection refused`, `certificate verify failed: ...`."""
    text = str(exc)
    found = re.search(r"\[(?:Errno -?[0-9]+|SSL: [A-Z_]+)\] ([^'\"()]+)", text)
    return found.group(1).strip().rstrip(".")[:_CAUSE_LIMIT] if found else _first_line(exc)


_CAUSE_LIMIT = 200
"""Characters of an error's cause kept for a message; _scrub's expression takes quadratic time on a long run of `?`."""


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:_CAUSE_LIMIT] if text else type(exc).__name__
