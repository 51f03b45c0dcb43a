#!/usr/bin/env bash
# Regenerate LOCK, the hash-pinned install of the GitHub Action (action.yml), with UV (a pinned uv: `make lock`).
# It pins pyproject.toml's [project] dependencies and its [build-system] requires (flit_core, which builds the
# gate itself), for every Python from requires-python on and every platform (uv's universal resolution), with
# the hash of every file of each pinned release. The pins already in LOCK are kept where pyproject.toml still
# allows them; UPGRADE=1 (`make lock UPGRADE=1`) moves every pin to the newest release.
set -euo pipefail
uv=$1 lock=$2 python=${PYTHON:-python3}

# [build-system] requires, one a line, then the lowest Python of requires-python (">=3.10" gives 3.10).
read_pyproject='
import re, sys
try:
    import tomllib
except ImportError:  # Python 3.10
    try:
        import tomli as tomllib
    except ImportError:
        sys.exit("scripts/lock.sh: needs Python 3.11 or newer (or tomli) to read pyproject.toml; set PYTHON=")
with open("pyproject.toml", "rb") as f:
    pyproject = tomllib.load(f)
lowest = re.fullmatch(r">=\s*(\d+\.\d+)", pyproject["project"]["requires-python"].strip())
if not lowest:
    sys.exit("scripts/lock.sh: requires-python is not of the form >=X.Y")
print(*pyproject["build-system"]["requires"], lowest.group(1), sep="\n")
'
mapfile -t read < <("$python" -c "$read_pyproject")
[ ${#read[@]} -ge 2 ] || exit 1
build=("${read[@]:0:${#read[@]}-1}")
lowest=${read[-1]}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
upgrade=()
if [ -n "${UPGRADE:-}" ]; then
  upgrade=(--upgrade)
elif [ -f "$lock" ]; then
  cp "$lock" "$tmp/lock.txt"  # uv keeps the pins of the output file it is given where it can
fi
printf '%s\n' "${build[@]}" | "$uv" pip compile --quiet --no-config --universal --python-version "$lowest" \
  --generate-hashes --annotation-style line --no-header "${upgrade[@]}" --output-file "$tmp/lock.txt" \
  pyproject.toml -

version=$("$uv" --version | cut -d' ' -f2)
{
  cat <<EOF
# The GitHub Action's install, pinned by hash: container-gate's runtime dependencies and its build backend
# (flit-core, from [build-system] requires), for CPython $lowest and newer on Linux, macOS and Windows.
# action.yml installs it with
#   pip install --require-hashes --only-binary :all: -r $lock
# and then the gate from the action's checkout with --no-deps --no-build-isolation: nothing else is fetched.
# Generated from pyproject.toml by scripts/lock.sh with uv $version; do not edit by hand. Regenerate with
#   make lock             (keeps these pins where pyproject.toml allows them, adds what it now needs)
#   make lock UPGRADE=1   (moves every pin to the newest release)
EOF
  cat "$tmp/lock.txt"
} >"$lock.tmp"
mv "$lock.tmp" "$lock"
echo "lock: wrote $lock ($(grep -c '^[a-z]' "$lock") packages, $(grep -c -- '--hash=' "$lock") hashes)"
