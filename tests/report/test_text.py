"""The escapers every renderer relies on."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from gate.report import _text
from gate.report.log import safe

HOSTILE = [
    "<script>alert(1)</script>",
    "[click](https://evil.example) ![img](https://evil.example/p.png)",
    "@octocat and @org/team",
    "a | b || c",
    "line\n::warning::injected",
    "\x1b[31mred\x1b[0m",
    "nul\x00bel\x07del\x7f c1\x85",
    "]]> <![CDATA[ x ]]>",
    "www.evil.example https://evil.example mailto:x@y.example",
    "#12 !34 $x$ ~~strike~~ **bold** _em_ `code`",
    "\u202eevil\u202c \u2066x\u2069 \u2028sep",
    "\u061cALM \u200eLRM \u200fRLM \u202aLRE \u202bRLE \u202cPDF \u202dLRO \u2067RLI \u2068FSI",
    "lone \ud800 surrogate",
    "1. list",
    "1) list",
    "12) list",
    "GH-12 gh-3 Gh-4 owner/repo#5 %6 &7 $8 ~9 !10 #11",
    "x%1 x&2 x$3 x~4 (GH-5",
    "GL-12 xGL-3 group/project> app> </b>",
    "[x](//evil.example) ![x](//evil.example/a.png) {+added+} [-removed-]",
    "- item",
    "===",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_is_inert(text: str) -> None:
    out = _text.markdown(text)
    assert "\n" not in out and "\r" not in out
    assert not re.search(
        r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]",
        out,
    )
    assert "<" not in out and ">" not in out  # no raw HTML, no autolink brackets
    bare = re.sub(r"&(#8203|amp|lt|gt);", "", out)
    assert not re.search(r"(?<!\\)[|\[\]`*_~!#$&]", bare)  # every Markdown-active character escaped
    assert not re.search(r"@(?!&#8203;)", out)  # no mention
    assert "://" not in out and not re.search(r"(?i)www\.", out)  # no autolink
    assert not re.search(r"^(\d+[.)]|[-+=])(\s|$)", out)  # no list item or setext underline
    assert not _REFERENCE.search(_rendered(out)), out


# What GitHub and GitLab link after rendering: issues, merge requests, snippets, labels, epics, milestones by
# number; labels (`~bug`, `~"a b"`) and milestones (`%v1`, `%-1`, `%"a b"`) by name, as GitLab's patterns read
# them; GitLab's `[vulnerability:1]` and `*iteration:1`, its `GL-1` issues (case-sensitive, anywhere) and its
# `namespace/project>` projects (a path, the namespace optional, then `>`). No label or milestone name starts with the
# zero-width space. And what GitLab makes of rendered text: a link or image of any `[text](url)` (its spaced-link
# filter renders it again), an inline diff of `{+x+}`, `[+x+]`, `{-x-}` and `[-x-]`, a wiki link or image of
# `[[page]]` (its Gollum-tags filter, with the cmark parser).
_REFERENCE = re.compile(
    r'(?i)[#!$~&%]\d|(?<![\w/-])gh-\d|~[\w"?.&-]|%(?:[^\s"<\u200b]*\w|")|\[[a-z_]+:|\*iteration:'
    r"|(?-i:GL-\d)|[\w.-]>|\]\(|[\[{][+-]|\[\["
)


def _rendered(escaped: str) -> str:
    """The text a one-line `markdown` result renders to: backslash escapes and entities resolved."""
    return html.unescape(re.sub(r"\\(.)", r"\1", escaped))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GH-12", "GH-&#8203;12"),
        ("see gh-3.", "see gh-&#8203;3."),
        ("see gH-3 and Gh-4", "see gH-&#8203;3 and Gh-&#8203;4"),  # plain text otherwise, in any case
        ("go to WwW.example.com", "go to WwW&#8203;.example.com"),
        ("%6 of 7", "%&#8203;6 of 7"),
        ("&7", "&amp;&#8203;7"),
        ("$8", "\\$&#8203;8"),
        ("~9", "\\~&#8203;9"),
        ("#11 !10", "\\#&#8203;11 \\!&#8203;10"),
        ("GH-x 100% a-1", "GH-x 100% a-1"),  # no digit after the sigil: left alone
        (
            "GHSA-6ggh-882h-fh7c",
            "GHSA-6ggh-882h-fh7c",
        ),  # inside a word GitHub links nothing: the ID stays whole
        ("1) list", "1\\) list"),
        ("10) x", "10\\) x"),
        ("1)x", "1)x"),
        # GitLab labels and milestones by name
        ("~bug", "\\~&#8203;bug"),
        ('~"feature request"', '\\~&#8203;"feature request"'),
        ("~_x ~&x ~-x ~.x", "\\~&#8203;\\_x \\~&#8203;&amp;x \\~&#8203;-x \\~&#8203;.x"),
        ("1.2.3-1~deb12u1", "1.2.3-1\\~&#8203;deb12u1"),  # GitLab would look up a label deb12u1
        # What comes before a `~` does not matter: GitLab's reading of it as a project path is not guessed at.
        ("x -~bug repo.git~bug a~b~c", "x -\\~&#8203;bug repo.git\\~&#8203;bug a\\~&#8203;b\\~&#8203;c"),
        ("%v1.0 %Backlog", "%&#8203;v1.0 %&#8203;Backlog"),
        ('%"release candidate"', '%&#8203;"release candidate"'),
        ("printf %s", "printf %&#8203;s"),
        ("20%-30% (%%d)", "20%&#8203;-30% (%&#8203;%&#8203;d)"),  # `-30` and `%d` would be milestone names
        ("a ~ b ~~", "a \\~ b \\~\\~"),
        ("50 % of 100%. (7%), 8%; 9%! %", "50 % of 100%. (7%), 8%; 9%\\! %"),  # no name follows: unchanged
        ('%-"x" %', '%-"x" %'),
        # GitLab's typed references and iterations
        ("[vulnerability:123]", "\\[&#8203;vulnerability:123\\]"),
        ("see [Vulnerability:grp/app/7]", "see \\[&#8203;Vulnerability:grp/app/7\\]"),
        ('*iteration:"Sprint 3" *iteration:4', '\\*&#8203;iteration:"Sprint 3" \\*&#8203;iteration:4'),
        ("[1:2] *x: [a b:c]", "\\[1:2\\] \\*x: \\[a b:c\\]"),  # no reference: left as escaped
        # GitLab's other issue prefix, `GL-1`: case-sensitive, and linked inside a word too
        ("GL-12 xGL-3", "GL-&#8203;12 xGL-&#8203;3"),
        ("gl-12 GL-x", "gl-12 GL-x"),
        # GitLab's project references, `namespace/project>` or `project>`, read in the escaped text as well
        ("see gitlab-org/gitlab> now", "see gitlab-org/gitlab&#8203;&gt; now"),
        ("</b> a_b> v1.0-> x>", "&lt;/b&#8203;&gt; a\\_b&#8203;&gt; v1.0-&#8203;&gt; x&#8203;&gt;"),
        ("a > b >> c", "a &gt; b &gt;&gt; c"),  # no name just before the `>`: left alone
        # GitLab renders `[text](url)` it finds in rendered text again, escaped or not: a link, or an image after `!`
        ("[x](//evil.example)", "\\[x\\]&#8203;(//evil.example)"),
        ("![x](y z) [a] (b)", "\\!\\[x\\]&#8203;(y z) \\[a\\] (b)"),
        # GitLab's inline diffs
        (
            "{+added+} [-removed-] {-x-} [+y+]",
            "\\{&#8203;+added+\\} \\[&#8203;-removed-\\] \\{&#8203;-x-\\} \\[&#8203;+y+\\]",
        ),
        ("[1-2] {a+b} -[+", "\\[1-2\\] \\{a+b\\} -\\[&#8203;+"),
        # GitLab's Gollum tags: wiki links and images
        ("[[page]] [[[x]]]", "\\[&#8203;\\[page\\]\\] \\[&#8203;\\[&#8203;\\[x\\]\\]\\]"),
    ],
)
def test_markdown_breaks_references_and_list_markers(text: str, expected: str) -> None:
    assert _text.markdown(text) == expected
    assert not _REFERENCE.search(_rendered(_text.markdown(text)))


def test_markdown_keeps_plain_text_readable() -> None:
    assert _text.markdown("openssl 3.0.7-r0") == "openssl 3.0.7-r0"
    assert _text.markdown("a & b") == "a &amp; b"
    assert _text.markdown("x" * 50, 10) == "x" * 9 + "…"


def test_markdown_shortens_before_escaping() -> None:
    # Cutting after escaping could leave half an entity or a dangling backslash.
    out = _text.markdown("<" * 20, 5)
    assert out == "&lt;&lt;&lt;&lt;…"
    # The zero-width spaces come after the cut, as the entities do: `limit` counts the text, not the escaping.
    assert _text.markdown("~bug %v1 " * 4, 12) == "\\~&#8203;bug %&#8203;v1 \\~&#8203;b…"
    assert _text.markdown("100%. " * 4, 12) == "100%. 100%.…"


def test_markdown_breaks_every_percent_of_a_long_run() -> None:
    # One match per run of `%`: a lookahead from each of them would take quadratic time on hostile text.
    assert _text.markdown("%" * 100_000 + "x") == "%&#8203;" * 100_000 + "x"
    assert _text.markdown("%" * 100_000 + ".") == "%" * 100_000 + "."


@pytest.mark.parametrize("text", HOSTILE)
def test_xml_text_parses(text: str) -> None:
    element = ET.Element("x", {"a": _text.xml(text)})
    element.text = _text.xml(text)
    parsed = ET.fromstring(ET.tostring(element, encoding="unicode"))  # noqa: S314 (our own output)
    assert parsed.text == _text.xml(text)


def test_one_line_and_clean() -> None:
    assert _text.one_line("  a\n\tb\r\nc  ") == "a b c"
    assert _text.clean("a\x00b\x1bc\u202ed\ud800e") == "abcde"
    assert _text.clip("abcdef", 4) == "abc…"
    assert _text.clip("abc", 0) == ""


def test_workflow_command_escaping() -> None:
    assert _text.command_message("50%\r\nx") == "50%25%0D%0Ax"
    assert _text.command_property("a:b,c%") == "a%3Ab%2Cc%25"


# Plain words and every character the escapers treat specially, so both paths of each escaper are taken.
_TEXT = st.lists(
    st.sampled_from(
        [*'aZ09 .-+=:/@#!_*<>&|\\`[]~$^{}é%()?"', "www", "WwW", "GH-", "gh-", "GL-", *"\n\t\x00\u202e"]
    ),
    max_size=20,
).map("".join)


def _reference_escape(text: str) -> str:
    """`_text._escape_markdown` written plainly, one regular expression per rule: what the fast one must equal."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = re.sub(r"([\\`*_\[\]|~!#$^{}])", r"\\\1", text)
    text = re.sub(r"^([-+=])(?=\s|[-=]*$)", r"\\\1", text)
    text = re.sub(r"^(\d+)([.)])(?=\s|$)", r"\1\\\2", text)
    text = text.replace("@", "@&#8203;").replace("://", ":&#8203;//")
    text = re.sub(r"(?i)\b(www)\.", r"\1&#8203;.", text)
    text = re.sub(r"(\\[#!$]|&amp;)(?=\d)", r"\1&#8203;", text)
    text = re.sub(r'(\\~)(?=[\w"?.-]|\\_|&amp;)', r"\1&#8203;", text)
    text = re.sub(r'%(?=[^\s"\w]*\w|")', "%&#8203;", text)
    text = re.sub(r"(?i)(?<![\w/-])(gh-)(?=\d)", r"\1&#8203;", text)
    text = re.sub(r"(GL-)(?=\d)", r"\1&#8203;", text)
    text = re.sub(r"(?<=[\w.-])&gt;", "&#8203;&gt;", text)
    text = text.replace("\\](", "\\]&#8203;(")
    text = re.sub(r"(\\[\[{])(?=[+-])", r"\1&#8203;", text)
    return re.sub(r"(\\\[)(?=\\\[)", r"\1&#8203;", text)


@given(_TEXT, st.none() | st.integers(min_value=0, max_value=12))
def test_fast_paths_agree_with_the_full_escaping(text: str, limit: int | None) -> None:
    folded = " ".join(_text.clean(text).split())
    assert _text.one_line(text, limit) == (folded if limit is None else _text.clip(folded, limit))
    assert _text.markdown(text, limit) == _text._escape_markdown(_text.one_line(text, limit))


@given(_TEXT)
@example("see WwW.example.org, [x](y) \\_ #1")
@example("1) gH-2 %3 &4 $5 ~6")
@example('~bug ~"a b" %v1 %-1 %%x %"a b" 100%. ~_x')
def test_markdown_escaping_equals_the_plain_reference(text: str) -> None:
    line = _text.one_line(text)
    assert _text._escape_markdown(line) == _reference_escape(line)
    assert not _REFERENCE.search(_rendered(_text.markdown(text)))


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("abc &lt;", 7, "abc…"),  # not "abc &l…"
        ("ab &amp;&#8203;1", 12, "ab…"),  # the zero-width space cut off: the "&amp;" it guards goes too
        ("ab @&#8203;x", 8, "ab…"),  # not "ab @&#8…", nor "ab @…"
        ("ab @&#8203;x", 5, "ab…"),
        ("ab \\[x", 5, "ab…"),  # not "ab \…"
        ("ab \\\\xy", 6, "ab \\\\…"),  # an escaped backslash is whole
        ("ab \\#&#8203;1", 7, "ab…"),
        ("ab \\~&#8203;bug", 7, "ab…"),  # not "ab \~…": the label's sigil goes with its zero-width space
        ("ab %&#8203;v1", 5, "ab…"),
        ("abc", 3, "abc"),
        ("abc", 0, ""),
    ],
)
def test_clip_escaped_cuts_on_a_safe_boundary(text: str, limit: int, expected: str) -> None:
    assert _text.clip_escaped(text, limit) == expected


@given(_TEXT, st.integers(min_value=1, max_value=60))
def test_clip_escaped_leaves_whole_escapes(text: str, limit: int) -> None:
    escaped = _text.markdown(text)
    out = _text.clip_escaped(escaped, limit)
    assert len(out) <= limit
    if out != escaped:
        kept = out.removesuffix("…")
        assert escaped.startswith(kept)
        assert not re.search(r"&#?[0-9A-Za-z]*$", kept)  # no entity cut in half
        assert (len(kept) - len(kept.rstrip("\\"))) % 2 == 0  # no backslash without its character
        assert not escaped.startswith(_text._ZWSP, len(kept))  # no character without its zero-width space


# Every Unicode bidirectional control (UAX #9): Arabic letter mark, LRM/RLM, embeddings and overrides, isolates.
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


@pytest.mark.parametrize("char", BIDI)
def test_every_bidi_control_is_removed(char: str) -> None:
    assert _text.clean(f"a{char}b") == "ab"
    assert _text.one_line(f"a{char}b") == "ab"
    assert _text.xml(f"a{char}b") == "ab"
    assert char not in _text.markdown(f"a{char}b")
    assert char not in safe(f"a{char}b")
