"""Peak memory of training's data path over a large JSONL dataset: 10,000 vs 1,000,000 rows.

Measured through the path `supervised_train` really uses: a `DatasetStore` opens the
split, `SupervisedDataset` draws a shuffled order per epoch (`epoch_order`), selects
it from the store's rows (`Rows.select`), and converts one batch of datums at a time,
for `--epochs` epochs. Each size runs in its own fresh process, which records its
resident set once the split is open (baseline), its peak resident set (`ru_maxrss`,
the target's measure) and its peak anonymous memory (`RssAnon`, sampled every 8
batches): the hf store memory-maps its Arrow data, and pages of that file the
kernel can drop count in the resident set but are not the process's own memory.
The hf store's prepared Arrow data goes to a temporary cache, removed afterwards.
The datum conversion is a minimal byte-level one, not a chat renderer: its memory
is one batch either way, and rendering 2,000,000 conversations would only add time.

Target: peak(1,000,000 rows) - peak(10,000 rows) < 50 MB.

    uv run python bench/dataset_memory.py                 # files adapter if installed, else hf
    uv run python bench/dataset_memory.py --store hf --rows 200000 --epochs 1
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MB = 50.0

_WORKER = r"""
import json, resource, sys, time

def status_mb():
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("RssAnon", "RssFile"):
                fields[key] = int(value.split()[0]) / 1024
    return fields

store_name, path, batch_size, epochs, cache = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
from cookbook_runtime.ir import DatasetRef
from cookbook_runtime.ports import create_adapter
from cookbook_runtime.train.data import SupervisedDataset
from cookbook_runtime.train.datum import datum_from_model_input_weights
from cookbook_runtime.types import ModelInput

def to_datum(messages):
    tokens = list("".join(m["content"] for m in messages).encode()[:64])
    return datum_from_model_input_weights(ModelInput.from_ints(tokens), [1.0] * len(tokens))

options = {"offline": True, "cache_dir": cache} if store_name == "hf" else {}
store = create_adapter(store_name, "datasets", options)
ref = DatasetRef(name=path, format="jsonl")
dataset = SupervisedDataset(store.open(ref), to_datum, batch_size=batch_size, name=path, seed=0, shuffle=True)
baseline = status_mb()
peak_anon = baseline["RssAnon"]
start = time.perf_counter()
rows = batches = 0
for epoch in range(epochs):
    for batch in dataset.batches(epoch):
        rows += len(batch.data)
        batches += 1
        if batches % 8 == 0:
            peak_anon = max(peak_anon, status_mb()["RssAnon"])
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({
    "rows": rows, "batches": batches, "baseline_mb": baseline["RssAnon"] + baseline["RssFile"],
    "baseline_anon_mb": baseline["RssAnon"], "peak_mb": peak, "peak_anon_mb": peak_anon, "seconds": elapsed,
}))
"""


def write_jsonl(path: Path, n: int, seed: int = 0) -> None:
    """`n` short chat rows in the `{"messages": [...]}` schema."""
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "river", "stone", "cloud", "paper", "light", "music"]
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            q = " ".join(rng.choices(words, k=8))
            a = " ".join(rng.choices(words, k=16))
            row = {"id": i, "messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
            f.write(json.dumps(row) + "\n")


def default_store() -> str:
    try:
        import cookbook_adapters.files  # noqa: F401
    except ImportError:
        return "hf"
    return "files"


def measure(store: str, path: Path, batch_size: int, epochs: int, cache: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _WORKER, store, str(path), str(batch_size), str(epochs), str(cache)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the large dataset")
    parser.add_argument("--small-rows", type=int, default=10_000, help="rows in the reference dataset")
    parser.add_argument("--store", choices=["files", "hf"], default=None, help="datasets adapter (default: files if installed)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2, help="epochs, each with its own shuffled order")
    args = parser.parse_args()
    store = args.store or default_store()

    with tempfile.TemporaryDirectory(prefix="cookbook-bench-") as tmp:
        results = {}
        for n in (args.small_rows, args.rows):
            path = Path(tmp) / f"rows-{n}.jsonl"
            t = time.perf_counter()
            write_jsonl(path, n)
            size_mb = path.stat().st_size / 2**20
            print(f"wrote {n:,} rows ({size_mb:.0f} MB) in {time.perf_counter() - t:.1f} s", file=sys.stderr)
            results[n] = measure(store, path, args.batch_size, args.epochs, Path(tmp) / "hf-cache")

    print(f"store: {store}, SupervisedDataset, batch size {args.batch_size}, {args.epochs} shuffled epoch(s)")
    print(f"{'rows':>10} {'baseline MB':>12} {'peak MB':>9} {'baseline anon MB':>17} {'peak anon MB':>13} {'rows/s':>10}")
    for n, r in results.items():
        expected = (n // args.batch_size) * args.batch_size * args.epochs
        assert r["rows"] == expected, f"trained on {r['rows']} rows of {expected}"
        print(
            f"{n:>10,} {r['baseline_mb']:>12.1f} {r['peak_mb']:>9.1f} {r['baseline_anon_mb']:>17.1f} {r['peak_anon_mb']:>13.1f} "
            f"{r['rows'] / r['seconds']:>10,.0f}"
        )
    diff = results[args.rows]["peak_mb"] - results[args.small_rows]["peak_mb"]
    anon = results[args.rows]["peak_anon_mb"] - results[args.small_rows]["peak_anon_mb"]
    verdict = "ok" if diff < TARGET_MB else "OVER TARGET"
    print(
        f"peak difference: {diff:.1f} MB resident (target < {TARGET_MB:.0f} MB): {verdict}; "
        f"peak anonymous memory (not file pages mapped from the data) {anon:+.1f} MB"
    )

if __name__ == "__main__":
    main()
