"""Escaping shared by the renderers. Every string that came from a report passes through one of these.

- `clean` drops what no output should carry: control bytes (C0 but tab and newlines, DEL, C1), lone
  surrogates, bidirectional controls (Trojan Source: U+061C, U+200E/F, U+202A-E, U+2066-9) and line/paragraph
  separators.
- `one_line` also folds every run of whitespace, newlines included, into one space and shortens the text.
- `markdown` makes text inert in GitHub- and GitLab-flavoured Markdown: no raw HTML, no links or images,
  no autolinks, no @mentions, no issue, label, milestone or project references, no table breakage, no emphasis
  or code spans.
- `clip_escaped` shortens text already escaped (by `markdown`, or with backslashes) on a safe boundary.
- `xml` keeps only characters XML 1.0 allows (ElementTree escapes the rest).
- `no_commands` breaks what a CI runner would read as a workflow command in a line of text (`::`, `##`).
- `command_message` / `command_property` escape GitHub workflow-command text (after `log.safe`).

And `utf16_length`, the one measure of a comment body: what `render_comment` builds and `gate comment` cuts.
"""

from __future__ import annotations

import re

__all__ = [
    "clean",
    "clip",
    "clip_escaped",
    "command_message",
    "command_property",
    "markdown",
    "no_commands",
    "one_line",
    "utf16_length",
    "xml",
]

_UNWANTED = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # control bytes; tab, LF and CR are kept (one_line folds them)
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidi controls: marks, embeddings, overrides, isolates
    "\u2028\u2029\ufeff\ufffe\uffff"  # line/paragraph separators, BOM, non-characters
    "\ud800-\udfff]"  # lone surrogates (JSON may carry them; UTF-8 cannot)
)
# What XML 1.0 forbids, spelt as the characters themselves: the complement of what it allows
# ("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]") is the same set but takes 3 ms to compile.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Backslash-escaped everywhere: emphasis, code, links and images, tables, strikethrough, headings, math, HTML.
# The backslash comes first, so the backslashes added for the others are not doubled.
_MD_ACTIVE = "\\`*_[]|~!#$^{}"
_MD_LEAD = re.compile(r"^(?:([-+=])(?=\s|[-=]*$)|(\d+)([.)])(?=\s|$))")  # list items, setext underlines
_ZWSP = "&#8203;"
_WWW = re.compile(r"(?i)\b(www)\.")
# References a digit turns live, sigil as escaped: GitHub/GitLab issue `#1`, GitLab merge request `!1`,
# snippet `$1`, epic `&1` (GitLab decodes `&amp;` first); GitHub's `GH-1`.
_REFERENCE = re.compile(r"(\\[#!$]|&amp;)(?=\d)")
# A GitLab label by number or name, `~1`, `~bug`, `~"two words"`: a name starts with a letter, digit, `"` or one
# of `_-.?&` (`\_` and `&amp;` by now).
_LABEL = re.compile(r'(\\~)(?=[\w"?.-]|\\_|&amp;)')
# A GitLab milestone by number or name, `%1`, `%v1.0`, `%"two words"`: after `%`, a quote, or non-space
# characters up to a word character (`%-1` names a milestone "-1"; `100%.` and `(50 %)` name nothing).
_MILESTONE = re.compile(r'%(?=[\w"])')
# A `%` and the punctuation after it (`%-` of `%-1`, `%%` of `%%d`): each `%` of the run starts a name when a word
# character follows. The match takes the whole run: a lookahead from each `%` would scan the run once for each.
_MILESTONE_RUN = re.compile(r'%[^\s"\w]+')
# GitLab's `[type:ID]` references (`[vulnerability:1]`, `[vulnerability:group/project/1]`) and iterations
# (`*iteration:1`, `*iteration:"name"`): their bracket and star are escaped by now, which GitLab still reads.
_TYPED_REFERENCE = re.compile(r"(\\\[)(?=[A-Za-z_]+:)|(\\\*)(?=(?i:iteration):)")
# GitHub links `GH-1` only after a non-word character (not inside `GHSA-6ggh-882h-...`).
_GH_REFERENCE = re.compile(r"(?i)(?<![\w/-])(gh-)(?=\d)")
# GitLab's other issue prefix, `GL-1`: case-sensitive, and with nothing asked of the character before it.
_GL_REFERENCE = re.compile(r"(GL-)(?=\d)")
# A GitLab project, `namespace/project>` or `project>`: a path character, then `>`, which GitLab reads escaped
# (`&gt;`) as well. The zero-width space goes between them.
_PROJECT_REFERENCE = re.compile(r"(?<=[\w.-])(?=&gt;)")
# GitLab's inline diffs, `{+x+}`, `[+x+]`, `{-x-}`, `[-x-]`, and its Gollum tags, `[[page]]` (a wiki link or image,
# with the cmark parser), read in the rendered text (escaped brackets and all).
_INLINE_DIFF = re.compile(r"(\\[\[{])(?=[+-])|(\\\[)(?=\\\[)")
# A character of each escaped sigil (`\\#`, `\\!`, `\\$`, `&amp;`): testing long text for single characters is
# several times faster than for the sigils themselves, and `_REFERENCE` decides.
_SIGIL_CHARS = ("#", "!", "$", "&")
# Text `markdown` leaves as it is: no character it escapes or breaks up (`<>&`, the punctuation above, `@`, `%`).
_PLAIN = re.compile(r"[A-Za-z0-9 .,;:'\"()/+=?-]*")
_PARTIAL_ENTITY = re.compile(r"&#?[0-9A-Za-z]*$")
_LAST_ENTITY = re.compile(r"&#?[0-9A-Za-z]+;$")
# Workflow commands: `::cmd::` (GitHub), `##[cmd]` (GitHub, legacy) and `##vso[cmd]` (Azure).
_COMMAND = re.compile(r"(:(?=:)|#(?=#))")


