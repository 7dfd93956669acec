#!/usr/bin/env bash
# The proxy's CPU per request under wrk (a C load generator, so the client's own CPU is small and outside the
# measured process): `serve` on a fresh SQLite ledger, or the bare Hummingbird + libcurl relay, in front of
# ProxyBench's stub upstream, all on 127.0.0.1. Prints wrk's summary and the target's CPU (user + system, all
# threads) and context switches per request.
#
#   bash bench/wrk.sh                 # serve, non-streamed chat, 1 wrk thread, 32 connections, 10 s
#   bash bench/wrk.sh bare            # the bare relay instead
#   CONNECTIONS=64 SECONDS_=20 STREAM=1 bash bench/wrk.sh
#   STRACE=1 CONNECTIONS=1 bash bench/wrk.sh  # also system calls per request, by strace -c (slows the target)
#
# Needs release builds of holysheep-ledger and ProxyBench (`swift build -c release --product holysheep-ledger`,
# then `--product ProxyBench`) and wrk (`apt-get install wrk`). Not a test: numbers depend on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-serve}
bin=${BIN:-.build/release/holysheep-ledger}
bench=${PROXYBENCH:-.build/release/ProxyBench}
connections=${CONNECTIONS:-32}
threads=${THREADS:-1}
seconds=${SECONDS_:-10}
stream=${STREAM:-0}
command -v wrk >/dev/null || { echo "wrk.sh: wrk is not installed (apt-get install wrk)" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "wrk.sh: nothing listening on port $1" >&2
    exit 1
}

stub_port=$(free_port)
"$bench" stub "$stub_port" >/dev/null &
pids+=($!)
wait_port "$stub_port"

port=$(free_port)
if [ "$target" = bare ]; then
    secret=none
    "$bench" proxy-child "$stub_port" "$port" - bare - >/dev/null 2>&1 &
else
    db="$work/ledger.sqlite"
    "$bin" migrate --db "$db" >/dev/null
    secret=$("$bin" keys create --name wrk --team bench --db "$db" 2>&1 | grep -o 'hsl-[A-Za-z0-9_-]*' | head -1)
    printf '[provider holysheep]\nbase_url = http://127.0.0.1:%s/v1\n' "$stub_port" >"$work/proxy.ini"
    HOLYSHEEP_API_KEY=wrk-upstream-key "$bin" serve --port "$port" --config "$work/proxy.ini" --db "$db" \
        >/dev/null 2>&1 &
fi
target_pid=$!
pids+=($target_pid)
wait_port "$port"

stream_json=false
[ "$stream" = 1 ] && stream_json=true
cat >"$work/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}],"stream":$stream_json}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $secret"
EOF

cpu() { awk '{print $14 " " $15}' "/proc/$target_pid/stat"; }
switches() { cat /proc/"$target_pid"/task/*/status | awk '/ctxt_switches/ {s += $2} END {print s}'; }
# Warm-up, then the measured run.
wrk -t"$threads" -c"$connections" -d2s -s "$work/post.lua" "http://127.0.0.1:$port/v1/chat/completions" >/dev/null
cpu_before=$(cpu)
switches_before=$(switches)
if [ -n "${STRACE:-}" ]; then
    command -v strace >/dev/null || { echo "wrk.sh: STRACE=1 needs strace (apt-get install strace)" >&2; exit 1; }
    strace -c -f -o "$work/strace.txt" -p "$target_pid" 2>/dev/null &
    strace_pid=$!
    sleep 1  # strace attaches to every thread; the counts below are per request, so a late start only shortens them
fi
out=$(wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency -s "$work/post.lua" \
    "http://127.0.0.1:$port/v1/chat/completions")
cpu_after=$(cpu)
switches_after=$(switches)
echo "$out"
requests=$(echo "$out" | awk '/requests in/ {print $1}')
if [ -n "${STRACE:-}" ]; then
    kill -INT "$strace_pid"; wait "$strace_pid" 2>/dev/null || true
    echo "system calls per request (strace -c -f; strace slows the target, so CPU and req/s above are not comparable):"
    awk -v n="$requests" '$1 ~ /^[0-9.]+$/ && NF >= 5 {printf "  %7.2f %s\n", $4 / n, $NF}' "$work/strace.txt" | sort -rn | head -20
fi
non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
ticks=$(getconf CLK_TCK)
python3 - "$target" "$requests" "$cpu_before" "$cpu_after" "$ticks" "$switches_before" "$switches_after" \
    "${non2xx:-0}" "$connections" "$stream" <<'EOF'
import sys
target, requests, c0, c1, ticks, s0, s1, bad, conns, stream = sys.argv[1:]
n = int(requests)
(u0, k0), (u1, k1) = (map(int, c.split()) for c in (c0, c1))
per = 1e6 / int(ticks) / n
user_us, system_us = (u1 - u0) * per, (k1 - k0) * per
print(f"{target}: {'streamed' if stream == '1' else 'non-stream'} c={conns}: {n} requests ({bad} non-2xx), "
      f"CPU {user_us + system_us:.0f} us/request (user {user_us:.0f}, system {system_us:.0f}), "
      f"{(int(s1) - int(s0)) / n:.2f} context switches/request")
EOF
