"""Parsing the KEV catalog and EPSS CSV (plain and gzipped), and refusing what is not them."""

from __future__ import annotations

import gzip
import json
import re
import zlib
from datetime import date
from pathlib import Path

import pytest

from gate.errors import InputError
from gate.intel import feeds, file_age_note, load_epss, load_kev, parse_epss, parse_kev
from gate.intel.feeds import EpssScore, gunzip
from tests.intel.conftest import INTEL

KEV = (INTEL / "kev.json").read_bytes()
EPSS = (INTEL / "epss.csv").read_bytes()


def test_kev_catalog() -> None:
    catalog = parse_kev(KEV, "kev.json")
    assert catalog.version == "2026.11.20"
    entry = catalog.entries["CVE-2023-44487"]
    assert (entry.date_added, entry.due_date, entry.ransomware) == (
        date(2023, 10, 10),
        date(2023, 10, 31),
        False,
    )
    assert catalog.entries["CVE-2021-44228"].ransomware is True
    assert catalog.describe() == "KEV catalog 2026.11.20 (3 entries, released 2026-11-20)"


@pytest.mark.parametrize(
    ("today", "note"),
    [
        (date(2026, 11, 27), ""),  # 7 days: the limit itself is within it
        (date(2026, 11, 28), "kev.json is dated 2026-11-20 (dateReleased), 8 days before 2026-11-28, over"),
        (date(2026, 11, 19), ""),  # a day ahead: clocks differ
        (
            date(2026, 11, 18),
            "kev.json is dated 2026-11-20 (dateReleased), after the evaluation date 2026-11-18;",
        ),
    ],
)
def test_file_age_note_on_the_catalog_date(today: date, note: str) -> None:
    catalog = parse_kev(KEV, "kev.json")
    assert catalog.dated == date(2026, 11, 20)
    got = file_age_note(catalog, today=today, max_days=7)
    assert got.startswith(note) and bool(got) == bool(note)


def test_file_age_note_on_the_score_date() -> None:
    scores = parse_epss(EPSS, "epss.csv")
    assert scores.dated == date(2026, 11, 26)
    assert file_age_note(scores, today=date(2026, 12, 1), max_days=4) == (
        "epss.csv is dated 2026-11-26 (score_date), 5 days before 2026-12-01, over --intel-max-age (4 days): its "
        "scores are out of date; download a current copy, or give --epss the feed's URL to have it downloaded "
        "and cached"
    )
    undated = parse_epss(EPSS.split(b"\n", 1)[1], "epss.csv")  # without the #model_version,score_date line
    assert file_age_note(undated, today=date(2026, 12, 1), max_days=4) == (
        "epss.csv does not say when it was made (no readable score_date), so its age is not checked"
    )


def test_epss_plain_and_gzipped_are_the_same() -> None:
    plain = parse_epss(EPSS, "epss.csv")
    packed = parse_epss(gzip.compress(EPSS), "epss.csv.gz")
    assert plain.scores == packed.scores
    assert plain.model_version == "v2025.03.14"
    assert plain.scores["CVE-2023-38545"].percentile == pytest.approx(0.95897)
    assert plain.describe() == "EPSS scores of 2026-11-26 (21 CVEs, model v2025.03.14)"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"<!DOCTYPE html><html>login</html>", "HTML or XML"),
        (b'{"vulnerabilities": [', "invalid JSON"),
        (b'{"title": "x"}', "no `vulnerabilities` list"),
        # A clean GitLab container-scanning report has the same shape; read as a catalog, nothing is KEV.
        (b'{"version": "15.0.7", "vulnerabilities": [], "remediations": []}', "lists no vulnerabilities"),
        (b'{"vulnerabilities": [{"cveID": "not-a-cve"}]}', r"vulnerabilities\[0\].cveID"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b'{"vulnerabilities": ' + b"[" * 100_000, "nested too deeply"),
        (b'{"vulnerabilities": [], "count": 1' + b"0" * 5000 + b"}", "a number too long to read"),
    ],
)
def test_kev_refuses(data: bytes, words: str) -> None:
    with pytest.raises(InputError, match=words):
        parse_kev(data, "kev.json")


