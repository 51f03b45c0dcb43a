"""Property tests of the build history's redaction: history entries in each builder's own form, with arbitrary
values, never carry a value into the decision record, and the secrets check reads the names the record hides.

How the builders write the entries (moby's `prependEnvOnCmd` and `dispatchEnv`, BuildKit's `runCommandString`
and `commitToHistory`, buildah's `getCreatedBy`):

- docker's classic builder: `/bin/sh -c #(nop)  ENV A=x B=y` and `... ARG A=x`, with the values as the
  Dockerfile parser left them (quotes removed, so a value may hold blanks, quotes, `=`); a RUN with build
  arguments is `|N A=x B=y <shell> <command>`: N the number of arguments, `NAME=value` sorted and joined by
  blanks, unquoted, then the SHELL's words (`/bin/sh -c`) and the command, or an exec-form command's words.
- BuildKit: `ENV A=x B=y`, `ARG A=x`, and `RUN |N A=x B=y /bin/sh -c <command> # buildkit`, the arguments in
  the order declared, unquoted; no `|0`.
- buildah: the instruction's own text after `/bin/sh -c #(nop) ` (so quotes stay, and the legacy `ENV NAME
  value` form), a RUN's build arguments sorted and joined by blanks, N counting the words of that join split
  at single blanks, and always ` /bin/sh -c ` before the RUN's own text; `ARG` lists the names in scope.

A `--build-arg` value may hold anything, a newline included, so the RUN forms take any text; an ENV or ARG
value is the Dockerfile's text, which a line continuation cannot break, but `$OTHER` can bring a build
argument's newline into it, so they take any text too.

The names the parser promises to show (`history_values`, `_build_arguments`): a RUN's first name always; all
its names when the `NAME=` words before the command are no more than the count; in ENV and ARG, the first
`NAME=` word and each later one with a value after its `=` (so the NAME of a value's own `NAME=x` word is
shown, never its x). The command is kept from the shell on: the first shell after the count-th `NAME=` word.
A value holding a shell and its option (`x sh -c y`) cannot be told from the command's start: the part
before it is hidden, the rest shown.
"""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gate.model import Image
from gate.policy.history import NAME, redacted_history
from gate.policy.image_checks import CHECKS, _assignments
from gate.policy.schema import ImageCheck
from tests.conftest import TODAY

# Derandomized: the parser guesses where unquoted values end, and a new corner found by a random run belongs in
# a change of its own, not in the test run of an unrelated one (to explore, drop derandomize and vary the seed).
PROPERTY = settings(
    max_examples=250, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

# Docker takes whatever stands before the `=` as the name: one may start with a digit or hold other scripts' letters,
# and the marks and joiners they are written with (`पासवर्ड`, a decomposed `Ö`).
NAMES = st.from_regex(r"[A-Za-z0-9_Ö密प][A-Za-z0-9_Ö密पा्\u0308\u200d]{0,11}", fullmatch=True)
# Text a secret may hold: printable ASCII and blanks, other scripts, and the pieces the parser looks for.
PIECES = st.sampled_from(
    [" ", "  ", "\t", "\n", "=", '"', "'", "#", "|", "|2", "-c", "/bin/sh", "sh", "#(nop)", "ENV", "ARG",
     "RUN", " # buildkit", "X=", "==", " c2VjcmV0== ", " hunter2= ", "k=v", '\\"', "\\", "é", "密码", "🔑",
     "$HOME", "${A}", "/opt/bash", "cmd"]
)  # fmt: skip
VALUES = st.lists(
    st.one_of(
        st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=10),
        st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=4, max_size=16),
        PIECES,
    ),
    max_size=6,
).map("".join)
# A value with no word of the `NAME=` form, no quote and no shell: it cannot be read as more than one value.
# It is not empty and does not start with a blank: a `NAME=` word with nothing after the `=` after the first
# name continues the value before it (it may be a value's `hunter2=`).
PLAIN = st.text(
    st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="=\"'/-\\"), min_size=1, max_size=24
).filter(
    lambda v: (
        not v[0].isspace()
        and not re.search(r"(?i)\b(?:sh|bash|ash|dash|zsh|ksh|mksh|cmd|powershell|pwsh)\b", v)
    )
)
# A command's words: any text, `NAME=value` words and shells among them.
COMMANDS = st.lists(
    st.one_of(
        st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc", "Z"]), min_size=1, max_size=12),
        st.sampled_from(["make", "X=1", "PREFIX=/usr", "&&", "sh", "-c", "bash", "-lc", "'a b'", '"c d"']),
    ),
    min_size=1,
    max_size=5,
).map(" ".join)
SHELLS = st.sampled_from(["/bin/sh -c", "/bin/bash -o pipefail -c", "/bin/ash -eo pipefail -c", "cmd /S /C"])
ARGS = st.lists(st.tuples(NAMES, VALUES), min_size=1, max_size=4, unique_by=lambda kv: kv[0])
PLAIN_ARGS = st.lists(st.tuples(NAMES, PLAIN), min_size=1, max_size=4, unique_by=lambda kv: kv[0])

