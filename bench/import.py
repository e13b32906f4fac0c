"""Runs a `medigate dev` network and measures, through the `medigate` CLI:

- import throughput: each run imports a new synthetic Bundle of the patient
  (their records from another hospital: the same person under another
  Patient id) into the patient's gateway, timed from the command's start to
  its end;
- a realistic Bundle on a fresh account: each run imports a Bundle shaped
  like real Synthea output (base64 notes, conditional references, large
  claims, a Provenance; REALISTIC_ENCOUNTERS encounters, default 50: about
  800 resources and 2.7 MB) into the gateway of a participant whose account
  holds no records yet, timed the same way, each run started at a random
  point of a block's second (as a person's import is);
- approval to first read: the doctor asks for labs, then the time from the
  start of the patient's `access approve` to the end of the doctor's first
  successful `records show` of a lab result.

Usage: import.py MEDIGATE RUNS ENCOUNTERS

APPROVAL_RUNS sets how many approvals are timed (default RUNS; 0 skips
them). MEDIGATE_GENERATOR names another `medigate` to write the synthetic Bundles
with (to compare an older build on the Bundles of today's generator).
"""

import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time

medigate, runs, encounters = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
generator = os.environ.get("MEDIGATE_GENERATOR", medigate)
work = tempfile.mkdtemp(prefix="medigate-import-bench-")
network_dir = os.path.join(work, "net")
dev = subprocess.Popen(
    [medigate, "dev", "--dir", network_dir, "--port", "0", "--encounters", "1"],
    stdout=open(os.path.join(work, "dev.log"), "w"),
    stderr=subprocess.STDOUT,
)


def stop():
    dev.send_signal(signal.SIGTERM)
    try:
        dev.wait(30)
    except subprocess.TimeoutExpired:
        dev.kill()


try:
    description = os.path.join(network_dir, "network.json")
    started = time.time()
    while not os.path.exists(description):
        if dev.poll() is not None or time.time() - started > 300:
            sys.exit("medigate dev did not start: see " + os.path.join(work, "dev.log"))
        time.sleep(0.2)
    network = json.load(open(description))
    who = {p["name"]: p for p in network["participants"]}

    def run(name, *args, binary=medigate):
        env = dict(os.environ, MEDIGATE_GATEWAY=who[name]["gateway"], MEDIGATE_TOKEN_FILE=who[name]["token_file"])
        done = subprocess.run([binary, "--json", *args], env=env, capture_output=True, text=True)
        return done.returncode, done.stdout.strip().splitlines()[-1:] and json.loads(done.stdout.strip().splitlines()[-1]) or None, done.stderr

    # The vault makes each batch durable with one syncfs, which also writes
    # out whatever else the file system holds dirty (a build just before, for
    # one): that is written out now, before anything is timed.
    os.sync()
    rates, sizes = [], []
    for seed in range(runs):
        bundle = os.path.join(work, f"bundle-{seed}.json")
        # `medigate dev`'s patient is the person of seed 2026.
        run("patient", "synthetic-bundle", "--seed", str(1000 + seed), "--person", "2026",
            "--encounters", str(encounters), "--out", bundle, binary=generator)
        began = time.perf_counter()
        code, answer, error = run("patient", "import", bundle)
        elapsed = time.perf_counter() - began
        if code != 0:
            sys.exit("import failed: " + error)
        records = answer["result"]["records"]
        sizes.append(records)
        rates.append(records / elapsed)
        print(f"import run {seed + 1}: {records} resources in {elapsed:.2f} s = {records / elapsed:,.0f} resources/s", flush=True)

    # Participants whose accounts hold no records: one fresh account a run.
    fresh = [name for name in ("guardian", "researcher", "insurer", "hospital", "responder") if name in who]
    realistic_encounters = int(os.environ.get("REALISTIC_ENCOUNTERS", "50"))
    realistic_times, realistic_sizes = [], []
    for attempt, name in enumerate(fresh[:runs]):
        bundle = os.path.join(work, f"realistic-{attempt}.json")
        run(name, "synthetic-bundle", "--realistic", "--seed", str(3000 + attempt),
            "--encounters", str(realistic_encounters), "--out", bundle, binary=generator)
        megabytes = os.path.getsize(bundle) / 1e6
        # A person imports at any moment, not in step with the chain: the
        # wait for the next block (one a second) is anywhere from 0 to 1 s.
        # Back-to-back runs would each start just after the last one's block
        # and always wait alike, so each run starts at a random point of a
        # block's second.
        time.sleep(random.uniform(0, 1))
        began = time.perf_counter()
        code, answer, error = run(name, "import", bundle)
        elapsed = time.perf_counter() - began
        if code != 0:
            sys.exit(f"realistic import into {name}'s account failed: " + error)
        records = answer["result"]["records"]
        realistic_times.append(elapsed)
        realistic_sizes.append((records, megabytes))
        print(f"realistic run {attempt + 1}: {records} resources ({megabytes:.2f} MB) into {name}'s fresh account "
              f"in {elapsed:.2f} s", flush=True)

    patient = who["patient"]["account"]
    _, listed, _ = run("patient", "records", "list", "--type", "Observation")
    labs = [r for r in listed["records"] if r["category"] == "labs"]
    approvals, reads, totals = [], [], []
    for attempt in range(int(os.environ.get("APPROVAL_RUNS", runs))):
        code, requested, error = run("doctor", "access", "request", "--patient", patient, "--categories", "labs")
        if code != 0:
            sys.exit("request failed: " + error)
        began = time.perf_counter()
        code, approved, error = run("patient", "access", "approve", str(requested["request"]), "--days", "1")
        approved_at = time.perf_counter()
        if code != 0:
            sys.exit("approval failed: " + error)
        record = labs[attempt % len(labs)]
        while True:
            done = subprocess.run(
                [medigate, "records", "show", f"Observation/{record['id']}"],
                env=dict(os.environ, MEDIGATE_GATEWAY=who["doctor"]["gateway"], MEDIGATE_TOKEN_FILE=who["doctor"]["token_file"]),
                capture_output=True, text=True)
            if done.returncode == 0:
                break
            if time.perf_counter() - began > 60:
                sys.exit("the doctor never read the record: " + done.stderr)
        read_at = time.perf_counter()
        approvals.append(approved_at - began)
        reads.append(read_at - approved_at)
        totals.append(read_at - began)
        print(f"approval run {attempt + 1}: approve {approvals[-1]:.2f} s (finalized, {approved['shared']} keys shared), "
              f"first read {reads[-1] * 1000:.0f} ms, total {totals[-1]:.2f} s", flush=True)
        # Revoke so that the next run starts from no grant.
        run("patient", "access", "revoke", str(approved["grant"]))

    print()
    print(f"import: median {statistics.median(rates):,.0f} resources/s over {runs} Bundles of {statistics.median(sizes):.0f} resources (goal >= 2,000)")
    if realistic_times:
        records, megabytes = realistic_sizes[0]
        print(f"realistic Bundle on a fresh account: median {statistics.median(realistic_times):.2f} s "
              f"for {records} resources, {megabytes:.2f} MB (goal <= 1.5 s)")
    if totals:
        print(f"approval to first decrypted read: median {statistics.median(totals):.2f} s "
              f"(approval finalized {statistics.median(approvals):.2f} s, then first read {statistics.median(reads) * 1000:.0f} ms)")
finally:
    stop()
