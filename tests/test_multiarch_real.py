"""A multi-architecture build gated against its target branch, from real tool output (buildah, skopeo, Trivy).

`app:main` and `app:pr-7` are built offline for linux/amd64, linux/arm64/v8 and linux/arm/v7, each platform
exported on its own as `app.tar` (as one job of a CI matrix does) and scanned with `trivy image --input app.tar
--scanners secret`. The pull request adds an AWS key to every platform; main's arm64 image already had it, so the
key is new on amd64 and arm/v7 only. Each tool that is missing skips the test, saying which.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import pytest

from gate.cli import main
from tests.conftest import TODAY
from tests.test_images_real import need, sh

pytestmark = pytest.mark.tools

PLATFORMS = {"amd64": ("amd64", ""), "arm64": ("arm64", "v8"), "armv7": ("arm", "v7")}
KEY = (
    "AWS_ACCESS_KEY_ID=AKIA2E0A8F3B244C9986\nAWS_SECRET_ACCESS_KEY=Xk3p0vF9sQ7rT2bN8mW4zL6yH1cJ5dG0aE9uR3iO\n"
)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`<build>-<platform>.json` (Trivy) and `<build>-<platform>.config.json` (skopeo inspect --config)."""
    need("buildah", "skopeo", "trivy")
    root = tmp_path_factory.mktemp("multiarch")
    store = ["--root", str(root / "store"), "--runroot", str(root / "run"), "--storage-driver", "vfs"]
    for build in ("main", "pr"):
        (root / build / "app").mkdir(parents=True)
        (root / build / "app" / "hello.txt").write_text("hello\n")
    (root / "pr" / "app" / "config.env").write_text(KEY)
    env = {**os.environ, "TRIVY_CACHE_DIR": str(root / "cache"), "TRIVY_NO_PROGRESS": "true"}
    try:
        for build, tag in (("main", "main"), ("pr", "pr-7")):
            for name, (arch, variant) in PLATFORMS.items():
                container = sh("buildah", *store, "from", "scratch").strip()
                sh("buildah", *store, "copy", container, f"{root / build}/", "/")
                if build == "main" and name == "arm64":
                    sh("buildah", *store, "copy", container, str(root / "pr" / "app" / "config.env"), "/app/")
                platform = ["--os", "linux", "--arch", arch, *(["--variant", variant] if variant else [])]
                sh("buildah", *store, "config", *platform, "--user", "1000:1000", container)
                sh("buildah", *store, "commit", "-q", container, f"localhost/app:{tag}-{name}")
                folder = root / "jobs" / build / name
                folder.mkdir(parents=True)
                archive = f"docker-archive:{folder / 'app.tar'}:example.com/app:{tag}"
                sh("buildah", *store, "push", "-q", f"localhost/app:{tag}-{name}", archive)
                config = sh("skopeo", "inspect", "--config", f"docker-archive:{folder / 'app.tar'}")
                (root / f"{build}-{name}.config.json").write_text(config)
                output = root / f"{build}-{name}.json"
                trivy = ["trivy", "image", "--input", "app.tar", "--scanners", "secret", "--format", "json"]
                sh(*trivy, "--output", str(output), "--quiet", cwd=folder, env=env)
    except RuntimeError as exc:
        pytest.skip(f"buildah or trivy cannot build and scan images here: {exc}")
    return root


