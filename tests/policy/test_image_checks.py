"""Image checks: each check on hand-made images, on every generated fixture against its ground truth, via the CLI."""

from __future__ import annotations

import io
import json
import re
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.cli import main
from gate.errors import InputError, PolicyError
from gate.ingest import read_report
from gate.ingest.image import image_from_config
from gate.ingest.metadata import attach, read_metadata
from gate.model import Finding, FindingKind, Image, Package, Scan, Severity
from gate.policy.decision import Verdict
from gate.policy.engine import evaluate
from gate.policy.history import redacted_history
from gate.policy.image_checks import _HISTORY_OPTIONS, CHECKS, _history_healthcheck, credential_reason
from gate.policy.schema import ImageCheck, load_policy
from tests.conftest import GENERATED, REAL, TESTDATA, TODAY, need_shared, write_policy


def cfg(**facts: Any) -> Image:
    """An image whose config is known."""
    return Image(config_known=True, **facts)


def run(check_id: str, image: Image, today: date = TODAY, **table: Any) -> tuple[bool | None, str]:
    outcome = CHECKS[check_id](image, ImageCheck.model_validate(table), today)
    assert outcome.check_id == check_id
    return outcome.passed, outcome.message


# --- the policy keys ------------------------------------------------------------------------------------


def test_every_check_id_has_a_policy_key() -> None:
    tables: dict[str, dict[str, Any]] = {
        "non-root-user": {"user": "non-root"},
        "allowed-registries": {"registries": ["docker.io/*"]},
        "digest-pinned": {"digest": "base"},
        "required-labels": {"labels": ["a"]},
        "image-age": {"max_age_days": 30},
        "image-size": {"max_size_mb": 100},
        "layer-count": {"max_layers": 10},
        "no-secrets-in-env": {"env": "no-secrets"},
        "forbidden-ports": {"forbidden_ports": [22]},
        "healthcheck": {"healthcheck": "required"},
        "approved-base-image": {"base_images": ["docker.io/library/alpine"]},
    }
    assert sorted(tables) == sorted(CHECKS)
    for check_id, table in tables.items():
        assert ImageCheck.model_validate(table).check_ids() == [check_id]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("image = { max_layers = 0 }", "image.max_layers"),
        ("image = { max_layers = true }", "image.max_layers"),
        ('image = { max_size_mb = "big" }', "image.max_size_mb"),
        ("image = { forbidden_ports = [70000] }", "70000 is not a port"),
        ('image = { forbidden_ports = ["22/icmp"] }', "is not a port"),
        # A digit to str.isdigit() but not to int() (once a message from int's internals), and a slash
        # with no protocol after it.
        ('image = { forbidden_ports = ["²"] }', """'²' is not a port (write 22 or "22/tcp")"""),
        ('image = { forbidden_ports = ["22/"] }', """'22/' is not a port (write 22 or "22/tcp")"""),
        ('image = { digest = "tag" }', "image.digest"),
        ("image = { labels = [] }", "non-empty list"),
        ('image = { env_allow = ["X"] }', 'env_allow` goes with env = "no-secrets"'),
        ('image = { healthcheck = "yes" }', "image.healthcheck"),
        ('image = { registry = ["x"] }', "unknown key"),
        ('match = { license_allow = ["MIT"], license_deny = ["GPL-*"] }', "not both"),
        ('match = { kind = "vulnerability", license_deny = ["GPL-*"] }', 'add "license" to `kind`'),
        ('match = { layer = "top" }', "match.layer"),
    ],
)
def test_bad_keys_are_policy_errors_with_their_location(tmp_path: Path, text: str, words: str) -> None:
    path = write_policy(tmp_path, f'version = 1\n[[rules]]\nid = "r"\n{text}\n')
    with pytest.raises(PolicyError) as caught:
        load_policy(str(path))
    assert words in str(caught.value)


def test_strict_preset_is_the_design() -> None:
    rules = {r.id: r for r in load_policy("builtin:strict").rules}
    expected = {
        "non-root-user": ("fail", ["non-root-user"]),
        "no-secrets-in-env": ("fail", ["no-secrets-in-env"]),
        "required-labels": ("warn", ["required-labels"]),
        "image-age": ("warn", ["image-age"]),
        "forbidden-ports": ("warn", ["forbidden-ports"]),
    }
    for rule_id, (action, checks) in expected.items():
        image = rules[rule_id].image
        assert image is not None
        assert (rules[rule_id].action.value, image.check_ids()) == (action, checks)
    labels = rules["required-labels"].image
    assert labels is not None and labels.labels == (
        "org.opencontainers.image.source",
        "org.opencontainers.image.revision",
    )
    age = rules["image-age"].image
    assert age is not None and age.max_age_days == 90


# --- each check on hand-made images ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "passed", "words"),
    [
        ("app", True, "app"),
        ("10001:10001", True, "10001"),
        (None, False, "by default"),
        ("", False, "by default"),
        # An empty user part keeps the runtime's default uid 0, whatever the group.
        (":0", False, "names no user, only a group"),
        (":1000", False, "names no user, only a group"),
        (" :1000:1000", False, "by default"),
        ("root", False, "explicitly"),
        ("0:0", False, "explicitly"),
        ("root:wheel", False, "explicitly"),
        # The runtime parses a numeric user as an integer: each of these is uid 0.
        ("00", False, "explicitly"),
        ("+0", False, "explicitly"),
        ("-0:1000", False, "explicitly"),
        ("000:0", False, "explicitly"),
        ("0100", True, "0100"),
        ("rootless", True, "rootless"),
        # More digits than int() reads (4,300): still a number, and not zero; all zeros is uid 0.
        ("1" * 5000, True, "runs as user"),
        ("0" * 5000 + ":0", False, "explicitly"),
    ],
)
def test_non_root_user(user: str | None, passed: bool, words: str) -> None:
    got, message = run("non-root-user", cfg(user=user), user="non-root")
    assert got is passed
    assert words in message


def test_non_root_user_is_unknown_without_the_user() -> None:
    got, message = run("non-root-user", Image(known=("labels", "env")), user="non-root")
    assert got is None
    assert "--image-metadata" in message


@pytest.mark.parametrize(
    ("image", "patterns", "passed"),
    [
        (Image(reference="alpine:3.19"), ["docker.io/library/*"], True),
        (Image(reference="alpine:3.19"), ["alpine"], True),  # patterns are normalised too
        (Image(reference="alpine:3.19"), ["docker.io"], True),  # a host alone allows the registry
        (Image(reference="ghcr.io/org/app:1"), ["docker.io/*"], False),
        (Image(reference="x.tar", repo_tags=("ghcr.io/org/app:1",)), ["ghcr.io/org/*"], True),
        (Image(reference="x", repo_tags=("ghcr.io/org/app:1", "evil.example/app:1")), ["ghcr.io/*"], False),
        (Image(reference="localhost:5000/app@sha256:" + "a" * 64), ["localhost:5000/*"], True),
        (Image(reference="app.tar"), ["docker.io/*"], None),
        (Image(reference="app-oci"), ["docker.io/*"], None),
        # Windows paths (Trivy on Windows): `C:\out\oci` was the image `c`, from docker.io/library
        (Image(reference="C:\\out\\oci"), ["docker.io/library/*"], None),
        (Image(reference="C:/out/oci"), ["docker.io/library/*"], None),
        (Image(reference="out\\oci"), ["docker.io/library/*"], None),
        (Image(reference="ghcr.io/org/app:1@sha256:" + "c" * 64), ["ghcr.io/org/*"], True),
        (Image(reference="ghcr.io/org/app:1@sha256:" + "c" * 64), ["ghcr.io/other/*"], False),
        (Image(repo_digests=("ghcr.io/org/app:1@sha256:" + "c" * 64,)), ["ghcr.io/org/app"], True),
    ],
)
def test_allowed_registries(image: Image, patterns: list[str], passed: bool | None) -> None:
    assert run("allowed-registries", image, registries=patterns)[0] is passed


def test_allowed_registries_names_the_offender() -> None:
    _, message = run("allowed-registries", Image(repo_tags=("quay.io/x/y:1",)), registries=["ghcr.io"])
    assert '"quay.io/x/y"' in message and "not from an allowed registry" in message


BASE = "org.opencontainers.image.base."


