#!/usr/bin/env python3
"""Runs every test of the workspace, several test programs at a time.

`cargo test` runs its test programs one after another. Most of MediGate's
integration tests spend their time waiting for blocks (one a second) and for
services on loopback, so running a few programs at once finishes the same
tests in a fraction of the time. This script asks cargo to build every test
program (`cargo test --workspace --no-run`), runs them in a pool of JOBS
processes, each as cargo would (in its package's directory, with its
package's environment), and runs the documentation tests with cargo.

Each program's output is printed in one piece when it ends, with its wall
time; a summary of the slowest programs and of every failure comes last.
Like `cargo test --no-fail-fast`, every program runs even when one fails,
and the exit status is 1 when any failed.

Usage: scripts/run_tests.py [--jobs N] [-- ARGS FOR EACH TEST PROGRAM]
  --jobs N   test programs at a time (default: MEDIGATE_TEST_JOBS, or the
             number of cores plus one)
Cargo's own settings (CARGO_TARGET_DIR, ...) come from the environment.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


# The integration tests that take longest (about 50 to 110 s each, alone),
# slowest first, as this script's summary reports them.
SLOWEST = (
    "web_app", "emergency", "emergency_full_access", "official_examples",
    "gated_flow", "local_network", "core_flow", "core_loop", "dev_node",
    "interrupted_import",
)


@dataclass
class Job:
    """One test program to run (or cargo's documentation tests)."""

    name: str
    target: str
    command: list
    cwd: str
    env: dict
    integration: bool
    status: int = 0
    seconds: float = 0.0
    output: str = field(default="", repr=False)


def build_test_programs():
    """Builds every test program; returns cargo's artifact messages for them."""
    command = [
        "cargo", "test", "--workspace", "--no-run",
        "--message-format=json-render-diagnostics",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    artifacts = []
    for line in process.stdout:
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            continue
        if message.get("reason") == "compiler-message":
            rendered = message.get("message", {}).get("rendered")
            if rendered:
                sys.stderr.write(rendered)
        elif (message.get("reason") == "compiler-artifact"
              and message.get("profile", {}).get("test")
              and message.get("executable")):
            artifacts.append(message)
    if process.wait() != 0:
        sys.exit(f"run_tests: `{' '.join(command)}` failed (exit {process.returncode})")
    return artifacts


def package_name(package_id):
    """The package name in a cargo package id (path+file:///...#name@1.0)."""
    fragment = package_id.rsplit("#", 1)[-1]
    if "@" in fragment:
        return fragment.split("@", 1)[0]
    # An id whose fragment is only a version names the package by its path.
    return package_id.split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def job_for(artifact, test_args):
    """The job that runs one test program as `cargo test` would."""
    target = artifact["target"]
    package_dir = str(Path(artifact["manifest_path"]).parent)
    kind = target["kind"][0]
    package = package_name(artifact["package_id"])
    if kind == "test":
        label = f"{package} tests/{target['name']}.rs"
    else:
        label = f"{package} {kind} {target['name']} (unit tests)"
    env = dict(os.environ)
    env.update(
        CARGO_MANIFEST_DIR=package_dir,
        CARGO_PKG_NAME=package,
        CARGO_CRATE_NAME=target["name"].replace("-", "_"),
    )
    return Job(
        name=label,
        target=target["name"],
        command=[artifact["executable"], *test_args],
        cwd=package_dir,
        env=env,
        integration=kind == "test",
    )


def run(job, log_dir, running, lock):
    """Runs one job to its end, keeping its output."""
    started = time.monotonic()
    with tempfile.TemporaryFile("w+", dir=log_dir) as log:
        process = subprocess.Popen(
            job.command, cwd=job.cwd, env=job.env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
        with lock:
            running.add(process)
        job.status = process.wait()
        with lock:
            running.discard(process)
        log.seek(0)
        job.output = log.read()
    job.seconds = time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("test_args", nargs="*")
    options = parser.parse_args()
    jobs = options.jobs or int(os.environ.get("MEDIGATE_TEST_JOBS", 0)) \
        or (os.cpu_count() or 1) + 1
    if jobs < 1:
        sys.exit("run_tests: --jobs must be at least 1")

    artifacts = build_test_programs()
    queue = [job_for(artifact, options.test_args) for artifact in artifacts]
    # The documentation tests, compiled and run by cargo (after the build
    # above, so it holds no lock another cargo waits for).
    queue.append(Job(
        name="documentation tests",
        target="",
        command=["cargo", "test", "--workspace", "--doc", "--no-fail-fast",
                 "--", *options.test_args],
        cwd=os.getcwd(), env=dict(os.environ), integration=False))
    # The longest first, so that no long one is left running alone at the
    # end: those named in SLOWEST (in that order), then the other
    # integration tests, then the rest.
    queue.sort(key=lambda job: (
        SLOWEST.index(job.target) if job.target in SLOWEST else len(SLOWEST),
        not job.integration,
        job.name,
    ))
    print(f"run_tests: {len(queue)} test programs, {jobs} at a time", flush=True)

    lock = threading.Lock()
    running = set()
    done = []
    pending = list(queue)
    started = time.monotonic()

    def stop(signum, _frame):
        with lock:
            for process in running:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        sys.exit(128 + signum)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    with tempfile.TemporaryDirectory(prefix="medigate-tests.") as log_dir:
        finished = threading.Condition(lock)

        def worker():
            while True:
                with lock:
                    if not pending:
                        return
                    job = pending.pop(0)
                run(job, log_dir, running, lock)
                with finished:
                    done.append(job)
                    finished.notify()

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(jobs)]
        for thread in threads:
            thread.start()
        reported = 0
        while reported < len(queue):
            with finished:
                while len(done) == reported:
                    finished.wait()
                batch = done[reported:]
                reported = len(done)
            for job in batch:
                verdict = "ok" if job.status == 0 else f"FAILED (exit {job.status})"
                print(f"\n     Running {job.name}: {' '.join(job.command)}")
                sys.stdout.write(job.output)
                print(f"run_tests: {job.name}: {verdict} in {job.seconds:.1f} s", flush=True)
        for thread in threads:
            thread.join()

    total = time.monotonic() - started
    print(f"\nrun_tests: {len(done)} test programs in {total:.0f} s; the slowest:")
    for job in sorted(done, key=lambda job: -job.seconds)[:10]:
        print(f"  {job.seconds:7.1f} s  {job.name}")
    failed = [job for job in done if job.status != 0]
    if failed:
        print(f"run_tests: {len(failed)} test programs FAILED:")
        for job in failed:
            print(f"  {job.name} (exit {job.status})")
        sys.exit(1)
    print("run_tests: every test program passed")


if __name__ == "__main__":
    main()
