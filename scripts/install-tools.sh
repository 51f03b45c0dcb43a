#!/usr/bin/env bash
# Install the third-party clients the tests drive into DIR (default .tools). Each install may fail
# (no network, registry down); the tests that need a missing tool skip and say which and why.
set -u
dir=${1:-.tools}
mkdir -p "$dir"
log="$dir/install.log"
: >"$log"
note() { echo "install-tools: $*" | tee -a "$log"; }

if [[ ! -x "$dir/venv/bin/python" ]]; then
  python3 -m venv "$dir/venv" >>"$log" 2>&1 || note "python venv for tools failed"
fi
mkdir -p "$dir/bin"
pip_tool() {  # pip_tool SPEC BINARY...
  local spec=$1; shift
  if "$dir/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$spec" >>"$log" 2>&1; then
    for b in "$@"; do ln -sf "../venv/bin/$b" "$dir/bin/$b"; done
  else
    note "could not install $spec (tests that need it will skip)"
  fi
}
pip_tool check-jsonschema check-jsonschema
