"""Emergency access timings on a `medigate dev` network (five custodians,
three needed): a responder, signed in to the web app in headless Chromium,
breaks the glass on a patient's records and waits for the summary on
screen; the browser's navigation and paint timings and the gateway's own
timings (stated on the result page) give the figures.

Six participants act as patients (each imports a synthetic record and
enables emergency access for responders and clinicians, with a one-minute
window); the responder and the doctor break the glass on each in turn. A
responder holds one grant per patient at a time, so rounds are a minute
apart.

Usage: emergency.py MEDIGATE ROUNDS
"""

import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

medigate, rounds = sys.argv[1], int(sys.argv[2])
work = tempfile.mkdtemp(prefix="medigate-emergency-bench-")
network_dir = os.path.join(work, "net")
children = []


def start(command, log):
    child = subprocess.Popen(command, stdout=open(os.path.join(work, log), "w"), stderr=subprocess.STDOUT)
    children.append(child)
    return child


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def webdriver(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=300) as answer:
        return json.load(answer)["value"]


def cli(name, *args):
    environment = dict(os.environ)
    for line in open(os.path.join(network_dir, f"{name}.env")):
        key, value = line.removeprefix("export ").strip().split("=", 1)
        environment[key] = value
    answer = subprocess.run([medigate, "--json", *args], env=environment, capture_output=True, text=True)
    if answer.returncode != 0:
        sys.exit(f"medigate {' '.join(args)} as {name} failed: {answer.stderr}")
    return json.loads(answer.stdout.strip().splitlines()[-1])


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


# The result page's paint timings, and the gateway's figures in its text.
TIMINGS = """
const done = arguments[arguments.length - 1];
new PerformanceObserver(() => {
  const navigation = performance.getEntriesByType('navigation')[0];
  const paint = performance.getEntriesByName('first-contentful-paint')[0];
  done({
    request_to_response: navigation.responseStart - navigation.requestStart,
    response_to_paint: paint.startTime - navigation.responseStart,
    result: document.getElementById('emergency-result').textContent,
    sections: document.querySelectorAll('.summary-section').length,
  });
}).observe({type: 'largest-contentful-paint', buffered: true});
"""

try:
    dev = start([medigate, "dev", "--dir", network_dir, "--port", "0", "--encounters", "5",
                 "--custodians", "5", "--threshold", "3"], "dev.log")
    description = os.path.join(network_dir, "network.json")
    started = time.time()
    while not os.path.exists(description):
        if dev.poll() is not None or time.time() - started > 600:
            sys.exit("medigate dev did not start: see " + os.path.join(work, "dev.log"))
        time.sleep(0.2)
    network = json.load(open(description))
    accounts = {p["name"]: p["account"] for p in network["participants"]}
    gateways = {p["name"]: p["gateway"] for p in network["participants"]}

    patients = ["patient", "guardian", "researcher", "insurer", "hospital", "doctor"]
    for seed, name in enumerate(patients):
        if name != "patient":
            bundle = os.path.join(work, f"{name}.json")
            subprocess.run([medigate, "synthetic-bundle", "--seed", str(100 + seed), "--encounters", "3", "--out", bundle],
                           check=True, capture_output=True)
            cli(name, "import", bundle)
        cli(name, "emergency", "policy", "--enable", "--roles", "responder,provider", "--window-minutes", "1")
    print(f"{len(patients)} patients with emergency access; {len(network['custodians'])} custodians, "
          f"{network['threshold']} needed", flush=True)

    port = free_port()
    start(["chromedriver", f"--port={port}"], "chromedriver.log")
    driver = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            break
        except OSError:
            time.sleep(0.1)

    sessions = {}
    for responder in ["responder", "doctor"]:
        profile = tempfile.mkdtemp(dir=work)
        options = {"binary": "/usr/bin/chromium", "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--window-size=1280,1000", f"--user-data-dir={profile}"]}
        session = webdriver(driver, "POST", "/session", {"capabilities": {"alwaysMatch": {"goog:chromeOptions": options}}})["sessionId"]
        at = f"/session/{session}"
        webdriver(driver, "POST", at + "/url", {"url": gateways[responder] + "/app/login"})
        webdriver(driver, "POST", at + "/execute/sync", {"script": """
            document.getElementById('passphrase').value = arguments[0];
            document.querySelector('form').submit();""", "args": [network["passphrase"]]})
        while webdriver(driver, "POST", at + "/execute/sync", {"script": "return location.pathname + document.readyState", "args": []}) != "/appcomplete":
            time.sleep(0.1)
        sessions[responder] = at

    samples = []
    for round_number in range(rounds):
        round_started = time.time()
        for responder, at in sessions.items():
            for patient in patients:
                if patient == responder:
                    continue
                webdriver(driver, "POST", at + "/url", {"url": gateways[responder] + "/app/emergency"})
                webdriver(driver, "POST", at + "/execute/sync", {"script": """
                    document.getElementById('patient').value = arguments[0];
                    document.getElementById('reason').value = 'benchmark: collapsed in the street';
                    document.querySelector("form[action='/app/emergency/break-glass']").submit();""",
                    "args": [accounts[patient]]})
                while webdriver(driver, "POST", at + "/execute/sync", {"script": "return document.readyState + !!document.getElementById('emergency-result')", "args": []}) != "completetrue":
                    time.sleep(0.05)
                figures = webdriver(driver, "POST", at + "/execute/async", {"script": TIMINGS, "args": []})
                after_inclusion = int(re.search(r"decrypted (\d+) ms after", figures["result"]).group(1))
                sample = {
                    "after_inclusion": after_inclusion,
                    "render": figures["response_to_paint"],
                    "on_screen_after_inclusion": after_inclusion + figures["response_to_paint"],
                    "call_to_screen": figures["request_to_response"] + figures["response_to_paint"],
                }
                samples.append(sample)
                print(f"round {round_number + 1}, {responder} on {patient}: summary decrypted {after_inclusion} ms after inclusion, "
                      f"on screen {sample['on_screen_after_inclusion']:.0f} ms after inclusion, "
                      f"{sample['call_to_screen']:.0f} ms after the call ({figures['sections']} sections)", flush=True)
        # Each responder's grants on these patients end after a minute.
        if round_number + 1 < rounds:
            time.sleep(max(0, 63 - (time.time() - round_started)))

    for at in sessions.values():
        webdriver(driver, "DELETE", at)
    count = len(samples)
    print(f"\nemergency summary on screen, {count} break-glasses, 5 custodians, 3 needed:")
    for key, label in [("on_screen_after_inclusion", "after the call is included in a block"),
                       ("after_inclusion", "  of which until the summary is decrypted"),
                       ("call_to_screen", "after the call (inclusion included)")]:
        values = [sample[key] for sample in samples]
        print(f"  {label:<42} p50 {statistics.median(values):.0f} ms, p99 {percentile(values, 0.99):.0f} ms")
finally:
    for child in reversed(children):
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
