"""Threat intelligence: the CISA KEV catalog and FIRST EPSS scores, from files or URLs, applied to scans."""

from __future__ import annotations

from gate.intel.enrich import enrich
from gate.intel.feeds import EpssData, EpssScore, KevCatalog, KevEntry, parse_epss, parse_kev
from gate.intel.fetch import Fetched, Fetcher, FetchOptions, IntelUnavailable, open_session
from gate.intel.load import file_age_note, is_url, load_epss, load_kev

__all__ = [
    "EpssData",
    "EpssScore",
    "FetchOptions",
    "Fetched",
    "Fetcher",
    "IntelUnavailable",
    "KevCatalog",
    "KevEntry",
    "enrich",
    "file_age_note",
    "is_url",
    "load_epss",
    "load_kev",
    "open_session",
    "parse_epss",
    "parse_kev",
]
