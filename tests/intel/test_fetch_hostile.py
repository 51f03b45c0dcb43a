"""Servers that misbehave, over real loopback HTTP(S): redirects, truncation, bad 304s, slow drips, bombs, races."""

from __future__ import annotations

import gzip
import json
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from gate.intel import Fetcher, FetchOptions, IntelUnavailable, load_epss, parse_kev
from gate.intel.fetch import plain_http_elsewhere
from tests.intel.conftest import INTEL, NOW, MakeFetcher, later

KEV = (INTEL / "kev.json").read_bytes()
EPSS = (INTEL / "epss.csv").read_bytes()
JSON = {"Content-Type": "application/json"}
ACCEPT = ["application/json"]
TLS = INTEL / "tls"


@pytest.fixture
def tls_server() -> Iterator[HTTPServer]:
    """A loopback HTTPS server with a certificate for 127.0.0.1 and localhost (tests/data/intel/tls)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(TLS / "server.pem", TLS / "server.key")
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def tls_session() -> Iterator[requests.Session]:
    """A session that trusts the test CA."""
    with requests.Session() as session:
        session.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment wins over `verify`
        session.verify = str(TLS / "ca.pem")
        yield session


def _fetcher(session: requests.Session, cache: Path, **options: object) -> Fetcher:
    settings: dict[str, object] = {"cache_dir": cache, "timeout": 2.0}
    settings.update(options)
    return Fetcher(session, FetchOptions(**settings), now=NOW, sleep=lambda _: None)  # type: ignore[arg-type]


def _redirect(location: str) -> Response:
    return Response(status=301, headers={"Location": location, "Content-Length": "0"})


class _RawLocation(Response):
    """A redirect whose Location goes out as written: werkzeug would make it a URI first, and fail on one that does
    not parse."""

    def get_wsgi_headers(self, environ: object) -> object:  # type: ignore[override]
        return self.headers


def _header(cache: Path) -> dict[str, str]:
    [entry] = cache.glob("*.feed")
    return json.loads(entry.read_bytes().partition(b"\n")[0])  # type: ignore[no-any-return]


def _sync_flushed(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush(zlib.Z_SYNC_FLUSH)


# --- 1. redirects ------------------------------------------------------------------------------------------


def test_https_redirected_to_http_is_refused(
    tls_server: HTTPServer, feed_server: HTTPServer, tls_session: requests.Session, tmp_path: Path
) -> None:
    plain = feed_server.url_for("/kev.json")
    feed_server.expect_request("/kev.json").respond_with_data(KEV, headers=JSON)
    tls_server.expect_request("/kev.json").respond_with_response(_redirect(plain))
    url = tls_server.url_for("/kev.json")
    with pytest.raises(IntelUnavailable, match=rf"redirected from https to plain http \({plain}\); refused"):
        _fetcher(tls_session, tmp_path).get(url, parse_kev, accept=ACCEPT)
    assert feed_server.log == []


def test_a_redirect_to_another_https_host_is_named_and_cached_with_its_origin(
    tls_server: HTTPServer, tls_session: requests.Session, tmp_path: Path
) -> None:
    moved = f"https://localhost:{tls_server.port}/new/kev.json"
    tls_server.expect_request("/old/kev.json").respond_with_response(_redirect(moved))
    tls_server.expect_request("/new/kev.json").respond_with_data(KEV, headers={**JSON, "ETag": '"n1"'})
    url = tls_server.url_for("/old/kev.json")
    fetched = _fetcher(tls_session, tmp_path).get(url, parse_kev, accept=ACCEPT)
    assert (fetched.origin, fetched.note) == ("network", f"{url}: redirected; the data came from {moved}")
    assert _header(tmp_path)["final_url"] == moved
    offline = _fetcher(tls_session, tmp_path, offline=True).get(url, parse_kev, accept=ACCEPT)
    assert offline.note == f"offline: using the cached copy of {url} (0 h old from {moved})"
    # The validators go to the URL the copy came from, not to the one that redirects.
    _fetcher(tls_session, tmp_path).get(url, parse_kev, accept=ACCEPT)
    first, second = (request for request, _ in tls_server.log[-2:])
    assert "If-None-Match" not in first.headers
    assert second.headers["If-None-Match"] == '"n1"'


def test_a_redirect_to_a_file_url_is_refused(feed_server: HTTPServer, make_fetcher: MakeFetcher) -> None:
    feed_server.expect_request("/kev.json").respond_with_response(_redirect("file:///etc/passwd"))
    with pytest.raises(
        IntelUnavailable, match=r"redirected to file:///etc/passwd, not an http\(s\) URL; refused"
    ):
        make_fetcher().get(feed_server.url_for("/kev.json"), parse_kev, accept=ACCEPT)


@pytest.mark.parametrize(
    ("location", "words"),
    [
        ("http://[::1/kev.json", r"the answer cannot be used \(Invalid IPv6 URL\); refused"),
        # requests refuses it first where urllib.parse checks the host (Python 3.11.4 on), the gate before that
        ("https://[zz]/kev.json", r"\('zz' does not appear to be an IPv4 or IPv6 address\); refused"),
        ("https://mirror.example:99999999/kev.json", r"not a URL that can be read \(Port out of range"),
        ("https:///kev.json", "it names no host; refused"),
    ],
)
def test_a_redirect_to_a_url_that_does_not_parse_is_refused(
    feed_server: HTTPServer, make_fetcher: MakeFetcher, location: str, words: str
) -> None:
    # A hostile server's Location was an internal error (ValueError from urllib.parse).
    raw = _RawLocation(status=301, headers={"Location": location, "Content-Length": "0"})
    feed_server.expect_request("/kev.json").respond_with_response(raw)
    with pytest.raises(IntelUnavailable, match=words):
        make_fetcher().get(feed_server.url_for("/kev.json"), parse_kev, accept=ACCEPT)


def test_a_redirect_to_plain_http_on_another_machine_is_refused(
    feed_server: HTTPServer, make_fetcher: MakeFetcher
) -> None:
    # Loopback http is kept (a local mirror); sent on from there over plain http, the answer could be changed.
    elsewhere = "http://192.0.2.1/kev.json"  # TEST-NET-1: never connected to
    feed_server.expect_request("/kev.json").respond_with_response(_redirect(elsewhere))
    with pytest.raises(
        IntelUnavailable, match=rf"redirected to plain http on another machine \({elsewhere}\); refused"
    ):
        make_fetcher().get(feed_server.url_for("/kev.json"), parse_kev, accept=ACCEPT)


@pytest.mark.parametrize(
    ("url", "elsewhere"),
    [
        ("http://localhost:8080/kev.json", False),
        ("http://LOCALHOST./kev.json", False),
        ("http://127.0.0.1/kev.json", False),
        ("http://127.8.9.10/kev.json", False),
        ("http://[::1]:9000/kev.json", False),
        ("https://mirror.example/kev.json", False),
        ("http://mirror.example/kev.json", True),
        ("HTTP://10.0.0.5/kev.json", True),
        ("http://[2001:db8::1]/kev.json", True),
        ("http://localhost.evil.example/kev.json", True),
    ],
)
def test_plain_http_is_told_apart_by_its_host(url: str, elsewhere: bool) -> None:
    assert plain_http_elsewhere(url) is elsewhere


# --- 2. truncation -----------------------------------------------------------------------------------------


def test_a_kev_catalog_short_of_its_count_is_refused(
    feed_server: HTTPServer, make_fetcher: MakeFetcher
) -> None:
    document = json.loads(KEV)
    document["vulnerabilities"].pop()
    feed_server.expect_request("/kev.json").respond_with_data(json.dumps(document), headers=JSON)
    with pytest.raises(IntelUnavailable, match="says count 3 but lists 2 vulnerabilities; it is truncated"):
        make_fetcher().get(feed_server.url_for("/kev.json"), parse_kev, accept=ACCEPT)


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/epss.csv", {"Content-Type": "text/csv", "Content-Encoding": "gzip"}),
        ("/epss.csv.gz", {"Content-Type": "application/gzip"}),
    ],
)
def test_gzip_without_its_end_marker_is_refused(
    feed_server: HTTPServer, make_fetcher: MakeFetcher, path: str, headers: dict[str, str]
) -> None:
    cut = _sync_flushed(
        EPSS[: EPSS.index(b"CVE-2023-44487")]
    )  # every line so far unpacks; the end is missing
    feed_server.expect_request(path).respond_with_data(cut, headers=headers)
    with pytest.raises(IntelUnavailable, match=r"gzip.*truncated"):
        load_epss(feed_server.url_for(path), fetcher=make_fetcher())


def test_gzip_content_encoding_is_undone(feed_server: HTTPServer, make_fetcher: MakeFetcher) -> None:
    headers = {"Content-Type": "text/csv", "Content-Encoding": "gzip"}
    feed_server.expect_request("/epss.csv").respond_with_data(gzip.compress(EPSS), headers=headers)
    assert len(load_epss(feed_server.url_for("/epss.csv"), fetcher=make_fetcher()).value.scores) == 21


# --- 3 and 4. 304 and the cached copy ----------------------------------------------------------------------


def _cached(make_fetcher: MakeFetcher, server: HTTPServer, **headers: str) -> str:
    server.expect_request("/kev.json").respond_with_data(KEV, headers={**JSON, **headers})
    url = server.url_for("/kev.json")
    assert make_fetcher().get(url, parse_kev, accept=ACCEPT).origin == "network"
    server.clear()
    return url


def test_a_304_to_a_request_without_validators_is_an_error(
    feed_server: HTTPServer, make_fetcher: MakeFetcher
) -> None:
    feed_server.expect_request("/kev.json").respond_with_data("", status=304)
    url = feed_server.url_for("/kev.json")
    with pytest.raises(
        IntelUnavailable, match="HTTP 304 Not Modified to a request that carried no validators"
    ):
        make_fetcher().get(url, parse_kev, accept=ACCEPT)
    feed_server.clear()
    url = _cached(make_fetcher, feed_server)  # served without ETag or Last-Modified
    feed_server.expect_request("/kev.json").respond_with_data("", status=304)
    fetched = make_fetcher(now=later(5)).get(url, parse_kev, accept=ACCEPT)
    assert fetched.origin == "cache"
    assert (
        "carried no validators (a broken server or proxy); using the cached copy (5 days old)" in fetched.note
    )
    with pytest.raises(IntelUnavailable, match="8 days old"):  # the bad 304 did not renew the copy
        make_fetcher(now=later(8), offline=True).get(url, parse_kev, accept=ACCEPT)


def test_a_valid_304_says_the_cached_copy_was_confirmed(
    feed_server: HTTPServer, make_fetcher: MakeFetcher
) -> None:
    url = _cached(make_fetcher, feed_server, ETag='"v1"')
    feed_server.expect_request("/kev.json", headers={"If-None-Match": '"v1"'}).respond_with_data(
        "", status=304, headers={"ETag": 'W/"v1"'}
    )
    fetched = make_fetcher(now=later(2)).get(url, parse_kev, accept=ACCEPT)
    assert fetched.origin == "not-modified"
    assert fetched.note == (
        f"{url}: not modified (HTTP 304); the server confirmed the cached copy downloaded 2026-11-27 12:00 UTC"
    )
    offline = make_fetcher(now=later(3), offline=True).get(url, parse_kev, accept=ACCEPT)
    assert "(1 h old as last confirmed" not in offline.note
    assert "(24 h old as last confirmed by the server; downloaded 2026-11-27 12:00 UTC)" in offline.note


def test_a_304_with_another_etag_is_refused(feed_server: HTTPServer, make_fetcher: MakeFetcher) -> None:
    url = _cached(make_fetcher, feed_server, ETag='"v1"')
    feed_server.expect_request("/kev.json").respond_with_data("", status=304, headers={"ETag": '"v2"'})
    fetched = make_fetcher(now=later(1)).get(url, parse_kev, accept=ACCEPT)
    assert fetched.origin == "cache"
    assert 'HTTP 304 Not Modified with ETag "v2", but the cached copy has "v1"' in fetched.note


@pytest.mark.parametrize(
    ("stamp", "problem"),
    [
        ("2027-01-01T00:00:00+00:00", "its confirmed time 2027-01-01 00:00 UTC is in the future"),
        ("2026-11-27T12:00:00", "its confirmed time 2026-11-27T12:00:00 has no time zone"),
    ],
)
def test_a_cache_time_in_the_future_or_without_a_zone_makes_the_copy_unusable(
    feed_server: HTTPServer, make_fetcher: MakeFetcher, tmp_path: Path, stamp: str, problem: str
) -> None:
    url = _cached(make_fetcher, feed_server)
    [entry] = (tmp_path / "cache").glob("*.feed")
    header, _, body = entry.read_bytes().partition(b"\n")
    meta = {**json.loads(header), "confirmed": stamp}
    entry.write_bytes(json.dumps(meta).encode() + b"\n" + body)
    with pytest.raises(IntelUnavailable, match=f"offline and the cached copy is unusable: {problem}"):
        make_fetcher(offline=True).get(url, parse_kev, accept=ACCEPT)


@pytest.mark.parametrize("header", [b"[" * 100_000, b'{"url": 1' + b"0" * 5000 + b"}", b"\xff\xfe"])
def test_a_damaged_cache_header_makes_the_copy_unusable(
    feed_server: HTTPServer, make_fetcher: MakeFetcher, tmp_path: Path, header: bytes
) -> None:
    url = _cached(make_fetcher, feed_server)
    [entry] = (tmp_path / "cache").glob("*.feed")
    entry.write_bytes(header + b"\n" + entry.read_bytes().partition(b"\n")[2])
    with pytest.raises(
        IntelUnavailable, match="offline and the cached copy is unusable: its header is damaged"
    ):
        make_fetcher(offline=True).get(url, parse_kev, accept=ACCEPT)


def test_a_cache_time_within_a_day_ahead_is_accepted(
    feed_server: HTTPServer, make_fetcher: MakeFetcher
) -> None:
    url = _cached(make_fetcher, feed_server)  # written at NOW; read by a machine whose clock is 20 h behind
    assert (
        make_fetcher(now=later(-20 / 24), offline=True).get(url, parse_kev, accept=ACCEPT).origin == "cache"
    )


# --- 5. deadlines and waits --------------------------------------------------------------------------------


def test_a_slow_drip_meets_the_deadline(feed_server: HTTPServer, make_fetcher: MakeFetcher) -> None:
    def drip(request: Request) -> Response:
        def body() -> Iterator[bytes]:
            for index in range(len(KEV)):
                yield KEV[index : index + 1]
                time.sleep(0.05)  # each byte well within the read timeout, the whole far beyond the deadline

        return Response(body(), headers={**JSON, "Content-Length": str(len(KEV))})

    feed_server.expect_request("/kev.json").respond_with_handler(drip)
    start = time.monotonic()
    with pytest.raises(IntelUnavailable, match=r"not done within the deadline of 1 s"):
        make_fetcher(deadline=1.0, timeout=0.5, retries=3).get(
            feed_server.url_for("/kev.json"), parse_kev, accept=ACCEPT
        )
    assert time.monotonic() - start < 2.5


def test_waits_between_attempts_are_capped(
    feed_server: HTTPServer, make_fetcher: MakeFetcher, sleeps: list[float]
) -> None:
    feed_server.expect_request("/kev.json").respond_with_data("busy", status=503)
    with pytest.raises(
        IntelUnavailable,
        match=r"HTTP 503 \(4 attempts; a wait of 8 s more would pass 10 s of waiting, 120 s in all\)",
    ):
        make_fetcher(retries=10, backoff=1.0, max_wait=10.0).get(
            feed_server.url_for("/kev.json"), parse_kev, accept=ACCEPT
        )
    assert sleeps == [1.0, 2.0, 4.0]


def test_retry_after_is_honoured_within_the_cap(
    feed_server: HTTPServer, make_fetcher: MakeFetcher, sleeps: list[float]
) -> None:
    feed_server.expect_ordered_request("/kev.json").respond_with_data(
        "busy", status=503, headers={"Retry-After": "2"}
    )
    feed_server.expect_ordered_request("/kev.json").respond_with_data(
        "busy", status=429, headers={"Retry-After": "3600"}
    )
    with pytest.raises(IntelUnavailable, match=r"HTTP 429 \(2 attempts; a wait of 3600 s more"):
        make_fetcher(retries=10).get(feed_server.url_for("/kev.json"), parse_kev, accept=ACCEPT)
    assert sleeps == [2.0]


def test_a_retry_after_that_is_not_a_number_is_no_wait_of_its_own(
    feed_server: HTTPServer, make_fetcher: MakeFetcher, sleeps: list[float]
) -> None:
    # isdigit() takes "²", which is no number of seconds: the backoff applies, as without the header.
    feed_server.expect_ordered_request("/kev.json").respond_with_data(
        "busy", status=503, headers={"Retry-After": "\u00b2"}
    )
    feed_server.expect_ordered_request("/kev.json").respond_with_data(KEV, headers=JSON)
    fetched = make_fetcher(retries=1, backoff=1.0).get(
        feed_server.url_for("/kev.json"), parse_kev, accept=ACCEPT
    )
    assert fetched.origin == "network"
    assert sleeps == [1.0]


# --- 6. size limits ----------------------------------------------------------------------------------------


def test_a_body_over_the_byte_cap_is_refused(feed_server: HTTPServer, make_fetcher: MakeFetcher) -> None:
    feed_server.expect_request("/kev.json").respond_with_data(KEV, headers=JSON)
    with pytest.raises(
        IntelUnavailable, match=r"the body is 2,156 bytes, more than the limit of 1,000 bytes"
    ):
        make_fetcher(max_bytes=1000).get(feed_server.url_for("/kev.json"), parse_kev, accept=ACCEPT)


def test_a_body_without_length_is_cut_at_the_byte_cap(
    feed_server: HTTPServer, make_fetcher: MakeFetcher
) -> None:
    def endless(request: Request) -> Response:
        return Response(iter([KEV] * 100), headers=JSON)  # chunked: no Content-Length to refuse up front

    feed_server.expect_request("/kev.json").respond_with_handler(endless)
    with pytest.raises(IntelUnavailable, match=r"the body is more than the limit of 10,000 bytes"):
        make_fetcher(max_bytes=10_000).get(feed_server.url_for("/kev.json"), parse_kev, accept=ACCEPT)


def test_a_gzip_bomb_in_content_encoding_stops_at_the_decoded_cap(
    feed_server: HTTPServer, make_fetcher: MakeFetcher
) -> None:
    bomb = gzip.compress(b" " * (8 << 20))  # 8 MiB of spaces in about 8 KB
    headers = {**JSON, "Content-Encoding": "gzip"}
    feed_server.expect_request("/kev.json").respond_with_data(bomb, headers=headers)
    with pytest.raises(IntelUnavailable, match=r"unpacks to more than 1 MiB"):
        make_fetcher(max_decoded=1 << 20).get(feed_server.url_for("/kev.json"), parse_kev, accept=ACCEPT)


# --- 7. credentials ----------------------------------------------------------------------------------------

SECRETS = ("hunter22", "TOKEN123")


def _with_secrets(url: str) -> str:
    return url.replace("http://", "http://user:hunter22@") + "?api_key=TOKEN123&day=1"


def test_credentials_never_reach_notes_errors_or_the_cache(
    feed_server: HTTPServer, make_fetcher: MakeFetcher, tmp_path: Path
) -> None:
    feed_server.expect_request("/kev.json").respond_with_data(KEV, headers=JSON)
    url = _with_secrets(feed_server.url_for("/kev.json"))
    shown = feed_server.url_for("/kev.json").replace("http://", "http://***@") + "?api_key=***&day=***"
    fetched = make_fetcher().get(url, parse_kev, accept=ACCEPT)
    assert fetched.value.source == shown
    assert feed_server.log[0][0].args["api_key"] == "TOKEN123"  # sent, of course; only never shown
    feed_server.clear()
    feed_server.expect_request("/kev.json").respond_with_data("down", status=500)
    texts = [make_fetcher(now=later(1), retries=0).get(url, parse_kev, accept=ACCEPT).note]
    texts.append(make_fetcher(offline=True).get(url, parse_kev, accept=ACCEPT).note)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = _with_secrets(f"http://127.0.0.1:{sock.getsockname()[1]}/kev.json")
    with pytest.raises(IntelUnavailable) as caught:
        make_fetcher(retries=0).get(dead, parse_kev, accept=ACCEPT)
    texts.append(str(caught.value))
    texts += [
        entry.read_bytes().partition(b"\n")[0].decode() for entry in (tmp_path / "cache").glob("*.feed")
    ]
    assert all(shown.split("?")[0] in text or "127.0.0.1" in text for text in texts)
    assert not [text for text in texts for secret in SECRETS if secret in text]


# --- 8. concurrent runs sharing a cache --------------------------------------------------------------------


def test_readers_never_see_a_half_written_cache_entry(
    feed_server: HTTPServer, make_fetcher: MakeFetcher
) -> None:
    other = KEV.replace(b'"2026.11.20"', b'"2026.11.21"')
    turn = iter(range(1_000_000))
    feed_server.expect_request("/kev.json").respond_with_handler(
        lambda request: Response(other if next(turn) % 2 else KEV, headers=JSON)
    )
    url = feed_server.url_for("/kev.json")
    make_fetcher().get(url, parse_kev, accept=ACCEPT)
    problems: list[str] = []
    versions: set[str] = set()
    done = threading.Event()

    def write() -> None:
        for _ in range(60):
            make_fetcher().get(url, parse_kev, accept=ACCEPT)

    def read() -> None:
        while not done.is_set():
            try:
                versions.add(make_fetcher(offline=True).get(url, parse_kev, accept=ACCEPT).value.version)
            except IntelUnavailable as exc:
                problems.append(str(exc))

    writers = [threading.Thread(target=write) for _ in range(2)]
    readers = [threading.Thread(target=read) for _ in range(3)]
    for thread in [*writers, *readers]:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    for thread in readers:
        thread.join()
    assert problems == []
    assert versions <= {"2026.11.20", "2026.11.21"}


# --- 9. wording --------------------------------------------------------------------------------------------


def test_one_attempt_is_one_attempt(make_fetcher: MakeFetcher) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/kev.json"
    with pytest.raises(IntelUnavailable, match=r"\(1 attempt\), and there is no cached copy"):
        make_fetcher(retries=0).get(dead, parse_kev, accept=ACCEPT)
