"""Random bytes, for work whose cost does not depend on the data (hashing).

The sha256-calls micro-sweep cuts this buffer into messages of each call grain; SHA-256 runs the
same instructions whatever the bytes, so random contents keep the input small to describe and
impossible for a compressor or cache to flatter. Parameter: ``mebibytes`` (the exact size in MiB).
"""

from __future__ import annotations

import random

PIECE_BYTES = 16 << 20  # randbytes builds one big int, capped at 2**31 bits: draw in pieces


def generate(rng: random.Random, mebibytes: int = 1) -> bytes:
    size = int(mebibytes) << 20
    if size <= 0:
        raise ValueError(f"mebibytes must be positive, got {mebibytes!r}")
    return b"".join(rng.randbytes(min(PIECE_BYTES, size - i)) for i in range(0, size, PIECE_BYTES))
