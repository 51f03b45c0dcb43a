"""gate check with --kev/--epss (files, their dates, loopback URLs), --offline, --vex; gate policy import; the horizon."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from gate.cli import main
from tests.conftest import REAL, TESTDATA, need_shared, write_policy

GITEA = "grype/analysis-model--grype-report-wo-description.json"
KEV = TESTDATA / "intel" / "kev.json"
EPSS = TESTDATA / "intel" / "epss.csv"
STRICT_KEV = '[[rules]]\nid = "kev"\nmatch = { kind = "vulnerability", kev = true }\n'


def _run(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = {"HOME": str(tmp_path / "home")}
    code = main(list(args), stdout=out, stderr=err, env=env)
    return code, out.getvalue(), err.getvalue()


def _report() -> str:
    need_shared()
    return str(REAL / GITEA)


def _policy(tmp_path: Path, text: str) -> str:
    return str(write_policy(tmp_path, text))


def _record(out: str) -> dict[str, Any]:
    return json.loads(out)  # type: ignore[no-any-return]


def test_files_kev_epss_and_vex(tmp_path: Path) -> None:
    rule = '[[rules]]\nid = "epss"\nmatch = { epss = ">=0.1" }\non_missing_intel = "skip"\n'
    policy = _policy(tmp_path, 'extends = "builtin:default"\n' + rule)
    args = ["check", _report(), "--policy", policy, "--today", "2026-11-27", "--json", "-"]
    code, out, err = _run(
        tmp_path,
        *args,
        "--kev",
        str(KEV),
        "--epss",
        str(EPSS),
        "--vex",
        str(TESTDATA / "vex" / "cyclonedx-vex.json"),
    )
    assert code == 1
    record = _record(out)
    kev = sorted({v["id"] for v in record["violations"] if v["rule"] == "known-exploited"})
    assert kev == ["CVE-2023-44487", "GHSA-qppj-fm5r-hxr3"]
    epss = sorted({v["id"] for v in record["violations"] if v["rule"] == "epss"})
    # CVE-2022-30781 is GHSA-p5f9's alias; CVE-2023-38545 (0.237) is suppressed by the VEX
    assert epss == ["CVE-2023-44487", "GHSA-p5f9-c9j9-g8qx", "GHSA-qppj-fm5r-hxr3"]
    notes = record["images"][0]["notes"]
    assert f"intel: KEV catalog 2026.11.20 (3 entries, released 2026-11-20) from {KEV}" in notes
    statements = {s["id"]: s["statement"] for s in record["images"][0]["suppressed"]}
    assert (
        statements["CVE-2023-38545"]
        == "VEX not_affected (code_not_reachable): The image never talks to a SOCKS5 proxy."
    )
    assert "vex-under-investigation" in {v["rule"] for v in record["violations"]}
    assert "note: intel: KEV catalog" in err  # the log goes to stderr when the record goes to stdout


def test_kev_url_then_offline_from_the_cache(tmp_path: Path, feed_server: HTTPServer) -> None:
    feed_server.expect_request("/kev.json").respond_with_data(
        KEV.read_bytes(), headers={"Content-Type": "application/json", "ETag": '"k1"'}
    )
    url = feed_server.url_for("/kev.json")
    policy = _policy(tmp_path, STRICT_KEV)
    cache = str(tmp_path / "cache")
    common = [_report(), "--policy", policy, "--today", "2026-11-27", "--kev", url, "--intel-cache", cache]
    code, out, _ = _run(tmp_path, "check", *common)
    assert code == 1
    assert "FAIL kev: kev: 2 findings match" in out
    feed_server.clear()
    code, out, _ = _run(tmp_path, "check", *common, "--offline")
    assert code == 1
    assert f"note: KEV: offline: using the cached copy of {url}" in out
    assert feed_server.log == []


def test_kev_url_unreachable_follows_on_missing_intel(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/kev.json"
    common = [
        _report(),
        "--today",
        "2026-11-27",
        "--kev",
        dead,
        "--intel-cache",
        str(tmp_path / "c"),
        "--intel-retries",
        "0",
    ]
    code, out, _ = _run(tmp_path, "check", *common, "--policy", _policy(tmp_path, STRICT_KEV))
    assert code == 1
    assert f"note: KEV data unavailable: {dead}: the connection failed" in out
    assert "counted because their KEV status is unknown (on_missing_intel = fail)" in out
    warn = _policy(tmp_path, '[settings]\non_missing_intel = "warn"\n' + STRICT_KEV)
    code, out, _ = _run(tmp_path, "check", *common, "--policy", warn)
    assert code == 0
    assert out.startswith("gate: WARN")
    assert "WARN missing-intel" in out


def test_default_cache_lives_under_home(tmp_path: Path, feed_server: HTTPServer) -> None:
    feed_server.expect_request("/e.csv").respond_with_data(
        EPSS.read_bytes(), headers={"Content-Type": "text/csv"}
    )
    code, _, _ = _run(
        tmp_path, "check", _report(), "--epss", feed_server.url_for("/e.csv"), "--today", "2026-11-27"
    )
    assert code == 1
    assert len(list((tmp_path / "home" / ".cache" / "container-gate").glob("*.feed"))) == 1


def test_malformed_vex_is_exit_2_and_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.vex.json"
    bad.write_text('{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"status": "fine"}]}')
    code, out, err = _run(tmp_path, "check", _report(), "--vex", str(bad))
    assert (code, out) == (2, "")
    assert err == (
        f"gate: error: {bad}: statements[0].status: 'fine' is not one of not_affected, affected, fixed, "
        "under_investigation; the VEX document is malformed\n"
    )


@pytest.mark.parametrize("flag", ["--kev", "--epss"])
@pytest.mark.parametrize("command", ["check", "explain"])
def test_an_empty_feed_flag_is_a_usage_error(tmp_path: Path, flag: str, command: str) -> None:
    # It was dropped without a word: a KEV rule that skips missing data then passed what the catalog lists.
    args = ["CVE-2023-44487", _report()] if command == "explain" else [_report()]
    code, _, err = _run(tmp_path, command, *args, flag, " ")
    assert code == 2
    assert err == f"gate: error: {flag}: empty; give the feed's file or https:// URL (is a variable unset?)\n"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://[zz]/kev.json", "--kev: not a URL that can be read ('zz' does not appear to be an IPv4 or IPv6 "
         "address); check the URL"),
        ("https://[::1/kev.json", "--kev: not a URL that can be read (Invalid IPv6 URL); check the URL"),
        ("https://mirror.example:99999999/kev.json", "--kev https://mirror.example:99999999/kev.json: not a URL "
         "that can be read (Port out of range 0-65535); check the URL"),
        ("https:///kev.json", "--kev https:///kev.json: it names no host; check the URL"),
    ],
)  # fmt: skip
def test_a_feed_url_that_does_not_parse_is_a_usage_error(tmp_path: Path, url: str, message: str) -> None:
    # It was an internal error (ValueError from urllib.parse).
    code, _, err = _run(tmp_path, "check", _report(), "--kev", url)
    assert code == 2 and err == f"gate: error: {message}\n"


def test_intel_max_age_must_be_positive(tmp_path: Path) -> None:
    code, _, err = _run(tmp_path, "check", "r.json", "--intel-max-age", "0")
    assert code == 2 and "must be at least 1 day" in err


def test_intel_max_age_beyond_a_century_is_refused(tmp_path: Path) -> None:
    # With a URL, a number of days past timedelta's range was an internal error (OverflowError).
    args = ["check", _report(), "--kev", "https://127.0.0.1:9/kev.json", "--intel-max-age", "9999999999"]
    code, _, err = _run(tmp_path, *args)
    assert code == 2 and "must be at most 36,500 days" in err
    assert _run(tmp_path, "check", _report(), "--kev", str(KEV), "--intel-max-age", "36500")[0] in (0, 1)


def test_waiver_horizon_is_a_policy_error(tmp_path: Path) -> None:
    policy = _policy(
        tmp_path,
        'extends = "builtin:default"\n[settings]\nmax_waiver_days = 30\n'
        '[[waivers]]\nid = "CVE-1"\nreason = "r"\nexpires = 2027-06-01\n',
    )
    code, _, err = _run(tmp_path, "check", _report(), "--policy", policy, "--today", "2026-11-27")
    assert code == 2
    assert (
        "waivers[0] (CVE-1): expires 2027-06-01 is 186 days after 2026-11-27, more than settings.max_waiver_days = 30"
        in err
    )


def test_policy_import(tmp_path: Path) -> None:
    source = str(TESTDATA / "import" / ".grype.yaml")
    code, out, err = _run(tmp_path, "policy", "import", source, "--expires", "30d", "--today", "2026-11-27")
    assert code == 0
    assert "expires = 2026-12-27" in out and '[[waivers]]\nid = "CVE-2014-54321"' in out
    assert err.count("gate: warning:") == 5
    assert err.endswith(f"gate: imported 2 waivers from {source} (grype); 5 skipped\n")
    code, _, err = _run(
        tmp_path, "policy", "import", str(TESTDATA / "import" / ".trivyignore"), "--expires", "2027-01-01"
    )
    assert code == 2 and "pass --reason TEXT" in err
    code, _, err = _run(tmp_path, "policy", "import", source, "--expires", "soon")
    assert code == 2 and "is not a date (YYYY-MM-DD) or a day count (90d)" in err
    target = tmp_path / "waivers.toml"
    args = ["policy", "import", source, "--expires", "2027-01-01", "-o", str(target)]
    assert _run(tmp_path, *args)[0] == 0
    assert target.read_text(encoding="utf-8").startswith("# Waivers imported from")
    assert _run(tmp_path, *args)[0] == 2  # exists: needs --force
    assert _run(tmp_path, *args, "--force")[0] == 0


@pytest.mark.parametrize("flag", ["--kev", "--epss"])
def test_a_bad_feed_file_is_exit_2(tmp_path: Path, flag: str) -> None:
    bad = tmp_path / "feed"
    bad.write_text("<html>oops</html>")
    code, _, err = _run(tmp_path, "check", _report(), flag, str(bad))
    assert code == 2 and "HTML or XML" in err and err.count("\n") == 1


def test_credentials_in_a_feed_url_reach_no_output(tmp_path: Path, feed_server: HTTPServer) -> None:
    feed_server.expect_request("/kev.json").respond_with_data("down", status=503)
    url = feed_server.url_for("/kev.json").replace("http://", "http://user:hunter22@") + "?api_key=TOKEN123"
    record, summary = tmp_path / "record.json", tmp_path / "summary.md"
    args = ["check", _report(), "--today", "2026-11-27", "--kev", url, "--intel-cache", str(tmp_path / "c")]
    code, out, err = _run(
        tmp_path, *args, "--intel-retries", "0", "--json", str(record), "--summary", str(summary)
    )
    assert code == 1
    assert "note: KEV data unavailable: http://***@127.0.0.1:" in out
    texts = [out, err, record.read_text(encoding="utf-8"), summary.read_text(encoding="utf-8")]
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in (tmp_path / "c").rglob("*")]
    assert not [t for t in texts if "hunter22" in t or "TOKEN123" in t]


def test_a_given_feed_that_failed_is_not_asked_for_again(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/kev.json"
    args = ["check", _report(), "--today", "2026-11-27", "--kev", dead, "--intel-cache", str(tmp_path / "c")]
    code, out, _ = _run(tmp_path, *args, "--intel-retries", "0")
    assert code == 1
    assert "(1 attempt), and there is no cached copy" in out
    assert "KEV status unknown (--kev was given but its data was unavailable (see its note))" in out
    assert "give --kev" not in out


# In the repository, so these run without the shared fixtures; its findings are in neither feed.
TRIVY_FAIL = str(TESTDATA / "reports" / "trivy-fail.json")


def test_a_feed_file_older_than_intel_max_age_is_used_and_noted(tmp_path: Path) -> None:
    args = ["check", TRIVY_FAIL, "--kev", str(KEV), "--epss", str(EPSS), "--today", "2027-01-15"]
    code, out, err = _run(tmp_path, *args, "--json", "-")
    assert code == 1 and _record(out)["verdict"] == "fail"  # fixable-critical-high, as with current files
    assert _record(out)["images"][0]["notes"][:2] == [
        f"KEV: {KEV} is dated 2026-11-20 (dateReleased), 56 days before 2027-01-15, over --intel-max-age "
        "(7 days): it lacks what CISA added since; download a current copy, or give --kev the feed's URL to "
        "have it downloaded and cached",
        f"EPSS: {EPSS} is dated 2026-11-26 (score_date), 50 days before 2027-01-15, over --intel-max-age "
        "(7 days): its scores are out of date; download a current copy, or give --epss the feed's URL to have "
        "it downloaded and cached",
    ]
    assert f"  note: KEV: {KEV} is dated 2026-11-20 (dateReleased), 56 days before" in err
    # The catalog is still used: every finding has a KEV status, so known-exploited skips none.
    assert "KEV status unknown" not in err


def test_a_feed_file_dated_after_the_evaluation_date_is_noted(tmp_path: Path) -> None:
    args = ["check", TRIVY_FAIL, "--kev", str(KEV), "--epss", str(EPSS), "--today", "2026-11-10"]
    code, out, _ = _run(tmp_path, *args)
    assert code == 1
    assert (
        f"  note: KEV: {KEV} is dated 2026-11-20 (dateReleased), after the evaluation date 2026-11-10; a feed "
        "cannot come from the future: check the file and the clock (or --today)\n"
    ) in out
    assert (
        f"  note: EPSS: {EPSS} is dated 2026-11-26 (score_date), after the evaluation date 2026-11-10" in out
    )


@pytest.mark.parametrize(
    ("today", "flags", "kev", "epss"),
    [
        ("2026-11-27", [], "", ""),  # 7 days and 1 day old: within the default of 7
        ("2026-11-28", [], "8 days before 2026-11-28, over --intel-max-age (7 days)", ""),
        (
            "2026-11-27",
            ["--intel-max-age", "3"],
            "7 days before 2026-11-27, over --intel-max-age (3 days)",
            "",
        ),
        ("2026-11-27", ["--intel-max-age", "1"], "over --intel-max-age (1 day)", ""),
        ("2027-01-15", ["--intel-max-age", "60"], "", ""),
        ("2026-11-25", [], "", ""),  # the EPSS file a day ahead: clocks differ
        ("2026-11-19", [], "", "after the evaluation date 2026-11-19"),
    ],
)
def test_which_feed_files_are_noted(
    tmp_path: Path, today: str, flags: list[str], kev: str, epss: str
) -> None:
    args = ["check", TRIVY_FAIL, "--kev", str(KEV), "--epss", str(EPSS), "--today", today, *flags]
    code, out, _ = _run(tmp_path, *args)
    assert code == 1
    for name, path, expected in (("KEV", KEV, kev), ("EPSS", EPSS, epss)):
        lines = [line for line in out.splitlines() if line.startswith(f"  note: {name}: {path} ")]
        assert len(lines) == (1 if expected else 0), lines
        assert all(expected in line for line in lines)


def test_a_feed_file_without_its_date_is_noted(tmp_path: Path) -> None:
    document = json.loads(KEV.read_text(encoding="utf-8"))
    del document["dateReleased"]
    undated = tmp_path / "kev.json"
    undated.write_text(json.dumps(document), encoding="utf-8")
    code, out, _ = _run(tmp_path, "check", TRIVY_FAIL, "--kev", str(undated), "--today", "2026-11-27")
    assert code == 1
    assert (
        f"  note: KEV: {undated} does not say when it was made (no readable dateReleased), so its age is not "
        "checked\n"
    ) in out


def test_a_downloaded_feed_is_not_dated_by_its_own_date(tmp_path: Path, feed_server: HTTPServer) -> None:
    # CISA releases the catalog when it changes: a fresh download may carry an old dateReleased.
    feed_server.expect_request("/kev.json").respond_with_data(
        KEV.read_bytes(), headers={"Content-Type": "application/json"}
    )
    url = feed_server.url_for("/kev.json")
    args = ["check", TRIVY_FAIL, "--kev", url, "--today", "2027-01-15", "--intel-cache", str(tmp_path / "c")]
    code, out, _ = _run(tmp_path, *args)
    assert code == 1
    assert f"note: intel: KEV catalog 2026.11.20 (3 entries, released 2026-11-20) from {url}" in out
    assert "dateReleased" not in out
