"""A real HTTP server on 127.0.0.1 for the feed tests, and a fetcher factory with an injectable clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from pytest_httpserver import HTTPServer

from gate.intel import Fetcher, FetchOptions

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
INTEL = Path(__file__).resolve().parents[1] / "data" / "intel"

MakeFetcher = Callable[..., Fetcher]


def _serve() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture(scope="module")
def _loopback_server() -> Iterator[HTTPServer]:
    yield from _serve()


@pytest.fixture
def feed_server(_loopback_server: HTTPServer) -> HTTPServer:
    """A loopback HTTP server (127.0.0.1 only), shared by a module and cleared for each test."""
    _loopback_server.clear()
    return _loopback_server


@pytest.fixture
def own_server() -> Iterator[HTTPServer]:
    """A loopback HTTP server of the test's own, which the test may stop."""
    yield from _serve()


@pytest.fixture
def sleeps() -> list[float]:
    """The backoff delays a fetcher asked for (nothing really sleeps)."""
    return []


@pytest.fixture
def make_fetcher(tmp_path: Path, sleeps: list[float]) -> Iterator[MakeFetcher]:
    """Build a Fetcher over one real requests.Session with a cache in tmp_path; `now` and options overridable."""
    session = requests.Session()

    def build(*, now: datetime = NOW, **options: object) -> Fetcher:
        settings: dict[str, object] = {"cache_dir": tmp_path / "cache", "timeout": 2.0, "backoff": 0.5}
        settings.update(options)
        return Fetcher(session, FetchOptions(**settings), now=now, sleep=sleeps.append)  # type: ignore[arg-type]

    yield build
    session.close()


def later(days: float) -> datetime:
    """NOW plus `days`."""
    return NOW + timedelta(days=days)