# A shell's name and its first option inside a value: the parser cannot tell it from the command's start.
_SHELL_IN_VALUE = re.compile(
    r"(?i)(?:^|\s)(?:\S*/)?(?:sh|bash|ash|dash|zsh|ksh|mksh|cmd(?:\.exe)?|(?:powershell|pwsh)(?:\.exe)?)\s+[-/]"
)


def _joined(args: list[tuple[str, str]]) -> str:
    return " ".join(f"{name}={value}" for name, value in args)


def classic_run(args: list[tuple[str, str]], shell: str, command: str) -> str:
    return f"|{len(args)} {_joined(sorted(args, key=lambda kv: f'{kv[0]}={kv[1]}'))} {shell} {command}"


def buildkit_run(args: list[tuple[str, str]], shell: str, command: str) -> str:
    return f"RUN |{len(args)} {_joined(args)} {shell} {command} # buildkit"


def buildah_run(args: list[tuple[str, str]], _shell: str, command: str) -> str:
    joined = _joined(sorted(args, key=lambda kv: f"{kv[0]}={kv[1]}"))
    return f"|{len(joined.split(' '))} {joined} /bin/sh -c {command}"


def classic_env(args: list[tuple[str, str]]) -> str:
    return f"/bin/sh -c #(nop)  ENV {_joined(args)}"


def buildkit_env(args: list[tuple[str, str]]) -> str:
    return f"ENV {_joined(args)}"


def classic_arg(args: list[tuple[str, str]]) -> str:
    return f"/bin/sh -c #(nop)  ARG {_joined(args)}"


def buildkit_arg(args: list[tuple[str, str]]) -> str:
    return f"ARG {_joined(args)}"


def buildah_arg(args: list[tuple[str, str]]) -> str:
    # Some buildah versions write the build arguments in scope with their values (`getBuildArgs`), sorted.
    return f"/bin/sh -c #(nop) ARG {_joined(sorted(args, key=lambda kv: f'{kv[0]}={kv[1]}'))}"


RUNS = {"classic": classic_run, "buildkit": buildkit_run, "buildah": buildah_run}
INSTRUCTIONS = {
    "classic ENV": classic_env,
    "BuildKit ENV": buildkit_env,
    "classic ARG": classic_arg,
    "BuildKit ARG": buildkit_arg,
    "buildah ARG": buildah_arg,
}


def _words(value: str) -> list[str]:
    """The fragments of a value that must not be in the record: its words of 4 characters or more, and a word's
    part before a trailing `=` (base64's padding)."""
    words = [w for w in value.split() if len(w) >= 4]
    return words + [w.rstrip("=") for w in words if w.endswith("=") and len(w.rstrip("=")) >= 4]


def assert_hidden(line: str, values: list[str], rest: str) -> str:
    """The redacted line carries no fragment of `values` that the rest of the entry (names, command) lacks.

    A value's word `NAME=x` after a blank cannot be told from an assignment where no count says otherwise
    (ENV, ARG, buildah's `|N` of words): its NAME is shown, its x hidden. That NAME is left out here; not
    that of `NAME=` or `NAME==` (base64's padding), which is never shown.
    """
    written = redacted_history(line)
    held = re.findall(rf"""(?:^|\s)({NAME})=(?=["']*[^"'=\s])""", " ".join(values))
    rest += " " + " ".join(held)
    for value in values:
        for word in _words(value):
            if word not in rest and word not in "<redacted>":
                assert word not in written, (word, written)
    return written


def shown_names(written: str) -> list[str]:
    return re.findall(r"([^\s=]+)[= ]<redacted>", written)