@pytest.mark.parametrize(
    ("image", "scopes", "passed"),
    [
        (cfg(labels=((BASE + "digest", "sha256:" + "a" * 64),)), "base", True),
        (cfg(labels=((BASE + "name", "alpine@sha256:" + "b" * 64),)), "base", True),
        (cfg(), "base", False),
        (cfg(annotations=((BASE + "digest", "sha256:" + "a" * 64),)), "base", False),
        (Image(), "base", None),
        (Image(reference="ghcr.io/o/a@sha256:" + "c" * 64), "reference", True),
        (Image(reference="ghcr.io/o/a:1"), "reference", False),
        (Image(reference="a.tar"), "reference", None),
        (Image(reference="C:\\out\\oci"), "reference", None),  # a Windows path, not a tag
        (cfg(reference="ghcr.io/o/a:1"), ["base", "reference"], False),
        # Only a real digest pins: sha256 with 64 or sha512 with 128 lower-case hex digits.
        (Image(reference="ghcr.io/o/a@sha512:" + "c" * 128), "reference", True),
        (Image(reference="ghcr.io/o/a@sha256:" + "c" * 32), "reference", False),
        (Image(reference="ghcr.io/o/a@md5:" + "c" * 32), "reference", False),
        (Image(reference="ghcr.io/o/a@sha256:" + "C" * 64), "reference", False),
        (Image(reference="ghcr.io/o/a@sha256:" + "c" * 65), "reference", False),
        (cfg(labels=((BASE + "digest", "sha256:" + "a" * 32),)), "base", False),
        (cfg(labels=((BASE + "digest", "sha1:" + "a" * 40),)), "base", False),
        (cfg(labels=((BASE + "name", "alpine@sha256:" + "b" * 32),)), "base", False),
    ],
)
def test_digest_pinned(image: Image, scopes: str | list[str], passed: bool | None) -> None:
    assert run("digest-pinned", image, digest=scopes)[0] is passed


def test_a_base_digest_label_that_is_no_digest_is_named_not_called_missing() -> None:
    image = cfg(labels=((BASE + "digest", "sha256:abc"),))
    passed, message = run("digest-pinned", image, digest="base")
    assert passed is False
    assert "no org.opencontainers.image.base.digest label" not in message
    assert 'label "sha256:abc" is not a digest' in message


def test_buildah_base_digest_annotation_is_explained_not_counted() -> None:
    image = cfg(annotations=((BASE + "digest", "sha256:" + "a" * 64),))
    assert "buildah writes it for every build" in run("digest-pinned", image, digest="base")[1]


def test_required_labels() -> None:
    labels = (("org.opencontainers.image.source", "https://x"), ("org.opencontainers.image.revision", ""))
    passed, message = run("required-labels", cfg(labels=labels), labels=[labels[0][0], labels[1][0]])
    assert passed is False
    assert "missing label org.opencontainers.image.revision" in message  # empty counts as missing
    annotated = Image(annotations=(("org.opencontainers.image.source", "https://x"),))
    assert run("required-labels", annotated, labels=["org.opencontainers.image.source"])[0] is True
    assert run("required-labels", annotated, labels=["org.opencontainers.image.revision"])[0] is None


@pytest.mark.parametrize(
    ("created", "label", "today", "passed"),
    [
        (datetime(2026, 8, 29, 23, tzinfo=timezone.utc), None, TODAY, True),  # 90 days: within
        (datetime(2026, 8, 28, tzinfo=timezone.utc), None, TODAY, False),  # 91 days
        (datetime(2026, 11, 28, 23, tzinfo=timezone.utc), None, TODAY, True),  # a day ahead: clock skew
        (None, "2026-01-01T00:00:00Z", TODAY, False),  # the OCI created label stands in
        (None, None, TODAY, None),
    ],
)
def test_image_age(created: datetime | None, label: str | None, today: date, passed: bool | None) -> None:
    labels = (("org.opencontainers.image.created", label),) if label else ()
    got, message = run("image-age", cfg(created=created, labels=labels), today, max_age_days=90)
    assert got is passed
    if passed is False:
        assert "rebuild" in message


@pytest.mark.parametrize(
    ("label", "created", "passed"),
    [
        # 2026-08-28 in UTC: 91 days before TODAY
        ("2026-08-29T01:00:00+14:00", datetime(2026, 8, 28, 11, tzinfo=timezone.utc), False),
        ("2026-08-29T00:30:00.5+0100", datetime(2026, 8, 28, 23, 30, tzinfo=timezone.utc), False),
        # 2026-08-29 in UTC: 90 days
        ("2026-08-28T23:30:00-05:00", datetime(2026, 8, 29, 4, 30, tzinfo=timezone.utc), True),
        ("2026-08-29T01:00:00Z", datetime(2026, 8, 29, 1, tzinfo=timezone.utc), True),
        ("2026-08-29", None, True),  # a date alone, as written
        # An hour or offset out of range: the date as written (2026-08-28), not moved days by the garbage
        ("2026-08-28T23:00:00-99:00", None, False),
        ("2026-08-28T99:00:00-01:00", None, False),
        ("2026-08-28T23:30:00-00:99", None, False),
    ],
)
def test_image_age_reads_the_created_label_in_utc_as_the_config(
    label: str, created: datetime | None, passed: bool
) -> None:
    """The label stands in for the config's `created`, whose UTC date counts: a label written with a UTC offset
    east of Greenwich was read a day younger than it is."""
    labels = (("org.opencontainers.image.created", label),)
    assert run("image-age", cfg(labels=labels), TODAY, max_age_days=90)[0] is passed
    if created is not None:  # the config's date of the same moment comes out alike
        assert run("image-age", cfg(created=created), TODAY, max_age_days=90)[0] is passed


ZERO = datetime(1, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("facts", "passed", "words"),
    [
        # More than a day after the evaluation date: the date is wrong, not fresh.
        (
            {"created": datetime(2026, 11, 29, tzinfo=timezone.utc)},
            False,
            "the created date is in the future",
        ),
        ({"created": datetime(2099, 1, 1, tzinfo=timezone.utc)}, False, "the metadata is wrong"),
        ({"created": datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5)))}, False, "future"),
        ({"labels": (("org.opencontainers.image.created", "9999-12-31"),)}, False, "future"),
        # Go's zero time is docker inspect's "unknown", not an image 739,946 days old.
        ({"created": ZERO}, None, "Go's zero time"),
        ({"created": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))}, None, "Go's zero time"),
        ({"labels": (("org.opencontainers.image.created", "0001-01-01T00:00:00Z"),)}, None, "Go's zero time"),
        ({"created": ZERO, "labels": (("org.opencontainers.image.created", "2026-11-01"),)}, True, "label"),
        # An unreadable date says so, not that no metadata carries it.
        ({"created_unreadable": "garbage"}, None, 'created date "garbage" is unreadable'),
        ({"labels": (("org.opencontainers.image.created", "yesterday-ish"),)}, None, "label"),
        (
            {
                "created_unreadable": "garbage",
                "labels": (("org.opencontainers.image.created", "2026-11-01"),),
            },
            True,
            "label",
        ),
    ],
)
def test_image_age_refuses_dates_that_are_wrong(
    facts: dict[str, Any], passed: bool | None, words: str
) -> None:
    got, message = run("image-age", cfg(**facts), max_age_days=90)
    assert got is passed
    assert words in message
    assert "no metadata carries it" not in message


def test_image_age_says_the_config_has_no_date_when_the_config_was_read() -> None:
    got, message = run("image-age", cfg(), max_age_days=90)
    assert got is None
    assert message.startswith(
        "the image config gives no created date and no org.opencontainers.image.created"
    )
    got, message = run("image-age", Image(), max_age_days=90)  # no config at all
    assert got is None
    assert "the report embeds no image config and no metadata carries it" in message


def test_an_unreadable_created_date_reaches_the_check() -> None:
    image = image_from_config({"created": "garbage", "config": {}}, "report.json")
    assert (image.created, image.created_unreadable) == (None, "garbage")
    assert "unreadable" in run("image-age", image, max_age_days=90)[1]


def test_image_age_uses_the_given_date_not_the_clock() -> None:
    image = cfg(created=datetime(2020, 1, 1, tzinfo=timezone.utc))
    assert run("image-age", image, date(2020, 1, 2), max_age_days=1)[0] is True
    assert run("image-age", image, date(2020, 1, 3), max_age_days=1)[0] is False


def test_image_size_and_layer_count() -> None:
    assert run("image-size", Image(size=65_067_590), max_size_mb=50)[0] is False
    assert run("image-size", Image(size=2_006_554), max_size_mb=50)[0] is True
    passed, message = run("image-size", Image(layer_sizes=(30_000_000, 30_000_000)), max_size_mb=50)
    assert passed is False and "compressed" in message
    assert run("image-size", Image(), max_size_mb=50)[0] is None
    history = tuple((f"step {i}", i % 2 == 0) for i in range(6))
    passed, message = run("layer-count", Image(diff_ids=("a", "b", "c"), history=history), max_layers=2)
    assert passed is False and "3 layers (6 history entries, 3 without a layer)" in message
    assert run("layer-count", Image(layer_digests=("a",)), max_layers=2)[0] is True
    assert run("layer-count", Image(), max_layers=2)[0] is None