def clean(text: str) -> str:
    """`text` without control bytes (but tab, LF, CR), lone surrogates, bidi overrides and separators."""
    if text.isascii() and text.isprintable():  # the common case: nothing to remove
        return text
    return _UNWANTED.sub("", text)


def clip(text: str, limit: int) -> str:
    """`text` shortened to at most `limit` characters, ending in `…` when it was cut."""
    if limit <= 0:
        return ""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def clip_escaped(text: str, limit: int) -> str:
    """`clip` for text escaped already (by `markdown`, or with backslashes): the cut never splits an entity
    (`&lt;`, `&#8203;`) or a backslash escape, and never keeps a character without the zero-width space
    after it (`@&#8203;` stays or goes whole). Shorten before escaping where you can (`markdown`'s `limit`).
    """
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    partial = _PARTIAL_ENTITY.search(cut)
    if partial:
        cut = cut[: partial.start()]
    elif _odd_backslashes(cut):  # a backslash whose character was cut off
        cut = cut[:-1]
    if text.startswith(_ZWSP, len(cut)):  # the zero-width space is cut off: the character it guards goes too
        cut = _drop_last(cut)
    return cut.rstrip() + "…"


def _odd_backslashes(text: str) -> bool:
    """True when `text` ends in an odd run of backslashes (the last one escapes what follows)."""
    return (len(text) - len(text.rstrip("\\"))) % 2 == 1


def _drop_last(text: str) -> str:
    """`text` without its last character, or its last entity (`&amp;`) or backslash escape (`\\#`) whole."""
    entity = _LAST_ENTITY.search(text)
    if entity:
        return text[: entity.start()]
    return text[:-2] if _odd_backslashes(text[:-1]) else text[:-1]


def one_line(text: str, limit: int | None = None) -> str:
    """`clean(text)` on one line (whitespace runs become one space), at most `limit` characters."""
    if text.isascii() and text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        folded = text  # the common case: already one clean line (printable ASCII has no tab or newline)
    else:
        folded = " ".join(clean(text).split())  # str.split() splits on exactly what \s matches
    return folded if limit is None else clip(folded, limit)


