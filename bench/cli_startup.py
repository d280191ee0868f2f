"""Wall time of `cookbook --help` and `cookbook recipes`, each in a fresh process.

Target: both under 0.5 s. Heavy imports (torch, matplotlib, adapters, rich.progress)
happen inside commands, so these two never pay for them. Prints the median of
several runs of `python -m cookbook_cli ...` (the same code as the `cookbook` script).

    uv run python bench/cli_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

TARGET_S = 0.5
COMMANDS = [["--help"], ["recipes"]]
# Users' interpreters cache bytecode; a shell that disables it would time compilation instead.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall_time(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cookbook_cli", *args], check=True, capture_output=True, env=ENV)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per command (median is reported)")
    ns = parser.parse_args()
    for args in COMMANDS:  # warm the file and bytecode caches once
        wall_time(args)
    baseline = statistics.median(
        _timed([sys.executable, "-c", "pass"]) for _ in range(ns.runs)
    )
    print(f"{'command':<22} {'median s':>9} {'min s':>7}  target < {TARGET_S} s")
    for args in COMMANDS:
        times = [wall_time(args) for _ in range(ns.runs)]
        median = statistics.median(times)
        flag = "ok" if median < TARGET_S else "SLOW"
        print(f"{'cookbook ' + ' '.join(args):<22} {median:>9.3f} {min(times):>7.3f}  {flag}")
    print(f"{'(bare python)':<22} {baseline:>9.3f}")


def _timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