@pytest.mark.parametrize(
    ("name", "value", "secret"),
    [
        ("PASSWORD", "hunter2", True),
        ("DB_PASSWORD", "x", True),
        ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", True),
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE", True),
        ("SOME_VAR", "AKIAIOSFODNN7EXAMPLE", True),  # the value gives it away
        ("DATABASE_URL", "postgres://app:s3cret@db:5432/app", True),
        ("GH", "ghp_" + "a" * 36, True),
        ("API_KEY", "abc123", True),
        ("DB_PASSWORD_FILE", "/run/secrets/db_password", False),  # a path to a secret, not a secret
        ("GOOGLE_APPLICATION_CREDENTIALS", "/var/run/sa.json", False),
        ("TOKEN_TTL", "3600", False),
        ("PASSWORD", "", False),
        ("PASSWORD", "${DB_PASSWORD}", False),
        ("PWD", "/app", False),
        ("PASSWORD_AUTH", "false", False),
        ("PATH", "/usr/bin:/bin", False),
        ("BYPASS_CACHE", "1", False),
        ("DATABASE_URL", "postgres://db:5432/app", False),
        # Names written without separators or in camelCase.
        ("PGPASSWORD", "s3cretpw", True),
        ("MYSQLPASSWORD", "s3cretpw", True),
        ("dbPassword", "s3cretpw", True),
        ("HTPASSWD", "admin:$apr1$xyz", True),
        ("apiKey", "abc123", True),
        ("COMPASS", "north", False),
        ("OLDPWD", "/root", False),
        ("PGPASSFILE", "/root/.pgpass", False),
        # A URL with an empty user and a password.
        ("REDIS_URL", "redis://:s3cretpw@redis:6379/0", True),
        ("REDIS_URL", "redis://redis:6379/0", False),
        # The scheme is the whole run of scheme characters before `://`, digits first included.
        ("CONN", "jdbc:postgresql://app:s3cret@db/app", True),
        ("CONN", "9p+tcp://app:s3cret@db/app", True),
        ("CONN", "__://app:s3cret@db/app", False),
        ("AUTH", "Bearer eyJhbGciOiJI.eyJzdWIiOiIx.SflKxwRJSMeKKF2QT4fw", True),
        # A describing last word exempts only a value of the shape it describes.
        ("DB_PASSWORD_ENABLED", "hunter2", True),
        ("DB_PASSWORD_ENABLED", "1", False),
        ("SECRET_USER", "hunter2", True),
        ("SECRET_USER", "app", False),
        ("SECRET_USER", "10001", False),
        ("PASSWORD_FILE", "hunter2notapath", True),
        ("PASSWORD_FILE", "secret.txt", False),
        ("PASSWORD_FILE", "secrets/db", False),
        ("ADMIN_PASSWORD_DAYS", "hunter2", True),
        ("PASSWORD_MIN_LENGTH", "8", False),
        ("TOKEN_LIFETIME", "1h30m", False),
        ("TOKEN_EXPIRES", "2026-12-31", False),
        ("TOKEN_HEADER", "Bearer abcdefghijklmnop1234", True),
        ("API_KEY_HEADER", "X-Api-Key", False),
        ("TOKEN_URL", "https://auth.example/token", False),
        ("SECRETS_DIR", "secrets", False),
        ("SECRET_NAME", "db-credentials", False),  # a name cannot be told from a password: still exempt
    ],
)
def test_credential_reason(name: str, value: str, secret: bool) -> None:
    assert (credential_reason(name, value) is not None) is secret


@pytest.mark.parametrize(
    "value",
    ["x" * 500_000, "a1" * 250_000, "eyJa-" * 100_000, "a." * 250_000, "glpat-" * 80_000],
    ids=["word", "alternating", "jwt-like", "dotted", "token-like"],
)
def test_a_hostile_value_is_checked_in_linear_time(value: str) -> None:
    # A pattern that starts again from every letter of a long word takes minutes here (4 s on a tenth of the
    # word); this takes well under a second on an idle machine.
    start = time.perf_counter()
    for name in ("X", "DB_PASSWORD_FILE", "SECRET_DIR", "TOKEN_TTL", "SECRET_URL", value):
        credential_reason(name, value)
    assert time.perf_counter() - start < 10.0


def test_no_secrets_in_env_never_prints_a_value() -> None:
    env = (
        "PATH=/bin",
        "PASSWORD=hunter2",
        "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
        "ghp_" + "b" * 36 + "=x",
    )
    history = (
        ("/bin/sh -c #(nop) ENV PASSWORD=hunter2", True),
        ("RUN |1 NPM_TOKEN=npm_" + "c" * 36 + " sh", False),
    )
    passed, message = run("no-secrets-in-env", cfg(env=env, history=history), env="no-secrets")
    assert passed is False
    for value in ("hunter2", "AKIAIOSFODNN7EXAMPLE", "b" * 36, "c" * 36):
        assert value not in message
    assert '"PASSWORD" (its name)' in message
    assert "AWS access key ID" in message
    assert "also recorded in the build history" in message
    assert '"NPM_TOKEN"' in message and "ENV or build argument" in message
    assert "a variable whose name looks like a secret" in message


@pytest.mark.parametrize(
    "created_by",
    [
        "/bin/sh -c #(nop)  ARG DB_PASSWORD=hunter2secret",  # the classic builder
        "ARG DB_PASSWORD=hunter2secret",  # BuildKit
        "/bin/sh -c #(nop) ARG VERSION=1 DB_PASSWORD=hunter2secret",  # buildah, several at once
        "/bin/sh -c #(nop)  ENV DB_PASSWORD=hunter2secret",
        "RUN |1 DB_PASSWORD=hunter2secret /bin/sh -c make",
    ],
)
def test_build_args_and_env_in_the_history_are_checked(created_by: str) -> None:
    passed, message = run("no-secrets-in-env", cfg(history=((created_by, True),)), env="no-secrets")
    assert passed is False
    assert '"DB_PASSWORD" (its name)' in message and "hunter2secret" not in message


@pytest.mark.parametrize(
    "created_by",
    [
        "/bin/sh -c #(nop) ARG BASE_DIGEST BASE_NAME BUILD_DATE",  # names without a value
        "ARG DB_PASSWORD",
        "ARG VERSION=1.2.3",
        "/bin/sh -c echo ARG DB_PASSWORD=x is not an instruction",
    ],
)
def test_history_without_a_credential_passes(created_by: str) -> None:
    assert run("no-secrets-in-env", cfg(history=((created_by, True),)), env="no-secrets")[0] is True


@pytest.mark.parametrize(
    "created_by",
    [
        "/bin/sh -c echo ARG DB_PASSWORD=x is not an instruction",
        "/bin/sh -c echo ENV DB_PASSWORD=x is not an instruction",
        "RUN /bin/sh -c sed -i 's/ENV DB_PASSWORD=.*//' Dockerfile # buildkit",
        '/bin/sh -c #(nop)  LABEL usage="set ENV DB_PASSWORD=x to log in"',
    ],
)
def test_an_instruction_named_in_a_command_or_label_assigns_nothing(created_by: str) -> None:
    assert run("no-secrets-in-env", cfg(history=((created_by, True),)), env="no-secrets")[0] is True
    assert redacted_history(created_by) == created_by


