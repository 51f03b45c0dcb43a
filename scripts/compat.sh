#!/usr/bin/env bash
# Run the test suite (without the CI-runner wrappers) on every other supported Python that is installed.
set -u
status=0
for version in 3.10 3.11 3.12 3.13; do
  python=""
  for candidate in "python$version" /root/.pyenv/versions/"$version".*/bin/python; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys' >/dev/null 2>&1; then
      python=$candidate
      break
    fi
  done
  if [[ -z "$python" ]]; then
    echo "compat: Python $version not found, skipped"
    continue
  fi
  venv=".venv-$version"
  [[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[test]' || { status=1; continue; }
  echo "compat: Python $version ($python)"
  "$venv/bin/python" -m pytest -q -p no:cacheprovider --ignore=tests/wrappers || status=1
done
exit $status
