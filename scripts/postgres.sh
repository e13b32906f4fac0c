#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests (the gateway's PostgreSQL index).
#   postgres.sh start DIR   new cluster in DIR (empty or absent), served on a
#                           free port of 127.0.0.1; prints its URL
#                           postgres://medigate@127.0.0.1:PORT/medigate
#   postgres.sh stop DIR    stops it; succeeds if it is not running
# Everything lives in DIR (data/, the unix socket, postgres.log): delete DIR
# after stop. Needs Debian's `postgresql` package (scripts/setup.sh).
set -euo pipefail

die() { echo "postgres.sh: $*" >&2; exit 1; }
[ $# -eq 2 ] && [[ $1 == start || $1 == stop ]] || die "usage: postgres.sh start|stop DIR"
command=$1
if [ "$command" = start ]; then
    # Private: the socket inside it takes anyone who can reach it (trust).
    mkdir -p "$2" && chmod 700 "$2" || die "cannot create $2"
fi
dir=$(cd "$2" 2>/dev/null && pwd) || { [ "$command" = stop ] && exit 0; die "cannot enter $2"; }
data=$dir/data log=$dir/postgres.log

# pg_config may come from another version's libpq-dev than the server's, so
# only trust it if initdb is next to it; else take the newest installed server.
bin=$(pg_config --bindir 2>/dev/null || true)
if [ ! -x "$bin/initdb" ]; then
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -x "$bin/initdb" ] || die "no PostgreSQL server found (install Debian's postgresql: scripts/setup.sh)"
fi

# initdb and postgres refuse to run as root: as root, run them as the owner
# of the cluster, the `postgres` user that Debian's package creates.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u "$owner" -- "$@"; else "$@"; fi
}

if [ "$command" = stop ]; then
    [ -f "$data/PG_VERSION" ] || exit 0
    owner=$(stat -c %U "$data")
    # Status 3: not running (also with a stale postmaster.pid).
    status=0; as_owner "$bin/pg_ctl" status -D "$data" >/dev/null 2>&1 || status=$?
    [ "$status" -eq 3 ] && exit 0
    as_owner "$bin/pg_ctl" stop -D "$data" -m fast -w -t 60 >/dev/null || die "could not stop the server in $dir (see $log)"
    exit 0
fi

[ -z "$(ls -A "$dir")" ] || die "$dir is not empty: start wants a fresh directory"
owner=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
    owner=postgres
    id "$owner" >/dev/null 2>&1 || die "running as root needs a 'postgres' user to run the server as"
    chown "$owner": "$dir"
    runuser -u "$owner" -- test -w "$dir" \
        || die "user $owner cannot write $dir (is a parent directory private to root?)"
fi
# Unix sockets paths are limited to 107 bytes.
[ ${#dir} -le 90 ] || die "$dir is too long a path for the unix socket inside it"
cd "$dir" # the server user may not be allowed into the current directory
as_owner touch "$log" # the server appends to it

fail() { tail -n 20 "$log" >&2 2>/dev/null || true; die "$*; log: $log"; }

# No locale from the environment: it may name one that is not generated.
as_owner "$bin/initdb" -D "$data" -U postgres --no-locale -E UTF8 --no-sync >>"$log" 2>&1 \
    || fail "initdb failed"
# Trust, but only on loopback TCP and on the socket in DIR (private to its
# owner). A throwaway cluster needs no durability: no fsync makes it fast.
cat >"$data/pg_hba.conf" <<EOF
local all all trust
host  all all 127.0.0.1/32 trust
EOF
cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF

# The free port is found by binding to port 0; another process may take it
# before the server binds it, so try again with a new port a few times.
for attempt in 1 2 3; do
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') \
        || die "python3 could not find a free port"
    as_owner "$bin/pg_ctl" start -D "$data" -l "$log" -o "-p $port" -w -t 60 >/dev/null 2>&1 && break
    grep -q 'could not bind\|could not create any TCP/IP sockets' "$log" && [ "$attempt" -lt 3 ] \
        || fail "the server did not start"
done
"$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 10 || fail "the server does not accept connections on 127.0.0.1:$port"

"$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres \
    -c 'CREATE ROLE medigate LOGIN' -c 'CREATE DATABASE medigate OWNER medigate' >>"$log" 2>&1 \
    || fail "could not create the medigate role and database"
echo "postgres://medigate@127.0.0.1:$port/medigate"
