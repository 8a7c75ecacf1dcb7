"""Many small messages plus one large buffer, for hashing.

Small messages model what services hash one at a time: tokens, request bodies, cache keys, small
records. Their lengths are log-normal (median ~160 bytes) clamped to 16..1024 bytes, so most are a
few SHA-256 blocks and the per-call overhead (init, padding, finalisation) matters as much as the
block function. The large buffer models a file or blob hashed as one stream, where only the block
function matters. Contents are random bytes: SHA-256 runs the same instructions whatever the data.

Framing (all integers little-endian):

    u32  N                          number of small messages
    N x  (u32 LEN, LEN bytes)       the small messages, in order
    u64  L                          length of the large buffer
    L bytes                         the large buffer (the rest of the file)

Parameters: ``messages`` (N) and ``large_bytes`` (L).
"""

from __future__ import annotations

import random
import struct


def _length(rng: random.Random) -> int:
    return min(1024, max(16, int(rng.lognormvariate(5.1, 0.75))))


def _random_bytes(rng: random.Random, n: int) -> bytes:
    # randbytes builds one big int, which caps a single call at 2**31 bits: draw in 16 MiB pieces.
    piece = 16 << 20
    return b"".join(rng.randbytes(min(piece, n - i)) for i in range(0, n, piece))


def generate(rng: random.Random, messages: int = 10_000, large_bytes: int = 4 << 20) -> bytes:
    lengths = [_length(rng) for _ in range(messages)]
    payload = _random_bytes(rng, sum(lengths))
    parts = [struct.pack("<I", messages)]
    pos = 0
    for n in lengths:
        parts.append(struct.pack("<I", n))
        parts.append(payload[pos : pos + n])
        pos += n
    parts.append(struct.pack("<Q", large_bytes))
    parts.append(_random_bytes(rng, large_bytes))
    return b"".join(parts)