@pytest.mark.parametrize(
    ("created_by", "names"),
    [
        (
            "RUN |2 DB_TOKEN=tok3n tail0 DB_PASSWORD=hunter2 swordfish /bin/sh -c make # buildkit",
            {"DB_TOKEN", "DB_PASSWORD"},
        ),
        (
            "|4 DB_PASSWORD=hunter2 swordfish API_TOKEN=tok3n tail0 /bin/sh -c make",
            {"DB_PASSWORD", "API_TOKEN"},
        ),
        # a value holds a word like NAME=...: the count says one, so API_TOKEN may be part of the value
        ("|1 DB_PASSWORD=host=db7 API_TOKEN=tok3n /bin/sh -c make", {"DB_PASSWORD"}),
        ("RUN |1 API_TOKEN=tok3n tail0 /app/build --out x # buildkit", {"API_TOKEN"}),
        ("|0 /bin/sh -c make API_TOKEN=tok3n", set()),
        ("/bin/sh -c #(nop)  ENV API_TOKEN=tok3n tail0", {"API_TOKEN"}),
        ("/bin/sh -c #(nop) ENV API_TOKEN tok3n tail0", {"API_TOKEN"}),  # buildah keeps the legacy form
        ("/bin/sh -c #(nop) ARG API_TOKEN DB_PASSWORD", set()),  # buildah: the names in scope, no values
        # buildah copies the instruction as written, in any case (Dockerfile instructions are case-insensitive)
        ("/bin/sh -c #(nop) env API_TOKEN=tok3n tail0", {"API_TOKEN"}),
        ("/bin/sh -c #(nop) Env API_TOKEN tok3n tail0", {"API_TOKEN"}),
        ("/bin/sh -c #(nop) arg API_TOKEN=tok3n", {"API_TOKEN"}),  # older buildah: the ARG line as written
        ("/bin/sh -c /usr/bin/env API_TOKEN=tok3n make", set()),  # a RUN's command, not an ENV
    ],
)
def test_the_check_reads_the_names_the_record_hides(created_by: str, names: set[str]) -> None:
    # One parser for both: a name the record shows with its value hidden is a name the check judges.
    passed, message = run("no-secrets-in-env", cfg(history=((created_by, True),)), env="no-secrets")
    assert set(re.findall(r'"([A-Z_]+)" \(its name\)', message)) == names
    assert set(re.findall(r"([A-Z_]+)[= ]<redacted>", redacted_history(created_by))) == names
    assert passed is (not names)
    for value in ("tok3n", "tail0", "hunter2", "swordfish", "db7"):
        assert value not in message


@pytest.mark.parametrize(
    ("created_by", "name"),
    [
        ("ENV 1API_TOKEN=tok3n", "1API_TOKEN"),
        ("ARG 9PASSWORD=hunter2", "9PASSWORD"),
        ("RUN |1 2FA_SECRET=JBSWY3DP /bin/sh -c make # buildkit", "2FA_SECRET"),
        ("/bin/sh -c #(nop)  ENV MODE=prod 2FA_SECRET=JBSWY3DP", "2FA_SECRET"),
        ("/bin/sh -c #(nop)  ENV D\u00c9PLOY_TOKEN=tok3n", "D\u00c9PLOY_TOKEN"),
    ],
)
def test_a_name_docker_takes_but_a_shell_would_not_is_checked(created_by: str, name: str) -> None:
    # Docker's name is whatever stands before the `=`: one that starts with a digit or holds other scripts'
    # letters was read as no assignment at all (and its value written into the record as it was).
    passed, message = run("no-secrets-in-env", cfg(history=((created_by, True),)), env="no-secrets")
    assert passed is False
    assert f'"{name}" (its name)' in message
    assert f"{name}=<redacted>" in redacted_history(created_by)
    for value in ("tok3n", "hunter2", "JBSWY3DP", "prod"):
        assert value not in message and value not in redacted_history(created_by)


@pytest.mark.parametrize(
    "created_by",
    [
        "|2 OPTS=--foo x=1 PASSWORD=hunter2 /bin/sh -c make",  # the count says two, three NAME= words
        "RUN |2 A= c2VjcmV0== PASSWORD=hunter2 /bin/sh -c make # buildkit",
    ],
)
def test_a_credential_in_a_value_that_may_hold_several_arguments_is_flagged(created_by: str) -> None:
    # Only the first name is certain: the record hides the rest as its value, and the check reads that value's
    # `NAME=value` words, without naming them (a name there may be a word of the value).
    assert redacted_history(created_by).count("<redacted>") == 1
    passed, message = run("no-secrets-in-env", cfg(history=((created_by, True),)), env="no-secrets")
    assert passed is False
    assert "assignment" in message
    for word in ("hunter2", "PASSWORD", "c2Vj", "foo"):
        assert word not in message
    allowed = run(
        "no-secrets-in-env", cfg(history=((created_by, True),)), env="no-secrets", env_allow=["PASS*"]
    )
    assert allowed[0] is True


def test_a_value_with_blanks_is_read_whole() -> None:
    history = (("RUN |1 BUILD_INFO=v1 AKIAIOSFODNN7EXAMPLE /bin/sh -c make # buildkit", False),)
    passed, message = run("no-secrets-in-env", cfg(history=history), env="no-secrets")
    assert passed is False
    assert '"BUILD_INFO" (its value looks like an AWS access key ID)' in message
    assert "AKIA" not in message


def test_env_allow_and_clean_env() -> None:
    image = cfg(env=("API_KEY_HINT=see docs", "API_KEY=abc"))
    assert run("no-secrets-in-env", image, env="no-secrets", env_allow=["API_KEY*"])[0] is True
    assert run("no-secrets-in-env", cfg(env=("PATH=/bin",)), env="no-secrets")[0] is True
    assert run("no-secrets-in-env", Image(), env="no-secrets")[0] is None


@pytest.mark.parametrize(
    ("ports", "forbidden", "passed"),
    [
        (("22/tcp",), [22], False),
        (("22/udp",), ["22/tcp"], True),
        (("2222/tcp", "8080/tcp"), [22], True),
        (("20-30/tcp",), [22], False),
        ((), [22], True),
        # A port int() cannot read is not one: no internal error, and the ports that are still count.
        (("\u00b2/tcp", "20-\u00b2/tcp", "22/tcp"), [22], False),
        (("\u00b2/tcp",), [22], True),
        # More digits than int() reads (4,300) name no port either; leading zeros are the port's.
        (("1" * 5000 + "/tcp", "22-" + "9" * 5000 + "/tcp"), [22], True),
        (("1" * 5000 + "/tcp", "00022/tcp"), [22], False),
    ],
)
def test_forbidden_ports(ports: tuple[str, ...], forbidden: list[int | str], passed: bool) -> None:
    assert run("forbidden-ports", cfg(exposed_ports=ports), forbidden_ports=forbidden)[0] is passed


@pytest.mark.parametrize(
    ("healthcheck", "history", "passed", "words"),
    [
        (True, (), True, "config has a HEALTHCHECK"),
        (False, (), False, "no HEALTHCHECK"),
        (False, (("/bin/sh -c #(nop) HEALTHCHECK --interval=30s CMD wget -q localhost", True),), True, "OCI"),
        (False, (('HEALTHCHECK &{["CMD-SHELL" "curl -f localhost"] "30s"}', True),), True, "history"),
        (False, (('HEALTHCHECK &{["NONE"] "0s"}', True),), False, "disabled"),
        (None, (), None, "--image-metadata"),
        # Only the instruction counts, not the word in a LABEL, a RUN or a comment.
        (
            False,
            (('/bin/sh -c #(nop)  LABEL description="image without HEALTHCHECK support"', True),),
            False,
            "no ",
        ),
        (False, (("/bin/sh -c echo HEALTHCHECK disabled > /etc/motd", False),), False, "no HEALTHCHECK"),
        (
            False,
            (("RUN /bin/sh -c apt-get install -y curl # HEALTHCHECK later", False),),
            False,
            "no HEALTHCHECK",
        ),
        (False, (('LABEL x="a HEALTHCHECK CMD true"', True),), False, "no HEALTHCHECK"),
        (
            False,
            (('/bin/sh -c #(nop)  HEALTHCHECK &{["CMD" "true"] "0s" "0s" "0s" "0s" \'\\x00\'}', True),),
            True,
            "OCI",
        ),
        (False, (('/bin/bash -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "true"]}', True),), True, "OCI"),
        (False, (("/bin/sh -c #(nop) HEALTHCHECK NONE", True),), False, "disabled"),
        (False, (("/bin/sh -c #(nop) HEALTHCHECK --interval=5s cmd true", True),), True, "OCI"),
        # The last instruction wins; an unknown test type runs no probe.
        (
            False,
            (('HEALTHCHECK &{["CMD" "true"]}', True), ('HEALTHCHECK &{["NONE"]}', True)),
            False,
            "disabled",
        ),
        (False, (('HEALTHCHECK &{["none"]}', True),), False, 'test type "none"'),
        # The config decides when it has a Healthcheck: NONE there beats a base image's HEALTHCHECK in the history.
        ("NONE", (), False, "disabled (HEALTHCHECK NONE in the image config)"),
        ("NONE", (('/bin/sh -c #(nop)  HEALTHCHECK &{["CMD" "true"]}', True),), False, "disabled"),
        ("none", (('HEALTHCHECK &{["CMD" "true"]}', True),), False, 'test type "none"'),
        ("EXEC", (), False, "which Docker does not run"),
    ],
)
def test_healthcheck(healthcheck: bool | str | None, history: Any, passed: bool | None, words: str) -> None:
    # A string is the test type of a config HEALTHCHECK that does not run.
    state, test = (False, healthcheck) if isinstance(healthcheck, str) else (healthcheck, "")
    image = Image(
        config_known=healthcheck is not None, healthcheck=state, healthcheck_test=test, history=history
    )
    got, message = run("healthcheck", image, healthcheck="required")
    assert got is passed
    assert words in message