def assigned_names(line: str) -> list[str]:
    return [name for name, _, _ in _assignments(Image(history=((line, True),)))]


# --- (a) no value is carried into the record -------------------------------------------------------------


@PROPERTY
@given(st.sampled_from(sorted(RUNS)), ARGS, SHELLS, COMMANDS)
@example("classic", [("A", "x /bin/sh -c"), ("B", "hunter22 swordfish")], "/bin/sh -c", "make")
@example("buildkit", [("OPTS", "s3cr3t /opt/tools/bash")], "/bin/sh -c", "make")
@example("buildah", [("A", "x c2VjcmV0==")], "/bin/sh -c", "make")
def test_a_build_argument_value_is_never_written(
    builder: str, args: list[tuple[str, str]], shell: str, command: str
) -> None:
    line = RUNS[builder](args, shell, command)
    # The part of a value before a shell's name and option: after it, the parser reads the command.
    guarded = [_SHELL_IN_VALUE.split(value, maxsplit=1)[0] for _, value in args]
    rest = " ".join(name for name, _ in args) + f" {shell} /bin/sh -c {command} RUN # buildkit"
    assert_hidden(line, guarded, rest)


@PROPERTY
@given(st.sampled_from(sorted(INSTRUCTIONS)), ARGS)
@example("classic ENV", [("A", "x dGhpc2lzYXNlY3JldA==")])
@example("BuildKit ARG", [("A", "x hunter22=")])
@example("BuildKit ENV", [("पासवर्ड", "hunter22")])
def test_an_env_or_arg_value_is_never_written(form: str, args: list[tuple[str, str]]) -> None:
    line = INSTRUCTIONS[form](args)
    assert_hidden(
        line, [value for _, value in args], " ".join(name for name, _ in args) + " /bin/sh -c #(nop) ENV ARG"
    )


@PROPERTY
@given(ARGS)
@example([("G", '" # buildkit='), ("A", "")])
def test_a_buildah_env_value_is_never_written(args: list[tuple[str, str]]) -> None:
    # buildah keeps the Dockerfile's text: a value with blanks is quoted there, `"` escaped inside the quotes.
    quoted = [(name, '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"') for name, value in args]
    line = f"/bin/sh -c #(nop) ENV {_joined(quoted)}"
    assert_hidden(
        line, [value for _, value in args], " ".join(name for name, _ in args) + " /bin/sh -c #(nop) ENV"
    )
    legacy = f"/bin/sh -c #(nop) ENV {args[0][0]} {args[0][1]}"  # `ENV NAME value`: one value, all of it
    assert_hidden(legacy, [args[0][1]], f"{args[0][0]} /bin/sh -c #(nop) ENV")


# --- (b) the certain names are shown, (c) the command is kept ---------------------------------------------


@PROPERTY
@given(st.sampled_from(sorted(RUNS)), ARGS, SHELLS, COMMANDS)
def test_the_first_name_is_always_shown(
    builder: str, args: list[tuple[str, str]], shell: str, command: str
) -> None:
    # The first build argument's name starts the entry: no value comes before it.
    line = RUNS[builder](args, shell, command)
    first = line.split("=", 1)[0].split()[-1]
    assert f"{first}=<redacted>" in redacted_history(line)


@PROPERTY
@given(st.sampled_from(sorted(RUNS)), PLAIN_ARGS, SHELLS, COMMANDS)
def test_every_name_and_the_command_are_shown_when_no_value_can_be_misread(
    builder: str, args: list[tuple[str, str]], shell: str, command: str
) -> None:
    # No value holds a `NAME=` word, a quote or a shell: every `NAME=` word before the shell is a name.
    line = RUNS[builder](args, shell, command)
    written = redacted_history(line)
    assert sorted(shown_names(written)) == sorted(name for name, _ in args)
    shell = "/bin/sh -c" if builder == "buildah" else shell
    assert written.endswith(f" {shell} {command.rstrip()}" + (" # buildkit" if builder == "buildkit" else ""))


