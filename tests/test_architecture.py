"""Data flows one way: ingest -> model <- policy <- report, wired by cli; third-party libraries stay fenced."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gate"

# layer -> project layers it must not import
FORBIDDEN = {
    "gate.model": {"gate.ingest", "gate.policy", "gate.report", "gate.cli", "gate.intel", "gate.platform"},
    "gate.ingest": {"gate.policy", "gate.report", "gate.cli", "gate.platform"},
    "gate.policy": {"gate.ingest", "gate.report", "gate.cli", "gate.intel", "gate.platform"},
    "gate.report": {
        "gate.ingest",
        "gate.cli",
        "gate.intel",
        "gate.platform",
        "gate.policy.engine",
        "gate.policy.schema",
    },
    "gate.intel": {"gate.policy", "gate.report", "gate.cli", "gate.platform"},
    "gate.platform": {"gate.ingest", "gate.policy", "gate.cli", "gate.intel"},
}
# third-party module -> the only places that may import it
FENCED = {
    "requests": ("gate.intel", "gate.platform"),
    "sarif_om": ("gate.report.sarif",),
    "attr": ("gate.report.sarif",),
    "attrs": ("gate.report.sarif",),
    "yaml": ("gate.policy.importers",),
    "jinja2": ("gate.report.summary",),
    "tomllib": ("gate.policy.schema",),
    "tomli": ("gate.policy.schema",),
}


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out.append((name, path))
    return out


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize(("module", "path"), _modules(), ids=[m for m, _ in _modules()])
def test_import_direction(module: str, path: Path) -> None:
    imports = _imports(path)
    for layer, forbidden in FORBIDDEN.items():
        if module == layer or module.startswith(layer + "."):
            bad = {i for i in imports for f in forbidden if i == f or i.startswith(f + ".")}
            assert not bad, f"{module} must not import {sorted(bad)}"
    for library, allowed in FENCED.items():
        if any(i == library or i.startswith(library + ".") for i in imports):
            assert any(module == a or module.startswith(a + ".") for a in allowed), (
                f"{module} imports {library}"
            )


def test_nothing_imports_cli() -> None:
    for module, path in _modules():
        if module == "gate.__main__" or module == "gate.cli" or module.startswith("gate.cli."):
            continue
        bad = {i for i in _imports(path) if i == "gate.cli" or i.startswith("gate.cli.")}
        assert not bad, f"{module} imports {sorted(bad)}"