def gate(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8")
    code = main(["check", *args, "--today", TODAY.isoformat()], stdout=out, stderr=err, stdin=stdin, env={})
    return code, out.getvalue(), err.getvalue()


def test_real_trivy_gives_the_platform_with_its_variant(reports: Path) -> None:
    given = {}
    for name in PLATFORMS:
        config = json.loads((reports / f"pr-{name}.json").read_text())["Metadata"]["ImageConfig"]
        given[name] = (config["os"], config["architecture"], config.get("variant", ""))
    assert given == {
        "amd64": ("linux", "amd64", ""),
        "arm64": ("linux", "arm64", "v8"),
        "armv7": ("linux", "arm", "v7"),
    }


@pytest.mark.parametrize("order", [["amd64", "arm64", "armv7"], ["armv7", "arm64", "amd64"]])
def test_each_platform_is_gated_against_its_own_baseline(
    reports: Path, tmp_path: Path, order: list[str]
) -> None:
    images = [str(reports / f"pr-{name}.json") for name in order]
    baselines = [
        arg for name in reversed(order) for arg in ("--baseline", str(reports / f"main-{name}.json"))
    ]
    outputs = {flag: str(tmp_path / f"out.{flag}") for flag in ("json", "sarif", "junit")}
    code, out, err = gate(
        *images, *baselines, *(arg for flag, path in outputs.items() for arg in (f"--{flag}", path))
    )
    assert code == 1, err
    record = json.loads(Path(outputs["json"]).read_text())
    seen = {
        image["image"]["platform"]: (Path(image["baseline"]["sources"][0]).name, image["baseline"]["new"])
        for image in record["images"]
    }
    assert seen == {
        "linux/amd64": ("main-amd64.json", 2),
        "linux/arm64/v8": ("main-arm64.json", 0),  # main's arm64 image had the key already
        "linux/arm/v7": ("main-armv7.json", 2),
    }
    assert "app.tar (linux/arm64/v8): PASS" in out and "app.tar (linux/arm/v7): FAIL" in out
    suites = re.findall(r'<testsuite name="([^"]+)"', Path(outputs["junit"]).read_text())
    assert sorted(suites) == ["app.tar (linux/amd64)", "app.tar (linux/arm/v7)", "app.tar (linux/arm64/v8)"]
    runs = json.loads(Path(outputs["sarif"]).read_text())["runs"]
    categories = {run["automationDetails"]["id"]: run["properties"]["verdict"] for run in runs}
    assert categories == {  # the same in either order of the reports
        "container-gate/app.tar/linux-amd64/": "fail",
        "container-gate/app.tar/linux-arm64/": "pass",
        "container-gate/app.tar/linux-arm-v7/": "fail",
    }


def test_the_image_config_of_another_platform_is_refused(reports: Path) -> None:
    report, config = reports / "pr-amd64.json", reports / "pr-arm64.config.json"
    code, _, err = gate(str(report), "--image-metadata", str(config))
    assert code == 2
    assert "it is for linux/arm64/v8, the report's image for linux/amd64" in err
    code, _, err = gate(str(report), "--image-metadata", str(reports / "pr-amd64.config.json"))
    assert code == 1, err


@pytest.mark.parametrize("order", [["amd64", "arm64", "armv7"], ["armv7", "amd64", "arm64"]])
def test_one_run_takes_each_platforms_image_config(reports: Path, tmp_path: Path, order: list[str]) -> None:
    """Every platform's report and every platform's `skopeo inspect --config` in one run: the configs have the
    same layers, user and date, and only the platform tells them apart."""
    images = [str(reports / f"pr-{name}.json") for name in order]
    configs = [
        arg
        for name in reversed(order)
        for arg in ("--image-metadata", str(reports / f"pr-{name}.config.json"))
    ]
    record = tmp_path / "d.json"
    code, _, err = gate(*images, *configs, "--json", str(record))
    assert code == 1, err
    given = {
        image["image"]["platform"]: (Path(image["sources"][0]).stem, image["image"]["user"])
        for image in json.loads(record.read_text())["images"]
    }
    assert given == {
        "linux/amd64": ("pr-amd64", "1000:1000"),
        "linux/arm64/v8": ("pr-arm64", "1000:1000"),
        "linux/arm/v7": ("pr-armv7", "1000:1000"),
    }
    # One platform's config left out: its report is refused, not decided on the report alone.
    code, _, err = gate(*images, *configs[:4])
    assert code == 2 and "none of the image metadata files is of its image" in err
