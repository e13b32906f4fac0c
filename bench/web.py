"""Runs a `medigate dev` network and measures the patient's timeline page in
headless Chromium, driven over WebDriver (chromedriver's HTTP API, spoken
directly): each run opens a new browser with an empty profile, signs in,
loads /app, and reads the browser's own paint and resource timings.

Usage: web.py MEDIGATE RUNS ENCOUNTERS
"""

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

medigate, runs, encounters = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
work = tempfile.mkdtemp(prefix="medigate-web-bench-")
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


# Largest contentful paint is only reported to an observer; a buffered one
# sees the entries of the load that already happened.
TIMINGS = """
const done = arguments[arguments.length - 1];
new PerformanceObserver((list) => {
  const entries = list.getEntries();
  const largest = entries[entries.length - 1];
  const navigation = performance.getEntriesByType('navigation')[0];
  const paint = performance.getEntriesByName('first-contentful-paint')[0];
  const resources = performance.getEntriesByType('resource');
  done({
    fcp: paint ? paint.startTime : null,
    lcp: largest.startTime,
    response: navigation.responseEnd - navigation.requestStart,
    html: navigation.encodedBodySize,
    html_body: navigation.decodedBodySize,
    assets: resources.reduce((sum, entry) => sum + entry.encodedBodySize, 0),
    rows: document.querySelectorAll('.record').length,
    records: Number(document.querySelector('.filters a').textContent.replace(/\D/g, '')),
  });
}).observe({type: 'largest-contentful-paint', buffered: true});
"""

try:
    dev = start([medigate, "dev", "--dir", network_dir, "--port", "0", "--encounters", str(encounters)], "dev.log")
    description = os.path.join(network_dir, "network.json")
    started = time.time()
    while not os.path.exists(description):
        if dev.poll() is not None or time.time() - started > 600:
            sys.exit("medigate dev did not start: see " + os.path.join(work, "dev.log"))
        time.sleep(0.2)
    network = json.load(open(description))
    gateway = next(p for p in network["participants"] if p["name"] == "patient")["gateway"]
    port = free_port()
    start(["chromedriver", f"--port={port}"], "chromedriver.log")
    driver = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            break
        except OSError:
            time.sleep(0.1)

    results = []
    for run in range(runs):
        profile = tempfile.mkdtemp(dir=work)
        options = {"binary": "/usr/bin/chromium", "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--window-size=1280,1000", f"--user-data-dir={profile}"]}
        session = webdriver(driver, "POST", "/session", {"capabilities": {"alwaysMatch": {"goog:chromeOptions": options}}})["sessionId"]
        try:
            at = f"/session/{session}"
            webdriver(driver, "POST", at + "/url", {"url": gateway + "/app/login"})
            webdriver(driver, "POST", at + "/execute/sync", {"script": """
                document.getElementById('passphrase').value = arguments[0];
                document.querySelector('form').submit();""", "args": [network["passphrase"]]})
            while webdriver(driver, "POST", at + "/execute/sync", {"script": "return location.pathname + document.readyState", "args": []}) != "/appcomplete":
                time.sleep(0.1)
            # The measured load: the timeline, signed in, nothing cached.
            webdriver(driver, "POST", at + "/url", {"url": "about:blank"})
            webdriver(driver, "POST", at + "/url", {"url": gateway + "/app"})
            figures = webdriver(driver, "POST", at + "/execute/async", {"script": TIMINGS, "args": []})
        finally:
            webdriver(driver, "DELETE", f"/session/{session}")
        results.append(figures)
        print(f"run {run + 1}: {figures['records']} records, {figures['rows']} rows shown: "
              f"first contentful paint {figures['fcp']:.0f} ms, largest contentful paint {figures['lcp']:.0f} ms, "
              f"server answer {figures['response']:.0f} ms; page {figures['html'] / 1024:.1f} KiB "
              f"({figures['html_body'] / 1024:.1f} KiB of HTML) + {figures['assets'] / 1024:.1f} KiB of style and script", flush=True)

    median = lambda key: statistics.median(r[key] for r in results)
    print(f"\ntimeline of {results[0]['records']} records (median of {runs} loads):")
    print(f"  first contentful paint   {median('fcp'):.0f} ms")
    print(f"  largest contentful paint {median('lcp'):.0f} ms")
    print(f"  server answer            {median('response'):.0f} ms")
    print(f"  page weight              {(median('html') + median('assets')) / 1024:.1f} KiB "
          f"(HTML {median('html') / 1024:.1f} KiB, style and script {median('assets') / 1024:.1f} KiB)")
finally:
    for child in reversed(children):
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
