#!/usr/bin/env bash
# Every check and every test, on SQLite and on a real PostgreSQL server. CI runs this.
#
# One line per stage; a stage that fails prints its whole output. Extra arguments go to
# pytest (e.g. scripts/test.sh -k ledger).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"

# stage NAME COMMAND...: run quietly, say "ok NAME (N s)", or show everything it printed.
stage() {
  local name=$1 started out
  shift
  started=$SECONDS
  if out=$("$@" 2>&1); then
    printf 'ok    %-44s %4d s\n' "$name" $((SECONDS - started))
  else
    printf 'FAIL  %s\n%s\n' "$name" "$out"
    exit 1
  fi
}

stage "lint: ruff check" ruff check --quiet .
stage "lint: ruff format --check" ruff format --check --quiet .
stage "types: mypy --strict" mypy
stage "imports: import-linter contracts" lint-imports --no-logo
if [ "${CI:-}" = "true" ]; then
  stage "browser: Chromium for the browser tests" scripts/ensure-chromium.sh
else
  scripts/ensure-chromium.sh 2>/dev/null \
    || echo "skip  browser: no Chromium and cannot install it; browser tests will be skipped"
fi

# -rs lists every skipped test with its reason; skips on purpose say so in their reason.
echo "==    tests on SQLite (pytest; coverage in .coverage)"
pytest -rs --cov --cov-report= "$@"
echo "ok    coverage (branch): $(coverage report --format=total)%"

echo "==    tests on PostgreSQL (a throw-away server on 127.0.0.1)"
status=0
scripts/with-postgres.sh pytest -rs "$@" || status=$?
if [ "$status" = 3 ] && [ "${CI:-}" != "true" ]; then
  echo "WARNING: PostgreSQL unavailable on this machine; only SQLite was tested." >&2
  exit 0
fi
exit "$status"
