#!/usr/bin/env python3
"""Run one command for scripts/bench-peers.sh and measure it.

    run_timed.py --metrics OUT.json --moto-pid PID --moto-log LOG [--stdout F] [--stderr F] -- CMD...

Writes one JSON object to OUT.json:
  wall       seconds from just before the process starts to its exit (start-up included)
  cpu        user+system CPU seconds of the command and its children
  moto_cpu   user+system CPU seconds the moto server used meanwhile
  requests   HTTP requests moto logged meanwhile (one werkzeug access-log line each)
  loadavg    the 1-minute load average just before the start
  rc         the command's exit status (also this script's exit status)
"""

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time

REQUEST = re.compile(rb'HTTP/1\.[01](?:\x1b\[[0-9;]*m)?" \d{3} ')
TICK = os.sysconf("SC_CLK_TCK")


def moto_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat", "rb") as f:
        rest = f.read().rsplit(b")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / TICK


def log_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def count_requests(path: str, offset: int) -> int:
    with open(path, "rb") as f:
        f.seek(offset)
        return sum(1 for line in f if REQUEST.search(line))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--metrics", required=True)
    ap.add_argument("--moto-pid", type=int, required=True)
    ap.add_argument("--moto-log", required=True)
    ap.add_argument("--stdout")
    ap.add_argument("--stderr")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        ap.error("no command")

    out = open(args.stdout, "wb") if args.stdout else None
    err = open(args.stderr, "wb") if args.stderr else (subprocess.STDOUT if out else None)
    load = os.getloadavg()[0]
    offset = log_size(args.moto_log)
    moto_before = moto_cpu(args.moto_pid)
    ru_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    rc = subprocess.call(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    ru_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Let moto finish writing the access-log lines of the last responses.
    time.sleep(0.3)
    metrics = {
        "wall": round(wall, 3),
        "cpu": round((ru_after.ru_utime - ru_before.ru_utime) + (ru_after.ru_stime - ru_before.ru_stime), 3),
        "moto_cpu": round(moto_cpu(args.moto_pid) - moto_before, 3),
        "requests": count_requests(args.moto_log, offset),
        "loadavg": round(load, 2),
        "rc": rc,
    }
    with open(args.metrics, "w") as f:
        json.dump(metrics, f)
    return rc


if __name__ == "__main__":
    sys.exit(main())
