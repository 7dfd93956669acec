#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests and benchmarks, from Debian's `postgresql` package (scripts/setup.sh
# installs it; this script installs nothing). Listens on 127.0.0.1 only, on a free port of its own, with a data
# directory under a temp dir; as root the server runs as the `postgres` user.
#
#   scripts/pg-cluster.sh start DIR   initdb into DIR/data, start, print the URL (postgres://ledger:…@127.0.0.1:PORT/ledger)
#   scripts/pg-cluster.sh url DIR     print the URL of the cluster in DIR
#   scripts/pg-cluster.sh stop DIR    stop the server and delete DIR
#
# The password is random per cluster and only ever in DIR/url (mode 0600) and the printed URL.
set -euo pipefail
cmd=${1:-}; dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then echo "usage: $0 start|stop|restart|down|up|url DIR" >&2; exit 2; fi

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "pg-cluster: no PostgreSQL server under /usr/lib/postgresql (run scripts/setup.sh)" >&2; exit 1
fi

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    pwfile="$dir/pw"
    ( umask 077; printf '%s\n' "$password" > "$pwfile" )
    [ "$(id -u)" -eq 0 ] && chown postgres "$pwfile"
    as_owner "$bindir/initdb" -D "$dir/data" -U ledger --pwfile="$pwfile" --auth=scram-sha-256 -E UTF8 \
        --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    rm -f "$pwfile"
    # Durable commits as in production (fsync, synchronous_commit on); socket in DIR, TCP on 127.0.0.1 only.
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=on -c synchronous_commit=on -c max_connections=200" \
        start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    PGPASSWORD=$password "$bindir/psql" -h 127.0.0.1 -p "$port" -U ledger -d postgres -qAt \
        -c "CREATE DATABASE ledger" >/dev/null
    ( umask 077; printf 'postgres://ledger:%s@127.0.0.1:%s/ledger\n' "$password" "$port" > "$dir/url" )
    cat "$dir/url"
    ;;
url)
    cat "$dir/url"
    ;;
restart)
    # A fast restart on the same port and settings (the e2e test of a server restart while serving).
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart >/dev/null
    ;;
down)
    # Stops the server, keeping DIR (the e2e test of an outage); `up DIR` starts it again as it was.
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
up)
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "$(sed -n 's/^[^ ]* //p' "$dir/data/postmaster.opts")" start >/dev/null
    ;;
stop)
    if [ -d "$dir/data" ]; then as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|stop|restart|down|up|url DIR" >&2; exit 2
    ;;
esac
