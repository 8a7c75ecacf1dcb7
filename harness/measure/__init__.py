"""Measure: run programs and record what happened. The launcher (native/spawn.c: fork, wait4,
rusage) and the psutil sampler, Go's gctrace, the machine record and noise readings, inputs and
their generators, the batch runner (order, rounds, stopping rule, per-workload saving), sweeps and
the A/B run of two commits.

May import the shared vocabulary, `harness.store`, `harness.analysis` (the stopping rule's
statistics) and `harness.build`; never servers, profiles or presentation.
"""