def test_an_inherited_healthcheck_of_an_unknown_base_cannot_be_checked() -> None:
    image = image_from_config({"config": {"Healthcheck": {"Test": []}}}, "report.json")
    got, message = run("healthcheck", image, healthcheck="required")
    assert got is None
    assert "inherits the base image's" in message


@pytest.mark.parametrize(
    ("test", "state"),
    [
        (["CMD", "true"], True),
        (["CMD-SHELL", "true"], True),
        (["NONE"], "NONE"),
        (["none"], "none"),  # Docker compares the type case-sensitively: no probe runs
        (["cmd", "true"], "cmd"),
        ([], None),  # inherited from the base image
    ],
)
def test_config_healthcheck_states(test: list[str], state: bool | str | None) -> None:
    image = image_from_config({"config": {"Healthcheck": {"Test": test}}}, "report.json")
    if isinstance(state, str):  # a HEALTHCHECK that does not run: no healthcheck, and the type says why
        assert (image.healthcheck, image.healthcheck_test) == (False, state)
    else:
        assert image.healthcheck is state and image.healthcheck_test == ""


@pytest.mark.parametrize(
    ("labels", "annotations", "patterns", "passed"),
    [
        (((BASE + "name", "docker.io/library/alpine:3.19"),), (), ["alpine:3.*"], True),
        (((BASE + "name", "alpine:3.19"),), (), ["docker.io/library/alpine"], True),
        (((BASE + "name", "debian:12"),), (), ["alpine"], False),
        ((), ((BASE + "name", "localhost/base:1"),), ["localhost/base"], True),
        (
            ((BASE + "name", "alpine:3.19"), (BASE + "digest", "sha256:" + "d" * 64)),
            (),
            ["docker.io/library/alpine@sha256:" + "d" * 64],
            True,
        ),
        ((), (), ["alpine"], None),
        # A name with both a tag and a digest matches by its tag and by its digest.
        (((BASE + "name", "alpine:3.19@sha256:" + "d" * 64),), (), ["alpine:3.*"], True),
        (((BASE + "name", "alpine:3.19@sha256:" + "d" * 64),), (), ["alpine@sha256:" + "d" * 64], True),
        (((BASE + "name", "alpine:3.19@sha256:" + "d" * 64),), (), ["alpine:3.20"], False),
        (((BASE + "name", "alpine@sha256:" + "d" * 64),), (), ["alpine:latest"], False),
        # Repositories compare lower case, as normalised; tags as written, as registries compare them.
        (((BASE + "name", "ghcr.io/org/base:1.0-RC1"),), (), ["ghcr.io/org/base:1.0-RC1"], True),
        (((BASE + "name", "ghcr.io/org/base:1.0-RC1"),), (), ["ghcr.io/org/base:1.0-RC*"], True),
        (((BASE + "name", "ghcr.io/org/base:1.0-RC1"),), (), ["*/base:1.0-RC1"], True),
        (((BASE + "name", "ghcr.io/org/base:1.0-RC1"),), (), ["GHCR.io/Org/base:1.0-RC1"], True),
        (((BASE + "name", "ghcr.io/org/base:1.0-RC1"),), (), ["ghcr.io/org/base:1.0-rc1"], False),
    ],
)
def test_approved_base_image(labels: Any, annotations: Any, patterns: list[str], passed: bool | None) -> None:
    image = cfg(labels=labels, annotations=annotations)
    assert run("approved-base-image", image, base_images=patterns)[0] is passed


# --- ground truth: every generated fixture -----------------------------------------------------------------

LETTERS = {
    "a": "a-root-implicit-secrets",
    "b": "b-nonroot-labelled",
    "c": "c-root-explicit-secret-files",
    "e": "e-many-layers-big",
    "g": "g-nobody-8080",
}
# The ground truth of generated/README.md: check -> (policy table, what the check needs, {image: passes}).
TRUTH: dict[str, tuple[dict[str, Any], str, dict[str, bool]]] = {
    "non-root-user": (
        {"user": "non-root"},
        "user",
        {"a": False, "b": True, "c": False, "e": True, "g": True},
    ),
    "required-labels": (
        {"labels": ["org.opencontainers.image.source", "org.opencontainers.image.revision"]},
        "labels",
        {"a": False, "b": True, "c": False, "e": True, "g": False},
    ),
    "no-secrets-in-env": (
        {"env": "no-secrets"},
        "env",
        {"a": False, "b": True, "c": True, "e": True, "g": True},
    ),
    "forbidden-ports": (
        {"forbidden_ports": [22]},
        "config",
        {"a": False, "b": True, "c": True, "e": True, "g": True},
    ),
    "healthcheck": (
        {"healthcheck": "required"},
        "config",
        {"a": False, "b": True, "c": False, "e": True, "g": True},
    ),
    "layer-count": ({"max_layers": 20}, "layers", {"a": True, "b": True, "c": True, "e": False, "g": True}),
    "image-size": ({"max_size_mb": 50}, "size", {"a": True, "b": True, "c": True, "e": False, "g": True}),
    "image-age": ({"max_age_days": 90}, "created", {"a": True, "b": True, "c": True, "e": True, "g": True}),
    "digest-pinned": (
        {"digest": "base"},
        "labels",
        {"a": False, "b": True, "c": False, "e": False, "g": False},
    ),
    "allowed-registries": (
        {"registries": ["localhost/*"]},
        "names",
        {"a": True, "b": True, "c": True, "e": True, "g": True},
    ),
}
FULL = {"user", "labels", "env", "config", "layers", "created"}
CARRIES: dict[str, set[str]] = {
    "podman-inspect.json": FULL | {"size", "names", "annotations"},
    "buildah-inspect.json": FULL | {"size", "names", "annotations"},
    "skopeo-inspect-config.oci.json": FULL,
    "skopeo-inspect-config-raw.docker-archive.json": FULL,
    "oci-config.json": FULL,
    "skopeo-inspect.oci.json": {"labels", "env", "layers", "created"},
    "skopeo-inspect.docker-archive.json": {"labels", "env", "layers", "created"},
    "oci-manifest.json": {"layers", "size", "annotations"},
    "oci-index.json": set(),
    "docker-archive-manifest.json": {"layers", "names"},
    "trivy.docker-archive.json": FULL | {"size", "names"},
    "trivy.oci.json": FULL | {"size"},
}
NOT_METADATA = {"Containerfile"}


def generated_scan(directory: str, name: str) -> Scan:
    path = GENERATED / directory / name
    if name.startswith("trivy."):
        return read_report(str(path), path.read_bytes())
    empty = Scan(source="report.json", scanner="trivy", artifact_type="container_image")
    [scan] = attach([empty], read_metadata(str(path), path.read_bytes()))
    return scan


def generated_files() -> list[tuple[str, str]]:
    if not GENERATED.is_dir():
        return [("a", "podman-inspect.json")]  # skipped in the test
    out = []
    for letter, directory in LETTERS.items():
        for path in sorted((GENERATED / directory).iterdir()):
            out.append((letter, path.name))
    return out


@pytest.mark.parametrize(("letter", "name"), generated_files())
def test_each_check_fires_exactly_where_the_ground_truth_says(letter: str, name: str) -> None:
    need_shared()
    directory = LETTERS[letter]
    if name in NOT_METADATA:
        with pytest.raises(InputError, match="not JSON"):
            generated_scan(directory, name)
        return
    assert name in CARRIES, f"new generated file {name}: add what it carries"
    scan = generated_scan(directory, name)
    assert scan.image is not None
    for check_id, (table, needs, truth) in TRUTH.items():
        outcome = CHECKS[check_id](scan.image, ImageCheck.model_validate(table), TODAY)
        expected = truth[letter] if needs in CARRIES[name] else None
        assert outcome.passed is expected, f"{check_id} on {letter}/{name}: {outcome.message}"
    # a stale image: the same images 94 days later
    if "created" in CARRIES[name]:
        assert CHECKS["image-age"](scan.image, ImageCheck(max_age_days=90), date(2027, 3, 1)).passed is False
    # the approved base: only B names it in labels; C only in manifest annotations (a buildah OCI build)
    base = CHECKS["approved-base-image"](
        scan.image, ImageCheck.model_validate({"base_images": ["localhost/imgdata-base"]}), TODAY
    )
    shows = {"b": "labels", "c": "annotations"}.get(letter)
    assert base.passed is (True if shows and shows in CARRIES[name] else None), base.message


