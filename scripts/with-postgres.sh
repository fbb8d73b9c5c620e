#!/usr/bin/env bash
# Run a command against a throw-away PostgreSQL server on 127.0.0.1.
#
#   scripts/with-postgres.sh COMMAND...
#
# Installs PostgreSQL from the OS packages when it is missing (as root, with apt-get),
# starts a private cluster in a temporary directory, exports TOPMATCH_TEST_DATABASE_URL
# and stops and removes the cluster afterwards, whatever the command's outcome.
set -euo pipefail

find_bindir() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir; return
  fi
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
  command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)"
}

bindir=$(find_bindir || true)
if [ -z "$bindir" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "PostgreSQL not found: installing it from the OS packages" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bindir=$(find_bindir)
  else
    echo "PostgreSQL is not installed and cannot be installed here (need root and apt-get)." >&2
    exit 3
  fi
fi

workdir=$(mktemp -d /tmp/topmatch-pg.XXXXXX)
chmod 755 "$workdir"
as_owner=()
if [ "$(id -u)" = 0 ]; then  # initdb refuses to run as root
  chown postgres "$workdir" 2>/dev/null || { useradd -r postgres; chown postgres "$workdir"; }
  as_owner=(runuser -u postgres --)
fi
port=${TOPMATCH_PG_PORT:-$(( 20000 + RANDOM % 20000 ))}

cleanup() {
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$workdir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$workdir"
}
trap cleanup EXIT

"${as_owner[@]}" "$bindir/initdb" -D "$workdir/data" -U topmatch -A trust -E UTF8 \
  --locale=C.UTF-8 >/dev/null 2>&1 || "${as_owner[@]}" "$bindir/initdb" -D "$workdir/data" \
  -U topmatch -A trust -E UTF8 >/dev/null
"${as_owner[@]}" "$bindir/pg_ctl" -D "$workdir/data" -l "$workdir/server.log" -w -o \
  "-p $port -k $workdir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
  start >/dev/null
"$bindir/createdb" -h 127.0.0.1 -p "$port" -U topmatch topmatch_test

export TOPMATCH_TEST_DATABASE_URL="postgresql+psycopg://topmatch@127.0.0.1:$port/topmatch_test"
echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
"$@"
