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

# The two passes run side by side (each mostly waits on one core, on its database or on
# the nodes it started); TOPMATCH_TEST_SERIAL=1 runs them one after the other. Each has its
# own pytest temporary folder. -rs lists every skipped test with its reason; skips on
# purpose say so in their reason.
work=$(mktemp -d /tmp/topmatch-test.XXXXXX)
trap 'rm -rf "$work"' EXIT

postgres_pass() {
  scripts/with-postgres.sh pytest -rs -p no:cacheprovider --basetemp="$work/postgresql" "$@"
}

if [ "${TOPMATCH_TEST_SERIAL:-}" != "1" ]; then
  echo "==    tests on PostgreSQL, in the background (a throw-away server on 127.0.0.1)"
  postgres_pass "$@" >"$work/postgresql.log" 2>&1 &
  postgres_pid=$!
fi

echo "==    tests on SQLite (pytest; coverage in .coverage)"
sqlite_status=0
pytest -rs --basetemp="$work/sqlite" --cov --cov-report= "$@" || sqlite_status=$?
echo "ok    coverage (branch): $(coverage report --format=total)%"

status=0
if [ "${TOPMATCH_TEST_SERIAL:-}" != "1" ]; then
  wait "$postgres_pid" || status=$?
  echo "==    tests on PostgreSQL (ran alongside; its output follows)"
  cat "$work/postgresql.log"
else
  echo "==    tests on PostgreSQL (a throw-away server on 127.0.0.1)"
  postgres_pass "$@" || status=$?
fi
if [ "$status" = 3 ] && [ "${CI:-}" != "true" ]; then
  echo "WARNING: PostgreSQL unavailable on this machine; only SQLite was tested." >&2
  status=0
fi
if [ "$sqlite_status" != 0 ]; then
  exit "$sqlite_status"
fi
exit "$status"
