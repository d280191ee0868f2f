"""Import time of `cookbook_runtime` (and its heavier sub-packages), in fresh interpreters.

Target: `import cookbook_runtime` < 150 ms; every sub-package, the `Runtime` facade
included, is held to the same bar. Prints the median of several cold runs,
each in a new process so nothing is cached in `sys.modules`.

    uv run python bench/import_time.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys

RUNS = 7
MODULES = [
    "cookbook_runtime",
    "cookbook_runtime.ir",
    "cookbook_runtime.ports",
    "cookbook_runtime.runtime",
]


def measure(module: str) -> float:
    code = (
        "import time; t = time.perf_counter(); "
        f"import {module}; "
        "print(time.perf_counter() - t)"
    )
    times = [float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout) for _ in range(RUNS)]
    return statistics.median(times)


def main() -> None:
    baseline = measure("json")
    pydantic_ms = measure("pydantic") * 1000
    print(f"{'module':<28} {'median ms':>10}")
    for module in MODULES:
        ms = measure(module) * 1000
        flag = "  ok (< 150 ms)" if ms < 150 else "  over 150 ms"
        print(f"{module:<28} {ms:>10.1f}{flag}")
    print(f"{'(pydantic alone, reference)':<28} {pydantic_ms:>10.1f}")
    print(f"{'(stdlib json, reference)':<28} {baseline * 1000:>10.1f}")


if __name__ == "__main__":
    main()
