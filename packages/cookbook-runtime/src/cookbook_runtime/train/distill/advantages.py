"""On-policy distillation's advantages: the teacher's per-token reverse KL, negated.

The student samples a completion; on each sampled token `t` the single-sample
estimate of the reverse KL to the teacher is `k_t = lp_student(t) - lp_teacher(t)`
(the student's logprob is the sampler's, `q`). The advantage of token `t` is
`-coef * k_t`, or with a discount `g > 0` the discounted sum of the KL still to
come, `-coef * sum_{s >= t} g^(s - t) k_s` (within the datum's action tokens). There
is no group centering: a prompt-only env gives reward 0, so the teacher's opinion
is the whole signal (tinker-cookbook's on-policy distillation).
"""

from __future__ import annotations

from collections.abc import Sequence

from cookbook_runtime.train.rl.data import RLBatch
from cookbook_runtime.train.types import Datum, TensorData

__all__ = ["reverse_kl", "teacher_kl_advantages", "teacher_kl_metrics"]


def reverse_kl(student: Sequence[float], teacher: Sequence[float], mask: Sequence[float]) -> list[float]:
    """Per-token `mask * (lp_student - lp_teacher)`."""
    return [float(m) * (float(s) - float(t)) for s, t, m in zip(student, teacher, mask, strict=True)]


def _discounted(kl: Sequence[float], mask: Sequence[float], discount: float) -> list[float]:
    out = [0.0] * len(kl)
    running = 0.0
    for i in range(len(kl) - 1, -1, -1):
        if mask[i]:
            running = kl[i] + discount * running
            out[i] = running
    return out


def teacher_kl_advantages(
    batch: RLBatch, teacher_logprobs: Sequence[Sequence[float]], *, coef: float, discount: float = 0.0
) -> list[list[float]]:
    """Set every datum's advantages to `-coef` times its (discounted) reverse KL, in place; returns the KLs."""
    kls: list[list[float]] = []
    for i, (datum, mask, lp_t) in enumerate(zip(batch.data, batch.masks, teacher_logprobs, strict=True)):
        q = datum.loss_fn_inputs["logprobs"].data
        kl = reverse_kl(q, lp_t, mask)
        kls.append(kl)
        future = _discounted(kl, mask, discount) if discount > 0 else kl
        base = datum.loss_fn_inputs["advantages"].data
        adv = [float(a) - coef * f * float(m) for a, f, m in zip(base, future, mask, strict=True)]
        batch.data[i] = Datum(
            datum.model_input, {**datum.loss_fn_inputs, "advantages": TensorData.from_list(adv, "float32")}
        )
    return kls


def teacher_kl_metrics(
    kls: Sequence[Sequence[float]], masks: Sequence[Sequence[float]], sources: Sequence[int], *, prefix: str = ""
) -> dict[str, float]:
    """`teacher_kl` (mean per action token) over all datums and `teacher_kl/dataset_<i>` per source."""
    totals: dict[int, list[float]] = {}
    for kl, mask, src in zip(kls, masks, sources, strict=True):
        acc = totals.setdefault(src, [0.0, 0.0])
        acc[0] += sum(kl)
        acc[1] += sum(mask)
    total = sum(a[0] for a in totals.values())
    count = sum(a[1] for a in totals.values())
    metrics = {f"{prefix}teacher_kl": total / count if count else 0.0}
    for src, (s, n) in sorted(totals.items()):
        metrics[f"{prefix}teacher_kl/dataset_{src}"] = s / n if n else 0.0
    return metrics
