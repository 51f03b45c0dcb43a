"""The assignments of an image's build history: the values of ENV and ARG entries and of the build arguments
of a RUN (`|2 A=b C=d /bin/sh -c make`), read as docker's classic builder, BuildKit and buildah write them.

One parser for both of its readers: the no-secrets-in-env image check (gate.policy.image_checks) judges the
values, and the decision record (gate.report.record) writes the entries with the values hidden. Values are
written unquoted, so where one ends is a guess; every guess here hides too much rather than too little.
"""

from __future__ import annotations

import re
from bisect import bisect_left

__all__ = ["INSTRUCTION", "NAME", "history_values", "redacted_history"]

INSTRUCTION = r"^(?:[^#]*#\(nop\)\s*)?"
"""A Dockerfile instruction at the start of a history entry, after the classic builder's `<shell> #(nop)`."""
NAME = r"\w[^\s\x00-,/:-@\[-^`{-\x7f]*"
"""A variable's name: docker and BuildKit take whatever stands before the `=`, so `1PASSWORD` and `PASSWÖRD` are
names too (a letter or digit of any script or `_`, then those, `.`, `-` and any other non-blank outside ASCII: the
marks and joiners many scripts write letters with, as in `पासवर्ड` or a decomposed `Ö`). A word that starts
otherwise or holds other ASCII (`--opt=x`, `-Dkey=x`, `https://h/?a=b`) is read as a value's word: shown as a
name, it would show the value."""

# Only the instruction: `ENV A=b` in a RUN's command or a LABEL's text assigns nothing. Buildah writes the
# instruction's line as the Dockerfile has it (`#(nop) env A=b`), and instructions are case-insensitive.
_HISTORY_ENV = re.compile(INSTRUCTION + r"(?i:ENV)\s+(.+)$", re.DOTALL)
# Build arguments as the classic builder (`/bin/sh -c #(nop)  ARG A=b`) and BuildKit (`ARG A=b`) record them;
# buildah writes the names in scope without values (`ARG A B C`; older buildah, the line as written, in any
# case), and `ARG A` without a value records nothing.
_HISTORY_ARG = re.compile(INSTRUCTION + r"(?i:ARG)\s+(.+)$", re.DOTALL)
# The build arguments of a RUN: `|N A=b C=d <command>`, `RUN |N ... # buildkit` from BuildKit.
_HISTORY_ARGS = re.compile(r"^(?:RUN\s+)?\|(\d+)\s+(.+)$", re.DOTALL)
# A word of an ENV or ARG entry: a run of non-blanks, where a quoted part (buildah copies the Dockerfile's
# text) may hold blanks. The escapes are masked first (`_ESCAPED`), so an unclosed quote is read once, not
# once per quote. The build arguments of a RUN are never quoted (every builder joins `NAME=value` with
# blanks): their words are runs of non-blanks, and a quote in a value groups nothing.
_ENTRY_WORD = re.compile(r"""(?:"[^"]*"|'[^']*'|\S)+""")
_RUN_WORD = re.compile(r"\S+")
# A quoted value's escapes in the Dockerfile's text that buildah copies (`"a\"b"`, `"C:\\"`): the words are
# read with them masked (the same length, no blank, no quote, no name's character), so `\"` neither opens
# nor closes a quote.
_ESCAPED = re.compile(r'\\[\\"]')
_NAME_IS = re.compile(NAME + "=")
# After the first name, a `NAME=` word with nothing after the `=` but `=` and quotes is a value's word
# (base64's padding, `x hunter2=`) as likely as an assignment of nothing: it continues the value before it.
_NAME_AND_VALUE = re.compile(NAME + r"""=(?=["']*[^"'=])""")
# The start of a RUN command after its build arguments: a shell and its first option (`/bin/sh -c`,
# `/bin/bash -o pipefail -c`, `cmd /S /C`, `powershell -Command`). An exec-form command cannot be told apart
# from a value's words. The option is `-x` or cmd's `/X`, not a path: in `A=x /opt/bash /bin/sh -c make` the
# value ends in a shell's name and the shell follows it.
_SHELL = re.compile(
    r"(?:\S*/)?(?:sh|bash|ash|dash|zsh|ksh|mksh)|cmd(?:\.exe)?|(?:powershell|pwsh)(?:\.exe)?", re.I
)
_SHELL_OPTION = re.compile(r"-|/[A-Za-z?]$")
_BUILDKIT_MARK = " # buildkit"
_REDACTED_ARGUMENT = re.compile(NAME + "=<redacted>")


