"""Licence allow and deny lists, for `license_allow` / `license_deny` in a rule's `match`.

A licence finding names one licence (`GPL-2.0`) or an SPDX expression (`MIT OR Apache-2.0`,
`(GPL-2.0-only WITH Classpath-exception-2.0) AND BSD-3-Clause`). The expression is read as alternatives
(`OR`) of combinations (`AND`, which binds tighter); parentheses are flattened, and `WITH <exception>` is
dropped. Patterns are globs compared case-insensitively (`GPL-*`, `apache-2.0`).

- allowed: some alternative consists only of allowed licences (you may pick that alternative);
- denied: every alternative contains a denied licence (there is no way around it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fnmatch import fnmatchcase

__all__ = ["alternatives", "is_allowed", "is_denied"]

_OR = re.compile(r"\s+OR\s+", re.IGNORECASE)
_AND = re.compile(r"\s+AND\s+", re.IGNORECASE)
_WITH = re.compile(r"\s+WITH\s+\S+", re.IGNORECASE)


def alternatives(expression: str) -> list[list[str]]:
    """The expression as alternatives of licence IDs: `A OR (B AND C)` -> [["A"], ["B", "C"]].

    An empty expression gives one alternative with an empty name, so it is neither allowed nor denied by
    a list that does not say so.
    """
    text = _WITH.sub("", expression.replace("(", " ").replace(")", " ")).strip()
    out = []
    for option in _OR.split(text):
        terms = [term.strip() for term in _AND.split(option) if term.strip()]
        out.append(terms or [""])
    return out or [[""]]


def is_allowed(expression: str, allow: Sequence[str]) -> bool:
    """True when some alternative of the expression consists only of licences matching `allow`."""
    return any(all(_matches(term, allow) for term in option) for option in alternatives(expression))


def is_denied(expression: str, deny: Sequence[str]) -> bool:
    """True when every alternative of the expression holds a licence matching `deny`."""
    return all(any(_matches(term, deny) for term in option) for option in alternatives(expression))


def _matches(name: str, patterns: Sequence[str]) -> bool:
    folded = name.strip().lower()
    return any(fnmatchcase(folded, pattern.strip().lower()) for pattern in patterns)
