"""Feeds over a real HTTP server on 127.0.0.1: 200, 304, 5xx and retries, timeouts, bad bodies, cache, offline."""

from __future__ import annotations

import gzip
import socket
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from gate.intel import IntelUnavailable, KevCatalog, load_epss, load_kev, parse_kev
from tests.intel.conftest import INTEL, MakeFetcher, later

KEV = (INTEL / "kev.json").read_bytes()
JSON = {"Content-Type": "application/json"}


def _serve_kev(server: HTTPServer, **headers: str) -> str:
    server.expect_request("/kev.json").respond_with_data(KEV, headers={**JSON, **headers})
    return server.url_for("/kev.json")


def _cached(make_fetcher: MakeFetcher, server: HTTPServer, **headers: str) -> str:
    """Fetch the catalog once so the cache holds it; return the URL and clear the server."""
    url = _serve_kev(server, **headers)
    assert make_fetcher().get(url, parse_kev, accept=["application/json"]).origin == "network"
    server.clear()
    return url


def test_200_is_parsed_and_cached(feed_server: HTTPServer, make_fetcher: MakeFetcher, tmp_path: Path) -> None:
    url = _serve_kev(feed_server, ETag='"v1"')
    fetched = make_fetcher().get(url, parse_kev, accept=["application/json"])
    assert fetched.origin == "network"
    assert fetched.note == ""
    assert isinstance(fetched.value, KevCatalog)
    assert sorted(fetched.value.entries) == ["CVE-2021-44228", "CVE-2022-22965", "CVE-2023-44487"]
    assert len(list((tmp_path / "cache").glob("*.feed"))) == 1
    request, _ = feed_server.log[0]
    assert request.headers["User-Agent"] == "container-gate"


def test_304_with_etag_serves_the_cached_copy(feed_server: HTTPServer, make_fetcher: MakeFetcher) -> None:
    url = _cached(make_fetcher, feed_server, ETag='"v1"')
    feed_server.expect_request("/kev.json", headers={"If-None-Match": '"v1"'}).respond_with_data(
        "", status=304
    )
    fetched = make_fetcher(now=later(1)).get(url, parse_kev, accept=["application/json"])
    assert fetched.origin == "not-modified"
    assert len(fetched.value.entries) == 3
    assert feed_server.log[-1][1].status_code == 304


def test_last_modified_is_sent_back_as_if_modified_since(
    feed_server: HTTPServer, make_fetcher: MakeFetcher
) -> None:
    stamp = "Wed, 25 Nov 2026 17:00:00 GMT"
    url = _cached(make_fetcher, feed_server, **{"Last-Modified": stamp})
    feed_server.expect_request("/kev.json", headers={"If-Modified-Since": stamp}).respond_with_data(
        "", status=304
    )
    assert (
        make_fetcher(now=later(1)).get(url, parse_kev, accept=["application/json"]).origin == "not-modified"
    )


def test_304_renews_the_cached_copy_for_max_age(feed_server: HTTPServer, make_fetcher: MakeFetcher) -> None:
    url = _cached(make_fetcher, feed_server, ETag='"v1"')
    feed_server.expect_request("/kev.json").respond_with_data("", status=304)
    make_fetcher(now=later(6)).get(url, parse_kev, accept=["application/json"])
    # 12 days after the download but 6 after the server confirmed it: still within a 7-day maximum.
    fetched = make_fetcher(now=later(12), offline=True).get(url, parse_kev, accept=["application/json"])
    assert fetched.origin == "cache"


def test_500_is_retried_with_backoff_then_succeeds(
    feed_server: HTTPServer, make_fetcher: MakeFetcher, sleeps: list[float]
) -> None:
    calls: list[int] = []

    def flaky(request: Request) -> Response:
        calls.append(1)
        if len(calls) == 1:
            return Response("busy", status=500)
        return Response(KEV, headers=JSON)

    feed_server.expect_request("/kev.json").respond_with_handler(flaky)
    fetched = make_fetcher().get(feed_server.url_for("/kev.json"), parse_kev, accept=["application/json"])
    assert fetched.origin == "network"
    assert len(calls) == 2
    assert sleeps == [0.5]


