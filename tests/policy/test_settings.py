"""The [settings] table: defaults, strict keys with locations, all errors at once, and how extends merges it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.errors import PolicyError
from gate.policy.decision import Action
from gate.policy.schema import load_policy
from gate.policy.settings import CvssSource, MissingIntel, Settings


def _load(tmp_path: Path, text: str, name: str = "gate.toml") -> object:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_policy(str(path))


def test_defaults() -> None:
    settings = load_policy("builtin:default").settings
    assert settings == Settings()
    assert (settings.on_missing_intel, settings.cvss_source, settings.max_waiver_days) == (
        MissingIntel.FAIL,
        CvssSource.HIGHEST,
        None,
    )
    assert (settings.waiver_expired, settings.waiver_expiring, settings.waiver_unused) == (
        Action.FAIL,
        Action.WARN,
        Action.WARN,
    )
    assert (settings.expiry_warning_days, settings.vex_under_investigation) == (14, Action.WARN)


def test_every_problem_at_once_with_its_location(tmp_path: Path) -> None:
    text = """
[settings]
on_missing_intel = "ignore"
max_waiver_days = 0
waiver_expired = "explode"
colour = "red"

[[rules]]
id = "img"
image = { user = "non-root" }
on_missing_intel = "warn"
"""
    with pytest.raises(PolicyError) as info:
        _load(tmp_path, text)
    problems = "\n".join(info.value.problems)
    assert "settings.on_missing_intel: expected 'fail', 'warn' or 'skip' (got 'ignore')" in problems
    assert "settings.max_waiver_days: must be at least 1 (got 0)" in problems
    assert "settings.waiver_expired: expected 'fail', 'warn', 'info' or 'off' (got 'explode')" in problems
    assert "settings.colour: unknown key" in problems
    assert "rules[0]: `on_missing_intel` applies to `match` rules only" in problems
    assert len(info.value.problems) == 5


def test_extends_merges_settings_key_by_key(tmp_path: Path) -> None:
    base = '[settings]\nmax_waiver_days = 90\nwaiver_unused = "info"\n[[rules]]\nid = "any"\nmatch = {}\n'
    _load(tmp_path, base, "base.toml")
    policy = _load(
        tmp_path, 'extends = "base.toml"\n[settings]\nwaiver_unused = "off"\ncvss_source = "nvd"\n'
    )
    settings = policy.settings  # type: ignore[attr-defined]
    assert (settings.max_waiver_days, settings.waiver_unused, settings.cvss_source) == (
        90,
        Action.OFF,
        CvssSource.NVD,
    )
    plain = _load(tmp_path, 'extends = "base.toml"\n')
    assert plain.settings.max_waiver_days == 90  # type: ignore[attr-defined]


def test_settings_are_in_the_json_schema() -> None:
    from gate.policy.schema import policy_json_schema

    schema = policy_json_schema()
    assert "settings" in schema["properties"]
    assert "on_missing_intel" in schema["$defs"]["Settings"]["properties"]