def markdown(text: str, limit: int | None = None) -> str:
    """Report text made inert for GitHub/GitLab Markdown, on one line, shortened to `limit` characters first.

    The result renders as the literal text: `<`, `>` and `&` become entities; Markdown punctuation is
    backslash-escaped (so `|` cannot end a table cell and `[x](y)` is no link); a zero-width space after
    `@`, inside `://` and `www.`, between a reference sigil (`#`, `!`, `$`, `~`, `&`, `%`, `GH-`, `GL-`) and a
    digit, after a `~` or `%` that starts a GitLab label or milestone name (`~bug`, `~"a b"`, `%v1.0`,
    `%-1`, but not `100%.`) or a GitLab `[type:` or `*iteration:` reference, before a `>` that ends a
    GitLab project reference (`group/app>`), and inside `](`, `[[` and GitLab's inline diffs (`{+`, `[-`)
    stops mentions, autolinks and references, and what GitLab makes of the rendered text.
    """
    text = one_line(text, limit)
    if (
        _PLAIN.fullmatch(text)
        and not _MD_LEAD.match(text)
        and "://" not in text
        # Plain text is ASCII: substring tests rule both expressions out first, several times faster on long text.
        and not ("www." in text.lower() and _WWW.search(text))
        and not (("h-" in text or "H-" in text) and _GH_REFERENCE.search(text))
        and "GL-" not in text
    ):
        return text  # the common case (names, versions, most sentences): nothing to escape
    return _escape_markdown(text)


def _escape_markdown(text: str) -> str:
    """`markdown` without its fast path, for one clean line."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for char in _MD_ACTIVE:  # one str.replace per character: several times faster than one re.sub here
        if char in text:
            text = text.replace(char, "\\" + char)
    if _MD_LEAD.match(text):
        text = _MD_LEAD.sub(lambda m: "\\" + m[1] if m[1] else m[2] + "\\" + m[3], text)
    text = text.replace("@", "@" + _ZWSP).replace("://", ":" + _ZWSP + "//")
    if "www." in text.lower():  # the regex alone scans long text ten times slower than this test
        text = _WWW.sub(r"\1" + _ZWSP + ".", text)
    if any(char in text for char in _SIGIL_CHARS):
        text = _REFERENCE.sub(r"\1" + _ZWSP, text)
    if "~" in text:
        text = _LABEL.sub(r"\1" + _ZWSP, text)
    if "%" in text:
        text = _MILESTONE.sub("%" + _ZWSP, _MILESTONE_RUN.sub(_break_milestone_run, text))
    if "h-" in text or "H-" in text:
        text = _GH_REFERENCE.sub(r"\1" + _ZWSP, text)
    if "GL-" in text:
        text = _GL_REFERENCE.sub(r"\1" + _ZWSP, text)
    if "&gt;" in text:
        text = _PROJECT_REFERENCE.sub(_ZWSP, text)
    # GitLab renders a `[text](url)` of the rendered text again (its spaced-link filter): no `](` is left whole.
    if "](" in text:
        text = text.replace("\\](", "\\]" + _ZWSP + "(")
    if "[" in text or "{" in text:
        text = _INLINE_DIFF.sub(lambda m: m[0] + _ZWSP, text)
    if ":" in text and ("[" in text or "*" in text):
        text = _TYPED_REFERENCE.sub(lambda m: m[0] + _ZWSP, text)
    return text


def _break_milestone_run(match: re.Match[str]) -> str:
    """A `_MILESTONE_RUN` match with a zero-width space after each `%` when a word character follows the run."""
    after = match.string[match.end() : match.end() + 1]
    named = after.isalnum() or after == "_"  # what `\w` matches
    return match[0].replace("%", "%" + _ZWSP) if named else match[0]


def xml(text: str) -> str:
    """`text` with the characters XML 1.0 forbids removed (escaping `&<>"` is the serializer's job)."""
    return _XML_INVALID.sub("", clean(text))


def no_commands(text: str) -> str:
    """`text` with a space inside every `::` and `##`, so no line of it is a CI workflow command.

    GitHub's runner reads `::cmd::` at the start of a line (after blanks) and its legacy `##[cmd]` anywhere
    in one; Azure reads `##vso[cmd]` anywhere. XML or JSON escaping leaves all of these as they are.
    """
    return _COMMAND.sub(r"\1 ", text) if "::" in text or "##" in text else text


def command_message(text: str) -> str:
    """A workflow-command message: `%`, CR and LF percent-encoded (GitHub's toolkit convention)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def command_property(text: str) -> str:
    """A workflow-command property value: like a message, plus `:` and `,` percent-encoded."""
    return command_message(text).replace(":", "%3A").replace(",", "%2C")


def utf16_length(text: str) -> int:
    """The length of `text` in UTF-16 code units: how a comment or note body is measured against its limit.

    GitHub's and GitLab's limits are in characters, counted by the server; UTF-16 units count a character
    outside the Basic Multilingual Plane (most emoji) as two, so a body within the limit this way is within it
    whichever way the server counts.
    """
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)