def test_500_every_time_without_a_cache_is_unavailable(
    feed_server: HTTPServer, make_fetcher: MakeFetcher, sleeps: list[float]
) -> None:
    feed_server.expect_request("/kev.json").respond_with_data("down", status=503)
    with pytest.raises(IntelUnavailable, match=r"HTTP 503 \(3 attempts\), and there is no cached copy"):
        make_fetcher(retries=2).get(feed_server.url_for("/kev.json"), parse_kev, accept=["application/json"])
    assert len(feed_server.log) == 3
    assert sleeps == [0.5, 1.0]


def test_404_is_not_retried(feed_server: HTTPServer, make_fetcher: MakeFetcher, sleeps: list[float]) -> None:
    feed_server.expect_request("/kev.json").respond_with_data("gone", status=404)
    with pytest.raises(IntelUnavailable, match="HTTP 404"):
        make_fetcher().get(feed_server.url_for("/kev.json"), parse_kev, accept=["application/json"])
    assert len(feed_server.log) == 1
    assert sleeps == []


def test_500_falls_back_to_a_fresh_cache(feed_server: HTTPServer, make_fetcher: MakeFetcher) -> None:
    url = _cached(make_fetcher, feed_server)
    feed_server.expect_request("/kev.json").respond_with_data("down", status=500)
    fetched = make_fetcher(now=later(2)).get(url, parse_kev, accept=["application/json"])
    assert fetched.origin == "cache"
    assert "HTTP 500" in fetched.note
    assert "using the cached copy (2 days old)" in fetched.note


def test_timeout_is_retried_and_then_reported(feed_server: HTTPServer, make_fetcher: MakeFetcher) -> None:
    def slow(request: Request) -> Response:
        time.sleep(0.6)
        return Response(KEV, headers=JSON)

    feed_server.expect_request("/kev.json").respond_with_handler(slow)
    with pytest.raises(IntelUnavailable, match=r"timed out after 0.1 s \(2 attempts\)"):
        make_fetcher(timeout=0.1, retries=1).get(
            feed_server.url_for("/kev.json"), parse_kev, accept=["application/json"]
        )