@pytest.mark.parametrize("name", ["trivy.docker-archive.json", "trivy.oci.json"])
@pytest.mark.parametrize("check_id", ["DS-0002", "DS002", "AVD-DS-0002"])  # as each Trivy release names it
def test_trivy_image_config_misconfigs_are_gated_by_kind(tmp_path: Path, name: str, check_id: str) -> None:
    need_shared()
    path = write_policy(
        tmp_path,
        'version = 1\n[[rules]]\nid = "misconfig-high"\naction = "fail"\n'
        f'match = {{ kind = "misconfig", severity = ">=high", ids = ["{check_id}"] }}\n',
    )
    policy = load_policy(str(path))
    verdicts = {
        letter: evaluate(generated_scan(directory, name), policy, today=TODAY).verdict
        for letter, directory in LETTERS.items()
    }
    # DS-0002 (root user) fires for A and C, as the ground truth's root images
    assert verdicts == {
        "a": Verdict.FAIL,
        "b": Verdict.PASS,
        "c": Verdict.FAIL,
        "e": Verdict.PASS,
        "g": Verdict.PASS,
    }


# --- licences -----------------------------------------------------------------------------------------------


def licence(name: str) -> Finding:
    return Finding(
        kind=FindingKind.LICENSE, id=name, severity=Severity.HIGH, package=Package(name="p"), scanner="trivy"
    )


def test_licence_lists_on_the_real_trivy_licence_report(tmp_path: Path) -> None:
    need_shared()
    path = REAL / "trivy" / "defectdojo-trivy--license_scheme.json"
    scan = read_report(str(path), path.read_bytes())
    policy_file = write_policy(
        tmp_path,
        'version = 1\n[[rules]]\nid = "copyleft"\naction = "fail"\nmatch = { license_deny = ["GPL-*", "AGPL-*"] }\n'
        '[[rules]]\nid = "unlisted"\naction = "warn"\n'
        'match = { kind = "license", license_allow = ["MIT", "BSD-*", "Apache-2.0", "ISC", "Zlib", "OpenSSL"] }\n',
    )
    decision = evaluate(scan, load_policy(str(policy_file)), today=TODAY)
    by_rule: dict[str, set[str]] = {}
    for v in decision.violations:
        by_rule.setdefault(v.rule_id, set()).add(v.id)
    assert by_rule["copyleft"] == {"GPL-2.0"}
    assert by_rule["unlisted"] == {"GPL-2.0", "MPL-2.0"}
    assert sum(1 for v in decision.violations if v.rule_id == "copyleft") == 7
    assert decision.verdict is Verdict.FAIL


def test_licence_expressions() -> None:
    from gate.policy.licenses import is_allowed, is_denied

    with_exception = "(GPL-2.0-only WITH Classpath-exception-2.0) AND BSD-3-Clause"
    assert is_allowed(with_exception, ["GPL-2.0-only", "BSD-*"])
    assert not is_allowed(with_exception, ["GPL-2.0-only"])
    assert is_allowed("MIT OR GPL-3.0", ["mit"])  # you may choose MIT
    assert not is_denied("MIT OR GPL-3.0", ["GPL-*"])
    assert is_denied("MIT AND GPL-3.0", ["GPL-*"])
    assert not is_allowed("MIT AND GPL-3.0", ["MIT"])
    assert not is_allowed("", ["MIT"])


def test_licence_expressions_group_by_parentheses() -> None:
    """`(A OR B) AND C` needs C whichever of A and B is chosen: read flat, as `A OR B AND C`, it was allowed by
    [A] alone and never denied by [C] (encoding_rs and unicode-ident crates are licensed so)."""
    from gate.policy.licenses import is_allowed, is_denied

    crate = "(Apache-2.0 OR MIT) AND BSD-3-Clause"
    assert not is_allowed(crate, ["MIT", "Apache-2.0"])
    assert is_allowed(crate, ["MIT", "BSD-3-Clause"])
    assert is_denied(crate, ["BSD-*"])
    assert not is_denied(crate, ["MIT"])
    assert not is_denied("MIT OR (GPL-3.0 AND BSD-3-Clause)", ["GPL-*"])
    assert is_denied("(MIT OR GPL-3.0) AND (GPL-2.0 OR LGPL-2.1)", ["GPL-*", "LGPL-*"])
    assert not is_allowed("(MIT OR GPL-3.0) AND (GPL-2.0 OR LGPL-2.1)", ["MIT", "GPL-3.0"])
    assert is_allowed("(MIT OR GPL-3.0) AND (GPL-2.0 OR LGPL-2.1)", ["MIT", "LGPL-2.1"])


def test_licence_expressions_machine_written_oddities() -> None:
    """Unbalanced or deeply nested parentheses are read, not refused, and no licence gets easier to allow."""
    from gate.policy.licenses import is_allowed, is_denied

    assert is_allowed("MIT OR (Apache-2.0", ["Apache-2.0"])
    assert is_denied("GPL-3.0) AND MIT", ["GPL-*"])
    assert not is_allowed("MIT (GPL-3.0)", ["MIT"])
    assert is_allowed("Public Domain OR GPL-3.0", ["public domain"])
    deep = "(" * 5000 + "GPL-3.0 AND MIT" + ")" * 5000
    assert is_denied(deep, ["GPL-*"])
    assert not is_allowed(deep, ["MIT"])
    # Nested past what is read as written, a group is not dropped (`A OR B AND C` is not `(A OR B) AND C`)
    assert not is_allowed("(" * 40 + "(MIT OR GPL-3.0) AND Proprietary" + ")" * 40, ["MIT"])
    assert is_denied("(" * 40 + "(MIT OR GPL-3.0) AND GPL-2.0" + ")" * 40, ["GPL-2.0"])
    many = " AND ".join(f"(MIT OR GPL-{i}.0)" for i in range(200))  # 2**200 alternatives
    assert is_allowed(many, ["MIT"])
    assert not is_denied(many, ["GPL-*"])
    groups = "MIT " + "(Apache-2.0) " * 5000  # each group left over applies too, none nested in the next
    assert not is_allowed(groups, ["MIT"])
    assert is_allowed(groups, ["MIT", "Apache-2.0"])
    assert is_denied(groups, ["Apache-*"])

    unclosed = "(" * 100_000 + "GPL-3.0"  # linear: each `(` is counted once, not against every one before it
    started = time.perf_counter()
    assert is_denied(unclosed, ["GPL-*"])
    assert time.perf_counter() - started < 5  # about 0.05 s; quadratic, it took minutes


def test_licence_keys_never_match_other_kinds() -> None:
    from gate.policy.matching import matches
    from gate.policy.schema import Match

    vuln = licence("GPL-2.0").model_copy(update={"kind": FindingKind.VULNERABILITY})
    assert not matches(vuln, Match.model_validate({"license_deny": ["GPL-*"]}), today=TODAY)
    assert matches(licence("GPL-2.0"), Match.model_validate({"license_deny": ["GPL-*"]}), today=TODAY)
    assert not matches(licence("MIT"), Match.model_validate({"license_allow": ["MIT"]}), today=TODAY)


# --- the command line: `gate check report --image-metadata inspect --policy builtin:strict` ------------------


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["check", *args, "--today", "2026-11-27"], stdout=out, stderr=err, env={}, today=TODAY)
    return code, out.getvalue(), err.getvalue()


ROOT_FORMS = [
    "podman-inspect.json",
    "buildah-inspect.json",
    "skopeo-inspect-config.oci.json",
    "skopeo-inspect-config-raw.docker-archive.json",
    "oci-config.json",
    "skopeo-inspect.oci.json",
    "skopeo-inspect.docker-archive.json",
    "oci-manifest.json",
    "oci-index.json",
    "docker-archive-manifest.json",
]


@pytest.mark.parametrize("letter", ["a", "c"])
@pytest.mark.parametrize("name", ROOT_FORMS)
def test_a_root_image_fails_non_root_user_whatever_form_describes_it(
    tmp_path: Path, letter: str, name: str
) -> None:
    need_shared()
    # a report that embeds nothing of the image: the metadata alone has to decide
    bare = tmp_path / "report.json"
    bare.write_text('{"SchemaVersion": 2, "ArtifactName": "app", "ArtifactType": "container_image"}', "utf-8")
    code, out, err = cli(
        str(bare), "--image-metadata", str(GENERATED / LETTERS[letter] / name), "--policy", "builtin:strict"
    )
    assert code == 1, err
    assert "FAIL non-root-user" in out
    if "user" in CARRIES[name]:
        assert "the image runs as root" in out
    else:
        assert "cannot check: the image's User is not known" in out


