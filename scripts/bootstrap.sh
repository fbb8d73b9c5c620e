#!/usr/bin/env bash
# Create .venv and install Topmatch with its development tools, once per pyproject change.
# Quiet when it works (pip's output goes to .venv/install.log); shows that log when not.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
stamp=.venv/.installed
if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ]; then
  exit 0
fi
"$PYTHON" - <<'PY' || { echo "Topmatch needs Python 3.11 or newer (set PYTHON=...)" >&2; exit 1; }
import sys; sys.exit(sys.version_info < (3, 11))
PY
started=$SECONDS
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
log=.venv/install.log
if ! { .venv/bin/python -m pip install --quiet --upgrade pip \
    && .venv/bin/python -m pip install --quiet -e '.[dev]'; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "FAIL  setup: installing Topmatch into .venv (the log above is in $log)" >&2
  exit 1
fi
touch "$stamp"
printf 'ok    %-44s %4d s\n' "setup: .venv with Topmatch and its tools" $((SECONDS - started))