def test_truncated_body_is_not_used_nor_cached(
    feed_server: HTTPServer, make_fetcher: MakeFetcher, tmp_path: Path
) -> None:
    feed_server.expect_request("/kev.json").respond_with_data(KEV[: len(KEV) // 2], headers=JSON)
    with pytest.raises(IntelUnavailable, match=r"the download is not usable.*invalid JSON"):
        make_fetcher().get(feed_server.url_for("/kev.json"), parse_kev, accept=["application/json"])
    assert list(tmp_path.glob("cache/*.feed")) == []


def test_connection_cut_short_of_content_length(feed_server: HTTPServer, make_fetcher: MakeFetcher) -> None:
    def short(request: Request) -> Response:
        response = Response(KEV[:100], headers=JSON)
        response.headers["Content-Length"] = str(len(KEV))  # promises more than it sends
        response.headers["Connection"] = "close"
        return response

    url = _cached(make_fetcher, feed_server)
    feed_server.expect_request("/kev.json").respond_with_handler(short)
    fetched = make_fetcher(now=later(1), retries=0).get(url, parse_kev, accept=["application/json"])
    assert fetched.origin == "cache"
    assert "the body was cut short after 100 bytes (the connection closed early) (1 attempt)" in fetched.note


def test_wrong_content_type_is_refused_and_the_cache_used(
    feed_server: HTTPServer, make_fetcher: MakeFetcher
) -> None:
    url = _cached(make_fetcher, feed_server)
    feed_server.expect_request("/kev.json").respond_with_data(
        "<html><body>Sign in to continue</body></html>", headers={"Content-Type": "text/html; charset=utf-8"}
    )
    fetched = make_fetcher(now=later(1)).get(url, parse_kev, accept=["application/json"])
    assert fetched.origin == "cache"
    assert "served as text/html, not application/json" in fetched.note


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/kev.json"


def test_network_down_uses_the_cache_within_max_age(
    make_fetcher: MakeFetcher, own_server: HTTPServer
) -> None:
    url = _cached(make_fetcher, own_server)
    own_server.stop()
    fetched = make_fetcher(now=later(7), retries=0).get(url, parse_kev, accept=["application/json"])
    assert fetched.origin == "cache"
    assert "connection failed" in fetched.note


def test_network_down_refuses_a_cache_older_than_max_age(
    make_fetcher: MakeFetcher, own_server: HTTPServer
) -> None:
    url = _cached(make_fetcher, own_server)
    own_server.stop()
    with pytest.raises(
        IntelUnavailable, match=r"the cached copy is 8 days old, older than the maximum of 7 days"
    ):
        make_fetcher(now=later(8), retries=0).get(url, parse_kev, accept=["application/json"])


def test_nothing_listening_and_no_cache(make_fetcher: MakeFetcher) -> None:
    with pytest.raises(IntelUnavailable, match="connection failed"):
        make_fetcher(retries=0).get(_dead_url(), parse_kev, accept=["application/json"])


def test_offline_uses_the_cache_and_never_connects(
    feed_server: HTTPServer, make_fetcher: MakeFetcher
) -> None:
    url = _cached(make_fetcher, feed_server)
    fetched = make_fetcher(now=later(3), offline=True).get(url, parse_kev, accept=["application/json"])
    assert fetched.origin == "cache"
    assert fetched.note.startswith("offline: using the cached copy")
    assert feed_server.log == []


def test_offline_without_a_cache_is_unavailable(feed_server: HTTPServer, make_fetcher: MakeFetcher) -> None:
    url = feed_server.url_for("/kev.json")
    with pytest.raises(IntelUnavailable, match="offline and there is no cached copy"):
        make_fetcher(offline=True).get(url, parse_kev, accept=["application/json"])
    with pytest.raises(IntelUnavailable, match="no cache directory is set"):
        make_fetcher(offline=True, cache_dir=None).get(url, parse_kev, accept=["application/json"])
    assert feed_server.log == []


def test_offline_refuses_a_stale_cache(feed_server: HTTPServer, make_fetcher: MakeFetcher) -> None:
    url = _cached(make_fetcher, feed_server)
    with pytest.raises(IntelUnavailable, match="older than the maximum"):
        make_fetcher(now=later(30), offline=True).get(url, parse_kev, accept=["application/json"])


def test_a_tampered_cache_is_ignored(
    feed_server: HTTPServer, make_fetcher: MakeFetcher, tmp_path: Path
) -> None:
    url = _cached(make_fetcher, feed_server)
    [entry] = (tmp_path / "cache").glob("*.feed")
    entry.write_bytes(entry.read_bytes().replace(b"CVE-2021-44228", b"CVE-2021-44229"))
    with pytest.raises(
        IntelUnavailable, match="the cached copy is unusable: its data does not match its checksum"
    ):
        make_fetcher(offline=True).get(url, parse_kev, accept=["application/json"])


def test_epss_csv_gz_over_http_and_kev_through_load(
    feed_server: HTTPServer, make_fetcher: MakeFetcher
) -> None:
    gz = gzip.compress((INTEL / "epss.csv").read_bytes())
    feed_server.expect_request("/epss.csv.gz").respond_with_data(
        gz, headers={"Content-Type": "application/gzip"}
    )
    _serve_kev(feed_server)
    fetcher = make_fetcher()
    epss = load_epss(feed_server.url_for("/epss.csv.gz"), fetcher=fetcher).value
    assert epss.scores["CVE-2023-44487"].epss == pytest.approx(0.81123)
    assert epss.score_date.startswith("2026-11-26")
    kev = load_kev(feed_server.url_for("/kev.json"), fetcher=fetcher).value
    assert kev.entries["CVE-2021-44228"].ransomware is True
