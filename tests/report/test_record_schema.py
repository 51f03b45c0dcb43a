"""docs/decision-record.schema.json describes the records gate check --json writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gate.ingest import read_report
from gate.policy.engine import evaluate
from gate.policy.schema import load_policy
from gate.report import record
from tests.conftest import REAL, ROOT, TESTDATA, TODAY, need_shared
from tests.report.helpers import decide, fixture_decision, readable_fixtures

SCHEMA_PATH = ROOT / "docs" / "decision-record.schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    document = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(document)
    return jsonschema.Draft202012Validator(document)


def _errors(validator: jsonschema.Draft202012Validator, data: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]


@pytest.mark.parametrize("path", readable_fixtures(), ids=lambda p: p.name)
def test_records_of_real_fixtures_validate(path: Path, validator: jsonschema.Draft202012Validator) -> None:
    data = json.loads(record.render(fixture_decision(path)))
    assert _errors(validator, data) == []


def test_record_with_waivers_validates(validator: jsonschema.Draft202012Validator) -> None:
    need_shared()
    data = json.loads(record.render(decide(REAL / "trivy" / "trivy-integ--alpine-39.json", "waivers.toml")))
    assert data["waived"] and data["images"][0]["waivers"]
    assert _errors(validator, data) == []


def test_schema_catches_a_broken_record(validator: jsonschema.Draft202012Validator) -> None:
    need_shared()
    data = json.loads(record.render(decide(REAL / "trivy" / "trivy-integ--alpine-39.json")))
    data["verdict"] = "maybe"
    del data["violations"][0]["rule"]
    data["counts"]["failed"] = -1
    errors = _errors(validator, data)
    assert len(errors) == 3, errors


def test_schema_documents_every_top_level_key(validator: jsonschema.Draft202012Validator) -> None:
    need_shared()
    data = json.loads(record.render(decide(REAL / "trivy" / "trivy-integ--alpine-39.json")))
    document = validator.schema
    assert set(data) <= set(document["properties"])
    assert set(data["images"][0]) <= set(document["$defs"]["image"]["properties"])
    assert set(data["violations"][0]) <= set(document["$defs"]["violation"]["properties"])


def test_record_redacts_environment_values_and_round_trips() -> None:
    from gate.model import Image, Scan
    from gate.policy.engine import evaluate
    from gate.policy.schema import load_policy
    from gate.report.record import load_record, render
    from tests.conftest import TODAY

    image = Image(reference="app:1", config_known=True, user="0", env=("PASSWORD=hunter2", "PATH=/usr/bin"))
    scan = Scan(
        source="r.json", scanner="trivy", artifact="app:1", artifact_type="container_image", image=image
    )
    text = render(evaluate(scan, load_policy("builtin:strict"), today=TODAY))
    assert "hunter2" not in text
    assert "PASSWORD=<redacted>" in text
    again = load_record(text, "d.json")
    assert render(again) == text


def test_record_redacts_the_values_the_build_history_repeats() -> None:
    # ENV and ARG instructions and the build arguments of RUN are in the history with their values: the
    # credentials the environment's redaction hides were in the record all the same.
    from gate.model import Image, Scan
    from gate.policy.engine import evaluate
    from gate.policy.schema import load_policy
    from gate.report.record import load_record, render
    from tests.conftest import TODAY

    history = (
        ("/bin/sh -c #(nop)  ENV PASSWORD=hunter2 MODE=prod", True),
        ("ENV TOKEN s3cr3t-legacy", True),
        ("ARG NPM_TOKEN=npm_abcdef", True),
        ("RUN |2 NPM_TOKEN=npm_abcdef uid=1001 /bin/sh -c make X=1", False),
        ("COPY app /app # buildkit", False),
    )
    image = Image(reference="app:1", config_known=True, user="0", env=("PASSWORD=hunter2",), history=history)
    scan = Scan(
        source="r.json", scanner="trivy", artifact="app:1", artifact_type="container_image", image=image
    )
    text = render(evaluate(scan, load_policy("builtin:strict"), today=TODAY))
    for secret in ("hunter2", "s3cr3t-legacy", "npm_abcdef", "=prod", "uid=1001"):
        assert secret not in text, secret
    written = [entry[0] for entry in json.loads(text)["images"][0]["image"]["history"]]
    assert written == [
        "/bin/sh -c #(nop)  ENV PASSWORD=<redacted> MODE=<redacted>",
        "ENV TOKEN <redacted>",
        "ARG NPM_TOKEN=<redacted>",
        "RUN |2 NPM_TOKEN=<redacted> uid=<redacted> /bin/sh -c make X=1",
        "COPY app /app # buildkit",
    ]
    assert render(load_record(text, "d.json")) == text


# (history entry, as the record writes it, the values it must not carry). Docker and BuildKit write build
# arguments and ENV values unquoted, so a value with a blank runs on to the next name or to the command.
HISTORY_REDACTED = [
    (  # BuildKit: values with blanks, the count says two
        "RUN |2 TOKEN=tok3n tail0 PASSWORD=hunter2 swordfish /bin/sh -c make # buildkit",
        "RUN |2 TOKEN=<redacted> PASSWORD=<redacted> /bin/sh -c make # buildkit",
        ("tok3n", "tail0", "hunter2", "swordfish"),
    ),
    (  # the classic builder: no RUN, a SHELL of its own
        "|1 NPM_TOKEN=npm_s3cr3t m0re /bin/bash -o pipefail -c npm ci",
        "|1 NPM_TOKEN=<redacted> /bin/bash -o pipefail -c npm ci",
        ("npm_s3cr3t", "m0re"),
    ),
    (  # buildah: two words, one argument, and always `/bin/sh -c` after them; a NAME= word in the command
        "|2 CFLAGS=-O2 -g /bin/sh -c make install PREFIX=/usr",
        "|2 CFLAGS=<redacted> /bin/sh -c make install PREFIX=/usr",
        ("-O2",),
    ),
    (  # buildah counts the words, not the arguments
        "|4 PASSWORD=hunter2 swordfish TOKEN=tok3n tail0 /bin/sh -c make",
        "|4 PASSWORD=<redacted> TOKEN=<redacted> /bin/sh -c make",
        ("hunter2", "swordfish", "tok3n", "tail0"),
    ),
    (  # a value with a word like NAME=...: more such words than the count, so only the first name is certain
        "|1 DSN=host=db7 login=appuser9 passwd=s3cr3t /bin/sh -c make",
        "|1 DSN=<redacted> /bin/sh -c make",
        ("db7", "login", "appuser9", "passwd", "s3cr3t"),
    ),
    (  # no shell to show where an exec-form command starts: all of it is hidden
        "RUN |1 TOKEN=tok3n tail0 /app/build --out x # buildkit",
        "RUN |1 TOKEN=<redacted> # buildkit",
        ("tok3n", "tail0", "/app/build"),
    ),
    (  # quoted, as buildah copies the instruction
        '/bin/sh -c #(nop) ENV PASSWORD="hunter2 swordfish" MODE=prod',
        "/bin/sh -c #(nop) ENV PASSWORD=<redacted> MODE=<redacted>",
        ("hunter2", "swordfish", "=prod"),
    ),
    (  # multi-line: the command keeps its lines, the value loses its own
        "RUN |1 TOKEN=tok3n\ntail0 /bin/sh -c set -e\nmake X=1 # buildkit",
        "RUN |1 TOKEN=<redacted> /bin/sh -c set -e\nmake X=1 # buildkit",
        ("tok3n", "tail0"),
    ),
    (  # a value's last word names a shell: the shell's path after it is not an option, so it is not the command
        "RUN |1 OPTS=s3cr3t /opt/tools/bash /bin/sh -c make # buildkit",
        "RUN |1 OPTS=<redacted> /bin/sh -c make # buildkit",
        ("s3cr3t", "/opt/tools/bash"),
    ),
    (
        "|2 A=x B=--login zsh /bin/bash -o pipefail -c make",
        "|2 A=<redacted> B=<redacted> /bin/bash -o pipefail -c make",
        ("--login", "zsh"),
    ),
    (  # cmd's options are /S and /C
        "|1 A=x cmd /S /C build.bat",
        "|1 A=<redacted> cmd /S /C build.bat",
        (),
    ),
    # A word of the `NAME=` form with nothing after the `=` (or only `=` and quotes) is a value's word (base64's
    # padding, a trailing `=`): an assignment of nothing after the first cannot be told from it, and is hidden.
    (
        "/bin/sh -c #(nop)  ENV KEYS=abc dGhpc2lzYXNlY3JldA==",
        "/bin/sh -c #(nop)  ENV KEYS=<redacted>",
        ("dGhpc2lzYXNlY3JldA",),
    ),
    ("ARG A=x hunter22= B=y", "ARG A=<redacted> B=<redacted>", ("hunter22",)),
    ('/bin/sh -c #(nop) ENV A="\\" hunter22="', "/bin/sh -c #(nop) ENV A=<redacted>", ("hunter22",)),
    (  # buildah counts the words: two here, one value
        "|2 A=x dGhpc2lzYXNlY3JldA== /bin/sh -c make",
        "|2 A=<redacted> /bin/sh -c make",
        ("dGhpc2lzYXNlY3JldA",),
    ),
    ("|2 A= B=x /bin/sh -c make", "|2 A=<redacted> B=<redacted> /bin/sh -c make", ()),  # the first is a name
    (  # only the first name is certain, and the command holds a `NAME=` word: read back, the record is the same
        "|2 A=x C=z B=y /bin/sh -c TOKEN=1 make",
        "|2 A=<redacted> /bin/sh -c TOKEN=1 make",
        ("C=z", "B=y"),
    ),
    (  # two arguments of nothing: the command starts after the second `NAME=` word all the same
        "|2 A= B= /bin/sh -c TOKEN=x make",
        "|2 A=<redacted> /bin/sh -c TOKEN=x make",
        (),
    ),
    (  # no builder quotes a build argument: a quote in its value groups nothing, the command stays shown
        "RUN |1 MSG=it's /bin/sh -c echo 'done' # buildkit",
        "RUN |1 MSG=<redacted> /bin/sh -c echo 'done' # buildkit",
        ("it's",),
    ),
    ('|2 A=say "hi B=x /bin/sh -c echo "ok"', '|2 A=<redacted> B=<redacted> /bin/sh -c echo "ok"', ('"hi',)),
    (  # buildah copies the Dockerfile's text: `\"` inside quotes neither opens nor closes them
        '/bin/sh -c #(nop) ENV PASSWORD="p\\" s3cr3t=\\"x" MODE=prod',
        "/bin/sh -c #(nop) ENV PASSWORD=<redacted> MODE=<redacted>",
        ("s3cr3t", "prod"),
    ),
    (  # an `=` in the command is not a build argument; nor in a RUN without any (`|0`)
        "|0 /bin/sh -c make TOKEN=visible",
        "|0 /bin/sh -c make TOKEN=visible",
        (),
    ),
    (
        "/bin/sh -c #(nop)  ENV GPG_KEYS=05AB33110949707C 07E48665A34DCAFA 47309207D818FFD8",
        "/bin/sh -c #(nop)  ENV GPG_KEYS=<redacted>",
        ("05AB", "07E4", "4730"),
    ),
    (
        "/bin/sh -c #(nop)  ARG SECRET=correct horse",
        "/bin/sh -c #(nop)  ARG SECRET=<redacted>",
        ("correct", "horse"),
    ),
    # buildah's ARG entry names the build arguments in scope: names, not values
    ("/bin/sh -c #(nop) ARG BASE_DIGEST BASE_NAME", "/bin/sh -c #(nop) ARG BASE_DIGEST BASE_NAME", ()),
    # docker takes whatever stands before the `=` as the name: a digit may start it
    ("ENV 1API_TOKEN=tok3n", "ENV 1API_TOKEN=<redacted>", ("tok3n",)),
    (
        "/bin/sh -c #(nop)  ENV 1PASSWORD=hunter2 MODE=prod",
        "/bin/sh -c #(nop)  ENV 1PASSWORD=<redacted> MODE=<redacted>",
        ("hunter2", "prod"),
    ),
    ("ENV MODE=prod 2FA_SECRET=JBSWY3DP", "ENV MODE=<redacted> 2FA_SECRET=<redacted>", ("prod", "JBSWY3DP")),
    (
        "RUN |1 9TOKEN=tok3n /bin/sh -c make # buildkit",
        "RUN |1 9TOKEN=<redacted> /bin/sh -c make # buildkit",
        ("tok3n",),
    ),
    # a word that starts with another character is a value's word: its name would show the value
    ("ENV URL=x https://u/?pass=hunter2", "ENV URL=<redacted>", ("https", "hunter2")),
]


@pytest.mark.parametrize(("created_by", "written", "secrets"), HISTORY_REDACTED)
def test_record_redacts_every_word_of_a_history_value(
    created_by: str, written: str, secrets: tuple[str, ...]
) -> None:
    from gate.model import Image, Scan
    from gate.report.record import load_record, render

    image = Image(reference="app:1", config_known=True, user="0", history=((created_by, False),))
    scan = Scan(
        source="r.json", scanner="trivy", artifact="app:1", artifact_type="container_image", image=image
    )
    text = render(evaluate(scan, load_policy("builtin:strict"), today=TODAY))
    assert [entry[0] for entry in json.loads(text)["images"][0]["image"]["history"]] == [written]
    payload = json.dumps(written)[1:-1].encode()  # the entry as the record's bytes hold it
    assert payload in text.encode()
    for secret in secrets:
        assert json.dumps(secret)[1:-1] not in text, secret
    assert render(load_record(text, "d.json")) == text


def test_record_with_a_stale_report_validates_and_merges_back(
    validator: jsonschema.Draft202012Validator,
) -> None:
    default = load_policy("builtin:default")
    policy = default.model_copy(
        update={"settings": default.settings.model_copy(update={"max_report_age_days": 3})}
    )
    path = TESTDATA / "reports" / "trivy-clean.json"  # made 2026-11-20
    decision = evaluate(read_report(str(path), path.read_bytes()), policy, today=TODAY)
    data = json.loads(record.render(decision))
    assert [(v["rule"], v["id"]) for v in data["violations"]] == [("stale-report", "report-age")]
    assert _errors(validator, data) == []
    back = record.load_record(record.render(decision), "r.json").images[0]  # as gate merge reads it
    assert (back.rules, back.violations, back.verdict) == (
        decision.images[0].rules,
        decision.images[0].violations,
        decision.images[0].verdict,
    )
