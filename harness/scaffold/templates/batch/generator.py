"""The input of __NAME__ (made by `harness new`): `lines` lines of lowercase ASCII words separated
by single spaces. Replace it with what your code reads, or name a file or a command in the
manifest's [input] instead. `rng` is a random.Random seeded from the manifest: the same bytes on
every run, on every machine."""

from __future__ import annotations

import random

WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india")


def generate(rng: random.Random, lines: int) -> bytes:
    text = (" ".join(rng.choices(WORDS, k=rng.randint(0, 12))) for _ in range(lines))
    return ("\n".join(text) + "\n").encode()
