"""The `install` commands the GitLab docs and examples give work in the template's default image.

python:3.12-slim (the default `image` of both jobs) has Python, pip and venv but no git, so pip cannot install a
`git+https://...` URL there ("Cannot find command 'git'"): a pipeline copied from the docs fails in the report
job before the gate runs. Each documented install from this project's placeholder URL is run here as the report
job runs it (in a fresh, activated venv), with no git on PATH and the URL pointed at an archive of this checkout
laid out as GitLab serves one (`/-/archive/<ref>/<project>-<ref>.tar.gz`), in a working directory that holds a
`pip/` folder, as a merge request's checkout can.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.wrappers._support import PROJECT_FILES, need_index, tool_env

yaml = pytest.importorskip("yaml")

URL = re.compile(r"(git\+)?https://gitlab\.com/your-group/container-gate[^\"']*")


def _load(text: str) -> Any:
    """YAML with GitLab's `!reference [job, key]` read as a plain list."""
    return yaml.safe_load(text.replace("!reference [", "["))


def _yaml_blocks(path: Path) -> list[Any]:
    text = path.read_text(encoding="utf-8")
    return [_load(block) for block in re.findall(r"^```yaml\n(.*?)^```$", text, re.M | re.S)]


def _install_inputs(config: Any) -> list[str]:
    includes = config.get("include", []) if isinstance(config, dict) else []
    return [
        i["inputs"]["install"] for i in includes if isinstance(i, dict) and "install" in i.get("inputs", {})
    ]


def _documented_installs() -> dict[str, list[str]]:
    """The install commands from this project's URL, by the file that gives them."""
    found: dict[str, list[str]] = {}
    for doc in (ROOT / "docs" / "gitlab.md", ROOT / "docs" / "baseline.md", ROOT / "README.md"):
        found[doc.name] = [c for config in _yaml_blocks(doc) for c in _install_inputs(config)]
    for example in sorted((ROOT / "gitlab" / "examples").glob("*.yml")):
        config = _load(example.read_text(encoding="utf-8"))
        jobs = [job for job in config.values() if isinstance(job, dict)]
        found[example.name] = [
            line for job in jobs for line in job.get("script", []) if isinstance(line, str)
        ]
    return {name: [c for c in commands if URL.search(c)] for name, commands in found.items()}


DOCUMENTED = _documented_installs()
INSTALLS = list(dict.fromkeys(c for commands in DOCUMENTED.values() for c in commands))


def test_the_docs_and_examples_install_from_the_placeholder_url() -> None:
    assert len(DOCUMENTED["gitlab.md"]) >= 5  # quick start, MR note, include: project and remote, two images
    assert all(DOCUMENTED.values()), DOCUMENTED


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout as GitLab's archive of a commit serves it: one top folder `<project>-<ref>`."""
    path = tmp_path_factory.mktemp("archive") / "container-gate-0123abc.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name in PROJECT_FILES:
            if (ROOT / name).exists():
                tar.add(
                    ROOT / name,
                    arcname=f"container-gate-0123abc/{name}",
                    filter=lambda info: None if "__pycache__" in info.name else info,
                )
    return path


@pytest.mark.parametrize("command", INSTALLS)
def test_a_documented_install_works_in_an_image_without_git(
    command: str, archive: Path, tmp_path: Path
) -> None:
    need_index()  # pip fetches the build backend (flit-core) from the index, as in the job
    bin_dir = tmp_path / "bin"  # what python:3.12-slim has on PATH for this: python3 and coreutils, no git
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(Path(sys.base_prefix) / "bin" / f"python3.{sys.version_info[1]}")
    mktemp = shutil.which("mktemp")
    assert mktemp
    (bin_dir / "mktemp").symlink_to(mktemp)
    local = URL.sub(lambda m: (m.group(1) or "") + archive.as_uri(), command)
    # The report job runs in the merge request's checkout: a pip/ folder there must not run as pip (it could
    # install a gate that passes everything), so the install runs pip isolated (`python -I -m pip`).
    ran = tmp_path / "checkout-pip-ran"
    (tmp_path / "pip").mkdir()
    for module in ("__init__.py", "__main__.py"):
        (tmp_path / "pip" / module).write_text(f"open({str(ran)!r}, 'a').close()\n", encoding="utf-8")
    script = (
        'gate_venv="$(mktemp -d)/venv" && python3 -I -m venv "$gate_venv" && . "$gate_venv/bin/activate"\n'
        f"{local}\n"
        "gate --version\n"
    )
    env = tool_env(PATH=str(bin_dir), TMPDIR=str(tmp_path))
    proc = subprocess.run(
        ["/bin/sh", "-ec", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert not ran.exists(), f"{command}: ran the pip/ folder of the working directory"
    assert proc.returncode == 0, f"{command}\n{proc.stdout}{proc.stderr}"
    assert proc.stdout.startswith("gate ")