def test_cli_explains_each_failed_image_check_for_a(tmp_path: Path) -> None:
    need_shared()
    directory = GENERATED / LETTERS["a"]
    json_out = tmp_path / "record.json"
    code, out, _ = cli(
        str(directory / "trivy.docker-archive.json"),
        "--image-metadata",
        str(directory / "podman-inspect.json"),
        "--policy",
        "builtin:strict",
        "--json",
        str(json_out),
    )
    assert code == 1
    assert "runs as root by default" in out
    assert "no-secrets-in-env" in out and "hunter2" not in out
    assert "forbidden-ports" in out and '"22/tcp"' in out
    assert "required-labels" in out
    violations = json.loads(json_out.read_text("utf-8"))["violations"]
    assert "hunter2" not in json.dumps(violations)
    ids = {v["id"] for v in violations if v["kind"] == "image"}
    assert ids == {"non-root-user", "no-secrets-in-env", "required-labels", "forbidden-ports"}


@pytest.mark.parametrize(
    ("rule_id", "named"),
    [
        ("t", ["t (non-root-user)", "t (required-labels)", "t (forbidden-ports)"]),
        (
            "non-root-user",
            ["non-root-user", "non-root-user (required-labels)", "non-root-user (forbidden-ports)"],
        ),
    ],
)
def test_the_log_and_summary_name_each_check_of_a_rule(
    tmp_path: Path, rule_id: str, named: list[str]
) -> None:
    need_shared()
    directory = GENERATED / LETTERS["a"]
    policy = write_policy(
        tmp_path,
        f'version = 1\n[[rules]]\nid = "{rule_id}"\naction = "fail"\n'
        'image = { user = "non-root", labels = ["org.opencontainers.image.source"], forbidden_ports = [22] }\n',
    )
    summary = tmp_path / "summary.md"
    code, out, _ = cli(
        str(directory / "trivy.docker-archive.json"), "--policy", str(policy), "--summary", str(summary)
    )
    assert code == 1
    text = summary.read_text("utf-8")
    for name in named:
        assert f"  FAIL {name}: {rule_id}: " in out
        assert f"Rule {name}: " in text
    assert f"FAIL {rule_id} ({rule_id})" not in out


def test_cli_passes_the_labelled_non_root_image_under_strict() -> None:
    need_shared()
    directory = GENERATED / LETTERS["b"]
    code, out, _ = cli(
        str(directory / "trivy.docker-archive.json"),
        "--image-metadata",
        str(directory / "podman-inspect.json"),
        "--policy",
        "builtin:strict",
    )
    assert code == 0, out
    assert "PASS" in out


def test_cli_hides_and_checks_a_history_value_whatever_its_name(tmp_path: Path) -> None:
    # An image config as skopeo inspect --config gives it; docker takes 1API_TOKEN and a name in other letters.
    report = TESTDATA / "reports" / "trivy-clean.json"
    config = json.loads(report.read_text("utf-8"))["Metadata"]["ImageConfig"]
    config["history"] += [
        {
            "created_by": "ENV 1API_TOKEN=tok3n-value",
            "comment": "buildkit.dockerfile.v0",
            "empty_layer": True,
        },
        {"created_by": "/bin/sh -c #(nop)  ENV PASSW\u00d6RD=hunter2-value MODE=prod", "empty_layer": True},
    ]
    metadata, record = tmp_path / "config.json", tmp_path / "record.json"
    metadata.write_text(json.dumps(config), encoding="utf-8")
    code, out, err = cli(
        str(report), "--image-metadata", str(metadata), "--policy", "builtin:strict", "--json", str(record)
    )
    assert code == 1, err
    assert '"1API_TOKEN" (its name)' in out
    text = record.read_text("utf-8")
    for value in ("tok3n-value", "hunter2-value", "=prod"):
        assert value not in out and value not in text
    history = [entry[0] for entry in json.loads(text)["images"][0]["image"]["history"]]
    assert "ENV 1API_TOKEN=<redacted>" in history
    assert "/bin/sh -c #(nop)  ENV PASSW\u00d6RD=<redacted> MODE=<redacted>" in history


def test_cli_refuses_metadata_of_another_image() -> None:
    need_shared()
    code, _, err = cli(
        str(GENERATED / LETTERS["a"] / "trivy.oci.json"),
        "--image-metadata",
        str(GENERATED / LETTERS["a"] / "podman-inspect.json"),
    )
    assert code == 2
    assert err.startswith("gate: error: ") and err.count("\n") == 1
    assert "another image" in err


@pytest.mark.parametrize(
    ("metadata", "words"),
    [("missing.json", "no such file"), ("-", "does not read stdin"), (".", "is a directory")],
)
def test_cli_metadata_file_errors(metadata: str, words: str) -> None:
    code, _, err = cli(str(TESTDATA / "reports" / "trivy-clean.json"), "--image-metadata", metadata)
    assert code == 2
    assert words in err


def test_env_allow_compares_names_case_insensitively_as_documented() -> None:
    # docs/image-checks.md: `env_allow` globs, unlike the policy's other globs, ignore case.
    image = cfg(env=("DB_PASSWORD=hunter2",))
    assert run("no-secrets-in-env", image, env="no-secrets")[0] is False
    assert run("no-secrets-in-env", image, env="no-secrets", env_allow=["db_pass*"])[0] is True


@given(st.text(alphabet="-a=b x\t", max_size=16))
def test_healthcheck_options_are_cut_as_before(body: str) -> None:
    old = body
    while re.match(r"^--[a-z-]+=\S*\s+", old):  # the loop before it cut them all at once
        old = re.sub(r"^--[a-z-]+=\S*\s+", "", old, count=1)
    assert body[_HISTORY_OPTIONS.match(body).end() :] == old  # type: ignore[union-attr]


def test_many_healthcheck_options_are_read_in_linear_time() -> None:
    # Milliseconds here; cutting the options one at a time took 0.8 s on 200,000 characters and 80 s on 2 MB.
    created_by = "HEALTHCHECK " + "--a=b " * 400_000 + "CMD true"
    start = time.perf_counter()
    assert _history_healthcheck(cfg(history=((created_by, True),))) == "CMD"
    assert time.perf_counter() - start < 5.0


# --- adversarial cases: each check against inputs shaped to slip through ------------------------------------


def oci_config(run_config: dict[str, Any], top: dict[str, Any] | None = None) -> Image:
    """An image read from an OCI image config given as --image-metadata (`top` adds or replaces top-level keys)."""
    document = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
    document.update(config=run_config, **(top or {}))
    return read_metadata("config.json", json.dumps(document).encode()).image


SOURCE = "org.opencontainers.image.source"
NOT_A_DIGEST = "sha256:" + "a" * 63