def redacted_history(created_by: str) -> str:
    """A history entry with the values `history_values` reads from it (ENV, ARG, the build arguments of RUN)
    written `<redacted>`: they may hold credentials. Other entries are returned as they are."""
    text, values = history_values(created_by)
    if not values:
        return created_by
    parts, done = [], 0
    for _, start, end in values:
        parts += [text[done:start], "<redacted>"]
        done = end
    return "".join(parts) + text[done:]


def history_values(created_by: str) -> tuple[str, list[tuple[str, int, int]]]:
    """The history entry stripped, and (name, start, end) of each value it assigns: the one parser of the
    ENV, ARG and RUN build-argument entries, for the secrets check and for the record's redaction alike.

    Docker and BuildKit write values unquoted (`ENV A=x y`, `RUN |1 A=x y /bin/sh -c make`), so a word
    without `=` continues the value before it, and so does a `NAME=` word after the first with nothing but
    `=` or quotes after its `=` (a value's `hunter2=` or base64 padding cannot be told from an empty value).
    The legacy `ENV NAME value` form stays in buildah's history, which copies the instruction's text; docker
    writes `ENV NAME=value` for it. ARG has no such form: buildah writes the names of the build arguments in
    scope (`ARG A B C`), which are not values.
    """
    text = created_by.strip()
    found = _HISTORY_ARGS.match(text)
    if found:
        end = len(text) - len(_BUILDKIT_MARK) if text.endswith(_BUILDKIT_MARK) else len(text)
        return text, _build_arguments(
            list(_RUN_WORD.finditer(text, found.start(2), end)), int(found.group(1))
        )
    found = _HISTORY_ARG.match(text)
    env = found is None
    if env:
        found = _HISTORY_ENV.match(text)
    if not found:
        return text, []
    words = list(_ENTRY_WORD.finditer(_ESCAPED.sub("\0\0", text), found.start(1)))
    if env and len(words) > 1 and "=" not in words[0][0]:  # the legacy `ENV NAME value` form
        return text, [(text[words[0].start() : words[0].end()], words[1].start(), words[-1].end())]
    return text, _spans(words, _named(words), len(words))


def _build_arguments(words: list[re.Match[str]], count: int) -> list[tuple[str, int, int]]:
    """The values of the `count` build arguments that start `words`, up to the command.

    Docker and BuildKit count the arguments, buildah the words of `NAME=value` joined by blanks (so a value
    with a blank makes its count larger). The values run to the command's shell; an exec-form command cannot
    be told apart from a value's words, so they run to the end. Every word of the `NAME=` form (after the
    first, with a value) before the command is a name when there are no more than `count` of them; when there
    are more, a value holds such a word and only the first name is certain: its value then runs from the
    first `=` to the command.
    """
    if count == 0 or not words or not _NAME_IS.match(words[0][0]):
        return []
    # Each argument starts with a `NAME=` word, one of nothing too: the command starts after the count-th. In
    # the record read back, fewer names may stand before it (only the certain ones are shown), all hidden.
    named = [i for i, word in enumerate(words) if _NAME_IS.match(word[0])]
    shells = [
        i
        for i in range(1, len(words) - 1)
        if _SHELL.fullmatch(words[i][0]) and _SHELL_OPTION.match(words[i + 1][0])
    ]
    if shells and all(_REDACTED_ARGUMENT.fullmatch(word[0]) for word in words[: shells[0]]):
        command = shells[0]
    else:
        least = min(count, len(named))
        command = next((i for i in shells if bisect_left(named, i) >= least), len(words))
        if command == len(words):  # buildah: `|N`, N words (split at each blank), then always `/bin/sh -c`
            command = next((i for i in shells if i <= count and words[i][0] == "/bin/sh"), command)
    if bisect_left(named, command) > count:
        return _spans(words, named[:1], command)
    return _spans(words, [i for i in _named(words) if i < command], command)


def _named(words: list[re.Match[str]]) -> list[int]:
    """The words that start a value: the first of the `NAME=` form, then each `NAME=` word with a value."""
    first = next((i for i, word in enumerate(words) if _NAME_IS.match(word[0])), len(words))
    return [i for i in range(first, len(words)) if i == first or _NAME_AND_VALUE.match(words[i][0])]


def _spans(words: list[re.Match[str]], named: list[int], stop: int) -> list[tuple[str, int, int]]:
    """(name, start, end) of each value: from the `=` of a named word to the word before the next name (or
    before `stop`). Words before the first name are not values."""
    spans = []
    for k, i in enumerate(named):
        name = words[i][0].partition("=")[0]
        last = (named[k + 1] if k + 1 < len(named) else stop) - 1
        spans.append((name, words[i].start() + len(name) + 1, words[last].end()))
    return spans
