"""Property tests: arbitrary JSON and arbitrary bytes never crash the gate; bad input is exit 2, never a traceback."""

from __future__ import annotations

import io
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.cli import main
from gate.errors import InputError
from gate.ingest import read_report
from tests.conftest import TODAY

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=30,
)
KEYS = st.sampled_from(
    ["SchemaVersion", "Results", "Vulnerabilities", "VulnerabilityID", "Severity", "FixedVersion", "matches",
     "vulnerability", "artifact", "source", "descriptor", "target", "fix", "state", "id", "name", "Target",
     "Metadata", "ImageConfig", "config", "User", "knownExploited", "epss", "ignoredMatches", "Secrets"]
)  # fmt: skip
REPORTISH = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=8) | st.just(2),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=40,
)


def _gate(data: bytes) -> tuple[int, str]:
    err = io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    code = main(["check", "-"], stdout=io.StringIO(), stderr=err, stdin=stdin, env={}, today=TODAY)
    return code, err.getvalue()


def _never_crashes(data: bytes) -> None:
    code, err = _gate(data)
    assert code in (0, 1, 2)
    assert "internal error" not in err, err
    assert "Traceback" not in err
    if code == 2:
        assert err.count("\n") == 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    _never_crashes(data)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_arbitrary_json_never_crashes(value: object) -> None:
    _never_crashes(json.dumps(value).encode())


@settings(max_examples=500, deadline=None)
@given(REPORTISH)
def test_report_shaped_json_is_read_or_refused(value: object) -> None:
    data = json.dumps(value).encode()
    message = ""
    try:
        read_report("r.json", data)
    except InputError as exc:
        message = str(exc)
    assert not message or message.startswith("r.json: ")
    _never_crashes(data)
