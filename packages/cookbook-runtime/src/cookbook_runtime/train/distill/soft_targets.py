"""Off-policy distillation data: a teacher's top-K next-token distribution as soft targets.

A conversation is rendered into an ordinary datum (inputs, one target per
position, loss weights). The teacher scores the whole sequence once
(`sample(..., max_tokens=1, topk_prompt_logprobs=K)`), giving at every position
its K most likely next tokens. Each position with loss weight `w > 0` becomes K
targets with weights `w * p_k / sum(p)` (the teacher's probabilities renormalised
over its top K); positions without loss keep K copies of the original target at
weight 0. The result is the `(N, K)` `target_tokens`/`weights` pair that
`cross_entropy` takes, so the student minimises the cross entropy to the
teacher's (truncated) distribution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from cookbook_runtime.errors import BackendError, DataError
from cookbook_runtime.ports import SamplingClient
from cookbook_runtime.train.types import Datum, ModelInput, SamplingParams, TensorData

__all__ = ["align_rows", "full_sequence", "soft_target_datum", "teacher_topk", "topk_kl"]

TopK = Sequence[tuple[int, float]]


def full_sequence(datum: Datum) -> list[int]:
    """The datum's tokens with its last target appended (what the teacher scores)."""
    targets = [int(t) for t in datum.loss_fn_inputs["target_tokens"].data]
    return [*datum.model_input.to_ints(), targets[-1]] if targets else datum.model_input.to_ints()


async def teacher_topk(teacher: SamplingClient, datum: Datum, k: int) -> list[TopK | None]:
    """The teacher's top-`k` (token, logprob) pairs at each position of `full_sequence(datum)`."""
    result = await teacher.sample(
        ModelInput.from_ints(full_sequence(datum)), 1, SamplingParams(max_tokens=1, temperature=1.0),
        topk_prompt_logprobs=k,
    )
    rows = result.topk_prompt_logprobs
    if rows is None:
        raise BackendError("the teacher's sampler returned no top-k prompt logprobs; it cannot teach off-policy")
    return list(rows)


def _renormalised(row: TopK) -> list[float]:
    top = max(lp for _, lp in row)
    exps = [math.exp(lp - top) for _, lp in row]
    total = sum(exps)
    return [e / total for e in exps]


def soft_target_datum(datum: Datum, rows: Sequence[TopK | None], k: int) -> Datum:
    """`datum` with `(N, k)` soft targets from the teacher's rows (row `t + 1` is what position `t` predicts)."""
    targets = [int(t) for t in datum.loss_fn_inputs["target_tokens"].data]
    weights = [float(w) for w in datum.loss_fn_inputs["weights"].data]
    n = len(targets)
    if len(rows) != n + 1:
        raise DataError(f"the teacher scored {len(rows)} positions of a {n + 1}-token sequence")
    tokens: list[int] = []
    soft: list[float] = []
    for t in range(n):
        row = rows[t + 1]
        if weights[t] <= 0 or not row:
            tokens.extend([targets[t]] * k)
            soft.extend([0.0] * k)
            continue
        kept = list(row)[:k]
        probs = _renormalised(kept)
        tokens.extend(tok for tok, _ in kept)
        soft.extend(weights[t] * p for p in probs)
        pad = k - len(kept)  # a vocabulary smaller than k: pad with zero-weight copies
        tokens.extend([kept[0][0]] * pad)
        soft.extend([0.0] * pad)
    return Datum(
        datum.model_input,
        {
            "target_tokens": TensorData(tuple(tokens), "int64", (n, k)),
            "weights": TensorData(tuple(soft), "float32", (n, k)),
        },
    )


def _loss_positions(datum: Datum) -> list[int]:
    return [t for t, w in enumerate(datum.loss_fn_inputs["weights"].data) if w > 0]


def align_rows(teacher_datum: Datum, rows: Sequence[TopK | None], student_datum: Datum) -> list[TopK | None]:
    """The teacher's rows moved onto the student's sequence, matching loss positions in order.

    Prompt distillation scores a reply with the teacher seeing a longer prompt (a
    system message) than the student: the replies' tokens are the same, their
    positions are not. Both datums must carry loss on the same target tokens.
    """
    t_pos, s_pos = _loss_positions(teacher_datum), _loss_positions(student_datum)
    t_targets = teacher_datum.loss_fn_inputs["target_tokens"].data
    s_targets = student_datum.loss_fn_inputs["target_tokens"].data
    if [t_targets[i] for i in t_pos] != [s_targets[i] for i in s_pos]:
        raise DataError(
            "the teacher's and the student's renderings of a reply differ (truncated, or the renderer changes "
            "the reply with the prompt); raise max_length or use a renderer that keeps replies unchanged"
        )
    out: list[TopK | None] = [None] * (len(s_targets) + 1)
    for t, s in zip(t_pos, s_pos, strict=True):
        out[s + 1] = rows[t + 1]
    return out


def topk_kl(datum: Datum, student_logprobs: TensorData) -> tuple[float, int]:
    """`(sum of per-position KL(teacher_topK || student), positions)` over the soft datum's loss positions.

    `student_logprobs` is the `(N, K)` output of a forward pass on the soft datum;
    the teacher's renormalised probability of each target is its weight divided by
    the position's total weight.
    """
    n, k = datum.loss_fn_inputs["weights"].shape
    w = datum.loss_fn_inputs["weights"].data
    lp = student_logprobs.data
    total, count = 0.0, 0
    for t in range(n):
        row = [float(w[t * k + j]) for j in range(k)]
        mass = sum(row)
        if mass <= 0:
            continue
        kl = 0.0
        for j, wj in enumerate(row):
            if wj > 0:
                p = wj / mass
                kl += p * (math.log(p) - float(lp[t * k + j]))
        total += kl
        count += 1
    return total, count
