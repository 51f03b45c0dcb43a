"""Each module's __all__ is sorted and names exactly its public definitions."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gate"
MODULES = sorted(
    ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
    for p in PACKAGE.rglob("*.py")
    if not p.name.startswith("_") or p.name == "__init__.py"
)


def _public_definitions(module: str) -> set[str]:
    path = PACKAGE.parent / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = PACKAGE.parent / module.replace(".", "/") / "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if not n.startswith("_")}


def _isort_key(name: str) -> tuple[int, str]:
    """Constants, then classes, then functions (the order ruff's RUF022 keeps)."""
    if name.isupper() or (name.upper() == name and "_" in name):
        return (0, name)
    return (1, name) if name[:1].isupper() else (2, name)


@pytest.mark.parametrize("module", MODULES)
def test_all_is_sorted_and_complete(module: str) -> None:
    mod = importlib.import_module(module)
    exported = getattr(mod, "__all__", None)
    if module.count(".") >= 1 and exported is None and not _public_definitions(module):
        return  # a package __init__ with nothing public
    assert exported is not None, f"{module} has no __all__"
    assert list(exported) == sorted(exported, key=_isort_key), f"{module}.__all__ is not sorted"
    for name in exported:
        assert hasattr(mod, name), f"{module}.__all__ names missing {name}"
    missing = _public_definitions(module) - set(exported)
    assert not missing, f"{module} defines public names not in __all__: {sorted(missing)}"
