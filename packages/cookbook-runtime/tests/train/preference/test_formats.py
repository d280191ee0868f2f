"""Row formats: each public layout becomes the comparison it states; ties and bad rows are explicit."""

from __future__ import annotations

import pytest
from cookbook_runtime.errors import DataError, UnknownNameError
from cookbook_runtime.train.preference import Comparison, get_comparison_format, resolve_label

USER = {"role": "user", "content": "hi"}


def _a(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def test_pairs_with_a_string_prompt() -> None:
    got = get_comparison_format("pairs")({"prompt": "hi", "chosen": "good", "rejected": "bad"})
    assert got == Comparison.of([USER], [_a("good")], [_a("bad")])


def test_pairs_as_two_conversations_split_at_the_first_difference() -> None:
    convo = [USER, _a("x"), {"role": "user", "content": "more"}]
    got = get_comparison_format("pairs")({"chosen": [*convo, _a("good")], "rejected": [*convo, _a("bad")]})
    assert got is not None
    assert (list(got.prompt), list(got.chosen), list(got.rejected)) == (convo, [_a("good")], [_a("bad")])


def test_pairs_that_do_not_differ_are_an_error() -> None:
    with pytest.raises(DataError, match="do not differ"):
        get_comparison_format("pairs")({"chosen": [USER, _a("same")], "rejected": [USER, _a("same")]})


def test_hh_rlhf_transcripts() -> None:
    head = "\n\nHuman: What is 2+2?\n\nAssistant: Let me think.\n\nHuman: Well?\n\nAssistant:"
    got = get_comparison_format("hh_rlhf")({"chosen": head + " 4", "rejected": head + " 5"})
    assert got is not None
    assert [m["role"] for m in got.prompt] == ["user", "assistant", "user"]
    assert got.prompt[0]["content"] == "What is 2+2?"
    assert (got.chosen, got.rejected) == ((_a("4"),), (_a("5"),))


def test_hh_rlhf_mismatched_prefixes_are_rejected() -> None:
    row = {"chosen": "\n\nHuman: a\n\nAssistant: b", "rejected": "\n\nHuman: other\n\nAssistant: c"}
    with pytest.raises(DataError, match="match up to"):
        get_comparison_format("hh_rlhf")(row)


@pytest.mark.parametrize(("preference", "chosen"), [(-2, "one"), (3, "two"), (0, None)])
def test_helpsteer3_sign_picks_the_side_and_zero_is_a_tie(preference: int, chosen: str | None) -> None:
    row = {"context": [USER], "response1": "one", "response2": "two", "overall_preference": preference}
    got = get_comparison_format("helpsteer3")(row)
    if chosen is None:
        assert got is None
    else:
        assert got is not None and got.chosen == (_a(chosen),)
        assert got.rejected == (_a("two" if chosen == "one" else "one"),)


def test_ultrafeedback_and_its_ties() -> None:
    fmt = get_comparison_format("ultrafeedback")
    row = {"instruction": "hi", "chosen_response": "good", "rejected_response": "bad"}
    assert fmt(row) == Comparison.of([USER], [_a("good")], [_a("bad")])
    assert fmt({**row, "chosen_rating": 4, "rejected_rating": 4}) is None
    assert fmt({**row, "chosen_rating": 5, "rejected_rating": 2}) is not None


def test_missing_field_names_the_field() -> None:
    with pytest.raises(DataError, match="'rejected_response'"):
        get_comparison_format("ultrafeedback")({"instruction": "hi", "chosen_response": "x"})


def test_labels_resolve_and_unknown_formats_list_the_known() -> None:
    assert resolve_label([USER], [_a("a")], [_a("b")], "B") == Comparison.of([USER], [_a("b")], [_a("a")])
    assert resolve_label([USER], [_a("a")], [_a("b")], "tie") is None
    with pytest.raises(UnknownNameError, match="hh_rlhf"):
        get_comparison_format("hh")