@PROPERTY
@given(st.sampled_from(sorted(RUNS)), ARGS, SHELLS, COMMANDS)
@example("buildkit", [("MSG", "it's")], "/bin/sh -c", "echo 'done'")
@example("buildah", [("CFLAGS", "-O2 -g")], "/bin/sh -c", "make PREFIX=/usr")
def test_the_command_is_kept_when_no_value_holds_a_shell(
    builder: str, args: list[tuple[str, str]], shell: str, command: str
) -> None:
    if any(_SHELL_IN_VALUE.search(value) for _, value in args):
        return  # the adversarial case: test_a_value_holding_a_shell
    if builder == "buildah" and any(len(f"{n}={v}".split(" ")) != len(f"{n}={v}".split()) for n, v in args):
        # buildah counts the words split at each blank: with a tab, a newline or blanks side by side in a value
        # the words are not its count, and a command holding a `NAME=` word is hidden with the values (never a
        # leak).
        return
    if builder == "buildah" and _SHELL_IN_VALUE.search(command):
        # buildah's count is of words, not arguments: when a value's words outnumber its names, the names of the
        # command count too, and an inner shell (`A= sh -c ...`) can be read as the command's start, hiding the
        # command before it with the values (never a leak).
        return
    line = RUNS[builder](args, shell, command)
    shell = "/bin/sh -c" if builder == "buildah" else shell
    tail = f" {shell} {command.rstrip()}" + (" # buildkit" if builder == "buildkit" else "")
    assert redacted_history(line).endswith(tail)


@PROPERTY
@given(st.sampled_from(sorted(INSTRUCTIONS)), PLAIN_ARGS)
def test_every_env_and_arg_name_is_shown(form: str, args: list[tuple[str, str]]) -> None:
    written = redacted_history(INSTRUCTIONS[form](args))
    assert sorted(shown_names(written)) == sorted(name for name, _ in args)


def test_a_value_holding_a_shell() -> None:
    # The value `x /bin/sh -c y` cannot be told apart from the value `x` and the command `y /bin/sh -c make`:
    # the part of the value before the shell is hidden, the rest is read as the command and shown.
    line = "|1 TOKEN=hunter22 /bin/sh -c leaked /bin/sh -c make"
    assert redacted_history(line) == "|1 TOKEN=<redacted> /bin/sh -c leaked /bin/sh -c make"


# --- (d) other entries are unchanged ------------------------------------------------------------------------

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
OTHERS = st.one_of(
    TEXT.map(lambda t: f"/bin/sh -c #(nop)  LABEL description={t}"),
    TEXT.map(lambda t: f'/bin/sh -c #(nop)  CMD ["{t}"]'),
    TEXT.map(lambda t: f"/bin/sh -c #(nop) WORKDIR /{t}"),
    TEXT.map(lambda t: f"/bin/sh -c #(nop) ADD file:{t} in / "),
    TEXT.map(lambda t: f"/bin/sh -c #(nop) COPY file:{t} in /app"),
    TEXT.map(lambda t: f"COPY {t} /app # buildkit"),
    TEXT.map(lambda t: f"LABEL a={t}"),
    TEXT.map(lambda t: f"WORKDIR /{t}"),
    TEXT.map(lambda t: f"/bin/sh -c {t}"),  # a RUN without build arguments
    TEXT.map(lambda t: f"RUN /bin/sh -c {t} # buildkit"),
    st.lists(NAMES, max_size=4).map(lambda names: "/bin/sh -c #(nop) ARG " + " ".join(names)),  # buildah
    st.lists(NAMES, max_size=4).map(lambda names: "ARG " + " ".join(names)),
)


@PROPERTY
@given(OTHERS)
@example("/bin/sh -c echo ENV DB_PASSWORD=x is not an instruction")
@example('/bin/sh -c #(nop)  LABEL description="set ENV MODE=prod to run"')
def test_other_entries_are_unchanged(line: str) -> None:
    assert redacted_history(line) == line
    assert assigned_names(line) == []


# --- (e) the check reads the names the record hides -----------------------------------------------------


@PROPERTY
@given(
    st.one_of(
        st.tuples(st.sampled_from(sorted(RUNS)), ARGS, SHELLS, COMMANDS).map(lambda t: RUNS[t[0]](*t[1:])),
        st.tuples(st.sampled_from(sorted(INSTRUCTIONS)), ARGS).map(lambda t: INSTRUCTIONS[t[0]](t[1])),
        OTHERS,
    )
)
def test_the_check_reads_the_names_the_record_hides(line: str) -> None:
    assert shown_names(redacted_history(line)) == assigned_names(line)


# --- a record read back is written the same -----------------------------------------------------------


