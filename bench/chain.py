#!/usr/bin/env python3
"""Figures of the MediGate chain, printed as a table.

- dev node start to first finalised block (seconds, median of --runs starts);
- mean block time over --blocks blocks (seconds, median of the runs);
- with --cold-build: cold build time of the workspace into an empty target
  directory (seconds, peak RSS, target size); this takes about an hour on
  two cores.

Usage: bench/chain.py [--runs 5] [--blocks 20] [--cold-build]
The node binary is built (incrementally) first unless --node is given.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rpc(port, method, params=None):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)["result"]


def header_number(header):
    return int(header["number"], 16)


def target_dir():
    metadata = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    return json.loads(metadata.stdout)["target_directory"]


def build_node():
    # The same build as the test command, so that both share compiled dependencies.
    subprocess.run(["cargo", "build", "--workspace", "--all-targets"], cwd=ROOT, check=True)
    return os.path.join(target_dir(), "debug", "medigate-node")


def one_run(node, blocks):
    """Starts a fresh dev node; returns (start to first finalised block, mean block time)."""
    base = tempfile.mkdtemp(prefix="medigate-bench-")
    port = free_port()
    log = open(os.path.join(base, "node.log"), "w")
    started = time.monotonic()
    process = subprocess.Popen(
        [node, "--dev", "--base-path", base, "--rpc-port", str(port), "--port", str(free_port()),
         "--no-prometheus", "--no-telemetry", "--no-mdns"],
        stdout=log, stderr=log,
    )
    try:
        first_finalized = None
        while first_finalized is None:
            if process.poll() is not None:
                sys.exit(f"node exited early; see {base}/node.log")
            if time.monotonic() - started > 300:
                sys.exit("no finalised block within 300 s")
            try:
                head = rpc(port, "chain_getFinalizedHead")
                if header_number(rpc(port, "chain_getHeader", [head])) >= 1:
                    first_finalized = time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.02)

        # Block time: wall time between two best-block changes, blocks apart.
        def wait_for_new_best(after):
            while True:
                number = header_number(rpc(port, "chain_getHeader"))
                if number > after:
                    return number, time.monotonic()
                time.sleep(0.01)

        start_number, start_time = wait_for_new_best(header_number(rpc(port, "chain_getHeader")))
        end_number, end_time = wait_for_new_best(start_number + blocks - 1)
        mean_block_time = (end_time - start_time) / (end_number - start_number)
        return first_finalized, mean_block_time
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()
        shutil.rmtree(base, ignore_errors=True)


def cold_build():
    """Builds the whole workspace (all targets) into an empty target directory."""
    target = tempfile.mkdtemp(prefix="medigate-cold-target-")
    env = dict(os.environ, CARGO_TARGET_DIR=target)
    started = time.monotonic()
    result = subprocess.run(
        ["/usr/bin/time", "-f", "%M", "cargo", "build", "--workspace", "--all-targets"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )
    seconds = time.monotonic() - started
    peak_kib = int(result.stderr.strip().splitlines()[-1])
    size = subprocess.run(["du", "-sb", target], check=True, capture_output=True, text=True)
    size_bytes = int(size.stdout.split()[0])
    shutil.rmtree(target, ignore_errors=True)
    return seconds, peak_kib, size_bytes


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--blocks", type=int, default=20)
    parser.add_argument("--node", help="a built medigate-node binary")
    parser.add_argument("--cold-build", action="store_true")
    args = parser.parse_args()

    rows = []
    if args.cold_build:
        seconds, peak_kib, size_bytes = cold_build()
        rows.append(("cold build of the workspace", f"{seconds / 60:.1f} min"))
        rows.append(("cold build peak RSS (one process)", f"{peak_kib / 1024 / 1024:.2f} GiB"))
        rows.append(("cold build target directory", f"{size_bytes / 1e9:.1f} GB"))

    node = args.node or build_node()
    starts, block_times = [], []
    for run in range(args.runs):
        start, block_time = one_run(node, args.blocks)
        print(f"run {run + 1}/{args.runs}: first finalised block after {start:.2f} s, "
              f"mean block time {block_time:.3f} s", file=sys.stderr)
        starts.append(start)
        block_times.append(block_time)
    rows.append((f"dev node start to first finalised block (median of {args.runs})",
                 f"{statistics.median(starts):.2f} s"))
    rows.append((f"mean block time over {args.blocks} blocks (median of {args.runs})",
                 f"{statistics.median(block_times):.3f} s"))

    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
