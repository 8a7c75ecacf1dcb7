"""Deterministic input generators: one module per generator, each with
`generate(rng: random.Random, **params) -> bytes`. A manifest names its generator by module name."""
