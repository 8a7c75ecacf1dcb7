"""The order in which a workload's implementations run within each round.

Why: on this VM a program's time depends on what ran just before it and on its slot in the round
(an A/A check with identical binaries, base always right before head, called a 10-15 %
"improvement"). A fixed order hands that bias to every ratio. Two orders remove it:

- "latin" (default): a Williams design, the balanced Latin square of the crossover-trial
  literature (Williams 1949). Over one square every implementation runs in every slot equally often
  and right after every other implementation equally often (first-order carry-over balanced). For
  an even number n of implementations the square has n rows; for odd n it is the square plus its
  mirror image, 2n rows. Two implementations give ABBA. Which implementation takes which symbol of
  the square, and the order of the rows, come from the recorded seed.
- "random": each round is an independent seeded shuffle (balanced only on average).
- "given": the manifest's order every round. Kept to measure the bias a fixed order causes, not
  for verdicts.

`reverse` runs every round's order backwards: a reversed Williams square is a Williams square, so a
latin run and its reverse must agree on every ratio (benchmarks/test_order.py checks it), while
"given" and its reverse put each program in opposite slots every round and show what a fixed order
does to a ratio.

Rounds follow the rows cyclically, so `rows_per_square` rounds make a balanced block; the stopping
rule only stops at the end of a block.
"""

from __future__ import annotations

import zlib
from typing import Literal

import numpy as np

Order = Literal["latin", "random", "given"]
ORDERS: tuple[Order, ...] = ("latin", "random", "given")


def williams_square(n: int) -> tuple[tuple[int, ...], ...]:
    """Rows of a Williams design over symbols 0..n-1 (n rows for even n, 2n for odd n)."""
    if n < 1:
        raise ValueError("a square needs at least one symbol")
    first = [0]
    low, high = 1, n - 1
    while len(first) < n:  # 0, 1, n-1, 2, n-2, ...
        first.append(low)
        low += 1
        if len(first) < n:
            first.append(high)
            high -= 1
    rows = [tuple((s + i) % n for s in first) for i in range(n)]
    if n % 2 and n > 1:
        rows += [tuple(reversed(row)) for row in rows]
    return tuple(rows)


def rows_per_square(n: int, order: Order) -> int:
    """Rounds in one balanced block: the square's rows for "latin", else 1."""
    return len(williams_square(n)) if order == "latin" else 1


def _rng(seed: int, workload: str, *extra: int) -> np.random.Generator:
    # crc32 rather than hash(): Python salts str hashes per process, and the order must replay
    return np.random.default_rng([seed, zlib.crc32(workload.encode()), *extra])


class Schedule:
    """round number -> the order of implementation indices in that round (warm-ups included)."""

    def __init__(self, n: int, order: Order, seed: int, workload: str, reverse: bool = False):
        self.n, self.order, self.seed, self.workload = n, order, seed, workload
        self.reverse = reverse
        if order == "latin":
            rng = _rng(seed, workload)
            labels = rng.permutation(n)
            square = williams_square(n)
            self._rows = tuple(
                tuple(int(labels[s]) for s in square[r]) for r in rng.permutation(len(square))
            )

    @property
    def block(self) -> int:
        return rows_per_square(self.n, self.order)

    def round_order(self, round_index: int) -> tuple[int, ...]:
        """The order of round `round_index` (0-based; warm-up rounds use negative numbers)."""
        forward = self._forward(round_index)
        return forward[::-1] if self.reverse else forward

    def _forward(self, round_index: int) -> tuple[int, ...]:
        if self.order == "given":
            return tuple(range(self.n))
        if self.order == "random":
            return tuple(
                int(i)
                for i in _rng(self.seed, self.workload, round_index + 2**16).permutation(self.n)
            )
        return self._rows[round_index % len(self._rows)]
