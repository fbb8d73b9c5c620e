#!/bin/sh
# Run one node as several uvicorn worker processes (`topmatch serve` runs one). In the
# image as `topmatch-serve-workers`; see docs/operations.md, "Running in containers".
#
#   topmatch-serve-workers [UVICORN OPTION ...]
#
# WEB_CONCURRENCY     number of workers (default 2)
# TOPMATCH_HOST/PORT  where to listen, as for `topmatch serve` (the health check uses the port)
#
# The schema is migrated once, before the workers start: each worker also migrates at
# start, and several doing so at once on an empty or older database fail.
set -eu

# prometheus_client's multiprocess mode: one folder for all workers, emptied at each start.
PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-/tmp/topmatch-metrics}
export PROMETHEUS_MULTIPROC_DIR
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
rm -f "$PROMETHEUS_MULTIPROC_DIR"/*.db

topmatch db upgrade
exec uvicorn --factory topmatch.app:app_from_env \
  --host "${TOPMATCH_HOST:-127.0.0.1}" --port "${TOPMATCH_PORT:-8000}" \
  --workers "${WEB_CONCURRENCY:-2}" "$@"
