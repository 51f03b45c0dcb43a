"""Licence allow and deny lists, for `license_allow` / `license_deny` in a rule's `match`.

A licence finding names one licence (`GPL-2.0`) or an SPDX expression (`MIT OR Apache-2.0`,
`(MIT OR Apache-2.0) AND Unicode-DFS-2016`). The expression is read as SPDX reads it: `AND` binds tighter than
`OR`, parentheses group, and `WITH <exception>` is dropped. Patterns are globs compared case-insensitively
(`GPL-*`, `apache-2.0`).

- allowed: some way of choosing among the `OR`s needs only allowed licences;
- denied: every way of choosing needs a denied licence (there is no way around it).

The expression is judged as a tree, not expanded into its alternatives: `(A OR B) AND (C OR D) AND ...` has
twice as many alternatives for each group.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from fnmatch import fnmatchcase

__all__ = ["is_allowed", "is_denied"]

_TOKEN = re.compile(r"\(|\)|[^\s()]+")
_Tree = str | tuple[str, list["_Tree"]]
"""A licence name, or ("AND" | "OR", operands)."""


def _parse(expression: str) -> _Tree:
    """The expression as a tree. Machine-written text is read leniently: a missing operand is the empty name
    (neither allowed nor denied by a list that does not say so), an unclosed `(` closes at the end, a `)` that
    closes nothing is passed over, and words left over apply with `AND` (no licence is easier to allow or deny)."""
    words = _TOKEN.findall(expression)
    tokens = _kept_parentheses(words)
    if tokens is None:
        # Too deep to read as written, and dropping a group's parentheses would regroup it (`A OR B AND C`): every
        # licence named applies, so it is allowed only when all are and denied when any is.
        flat = _parse(" ".join(w for w in words if w not in ("(", ")")))
        return ("AND", list(_names(flat)))
    pos = 0

    def word(at: int) -> str:
        return tokens[at].upper() if at < len(tokens) else ""

    def either() -> _Tree:
        nonlocal pos
        operands = [both()]
        while word(pos) == "OR":
            pos += 1
            operands.append(both())
        return operands[0] if len(operands) == 1 else ("OR", operands)

    def both() -> _Tree:
        nonlocal pos
        operands = [one()]
        while word(pos) == "AND":
            pos += 1
            operands.append(one())
        return operands[0] if len(operands) == 1 else ("AND", operands)

    def one() -> _Tree:
        nonlocal pos
        if word(pos) == "(":
            pos += 1
            inner = either()
            if word(pos) == ")":
                pos += 1
            return inner
        name = []
        # A name may hold blanks (`Public Domain`): the words up to an operator or a parenthesis.
        while pos < len(tokens) and word(pos) not in ("AND", "OR", "WITH", "(", ")"):
            name.append(tokens[pos])
            pos += 1
        if word(pos) == "WITH":
            pos += 2 if pos + 1 < len(tokens) and word(pos + 1) not in ("(", ")") else 1
        return " ".join(name)

    operands = [either()]
    while pos < len(tokens):  # words the grammar did not expect (`MIT (Apache-2.0)`): all of them apply
        if tokens[pos] == ")":  # closing a group that ended early, as `(MIT (Apache-2.0))` makes
            pos += 1
        else:
            operands.append(either())
    # One level for all of them: nesting one `AND` in the next would be as deep as the words are many.
    return operands[0] if len(operands) == 1 else ("AND", operands)


_MAX_DEPTH = 32
"""Parentheses nested deeper than this are not read as written: no licence is written so, and the parser recurses."""


def _kept_parentheses(tokens: list[str]) -> list[str] | None:
    """`tokens` without a `)` that closes nothing; None when parentheses nest deeper than _MAX_DEPTH."""
    kept: list[str] = []
    depth = 0  # of the `(` open here
    for token in tokens:
        if token == "(":
            if depth == _MAX_DEPTH:
                return None
            depth += 1
        elif token == ")":
            if not depth:
                continue
            depth -= 1
        kept.append(token)
    return kept


def _names(tree: _Tree) -> list[str]:
    """The licence names of a tree, left to right."""
    names, todo = [], [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, str):
            names.append(node)
        else:
            todo.extend(reversed(node[1]))
    return names


def _judge(tree: _Tree, leaf: Callable[[str], bool], *, any_of: str) -> bool:
    """True when the tree holds: `leaf` for a name; for the operator `any_of`, some operand; for the other one,
    every operand."""
    if isinstance(tree, str):
        return leaf(tree)
    op, operands = tree
    results = (_judge(t, leaf, any_of=any_of) for t in operands)
    return any(results) if op == any_of else all(results)


def is_allowed(expression: str, allow: Sequence[str]) -> bool:
    """True when some choice among the expression's `OR`s needs only licences matching `allow`."""
    return _judge(_parse(expression), lambda name: _matches(name, allow), any_of="OR")


def is_denied(expression: str, deny: Sequence[str]) -> bool:
    """True when every choice among the expression's `OR`s needs a licence matching `deny`."""
    return _judge(_parse(expression), lambda name: _matches(name, deny), any_of="AND")


def _matches(name: str, patterns: Sequence[str]) -> bool:
    folded = name.strip().lower()
    return any(fnmatchcase(folded, pattern.strip().lower()) for pattern in patterns)
