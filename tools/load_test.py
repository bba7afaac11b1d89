#!/usr/bin/env python3
"""A bounded load test: many concurrent clients submit small jobs for a fixed time, from this second process.

  load_test.py --bin PATH --database URL [--clients 100] [--seconds 60] [--apis 2] [--workers 2] [--rate-limit off]

It starts the api and worker processes itself (on loopback, sharing PostgreSQL), runs the clients, and prints one
JSON object: submissions by status and refusals by error code, whether every 429/503 carried Retry-After, 5xx
count, jobs completed per second (counted in the database), /health latency percentiles (sampled every 20 ms by a separate client), and each process's peak resident
memory (VmHWM). Exits 1 if any 5xx other than 503 (the queue limit's answer), a 429 or 503 without Retry-After,
or a failed connection was seen.
"""

import argparse
import http.client
import io
import json
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from urllib.parse import urlparse

from PIL import Image

TOKENS = [f"load-token-{i}-{uuid.uuid4().hex}" for i in range(4)]


def start(binary, role, database, data_dir, extra=()):
    """Starts a role and returns (process, port) once it says it is ready, or (process, None) after 60 s."""
    args = [binary, role, "--database", database, "--data-dir", data_dir, "--model", "realesr-animevideov3",
            "--threads", "1", "--no-auto-fetch", "--log-level", "warning", *extra]
    if role != "worker":
        args += ["--port", "0"]
    env = dict(os.environ, VALID_TOKENS=",".join(TOKENS), UPSCALER_SIGNING_KEY="ab" * 32)
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    lines = queue.Queue()

    def read():  # also keeps the pipe drained for the process's whole life
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.time() + 60
    port = None
    while time.time() < deadline:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.time()))
        except queue.Empty:
            break
        if line is None:
            break
        match = re.search(r"listening on http://[0-9.]+:(\d+)", line)
        if match:
            port = int(match.group(1))
        if role == "worker" and "ready" in line:
            return process, 0
        if role != "worker" and port:
            return process, port
    return process, None


def stop_all(processes):
    for _, process in processes:
        process.send_signal(signal.SIGTERM)
    for _, process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def peak_rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))] if ordered else None


def psql(database, sql):
    """One value from the database, through psql: the workers have no HTTP port to ask."""
    result = subprocess.run(["psql", database, "-tAc", sql], capture_output=True, text=True, check=True)
    return result.stdout.strip()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--apis", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate-limit", default=None,
                        help="passed to the apis (e.g. off); by default their own default applies")
    args = parser.parse_args()

    schema = "load_" + uuid.uuid4().hex
    database = args.database + ("&" if "?" in args.database else "?") + "schema=" + schema
    scratch = tempfile.mkdtemp(prefix="load-test-")
    processes = []
    apis = []
    for index in range(args.apis):
        process, port = start(args.bin, "api", database, f"{scratch}/api{index}",
                              ["--max-queue", "200", "--max-jobs-per-token", "40"]
                              + (["--rate-limit", args.rate_limit] if args.rate_limit else []))
        processes.append(("api", process))
        apis.append(port)
    ready = all(port is not None for port in apis)
    for index in range(args.workers):
        process, port = start(args.bin, "worker", database, f"{scratch}/worker{index}")
        processes.append(("worker", process))
        ready = ready and port is not None
    if not ready:
        stop_all(processes)
        psql(args.database, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        print(json.dumps({"error": "a process did not start within 60 s"}))
        sys.exit(1)

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (120, 60, 200)).save(buffer, "PNG")
    image = buffer.getvalue()

    lock = threading.Lock()
    counts, refusals, retry_after_missing, errors = {}, {}, 0, []
    health = []
    stop = time.time() + args.seconds

    def client(number):
        nonlocal retry_after_missing
        port = apis[number % len(apis)]
        token = TOKENS[number % len(TOKENS)]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.time() < stop:
            try:
                connection.request("POST", "/jobs?scale=2", body=image,
                                   headers={"Authorization": "Bearer " + token, "Content-Type": "image/png"})
                response = connection.getresponse()
                body = response.read()
                status = response.status
                code = None
                if status >= 400:
                    try:
                        code = json.loads(body)["error"]["code"]
                    except (ValueError, KeyError, TypeError):
                        code = "unparsed"
                with lock:
                    counts[status] = counts.get(status, 0) + 1
                    if code:
                        refusals[code] = refusals.get(code, 0) + 1
                    if status in (429, 503) and not response.getheader("Retry-After"):
                        retry_after_missing += 1
                if status in (429, 503):
                    # A polite client backs off, a little: enough to keep the pressure on.
                    time.sleep(0.2)
            except Exception as error:  # noqa: BLE001 - a failed call is a result, not a crash of the test
                with lock:
                    errors.append(str(error))
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                time.sleep(0.1)

    def prober():
        connection = http.client.HTTPConnection("127.0.0.1", apis[0], timeout=10)
        while time.time() < stop:
            started = time.perf_counter()
            connection.request("GET", "/health")
            connection.getresponse().read()
            health.append((time.perf_counter() - started) * 1000)
            time.sleep(0.02)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    threads.append(threading.Thread(target=prober))
    began = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.time() - began
    # Jobs finished while the clients ran; the queue left at the end is not waited for.
    jobs_done = int(psql(args.database, f"SELECT COUNT(*) FROM {schema}.jobs WHERE status = 'succeeded' "
                                        f"AND finished_at <= {stop}"))
    memory = {f"{role}-{index}": peak_rss_kb(process.pid) for index, (role, process) in enumerate(processes)}
    stop_all(processes)
    psql(args.database, f"DROP SCHEMA {schema} CASCADE")

    five_xx = sum(n for status, n in counts.items() if status >= 500 and status != 503)
    report = {
        "clients": args.clients, "seconds": round(elapsed, 1), "apis": args.apis, "workers": args.workers,
        "submissions": {str(k): v for k, v in sorted(counts.items())},
        "refusals": dict(sorted(refusals.items())),
        "accepted_per_second": round(counts.get(202, 0) / elapsed, 1),
        "jobs_completed_per_second": round(jobs_done / elapsed, 1),
        "retry_after_missing": retry_after_missing, "5xx": five_xx, "client_errors": len(errors),
        "health_ms": {"samples": len(health), "p50": round(percentile(health, 0.5) or 0, 2),
                      "p99": round(percentile(health, 0.99) or 0, 2)},
        "peak_rss_mb": {name: round(kb / 1024, 1) if kb else None for name, kb in memory.items()},
    }
    print(json.dumps(report))
    sys.exit(1 if five_xx or retry_after_missing or errors else 0)


if __name__ == "__main__":
    main()