def _sync_flushed(data: bytes) -> bytes:
    """Gzip data cut after a flush: every byte so far unpacks, but the end marker and trailer are missing."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush(zlib.Z_SYNC_FLUSH)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"cve,score\nCVE-2024-1,0.1\n", "expected the header cve,epss,percentile"),
        (b"cve,epss,percentile\nCVE-2024-1,0.1\n", "line 2: expected cve,epss,percentile"),
        (
            b"cve,epss,percentile\nCVE-2024-1,high,0.5\n",
            "line 2: the epss 'high' is not a decimal number",
        ),
        (b"cve,epss,percentile\nCVE-2024-1,1.5,0.5\n", "between 0 and 1"),
        (b"cve,epss,percentile\n", "no scores"),
        (
            b"cve,epss,percentile\nCVE-2024-1234," + b"1" * 200_000 + b",0.5\n",
            "field larger than field limit",
        ),
        (b"cve,epss,percentile\rCVE-2024-1234,0.1,0.5\r", r"not an EPSS CSV \(new-line character seen"),
        (gzip.compress(EPSS)[:-20], "gzip data is (damaged|truncated)"),
        (_sync_flushed(EPSS[: EPSS.index(b"CVE-2023-44487")]), "gzip data is truncated"),
    ],
)
def test_epss_refuses(data: bytes, words: str) -> None:
    with pytest.raises(InputError, match=words):
        parse_epss(data, "epss.csv")


@pytest.mark.parametrize(
    "text",
    ["0_1", "1e", "1e-1_0", " 0.1", "0.1 ", "\u0660.\u0665", "nan", "inf", "+0.1", "-0", ".5", "1.", ""],
)
def test_epss_scores_are_decimals(text: str) -> None:
    # float() reads most of these, and most of them land between 0 and 1; no EPSS file writes them.
    for row, name in ((f"CVE-2024-1234,{text},0.5", "epss"), (f"CVE-2024-1234,0.5,{text}", "percentile")):
        data = f"cve,epss,percentile\nCVE-2021-44228,0.94358,0.99957\n{row}\n".encode()
        with pytest.raises(InputError) as caught:
            parse_epss(data, "epss.csv")
        assert str(caught.value) == (
            f"epss.csv: line 3: the {name} {text!r} is not a decimal number (like 0.00043); the file is damaged"
        )


def test_epss_scores_as_first_writes_them() -> None:
    data = (
        b"cve,epss,percentile\nCVE-2024-1234,0.00043,0.08712\nCVE-2024-1235,1,1.00000\nCVE-2024-1236,0,0.0\n"
        b"CVE-2024-1237,4.3e-05,1E-1\n"  # as a mirror re-written by a CSV library may have them
    )
    scores = parse_epss(data, "epss.csv").scores
    assert scores["CVE-2024-1234"] == EpssScore(epss=0.00043, percentile=0.08712)
    assert scores["CVE-2024-1235"] == EpssScore(epss=1.0, percentile=1.0)
    assert scores["CVE-2024-1236"] == EpssScore(epss=0.0, percentile=0.0)
    assert scores["CVE-2024-1237"] == EpssScore(epss=0.000043, percentile=0.1)


def test_kev_count_that_disagrees_is_refused() -> None:
    document = json.loads(KEV)
    document["vulnerabilities"] = document["vulnerabilities"][
        :2
    ]  # cut at an entry boundary: still valid JSON
    with pytest.raises(
        InputError, match="says count 3 but lists 2 vulnerabilities; it is truncated or damaged"
    ):
        parse_kev(json.dumps(document).encode(), "kev.json")


def test_gunzip_stops_at_its_limit_and_reads_several_members() -> None:
    with pytest.raises(ValueError, match="unpacks to more than"):
        gunzip(gzip.compress(b"\n" * (2 << 20)), 1 << 20)
    assert gunzip(gzip.compress(b"a,") + gzip.compress(b"b\n"), 100) == b"a,b\n"


def test_epss_line_limit_is_checked_without_a_list_of_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feeds, "MAX_EPSS_LINES", 50)
    with pytest.raises(InputError, match="more than 50 lines"):
        parse_epss(EPSS + b"\n" * 100, "epss.csv")
    assert len(parse_epss(EPSS, "epss.csv").scores) == 21


def test_files_are_read_and_missing_files_refused(tmp_path: object) -> None:
    assert load_kev(str(INTEL / "kev.json"), fetcher=None).origin == "file"
    assert len(load_epss(str(INTEL / "epss.csv"), fetcher=None).value.scores) == 21
    with pytest.raises(InputError, match="no such file"):
        load_kev(str(INTEL / "missing.json"), fetcher=None)
    with pytest.raises(InputError, match="is a directory"):
        load_epss(str(INTEL), fetcher=None)
    with pytest.raises(InputError, match="needs the network"):
        load_kev("https://example.invalid/kev.json", fetcher=None)


def test_a_feed_file_is_read_only_up_to_its_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A device that never ends (--kev /dev/zero) was read until memory ran out.
    monkeypatch.setattr("gate.intel.load._MAX_FILE_BYTES", 1024 * 1024)
    big = tmp_path / "kev.json"
    big.write_bytes(b" " * (1024 * 1024 + 1))
    with pytest.raises(InputError, match=r"kev.json: cannot read \(over 1 MiB, far more than a feed"):
        load_kev(str(big), fetcher=None)
    assert load_kev(str(INTEL / "kev.json"), fetcher=None).origin == "file"  # the real size is far below


def test_one_entry_is_counted_in_the_singular() -> None:
    kev = parse_kev(b'{"vulnerabilities": [{"cveID": "CVE-2021-44228"}]}', "kev.json")
    assert "(1 entry" in kev.describe()
    epss = parse_epss(b"cve,epss,percentile\nCVE-2021-44228,0.9,0.99\n", "epss.csv")
    assert "(1 CVE" in epss.describe() and "CVEs" not in epss.describe()


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        ('"3"', "'3'"),
        ('"5"', "'5'"),
        ("5.0", "5.0"),
        ("true", "true"),
        ("null", "null"),
        ("NaN", "nan"),
        ("[3]", "an array"),
    ],
)
def test_kev_count_that_is_not_a_whole_number_is_refused(count: str, shown: str) -> None:
    # A count of another type was not compared: a catalog cut short at an entry boundary was read as fewer entries.
    document = json.loads(KEV)
    cut = json.dumps({**document, "count": 0, "vulnerabilities": document["vulnerabilities"][:2]})
    data = cut.replace('"count": 0', f'"count": {count}').encode()
    with pytest.raises(
        InputError,
        match=rf"the KEV catalog's count is not a whole number \(got {re.escape(shown)}\); the file is",
    ):
        parse_kev(data, "kev.json")


@pytest.mark.parametrize(
    "rows",
    [
        'CVE-2024-1234,0.1,0.5,"\nCVE-2021-44228,0.94358,0.99957\n',  # a quote never closed
        'CVE-2024-1234,0.1,0.5,"\nCVE-2021-44228,0.94358,0.99957\nCVE-2024-1235,0.1,0.5,"\n',
    ],
)
def test_a_quote_that_runs_over_rows_is_refused(rows: str) -> None:
    # A quote in a column after the three was read as one field holding the rows after it, which were lost.
    data = f"cve,epss,percentile\nCVE-2024-0001,0.1,0.5\n{rows}CVE-2024-0002,0.1,0.5\n".encode()
    with pytest.raises(InputError) as caught:
        parse_epss(data, "epss.csv")
    assert str(caught.value) == (
        "epss.csv: line 3: a quoted field runs on into the next line; the file is damaged"
    )
