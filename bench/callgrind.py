#!/usr/bin/env python3
"""Instructions per proxied call, by valgrind's callgrind: `serve` against the bare Hummingbird + libcurl relay.

Instruction counts do not depend on how busy the machine is, so this compares builds (before/after a change) and the
proxy against its floor even while other work runs. Each target runs under
`valgrind --tool=callgrind --instr-atstart=no`; after the server answers /healthz, instrumentation is switched on,
WARMUP calls are sent and the counters zeroed, then CALLS calls are sent one at a time (concurrency 1, one
keep-alive connection; `--concurrency N` spreads them over N connections sending at once) and the counters dumped. Only the target's user-space instructions count (not the kernel's,
not the stub's or the load generator's). Prints Ir per call for each target and mode and the functions whose
instructions differ most between the proxy and the floor.

    python3 bench/callgrind.py                        # release binaries from .build/release
    python3 bench/callgrind.py --calls 400 --top 30
    python3 bench/callgrind.py --bin /tmp/before/holysheep-ledger --label before   # another build of serve
    python3 bench/callgrind.py --only non-stream      # or streamed
    python3 bench/callgrind.py --concurrency 64 --calls 2000 --warmup 200   # the c=64 targets (writer batches)
    python3 bench/callgrind.py --prompt-bytes 65536   # a 64 KiB prompt: what copying the body costs

Two workarounds for Debian 12's valgrind 3.19, both applied here: the binaries are copied with their DWARF 5 debug
info stripped (valgrind cannot read it; the symbol table stays, so functions keep their names), and a tiny
LD_PRELOAD shim copies the mask libdispatch hands to sigsuspend() (a read-only constant, which valgrind's
rt_sigsuspend wrapper writes to and crashes on) before making the system call.

Needs valgrind and a C compiler (apt-get install valgrind gcc) and release builds of `holysheep-ledger` and `ProxyBench`
(`swift build -c release --product holysheep-ledger --product ProxyBench`).
"""
import argparse
import collections
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "e2e"))
from proxy_stub_upstream import StubUpstream, free_port  # noqa: E402

def chat_body(prompt, stream):
    body = {"model": "gpt-4.1", "messages": [{"role": "user", "content": prompt}]}
    if stream:
        body["stream"] = True
    return json.dumps(body).encode()


SHIM = r"""
#define _GNU_SOURCE
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>
int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    return (int)syscall(SYS_rt_sigsuspend, &copy, 8);
}
"""


def prepare(workdir, binaries):
    """The sigsuspend shim, and copies of the binaries without debug info (see the module's docstring)."""
    source = Path(workdir) / "sigsuspend_shim.c"
    source.write_text(SHIM)
    shim = Path(workdir) / "sigsuspend_shim.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", str(shim), str(source)], check=True)
    copies = []
    for i, binary in enumerate(binaries):
        copy = Path(workdir) / f"{i}-{Path(binary).name}"
        subprocess.run(["cp", binary, str(copy)], check=True)
        subprocess.run(["strip", "--strip-debug", str(copy)], check=True)
        copies.append(str(copy))
    return str(shim), copies


def wait_healthy(port, proc, seconds=300):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"callgrind: the target exited with {proc.returncode} before answering /healthz")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/healthz")
            c.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("callgrind: the target did not answer /healthz in time")


def send_calls(port, secret, body, count, concurrency=1):
    """`count` calls over `concurrency` keep-alive connections, each sending its share one call at a time."""
    failures = []

    def connection(calls):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
        try:
            for _ in range(calls):
                conn.request("POST", "/v1/chat/completions", body=body, headers=headers)
                response = conn.getresponse()
                response_body = response.read()
                if response.status != 200:
                    failures.append(f"a call got {response.status}: {response_body[:200]!r}")
                    return
        except OSError as error:
            failures.append(f"a connection failed: {error}")
        finally:
            conn.close()

    shares = [count // concurrency + (1 if i < count % concurrency else 0) for i in range(concurrency)]
    threads = [threading.Thread(target=connection, args=(share,)) for share in shares if share > 0]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"callgrind: {failures[0]}")


def control(*args):
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True)


# Thread entry points: callgrind_annotate charges them the cost of threads whose frames it cannot unwind (tens of
# thousands of "exclusive" Ir per call that belong to the functions they run), so they are left out of the
# per-function table; the program total, which the Ir/call column prints, still counts everything.
THREAD_ENTRIES = {"start_thread", "clone", "clone3", "__clone", "__clone3", "thread_start"}


