"""Reading an input file up to a bound."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.files import read_capped


def test_a_file_within_the_bound_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "gate.toml"
    path.write_bytes(b"x" * 1024 * 1024)
    assert read_capped(path, 1024 * 1024, "a policy") == b"x" * 1024 * 1024


def test_a_file_past_the_bound_is_refused_as_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "kev.json"
    path.write_bytes(b"x" * (2 * 1024 * 1024 + 1))
    with pytest.raises(OSError, match=r"^over 2 MiB, far more than a feed; is it the right file\?$"):
        read_capped(path, 2 * 1024 * 1024, "a feed")


def test_a_device_that_never_ends_is_refused_without_reading_it_all() -> None:
    zero = Path("/dev/zero")
    if not zero.exists():
        pytest.skip("no /dev/zero here")
    with pytest.raises(OSError, match="over 1 MiB"):
        read_capped(zero, 1024 * 1024, "a feed")
