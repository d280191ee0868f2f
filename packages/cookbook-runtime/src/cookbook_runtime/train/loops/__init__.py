"""Training loops: supervised (and, beside it, the RL/DPO/distillation loops)."""