@PROPERTY
@given(
    st.one_of(
        st.tuples(st.sampled_from(sorted(RUNS)), ARGS, SHELLS, COMMANDS).map(lambda t: RUNS[t[0]](*t[1:])),
        st.tuples(st.sampled_from(sorted(INSTRUCTIONS)), ARGS).map(lambda t: INSTRUCTIONS[t[0]](t[1])),
        OTHERS,
    )
)
@example("|2 A= B= /bin/sh -c TOKEN=x make")
@example("|2 A=x C=z B=y /bin/sh -c TOKEN=1 make")
def test_redaction_is_idempotent(line: str) -> None:
    # gate merge reads records back and renders them again: the history written must read as itself.
    once = redacted_history(line)
    assert redacted_history(once) == once


# --- the secrets check flags a credential in every form -------------------------------------------------

AWS_KEY = st.from_regex(r"AKIA[0-9A-Z]{16}", fullmatch=True)
PASSWORD = st.from_regex(r"[a-z][a-z0-9]{5,15}", fullmatch=True)


def _flagged(line: str) -> bool:
    outcome = CHECKS["no-secrets-in-env"](
        Image(config_known=True, history=((line, True),)), ImageCheck(env="no-secrets"), TODAY
    )
    return outcome.passed is False


FORMS = st.sampled_from(sorted(RUNS) + sorted(INSTRUCTIONS))


def _line(form: str, args: list[tuple[str, str]], command: str) -> str:
    return RUNS[form](args, "/bin/sh -c", command) if form in RUNS else INSTRUCTIONS[form](args)


@PROPERTY
@given(FORMS, ARGS, st.integers(0, 4), PASSWORD, COMMANDS)
@example("buildkit", [("A", " c2VjcmV0== ")], 1, "hunter2", "make")
def test_a_password_is_flagged_in_every_form(
    form: str, args: list[tuple[str, str]], at: int, secret: str, command: str
) -> None:
    args = [kv for kv in args if kv[0] != "PASSWORD"]
    args.insert(min(at, len(args)), ("PASSWORD", secret))
    assert _flagged(_line(form, args, command))


@PROPERTY
@given(FORMS, ARGS, st.integers(0, 4), NAMES, PLAIN, AWS_KEY, PLAIN, COMMANDS)
def test_an_aws_key_is_flagged_in_every_form(
    form: str,
    args: list[tuple[str, str]],
    at: int,
    name: str,
    before: str,
    key: str,
    after: str,
    command: str,
) -> None:
    # The key may be one word of a value with blanks.
    args = [kv for kv in args if kv[0] != name]
    args.insert(min(at, len(args)), (name, f"{before} {key} {after}".strip()))
    assert _flagged(_line(form, args, command))


# --- the cost on a hostile entry -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "RUN |9 " + "A=" + "x " * 250_000 + "/bin/sh -c make # buildkit",
        "|1 " + "A=b " * 125_000,
        "/bin/sh -c #(nop)  ENV " + '"' * 500_000,
        "/bin/sh -c #(nop)  ENV A=" + "sh " * 170_000,
        "|99 A=" + "sh -" * 125_000,
        "ENV " + "'a" * 250_000,
        "/bin/sh -c #(nop)  ENV A=" + '"\\' * 250_000,
        "|1 A=x " + "/" * 500_000 + " /bin/sh -c x",
        "|99999 " + "A=<redacted> " * 40_000 + "/bin/sh -c x",
        "ENV " + "A= " * 170_000,
    ],
    ids=[
        "words",
        "names",
        "quotes",
        "shells",
        "shell-like",
        "open-quotes",
        "escapes",
        "long-word",
        "read-back",
        "empty-names",
    ],
)
def test_a_hostile_entry_is_redacted_in_linear_time(line: str) -> None:
    # About 0.4 s here on an idle machine; quadratic work on 500,000 characters would take minutes. The bound
    # leaves room for a shared, loaded runner.
    start = time.perf_counter()
    redacted_history(line)
    assert time.perf_counter() - start < 5.0


def test_a_hostile_entry_is_checked_in_linear_time() -> None:
    # Only the first name is certain: the check reads each of the 125,000 `NAME=value` words of its value.
    line = "|1 " + "A=b " * 125_000 + "/bin/sh -c make"
    start = time.perf_counter()
    assert _flagged(line) is False
    assert time.perf_counter() - start < 10.0
