"""Servers: a server workload's lifecycle (start, ready, stop, leftovers), where servers run
(this machine, or a server host of its own through the harness's agent there), the open-loop load
generator (oha) and its raw per-request records, load hosts over SSH, one phase driven and
sampled, the transport observed, and the replicated protocol over offered rates.

May import the shared vocabulary, `harness.store`, `harness.analysis` (which phases count, per-rate
statistics) and `harness.measure` (launcher, sampler, gctrace, noise readings); never profiles or
presentation.
"""
