"""The public preference sets the `dpo` recipe trains on, as dataset references.

Each set is a hub dataset plus the comparison format (`dpo_train`'s
`comparison_format`) that reads its rows; nothing is downloaded here. The held-out
splits follow tinker-cookbook's builders: HH-RLHF's `test`, HelpSteer3's
`validation`, and 1024 seeded rows of UltraFeedback (which has only `train`).
"""

from __future__ import annotations

from dataclasses import dataclass

from cookbook_runtime.ir import DatasetRef

from cookbook_recipes.datasets import tiny_prefs

__all__ = ["PREFERENCE_SETS", "PreferenceSet"]


@dataclass(frozen=True)
class PreferenceSet:
    """A dataset reference and the format its rows are in."""

    ref: DatasetRef
    comparison_format: str


PREFERENCE_SETS: dict[str, PreferenceSet] = {
    "hh_rlhf": PreferenceSet(DatasetRef(name="Anthropic/hh-rlhf", split="train", test_split="test"), "hh_rlhf"),
    "helpsteer3": PreferenceSet(
        DatasetRef(name="nvidia/HelpSteer3", config="preference", split="train", test_split="validation"),
        "helpsteer3",
    ),
    "ultrafeedback": PreferenceSet(
        DatasetRef(name="argilla/ultrafeedback-binarized-preferences", split="train", test_size=1024),
        "ultrafeedback",
    ),
    "tiny_prefs": PreferenceSet(
        DatasetRef(name=tiny_prefs.NAME, split="train", test_split="test", format="jsonl"), "pairs"
    ),
}
"""Name -> preference set."""
