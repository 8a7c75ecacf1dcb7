"""Scaffold: `harness new`, a working Go/Rust pair (manifest, both programs, generator, doc) from
templates/, checked by building and running it like any other workload.

May import the shared vocabulary, `harness.store` and `harness.build`.
"""