@pytest.mark.parametrize(
    ("check_id", "table", "image", "passed"),
    [
        # non-root-user: UID 0 any way the runtime reads it; a named user passes (docs: no /etc/passwd)
        ("non-root-user", {"user": "non-root"}, oci_config({"User": "00:1000"}), False),
        ("non-root-user", {"user": "non-root"}, oci_config({"User": " root"}), False),
        ("non-root-user", {"user": "non-root"}, oci_config({"User": ":0"}), False),
        ("non-root-user", {"user": "non-root"}, oci_config({"User": None}), False),
        ("non-root-user", {"user": "non-root"}, oci_config({}), False),
        (
            "non-root-user",
            {"user": "non-root"},
            oci_config({"User": "ROOT"}),
            True,
        ),  # names are case-sensitive
        ("non-root-user", {"user": "non-root"}, oci_config({"User": "1000:0"}), True),  # group root only
        # Go's encoding/json, which Docker and containerd read a config with, takes a key in any case, and a later
        # one replaces an earlier: the runtime runs these as root.
        ("non-root-user", {"user": "non-root"}, oci_config({"user": "0"}), False),
        ("non-root-user", {"user": "non-root"}, oci_config({"User": "app", "USER": "root"}), False),
        (
            "non-root-user",
            {"user": "non-root"},
            oci_config({"User": "app", "u\u017fer": "root"}),
            False,
        ),  # long s
        ("non-root-user", {"user": "non-root"}, oci_config({}, {"Config": {"User": "root"}}), False),
        ("non-root-user", {"user": "non-root"}, oci_config({"User": "root"}, {"Config": {"Env": []}}), False),
        ("no-secrets-in-env", {"env": "no-secrets"}, oci_config({"env": ["PASSWORD=hunter2"]}), False),
        (
            "no-secrets-in-env",
            {"env": "no-secrets"},
            oci_config({}, {"CONFIG": {"Env": ["PASSWORD=hunter2"]}}),
            False,
        ),
        ("forbidden-ports", {"forbidden_ports": [22]}, oci_config({"exposedPorts": {"22/tcp": {}}}), False),
        (
            "forbidden-ports",
            {"forbidden_ports": [22]},
            oci_config({"ExposedPorts": {"8080/tcp": {}}, "exposedports": {"22/tcp": {}}}),
            False,
        ),
        ("required-labels", {"labels": [SOURCE]}, oci_config({"labels": {SOURCE: "https://x"}}), True),
        ("healthcheck", {"healthcheck": "required"}, oci_config({"healthcheck": {"test": ["NONE"]}}), False),
        # ... but a ligature that folds to two letters is not a key Go takes: `conﬁg` is not `config`.
        (
            "non-root-user",
            {"user": "non-root"},
            oci_config({"User": "root"}, {"con\ufb01g": {"User": "app"}}),
            False,
        ),
        # required-labels: exact names, non-empty values
        ("required-labels", {"labels": [SOURCE]}, oci_config({"Labels": {SOURCE.upper(): "x"}}), False),
        ("required-labels", {"labels": [SOURCE]}, oci_config({"Labels": {SOURCE: " "}}), False),
        ("required-labels", {"labels": [SOURCE]}, oci_config({"Labels": {" " + SOURCE: "x"}}), False),
        # forbidden-ports: Docker reads the protocol up to the next `/` (`22/tcp/x` is 22/tcp)
        (
            "forbidden-ports",
            {"forbidden_ports": ["22/tcp"]},
            oci_config({"ExposedPorts": {"22/tcp/x": {}}}),
            False,
        ),
        (
            "forbidden-ports",
            {"forbidden_ports": ["22/tcp"]},
            oci_config({"ExposedPorts": {"22/TCP": {}}}),
            False,
        ),
        (
            "forbidden-ports",
            {"forbidden_ports": ["22/tcp"]},
            oci_config({"ExposedPorts": {"0022/tcp": {}}}),
            False,
        ),
        ("forbidden-ports", {"forbidden_ports": ["22/tcp"]}, oci_config({"ExposedPorts": {"22": {}}}), False),
        (
            "forbidden-ports",
            {"forbidden_ports": ["22/tcp"]},
            oci_config({"ExposedPorts": {"20-25/tcp": {}}}),
            False,
        ),
        (
            "forbidden-ports",
            {"forbidden_ports": ["22/tcp"]},
            oci_config({"ExposedPorts": {"22/sctp": {}}}),
            True,
        ),
        ("forbidden-ports", {"forbidden_ports": [22]}, oci_config({"ExposedPorts": {"22/sctp": {}}}), False),
        # no-secrets-in-env
        ("no-secrets-in-env", {"env": "no-secrets"}, oci_config({"Env": ["password=hunter2"]}), False),
        ("no-secrets-in-env", {"env": "no-secrets"}, oci_config({"Env": ["X=AKIAIOSFODNN7EXAMPLE"]}), False),
        ("no-secrets-in-env", {"env": "no-secrets"}, oci_config({"Env": ["PASSWORD"]}), True),  # no value
        # a value of several lines (a dotenv file in one variable) holds assignments of its own
        (
            "no-secrets-in-env",
            {"env": "no-secrets"},
            oci_config({"Env": ["APP_ENV=A=1\nDB_PASSWORD=hunter2"]}),
            False,
        ),
        (
            "no-secrets-in-env",
            {"env": "no-secrets"},
            oci_config({"Env": ["APP_ENV=A=1\r\nTOKEN=abc123"]}),
            False,
        ),
        (
            "no-secrets-in-env",
            {"env": "no-secrets"},
            oci_config({"Env": ["APP_ENV=A=1\nDB_PASSWORD=$DB_PW"]}),
            True,
        ),
        (
            "no-secrets-in-env",
            {"env": "no-secrets"},
            oci_config({"Env": ["OPTS=-v TOKEN=abc123"]}),
            True,
        ),  # one line
        # image-age (limit 30 days, evaluated on 2026-11-27)
        ("image-age", {"max_age_days": 30}, oci_config({}, {"created": "2026-10-28T00:00:00+14:00"}), False),
        ("image-age", {"max_age_days": 30}, oci_config({}, {"created": "2099-01-01T00:00:00Z"}), False),
        ("image-age", {"max_age_days": 30}, oci_config({}, {"created": "0001-01-01T00:00:00Z"}), None),
        ("image-age", {"max_age_days": 30}, oci_config({}, {"created": "1701000000"}), None),
        # allowed-registries / approved-base-image: a host pattern's `*` stays in the host
        (
            "allowed-registries",
            {"registries": ["*.example.com"]},
            Image(reference="evil.net/a.example.com/x:1"),
            False,
        ),
        (
            "allowed-registries",
            {"registries": ["*example.com"]},
            Image(reference="evil.net/example.com/x:1"),
            False,
        ),
        (
            "allowed-registries",
            {"registries": ["*.example.com"]},
            Image(reference="reg.example.com/x:1"),
            True,
        ),
        (
            "allowed-registries",
            {"registries": ["*.example.com"]},
            Image(reference="example.com.evil.net/x:1"),
            False,
        ),
        (
            "allowed-registries",
            {"registries": ["*.example.com"]},
            Image(reference="evil-example.com/x:1"),
            False,
        ),
        (
            "allowed-registries",
            {"registries": ["registry.example.com"]},
            Image(reference="REGISTRY.EXAMPLE.COM/x"),
            True,
        ),
        (
            "allowed-registries",
            {"registries": ["registry.example.com"]},
            Image(reference="registry.example.com:5000/x"),
            False,
        ),
        ("allowed-registries", {"registries": ["localhost"]}, Image(reference="localhost:5000/x:1"), False),
        (
            "allowed-registries",
            {"registries": ["docker.io/library/*"]},
            Image(reference="library/alpine"),
            True,
        ),
        (
            "allowed-registries",
            {"registries": ["docker.io/library/*"]},
            Image(reference="evil/alpine"),
            False,
        ),
        (
            "approved-base-image",
            {"base_images": ["*.example.com"]},
            cfg(labels=((BASE + "name", "evil.net/a.example.com/base:1"),)),
            False,
        ),
        (
            "approved-base-image",
            {"base_images": ["*.example.com"]},
            cfg(labels=((BASE + "name", "r.example.com/b"),)),
            True,
        ),
        # digest-pinned: a digest OCI registers, also after a tag
        ("digest-pinned", {"digest": "reference"}, Image(reference="x/y:1@sha256:" + "a" * 64), True),
        ("digest-pinned", {"digest": "reference"}, Image(reference="x/y@" + NOT_A_DIGEST), False),
        ("digest-pinned", {"digest": "reference"}, Image(reference="x/y@SHA256:" + "A" * 64), False),
        ("digest-pinned", {"digest": "base"}, cfg(labels=((BASE + "digest", NOT_A_DIGEST),)), False),
        # image-size / layer-count: unknown is not a pass
        ("image-size", {"max_size_mb": 1}, cfg(), None),
        ("layer-count", {"max_layers": 1}, cfg(), None),
    ],
)
def test_adversarial_image_facts(
    check_id: str, table: dict[str, Any], image: Image, passed: bool | None
) -> None:
    assert run(check_id, image, **table)[0] is passed


def test_a_config_key_in_another_case_is_read_from_a_grype_or_trivy_config() -> None:
    # Grype embeds the config as the registry serves it: a key in another case reaches the gate as written.
    image = image_from_config({"config": {"User": "app", "user": "0", "ENV": ["TOKEN=abc123"]}}, "grype.json")
    assert image.user == "0"
    assert image.env == ("TOKEN=abc123",)


@pytest.mark.parametrize(
    ("top", "config"),
    [
        ({"User": "app"}, {"User": "root"}),
        ({"User": "app"}, {}),
        ({"Labels": {SOURCE: "https://x"}}, {"Labels": {}}),
    ],
)
def test_a_podman_inspect_whose_top_level_copy_differs_from_its_config_is_refused(
    top: dict[str, Any], config: dict[str, Any]
) -> None:
    # podman copies User and Labels from the config, which the runtime reads: a copy that says otherwise was
    # edited, and taking it passed a root image.
    document = [{"Id": "sha256:" + "a" * 64, "Digest": "sha256:" + "b" * 64, "Config": config, **top}]
    with pytest.raises(InputError, match=r"at the top level differs from Config\.(User|Labels)"):
        read_metadata("podman.json", json.dumps(document).encode())


def test_a_podman_inspect_as_podman_writes_it_is_read() -> None:
    document = [
        {"Id": "sha256:" + "a" * 64, "Digest": "sha256:" + "b" * 64, "Config": {}, "User": "", "Labels": {}}
    ]
    image = read_metadata("podman.json", json.dumps(document).encode()).image
    assert (image.user, image.labels) == ("", ())
