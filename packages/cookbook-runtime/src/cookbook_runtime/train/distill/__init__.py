"""Distillation: a student learns a teacher's distribution.

On-policy (`distill_on_policy`): the student samples and each token's advantage is
the negated reverse KL to the teacher, trained by the RL loop. Off-policy
(`distill_off_policy`): the teacher's top-K next-token distribution on given
completions becomes (N, K) soft-target cross entropy, trained by the supervised loop.
"""

from cookbook_runtime.train.distill import (
    prompts_env as _prompts_env,  # registers the 'prompts' env
)
from cookbook_runtime.train.distill._off_policy_stage import (
    DistillOffPolicyOptions,
    DistillOffPolicyStage,
    SoftTargetDataset,
    heldout_teacher_kl,
)
from cookbook_runtime.train.distill._on_policy_stage import (
    DistillOnPolicyOptions,
    DistillOnPolicyStage,
    DistillSource,
)
from cookbook_runtime.train.distill.advantages import (
    reverse_kl,
    teacher_kl_advantages,
    teacher_kl_metrics,
)
from cookbook_runtime.train.distill.datasets import MixedDataset, SourceTagged, source_of
from cookbook_runtime.train.distill.on_policy import TEST_KL_KEY, DistillRun
from cookbook_runtime.train.distill.prompts_env import PromptOnlyEnv, PromptsOptions, PromptsRL
from cookbook_runtime.train.distill.soft_targets import (
    full_sequence,
    soft_target_datum,
    teacher_topk,
    topk_kl,
)
from cookbook_runtime.train.distill.teacher import TeacherSpec, open_teacher, resolve_teacher

del _prompts_env

__all__ = [
    "TEST_KL_KEY",
    "DistillOffPolicyOptions",
    "DistillOffPolicyStage",
    "DistillOnPolicyOptions",
    "DistillOnPolicyStage",
    "DistillRun",
    "DistillSource",
    "MixedDataset",
    "PromptOnlyEnv",
    "PromptsOptions",
    "PromptsRL",
    "SoftTargetDataset",
    "SourceTagged",
    "TeacherSpec",
    "full_sequence",
    "heldout_teacher_kl",
    "open_teacher",
    "resolve_teacher",
    "reverse_kl",
    "soft_target_datum",
    "source_of",
    "teacher_kl_advantages",
    "teacher_kl_metrics",
    "teacher_topk",
    "topk_kl",
]
