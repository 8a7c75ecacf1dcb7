"""Profile: CPU profiles apart from the timed repetitions. perf recording (cpu-clock) of batch
programs and of servers under load, written as folded stacks with their run figures. What the
stacks mean (folding, categories that compare across languages, shares) is pure analysis and lives
in `harness.analysis.stacks`, so the decision matrix's profile evidence comes from the one analysis
pass.

May import every earlier stage (shared vocabulary, store, analysis, build, measure, servers) to
build, feed and drive what it records; never presentation.
"""
