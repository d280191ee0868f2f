"""RL metrics under tinker-cookbook's names (`env/all/...`, `optim/...`)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

from cookbook_runtime.train.rl.data import RLBatch
from cookbook_runtime.train.rl.types import TrajectoryGroup
from cookbook_runtime.train.types import TensorData

__all__ = ["optim_metrics", "trajectory_metrics"]


def _mean_dicts(dicts: Sequence[dict[str, float]]) -> dict[str, float]:
    sums: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for d in dicts:
        for k, v in d.items():
            sums[k] += float(v)
            counts[k] += 1
    return {k: sums[k] / counts[k] for k in sums}


def _group_metrics(groups: Sequence[TrajectoryGroup], good_thresh: float = 0.5) -> dict[str, float]:
    n = len(groups)
    mixed = good = bad = 0
    for group in groups:
        rewards = group.total_rewards()
        if all(r == rewards[0] for r in rewards):
            if rewards[0] >= good_thresh:
                good += 1
            else:
                bad += 1
        else:
            mixed += 1
    return {
        "by_group/frac_mixed": mixed / n if n else 0.0,
        "by_group/frac_all_good": good / n if n else 0.0,
        "by_group/frac_all_bad": bad / n if n else 0.0,
    }


def _metrics(groups: Sequence[TrajectoryGroup]) -> dict[str, float]:
    trajs = [t for g in groups for t in g.trajectories]
    turns = [tr for t in trajs for tr in t.transitions]
    ac_tokens = sum(len(tr.ac.tokens) for tr in turns)
    ob_tokens = sum(tr.ob.length for tr in turns)
    rewards = [r for g in groups for r in g.total_rewards()]
    out: dict[str, float] = {
        "ac_tokens_per_turn": ac_tokens / len(turns) if turns else 0.0,
        "ob_tokens_per_turn": ob_tokens / len(turns) if turns else 0.0,
        "turns_per_episode": len(turns) / len(trajs) if trajs else 0.0,
        "total_episodes": float(len(trajs)),
        "total_turns": float(len(turns)),
        "total_ac_tokens": float(ac_tokens),
        "total_ob_tokens": float(ob_tokens),
        "reward/total": math.fsum(rewards) / len(rewards) if rewards else 0.0,
    }
    out.update(_mean_dicts([tr.metrics for tr in turns] + [m for g in groups for m in g.metrics]))
    out.update(_group_metrics(groups))
    return out


def trajectory_metrics(groups: Sequence[TrajectoryGroup], prefix: str = "env") -> dict[str, float]:
    """`{prefix}/all/...` over every group, and `{prefix}/<tag>/...` for tags naming a strict subset."""
    by_tag: dict[str, list[TrajectoryGroup]] = defaultdict(list)
    for group in groups:
        for tag in group.tags:
            by_tag[tag].append(group)
    out: dict[str, float] = {}
    for tag, tagged in sorted(by_tag.items()):
        if len(tagged) < len(groups):
            out.update({f"{prefix}/{tag}/{k}": v for k, v in _metrics(tagged).items()})
    out.update({f"{prefix}/all/{k}": v for k, v in _metrics(groups).items()})
    return out


def optim_metrics(batch: RLBatch, train_logprobs: Sequence[TensorData]) -> dict[str, float]:
    """Sampler-vs-trainer KL estimates and the sampled-token entropy estimate, over action tokens.

    `kl_sample_train_v1 = mean(q - lp)`, `v2 = mean((q - lp)^2) / 2`, `entropy = mean(-q)`,
    with `q` the sampler's logprobs and `lp` the trainer's (from `forward_backward`).
    """
    diff = sq = ent = 0.0
    n = 0
    for datum, mask, lp_t in zip(batch.data, batch.masks, train_logprobs, strict=True):
        q = datum.loss_fn_inputs["logprobs"].data
        for qi, li, mi in zip(q, lp_t.data, mask, strict=True):
            if mi > 0:
                d = float(qi) - float(li)
                diff += d
                sq += d * d
                ent -= float(qi)
                n += 1
    if n == 0:
        return {}
    return {
        "optim/kl_sample_train_v1": diff / n,
        "optim/kl_sample_train_v2": sq / (2 * n),
        "optim/entropy": ent / n,
    }
