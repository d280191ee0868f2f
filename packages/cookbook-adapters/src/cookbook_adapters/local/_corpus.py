"""The text the tiny model's tokenizer is trained on, generated from a seed.

It must give the tokens that make the tiny recipes' tasks learnable: one token per
digit (split as Qwen does), one per letter written as a word of its own (the
letter-string tasks `copy q w e`, `reverse ...`, `sort ...`), whole tokens for
common English words and the task words, and the chat markup. Generating it keeps
the wheel small and the tokenizer reproducible.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator

__all__ = ["WORDS", "corpus_lines"]

WORDS: tuple[str, ...] = tuple(
    [
        "the",
        "be",
        "to",
        "of",
        "and",
        "a",
        "in",
        "that",
        "have",
        "i",
        "it",
        "for",
        "not",
        "on",
        "with",
        "he",
        "as",
        "you",
        "do",
        "at",
        "this",
        "but",
        "his",
        "by",
        "from",
        "they",
        "we",
        "say",
        "her",
        "she",
        "or",
        "an",
        "will",
        "my",
        "one",
        "all",
        "would",
        "there",
        "their",
        "what",
        "so",
        "up",
        "out",
        "if",
        "about",
        "who",
        "get",
        "which",
        "go",
        "me",
        "when",
        "make",
        "can",
        "like",
        "time",
        "no",
        "just",
        "him",
        "know",
        "take",
        "people",
        "into",
        "year",
        "your",
        "good",
        "some",
        "could",
        "them",
        "see",
        "other",
        "than",
        "then",
        "now",
        "look",
        "only",
        "come",
        "its",
        "over",
        "think",
        "also",
        "back",
        "after",
        "use",
        "two",
        "how",
        "our",
        "work",
        "first",
        "well",
        "way",
        "even",
        "new",
        "want",
        "because",
        "any",
        "these",
        "give",
        "day",
        "most",
        "us",
        "is",
        "are",
        "was",
        "were",
        "has",
        "had",
        "been",
        "being",
        "am",
        "did",
        "does",
        "done",
        "said",
        "made",
        "went",
        "answer",
        "question",
        "number",
        "word",
        "letter",
        "sum",
        "add",
        "plus",
        "minus",
        "times",
        "equals",
        "result",
        "reverse",
        "string",
        "count",
        "length",
        "first",
        "last",
        "upper",
        "lower",
        "case",
        "vowel",
        "vowels",
        "consonant",
        "sort",
        "sorted",
        "repeat",
        "double",
        "half",
        "even",
        "odd",
        "yes",
        "no",
        "true",
        "false",
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "hello",
        "world",
        "please",
        "thanks",
        "thank",
        "user",
        "assistant",
        "system",
        "tool",
        "call",
        "think",
        "what",
        "which",
        "how",
        "many",
        "much",
        "is",
        "the",
        "of",
        "is",
        "it",
        "compute",
        "calculate",
        "spell",
        "backwards",
        "copy",
        "echo",
        "capital",
        "small",
        "character",
        "characters",
        "list",
        "item",
        "items",
        "digit",
        "digits",
        "value",
        "total",
        "product",
        "difference",
        "quotient",
        "remainder",
        "greater",
        "less",
        "equal",
        "than",
        "between",
        "before",
        "after",
        "next",
        "previous",
        "alphabet",
        "order",
        "name",
        "names",
        "cat",
        "dog",
        "fox",
        "bird",
        "fish",
        "tree",
        "house",
        "car",
        "book",
        "apple",
        "banana",
        "orange",
        "red",
        "green",
        "blue",
        "black",
        "white",
        "big",
        "small",
        "quick",
        "brown",
        "lazy",
        "jumps",
        "over",
        "test",
    ]
)

_CHAT_BITS = (
    "<|im_start|>",
    "<|im_end|>",
    "<|endoftext|>",
    "<think>",
    "</think>",
    "<tool_call>",
    "</tool_call>",
)


def _arithmetic(rng: random.Random) -> str:
    a, b = rng.randint(0, 999), rng.randint(0, 999)
    op = rng.choice("+-*")
    value = a + b if op == "+" else a - b if op == "-" else a * b
    return rng.choice(
        (
            f"{a} {op} {b} = {value}",
            f"What is {a} {op} {b}? The answer is {value}.",
            f"Compute {a}{op}{b}: {value}",
        )
    )


def _string_task(rng: random.Random) -> str:
    word = "".join(rng.choice(string.ascii_letters) for _ in range(rng.randint(1, 8)))
    return rng.choice(
        (
            f"Reverse the string {word}: {word[::-1]}",
            f"Uppercase {word}: {word.upper()}",
            f"Lowercase {word}: {word.lower()}",
            f"The length of {word} is {len(word)}.",
            f"Spell {word}: {' '.join(word)}",
        )
    )


def _letter_task(rng: random.Random) -> str:
    letters = [rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 6))]
    name = rng.choice(("copy", "reverse", "sort"))
    answer = {"copy": letters, "reverse": letters[::-1], "sort": sorted(letters)}[name]
    return f"{name} {' '.join(letters)}\n{' '.join(answer)}"


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(3, 12))]
    text = " ".join(words)
    if rng.random() < 0.5:
        text = text[0].upper() + text[1:]
    return text + rng.choice(".?!,;:")


def _chat(rng: random.Random) -> str:
    user = rng.choice((_arithmetic, _string_task, _sentence, _letter_task))(rng)
    reply = rng.choice((_arithmetic, _string_task, _sentence, _letter_task))(rng)
    return f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n{reply}<|im_end|>\n"


def corpus_lines(seed: int = 0, n: int = 6000) -> Iterator[str]:
    """`n` lines of mixed text, arithmetic, string tasks and chat markup."""
    rng = random.Random(seed)
    yield string.ascii_letters + string.digits + string.punctuation + " \n\t"
    yield " ".join(WORDS)
    yield " ".join(w.capitalize() for w in WORDS)
    yield " ".join(w.upper() for w in WORDS)
    yield " ".join(_CHAT_BITS)
    makers = (_arithmetic, _string_task, _sentence, _sentence, _letter_task, _chat)
    for _ in range(n):
        yield rng.choice(makers)(rng)
