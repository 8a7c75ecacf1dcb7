"""Servers: a server workload's lifecycle (start, ready, stop, leftovers), the open-loop load
generator (oha) and its raw per-request records, one phase driven and sampled, the transport
observed, and the replicated protocol over offered rates.

May import the shared vocabulary, `harness.store`, `harness.analysis` (which phases count, per-rate
statistics) and `harness.measure` (launcher, sampler, gctrace, noise readings); never profiles or
presentation.
"""
