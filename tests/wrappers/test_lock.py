"""The GitHub Action's hash-pinned install (actions/requirements.txt, written by `make lock`).

The lock pins what pyproject.toml needs, each line with its hashes; the action's install step, run as GitHub runs
it, installs it for real (wheels only, hashes required) and then the gate with no dependency of its own fetching;
the pinned wheels cover every Python and platform the docs promise; and with no pinned wheel for the runner the
step says what to do. All but the first need pip to reach its package index, and skip saying so when it cannot.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import ROOT
from tests.wrappers._support import LOCK, copy_project, need_index, tool_env

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")
# The Pythons the docs promise, each on the GitHub-hosted runners' platforms (pip --platform tags).
PYTHONS = ("3.10", "3.11", "3.12", "3.13", "3.14")
PLATFORMS = {
    "linux-x86_64": ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"],
    "linux-arm64": ["manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64"],
    "macos-x86_64": ["macosx_13_0_x86_64"],
    "macos-arm64": ["macosx_14_0_arm64"],
    "windows-x64": ["win_amd64"],
}


@dataclass
class Pin:
    """One requirement of the lock: its text before the hashes, its hashes, and what it is there for."""

    requirement: Requirement
    hashes: list[str]
    via: list[str] = field(default_factory=list)


def _pins(text: str) -> list[Pin]:
    pins: list[Pin] = []
    for entry in re.sub(r"\\\n", " ", text).splitlines():
        line = entry.strip()
        if line.startswith("# via "):
            assert pins, "a '# via' annotation before any requirement"
            pins[-1].via = [name.strip().split(" ")[0] for name in line[len("# via ") :].split(",")]
            continue
        if not line or line.startswith("#"):
            continue
        spec, *options = re.split(r"\s+(?=--)", line)
        assert all(HASH.fullmatch(o) for o in options), f"only sha256 hashes may follow a requirement: {line}"
        pins.append(Pin(Requirement(spec), options))
    return pins


def _pyproject() -> dict[str, list[str]]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        data = tomllib.load(f)
    return {"dependencies": data["project"]["dependencies"], "build": data["build-system"]["requires"]}


def _environments() -> list[dict[str, str]]:
    """Marker environments: each promised Python (a .0 and a later patch release) on Linux, macOS and Windows."""
    systems = [("linux", "Linux", "posix"), ("darwin", "Darwin", "posix"), ("win32", "Windows", "nt")]
    return [
        {
            "python_version": version,
            "python_full_version": f"{version}.{patch}",
            "sys_platform": platform,
            "platform_system": system,
            "os_name": os_name,
            "implementation_name": "cpython",
            "platform_python_implementation": "CPython",
        }
        for version in PYTHONS
        for patch in (0, 12)
        for platform, system, os_name in systems
    ]


def test_the_lock_pins_exactly_what_pyproject_needs_each_with_its_hashes() -> None:
    text = LOCK.read_text(encoding="utf-8")
    pins = _pins(text)
    by_name: dict[str, list[Pin]] = defaultdict(list)
    for pin in pins:
        by_name[canonicalize_name(pin.requirement.name)].append(pin)
        specifiers = list(pin.requirement.specifier)
        assert [s.operator for s in specifiers] == ["=="], f"not pinned to one version: {pin.requirement}"
        assert "*" not in specifiers[0].version, f"not pinned to one version: {pin.requirement}"
        assert not pin.requirement.extras and pin.requirement.url is None, pin.requirement
        assert pin.hashes, f"no hash for {pin.requirement}"
        assert len(set(pin.hashes)) == len(pin.hashes), f"a hash repeated for {pin.requirement}"

    wanted = [Requirement(r) for r in (*_pyproject()["dependencies"], *_pyproject()["build"])]
    assert any(canonicalize_name(r.name) == "flit-core" for r in wanted), "the build backend is locked too"
    environments = _environments()
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        assert name in by_name, f"{requirement} is not in {LOCK.name}"
        for pin in by_name[name]:
            (version,) = (s.version for s in pin.requirement.specifier)
            assert requirement.specifier.contains(version, prereleases=True), (
                f"{pin.requirement} vs {requirement}"
            )
        for env in environments:
            needed = requirement.marker is None or requirement.marker.evaluate(env)
            installed = [
                p for p in by_name[name] if p.requirement.marker is None or p.requirement.marker.evaluate(env)
            ]
            assert len(installed) == (1 if needed else 0), f"{requirement.name} on {env}"

    # Nothing else: each other pin is there for a pinned package (uv's `# via` annotation says which).
    direct = {canonicalize_name(r.name) for r in wanted}
    for other, entries in by_name.items():
        if other not in direct:
            for pin in entries:
                assert {canonicalize_name(v) for v in pin.via} & set(by_name), (
                    f"{other} is pinned for nothing"
                )

    # tomli only below Python 3.11, where tomllib is missing.
    (tomli,) = by_name["tomli"]
    assert tomli.requirement.marker is not None
    assert [tomli.requirement.marker.evaluate(env) for env in environments] == [
        env["python_version"] == "3.10" for env in environments
    ]

    # The header says how to regenerate it, with the uv that the Makefile pins.
    header = text[: text.index("\n" + pins[0].requirement.name)]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    uv = re.search(r"^UV_VERSION\s*:?=\s*(\S+)", makefile, re.MULTILINE)
    assert uv, "the Makefile pins no UV_VERSION"
    assert f"with uv {uv.group(1)};" in header
    assert "make lock" in header
    lock = re.search(r"^LOCK\s*:?=\s*(\S+)", makefile, re.MULTILINE)
    assert lock and lock.group(1) == LOCK.relative_to(ROOT).as_posix()


def _install_step() -> str:
    yaml = pytest.importorskip("yaml")
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    (step,) = [s for s in action["runs"]["steps"] if s.get("id") == "setup"]
    assert "--require-hashes --only-binary :all: -r" in step["run"]
    assert "--no-deps --no-build-isolation" in step["run"]
    return str(step["run"])


def _run_step(tmp_path: Path, project: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    """The action's install step as GitHub's runner runs a `shell: bash` step, with this machine's python3."""
    script = tmp_path / "install.sh"
    script.write_text(_install_step(), encoding="utf-8")
    (tmp_path / "runner").mkdir(exist_ok=True)
    env = tool_env(
        RUNNER_TEMP=str(tmp_path / "runner"),
        GITHUB_ACTION_PATH=str(project),
        GITHUB_OUTPUT=str(tmp_path / "output"),
        **extra,
    )
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_install_step_installs_the_lock_and_the_gate_and_nothing_else(tmp_path: Path) -> None:
    need_index()
    project = copy_project(tmp_path / "container-gate")
    proc = _run_step(tmp_path, project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("::group::Install container-gate into "), proc.stdout
    assert re.search(r"^::endgroup::\ngate \d+\.\d+", proc.stdout, re.MULTILINE), proc.stdout
    outputs = dict(
        line.split("=", 1) for line in (tmp_path / "output").read_text(encoding="utf-8").splitlines()
    )
    gate, python = Path(outputs["gate"]), Path(outputs["python"])
    assert gate.parent == python.parent and gate.is_relative_to(tmp_path / "runner")

    # Exactly the lock's pins for this Python, the gate, and the venv's own pip.
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    installed: dict[str, str] = {
        canonicalize_name(p["name"]): p["version"] for p in json.loads(listed.stdout)
    }
    pinned = {
        canonicalize_name(p.requirement.name): next(iter(p.requirement.specifier)).version
        for p in _pins(LOCK.read_text(encoding="utf-8"))
        if p.requirement.marker is None or p.requirement.marker.evaluate()
    }
    installed.pop("pip")
    assert installed.pop("container-gate") == proc.stdout.split("\ngate ", 1)[1].split()[0]
    assert installed == pinned

    # The gate runs, and a second use in the same job reuses the venv.
    again = _run_step(tmp_path, project)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "::group::" not in again.stdout
    assert again.stdout.startswith("gate ")


def test_with_no_pinned_wheel_for_the_runner_the_install_step_says_what_to_do(tmp_path: Path) -> None:
    """docopt 0.6.2 was only ever published as an sdist: no wheel fits, as on a Python the lock does not cover."""
    need_index()
    project = copy_project(tmp_path / "container-gate")
    lock = project / LOCK.relative_to(ROOT)
    lock.write_text("docopt==0.6.2 \\\n    --hash=sha256:" + "0" * 64 + "\n", encoding="utf-8")
    proc = _run_step(tmp_path, project)
    assert proc.returncode == 2
    assert "No matching distribution found for docopt==0.6.2" in proc.stdout
    errors = [line for line in proc.stdout.splitlines() if line.startswith("::error")]
    version = "{}.{}".format(*sys.version_info[:2])
    assert len(errors) == 1 and errors[0].startswith("::error title=container-gate::"), proc.stdout
    assert f"have no wheel for cpython {version} on " in errors[0]
    assert 'add actions/setup-python with python-version: "3.12" before this step' in errors[0]
    assert not [line for line in proc.stdout.splitlines() if line.startswith("gate ")]


def test_with_the_index_out_of_reach_the_install_step_does_not_blame_the_python(tmp_path: Path) -> None:
    """pip says "No matching distribution" when it cannot reach its index too: then the advice to change the
    Python would mislead, and the step points at pip's own messages (here an index on a closed local port)."""
    project = copy_project(tmp_path / "container-gate")
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    with closed:  # bound, never listening: connections are refused
        index = f"http://127.0.0.1:{closed.getsockname()[1]}/simple"
        proc = _run_step(tmp_path, project, PIP_INDEX_URL=index, PIP_RETRIES="1", PIP_FIND_LINKS="")
    assert proc.returncode == 2
    assert "Retrying (" in proc.stdout and "No matching distribution" in proc.stdout, proc.stdout
    errors = [line for line in proc.stdout.splitlines() if line.startswith("::error")]
    assert errors == [
        "::error title=container-gate::pip could not install the pinned dependencies (actions/requirements.txt);"
        " see its message above"
    ]


def _dry_run(python: str, platform: str, lock: Path, tmp: Path, *extra: str) -> tuple[str, list[str]]:
    """pip's choice of wheels from `lock` for one Python and platform, without installing: its error ("" when it
    found a wheel for every pin) and the names of the wheels it chose."""
    report = tmp / "report.json"
    argv = [
        sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
        "--disable-pip-version-check", "--require-hashes", "--only-binary", ":all:", "--target", str(tmp / "t"),
        "--report", str(report), "--implementation", "cp", "--python-version", python, "-r", str(lock), *extra,
    ]  # fmt: skip
    for tag in PLATFORMS[platform]:
        argv += ["--platform", tag]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        return (proc.stdout + proc.stderr).strip(), []
    chosen = json.loads(report.read_text(encoding="utf-8"))["install"]
    return "", [item["download_info"]["url"].rsplit("/", 1)[-1] for item in chosen]


def test_the_lock_has_a_wheel_for_every_promised_python_and_platform(tmp_path: Path) -> None:
    """pip finds a pinned wheel with a listed hash for every pin: for the oldest promised Python on Linux x86-64,
    and then, for the pins whose wheel there is not pure Python, for the newest on Linux (x86-64, arm64), macOS
    (Intel, Apple silicon) and Windows (dry runs, in parallel). uv already keeps every pin's Requires-Python to
    what pyproject.toml promises; what it does not check is that a release publishes wheels for each Python and
    platform, and a new Python is the one most likely to lack them. The install test above covers this
    machine's Python for real."""
    need_index()
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "--version"], capture_output=True, text=True, check=True
    )
    if Version(pip.stdout.split()[1]) < Version("22.2"):
        pytest.skip(f"pip install --dry-run --report needs pip 22.2 or newer, not {pip.stdout.split()[1]}")
    (tmp_path / "oldest").mkdir()
    problem, wheels = _dry_run(PYTHONS[0], "linux-x86_64", LOCK, tmp_path / "oldest")
    assert problem == ""
    binary = {canonicalize_name(w.split("-")[0]) for w in wheels if not w.endswith("-none-any.whl")}
    assert "pydantic-core" in binary, wheels
    native = tmp_path / "native.txt"
    native.write_text(
        "".join(
            f"{p.requirement} {' '.join(p.hashes)}\n"
            for p in _pins(LOCK.read_text(encoding="utf-8"))
            if canonicalize_name(p.requirement.name) in binary
        ),
        encoding="utf-8",
    )

    def newest(platform: str) -> str:
        (tmp_path / platform).mkdir()
        return _dry_run(PYTHONS[-1], platform, native, tmp_path / platform, "--no-deps")[0]

    with ThreadPoolExecutor(max_workers=3) as pool:
        failed = {
            f"{PYTHONS[-1]} {p}": e for p, e in zip(PLATFORMS, pool.map(newest, PLATFORMS), strict=True) if e
        }
    assert failed == {}
