#!/usr/bin/env bash
# Every check and every test, on SQLite and on a real PostgreSQL server. CI runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"

echo "== lint: ruff, mypy --strict, import contracts"
ruff check .
ruff format --check .
mypy
lint-imports

scripts/ensure-chromium.sh || [ "${CI:-}" != "true" ]

echo "== tests on SQLite"
pytest --cov --cov-report=term:skip-covered "$@"

echo "== tests on PostgreSQL"
status=0
scripts/with-postgres.sh pytest "$@" || status=$?
if [ "$status" = 3 ] && [ "${CI:-}" != "true" ]; then
  echo "WARNING: PostgreSQL unavailable on this machine; only SQLite was tested." >&2
  exit 0
fi
exit "$status"