def function_costs(path):
    """Exclusive Ir per function (callgrind_annotate, no file names), and the program total."""
    out = subprocess.run(
        ["callgrind_annotate", "--threshold=100", "--inclusive=no", str(path)],
        check=True, capture_output=True, text=True).stdout
    total = 0
    costs = collections.Counter()
    for line in out.splitlines():
        m = re.match(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?PROGRAM TOTALS", line)
        if m:
            total = int(m.group(1).replace(",", ""))
            continue
        m = re.match(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(.+?)(?:\s+\[[^\]]*\])?$", line)
        if m and ":" in m.group(2):
            name = m.group(2).split(":", 1)[1].strip()
            if name in THREAD_ENTRIES:
                continue
            costs[name] += int(m.group(1).replace(",", ""))
    return total, costs


def measure(target, args, stub, calls, warmup, workdir):
    port = free_port()
    out = Path(workdir) / f"callgrind.{target['name']}.{args.mode_name}.out"
    env = dict(os.environ, HOLYSHEEP_API_KEY="callgrind-upstream-key", LD_PRELOAD=args.shim)
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
    command += target["command"](stub.port, port)
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_healthy(port, proc)
        control("-i", "on", str(proc.pid))
        send_calls(port, target["secret"], args.body, warmup, args.concurrency)
        control("-z", str(proc.pid))
        send_calls(port, target["secret"], args.body, calls, args.concurrency)
        control("-d", str(proc.pid))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    dumps = sorted(Path(workdir).glob(out.name + "*"), key=lambda p: p.stat().st_mtime)
    dumps = [d for d in dumps if d.name != out.name] or dumps
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        subprocess.run(["cp", str(dumps[0]), str(Path(args.keep) / out.name)], check=True)
    return function_costs(dumps[0])


def demangled(names):
    """Swift symbols readable (`swift demangle --simplified`), others as they are."""
    try:
        out = subprocess.run(["swift", "demangle", "--simplified", "--compact"], input="\n".join(names),
                             capture_output=True, text=True, check=True).stdout.splitlines()
        return out if len(out) == len(names) else names
    except (OSError, subprocess.CalledProcessError):
        return names


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", default=str(ROOT / ".build/release/holysheep-ledger"), help="the serve binary")
    parser.add_argument("--bare", default=str(ROOT / ".build/release/ProxyBench"), help="ProxyBench (bare relay)")
    parser.add_argument("--label", default="serve", help="the name printed for --bin")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--only", choices=["non-stream", "streamed"])
    parser.add_argument("--prompt-bytes", type=int, default=0,
                        help="a user message of this many bytes instead of \"hi\" (what body copies cost)")
    parser.add_argument("--concurrency", type=int, default=1,
                        help="keep-alive connections sending calls at once (default 1; 64 for the c=64 targets)")
    parser.add_argument("--no-bare", action="store_true", help="measure --bin only")
    parser.add_argument("--keep", metavar="DIR", help="copy the callgrind dumps here (for callgrind_annotate)")
    args = parser.parse_args()
    for tool in ("valgrind", "callgrind_control", "callgrind_annotate", "cc", "strip"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode != 0:
            raise SystemExit(f"callgrind: {tool} is not installed (apt-get install valgrind gcc binutils)")
    for path in [args.bin] + ([] if args.no_bare else [args.bare]):
        if not os.access(path, os.X_OK):
            raise SystemExit(f"callgrind: {path} is not an executable (build it with -c release)")

    with tempfile.TemporaryDirectory(prefix="hsl-callgrind-") as workdir, StubUpstream() as stub:
        args.shim, copies = prepare(workdir, [args.bin] + ([] if args.no_bare else [args.bare]))
        args.bin, args.bare = copies[0], copies[-1]
        db = Path(workdir) / "ledger.sqlite"
        subprocess.run([args.bin, "migrate", "--db", str(db)], check=True, capture_output=True)
        created = subprocess.run([args.bin, "keys", "create", "--name", "callgrind", "--team", "bench", "--db",
                                  str(db)], check=True, capture_output=True, text=True)
        secret = re.search(r"hsl-[A-Za-z0-9_-]+", created.stdout + created.stderr).group(0)
        config = Path(workdir) / "proxy.ini"
        config.write_text(f"[provider holysheep]\nbase_url = http://127.0.0.1:{stub.port}/v1\ntimeout_seconds = 60\n"
                          "connect_timeout_seconds = 30\n")
        targets = [{"name": args.label, "secret": secret,
                    "command": lambda up, port: [args.bin, "serve", "--port", str(port), "--config", str(config),
                                                 "--db", str(db)]}]
        if not args.no_bare:
            targets.append({"name": "bare", "secret": "none",
                            "command": lambda up, port: [args.bare, "proxy-child", str(up), str(port), "-", "bare",
                                                         "-"]})
        prompt = "hi" if args.prompt_bytes <= 0 else ("lorem ipsum " * (args.prompt_bytes // 12 + 1))[:args.prompt_bytes]
        modes = [("non-stream", chat_body(prompt, False)), ("streamed", chat_body(prompt, True))]
        if args.only:
            modes = [m for m in modes if m[0] == args.only]
        print(f"callgrind: {args.calls} calls per run after {args.warmup} warm-up calls, concurrency {args.concurrency};"
              " user-space instructions of the target process only")
        print(f"{'mode':<11} {'target':<10} {'Ir/call':>12}")
        for mode_name, body in modes:
            args.mode_name, args.body = mode_name, body
            results = {}
            for target in targets:
                total, costs = measure(target, args, stub, args.calls, args.warmup, workdir)
                results[target["name"]] = (total, costs)
                print(f"{mode_name:<11} {target['name']:<10} {total / args.calls:>12,.0f}", flush=True)
            if len(results) == 2 and args.top > 0:
                (t1, c1), (t0, c0) = results[args.label], results["bare"]
                print(f"  {args.label} - bare: {(t1 - t0) / args.calls:+,.0f} Ir/call; top functions of the"
                      " difference (Ir/call):")
                diff = collections.Counter({k: c1.get(k, 0) - c0.get(k, 0) for k in set(c1) | set(c0)})
                top = sorted(diff.items(), key=lambda kv: -abs(kv[1]))[:args.top]
                for (_, cost), name in zip(top, demangled([name for name, _ in top])):
                    print(f"  {cost / args.calls:>+10,.0f}  {name[:150]}")


if __name__ == "__main__":
    main()
