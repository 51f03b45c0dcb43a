"""Shared test helpers: where the shared real fixtures are, and a fixed evaluation date."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = Path(__file__).resolve().parent / "data"
# ../shared beside the checkout (CI lays it there); GATE_SHARED overrides.
SHARED = Path(os.environ.get("GATE_SHARED", ROOT.parent / "shared")).resolve()
REAL = SHARED / "fixtures" / "real"
GENERATED = SHARED / "fixtures" / "generated"
SCHEMAS = SHARED / "schemas"
TODAY = date(2026, 11, 27)


def shared_files(kind: str) -> list[Path]:
    """Real fixtures of one kind (`trivy`, `grype`, `other`); empty when ../shared is absent."""
    folder = REAL / kind
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def write_policy(tmp_path: Path, text: str) -> Path:
    """A policy file `gate.toml` in `tmp_path` holding `text`."""
    path = tmp_path / "gate.toml"
    path.write_text(text, encoding="utf-8")
    return path


def need_shared() -> None:
    """Skip the calling test when the shared fixtures are not laid beside the checkout."""
    if not REAL.is_dir():
        pytest.skip(f"shared fixtures not found at {REAL} (set GATE_SHARED)")


@pytest.fixture
def today() -> date:
    """The fixed evaluation date of the tests."""
    return TODAY
