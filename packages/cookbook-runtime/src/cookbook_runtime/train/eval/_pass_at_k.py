"""pass@k: the chance that at least one of k samples is correct, estimated from n >= k.

Drawing exactly k samples per problem and counting hits gives a noisy estimate;
drawing n and averaging over every k-subset (Chen et al., 2021) is unbiased and has
lower variance: `1 - C(n - c, k) / C(n, k)` for c correct out of n.
"""

from __future__ import annotations

from math import comb

from cookbook_runtime.errors import ConfigError

__all__ = ["check_k", "pass_at_k"]


def check_k(ks: list[int] | tuple[int, ...], num_samples: int) -> None:
    """Raise `ConfigError` unless every k is in `1..num_samples`."""
    for k in ks:
        if k < 1 or k > num_samples:
            raise ConfigError(
                f"pass@{k} needs 1 <= k <= samples per item ({num_samples}); raise num_samples or lower k"
            )


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of one problem with `c` correct among `n` samples."""
    if not 0 <= c <= n:
        raise ConfigError(f"pass@k needs 0 <= correct <= samples, got correct={c}, samples={n}")
    check_k([k], n)
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)
