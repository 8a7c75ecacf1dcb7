"""Analysis: raw samples in, typed findings out. Summaries and paired Go/Rust ratios, statistical
tests and bootstrap CIs (stats), run-vs-run comparison and its power, noise tests, which server
phases count and their per-rate statistics, growth fits, the hybrid break-even, capacity, the
decision matrix and trends over history.

May import the shared vocabulary and `harness.store` (trend reads history). Never a measuring,
serving or presentation module: the gate and the report must reach the same numbers, and neither
may pull the other in.
"""
