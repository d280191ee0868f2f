"""Conversations/s rendered into training datums: cookbook vs tinker-cookbook, same tokenizer and data.

Both sides run `conversation_to_datum(messages, renderer, max_length=2048)` with
their defaults (all assistant messages trained, mean reduction) over the parity
corpus, on the real offline vocabularies the parity suite uses ("@hf": a rebuilt
transformers fast tokenizer, what a user with the Hub files has). Prints the best of
several passes per renderer and the ratio (target: cookbook >= 1.5x faster).

    uv run --group parity python bench/render_throughput.py
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "packages" / "cookbook-runtime" / "parity"))

import offline_tokenizers as tokenizers
from _tinker_side import renderer as tinker_renderer
from _tinker_side import tk_conversation_to_datum, to_tinker
from cookbook_runtime.train.datum import conversation_to_datum
from cookbook_runtime.train.renderers import get_renderer
from corpus import corpus

PASSES = 5
MAX_LENGTH = 2048
CASES: list[tuple[str, str, Callable[[], Any]]] = [
    ("qwen3_instruct@hf", "qwen3", tokenizers.qwen3_hf),
    ("qwen3_instruct", "qwen3", tokenizers.qwen3),
    ("qwen3", "qwen3", tokenizers.qwen3),
    ("llama3", "llama3", tokenizers.llama3),
    ("deepseekv3", "deepseekv3", tokenizers.deepseek_v31),
    ("gpt_oss_medium_reasoning", "gpt_oss", tokenizers.harmony),
    ("role_colon", "role_colon", tokenizers.qwen3),
]


def best_rates(ours: Callable[[], int], theirs: Callable[[], int]) -> tuple[float, float]:
    """Conversations per second of each side's fastest pass; passes alternate so load noise hits both."""
    best = [float("inf"), float("inf")]
    counts = [0, 0]
    for _ in range(PASSES):
        for side, fn in enumerate((ours, theirs)):
            start = time.perf_counter()
            counts[side] = fn()
            best[side] = min(best[side], time.perf_counter() - start)
    return counts[0] / best[0], counts[1] / best[1]


def main() -> None:
    print(f"{'renderer':<26} {'cookbook conv/s':>16} {'tinker-cookbook conv/s':>23} {'ratio':>7}")
    ratios = []
    for label, family, tok_fn in CASES:
        name = label.split("@")[0]
        tok = tok_fn()
        convs = corpus(family, n=300)
        ours = get_renderer(name, tok)
        theirs = tinker_renderer(name, tok)
        tinker_convs = [to_tinker(c) for c in convs]

        def run_ours(ours: Any = ours, convs: list[Any] = convs) -> int:
            for conv in convs:
                conversation_to_datum(conv, ours, MAX_LENGTH)
            return len(convs)

        def run_theirs(theirs: Any = theirs, convs: list[Any] = tinker_convs) -> int:
            for conv in convs:
                tk_conversation_to_datum(conv, theirs, MAX_LENGTH)
            return len(convs)

        mine, ref = best_rates(run_ours, run_theirs)
        ratios.append(mine / ref)
        print(f"{label:<26} {mine:>16.0f} {ref:>23.0f} {mine / ref:>6.2f}x")
    geo = 1.0
    for r in ratios:
        geo *= r
    print(f"{'geometric mean':<26} {'':>16} {'':>23} {geo ** (1 / len(ratios)):>6.2f}x  (target >= 1.5x)")


if __name__ == "__main__":
    import logging

    logging.disable(logging.WARNING)
    main()
