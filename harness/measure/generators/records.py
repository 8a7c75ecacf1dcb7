"""Newline-separated text records, for the pipeline workload's per-record transform.

Each record is one line of lowercase words separated by single spaces, drawn from a fixed
vocabulary of random words, so records look like short log messages or product titles. The word
count per record is uniform in 4..40 and word lengths are uniform in 2..12, so record lengths vary
(11 to 519 bytes, mean ~175 with the separators): the transform's cost is proportional to the
length, which makes the workers' shares uneven and gives the load balancing of both runtimes
something to do. Every record ends in "\\n"; no record is empty.

Parameter: ``records`` (the number of lines).
"""

from __future__ import annotations

import random
import string

VOCABULARY_WORDS = 4096
WORD_LETTERS = (2, 12)
RECORD_WORDS = (4, 40)


def _word(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(*WORD_LETTERS)))


def generate(rng: random.Random, records: int = 10_000) -> bytes:
    if not isinstance(records, int) or isinstance(records, bool) or records <= 0:
        raise ValueError(f"records must be a positive integer, got {records!r}")
    vocabulary = [_word(rng) for _ in range(VOCABULARY_WORDS)]
    lines = [
        " ".join(rng.choices(vocabulary, k=rng.randint(*RECORD_WORDS))) for _ in range(records)
    ]
    return ("\n".join(lines) + "\n").encode("ascii")
