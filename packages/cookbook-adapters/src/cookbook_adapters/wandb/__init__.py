"""Weights & Biases behind the runtime's `metrics` port (extra `wandb`)."""

from cookbook_adapters.wandb._sink import WandbMetricsSink

__all__ = ["WandbMetricsSink"]
