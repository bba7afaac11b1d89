#!/usr/bin/env python3
"""The figures of issue 14's acceptance 4, from one run against a given executable (so two builds can be compared):

    hostile_figures.py --bin PATH [--connections 200] [--bodies 4] [--body-mb 60]

It starts `upscaler api` (no model: what is measured is the HTTP side) on a free loopback port with its own data
folder and prints one JSON object:
  - work_2x_4096: the answer to a 4096x4096 PNG at scale 2, and the server's peak resident memory (VmHWM) after it;
  - json_63mb: the answer to one 63 MB base64 JSON body, the seconds it took, and the peak memory after it;
  - half_open: how many of N half-sent requests were closed within 1 s, and when the last one was;
  - health_under_bodies: /health latency percentiles (ms) and failures while K bodies of M MB are sent at once.
Standard library only; the images are built here byte by byte.
"""

import argparse
import base64
import http.client
import json
import os
import select
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

TOKEN = "figures-token-0123456789abcdef"
# The large bodies are sent by four tokens, one each: a token may have only two large bodies in flight.
SENDERS = ["figures-sender-%d-0123456789abcdef" % i for i in range(4)]


def png_header(width, height):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    black = zlib.compress(b"".join(b"\x00" + bytes(width) for _ in range(height)), 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", black) + chunk(b"IEND", b""))


def peak_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def request(port, method, path, body=None, headers=None, timeout=120):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, data


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--bodies", type=int, default=4)
    parser.add_argument("--body-mb", type=int, default=60)
    args = parser.parse_args()

    data = tempfile.mkdtemp()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [args.bin, "api", "--data-dir", data + "/data", "--port", str(port), "--log-level", "error",
         "--rate-limit", "off", "--max-queue", "100000", "--max-jobs-per-token", "100000"],
        env=dict(os.environ, VALID_TOKENS=",".join([TOKEN] + SENDERS)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                if request(port, "GET", "/health", timeout=1)[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        auth = {"Authorization": "Bearer " + TOKEN}
        figures = {"binary": args.bin, "peak_kb_at_start": peak_kb(server.pid)}

        status, body = request(port, "POST", "/jobs?scale=2", png_header(4096, 4096),
                               dict(auth, **{"Content-Type": "image/png"}))
        figures["work_2x_4096"] = {"status": status, "answer": body[:120].decode(errors="replace"),
                                   "peak_kb_after": peak_kb(server.pid)}

        payload = json.dumps({"image": base64.b64encode(os.urandom(47 * 1000 * 1000)).decode()}).encode()
        started = time.monotonic()
        status, body = request(port, "POST", "/jobs", payload, dict(auth, **{"Content-Type": "application/json"}))
        figures["json_63mb"] = {"bytes": len(payload), "status": status, "seconds": round(time.monotonic() - started, 2),
                                "answer": body[:120].decode(errors="replace"), "peak_kb_after": peak_kb(server.pid)}

        socks = []
        for _ in range(args.connections):
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=2)
                sock.sendall(b"POST /jobs HTTP/1.1\r\nHost: localhost\r\nContent-Le")
                socks.append(sock)
            except OSError:
                pass
        started, done, half_open = time.monotonic(), set(), {"opened": len(socks)}
        while len(done) < len(socks) and time.monotonic() - started < 60:
            readable, _, _ = select.select([s for s in socks if s not in done], [], [], 0.05)
            for sock in readable:
                try:
                    if sock.recv(1, socket.MSG_PEEK) == b"":
                        done.add(sock)
                except OSError:
                    done.add(sock)
            elapsed = time.monotonic() - started
            if elapsed >= 1 and "closed_within_1s" not in half_open:
                half_open["closed_within_1s"] = len(done)
        half_open["closed_in_all"] = len(done)
        half_open["seconds_until_all_closed"] = round(time.monotonic() - started, 1)
        for sock in socks:
            sock.close()
        figures["half_open"] = half_open

        body = json.dumps({"image": "A" * (args.body_mb * 1000 * 1000)}).encode()
        latencies, failures, done = [], [0], threading.Event()

        statuses = []

        def send(token):
            try:
                headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
                statuses.append(request(port, "POST", "/jobs", body, headers, timeout=300)[0])
            except OSError as error:
                statuses.append(type(error).__name__)

        def probe():
            while not done.is_set():
                started = time.monotonic()
                try:
                    request(port, "GET", "/health", timeout=5)
                    latencies.append((time.monotonic() - started) * 1000)
                except OSError:
                    failures[0] += 1
                time.sleep(0.02)

        prober = threading.Thread(target=probe)
        prober.start()
        senders = [threading.Thread(target=send, args=(SENDERS[i % len(SENDERS)],)) for i in range(args.bodies)]
        for thread in senders:
            thread.start()
        for thread in senders:
            thread.join()
        done.set()
        prober.join()
        latencies.sort()

        def pct(p):
            return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 1) if latencies else None

        figures["health_under_bodies"] = {"bodies": args.bodies, "mb_each": args.body_mb, "answers": sorted(map(str, statuses)),
                                          "probes": len(latencies),
                                          "failures": failures[0], "p50_ms": pct(0.5), "p99_ms": pct(0.99),
                                          "max_ms": round(latencies[-1], 1) if latencies else None,
                                          "peak_kb_after": peak_kb(server.pid)}
        print(json.dumps(figures, indent=1))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    sys.exit(main())
