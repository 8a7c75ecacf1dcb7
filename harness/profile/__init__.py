"""Profile: CPU profiles apart from the timed repetitions. perf recording (cpu-clock) of batch
programs and of servers under load, stack folding, and categories that compare across languages
(runtime, GC, allocator, syscalls, user code).

May import every earlier stage (shared vocabulary, store, analysis, build, measure, servers) to
build, feed and drive what it records; never presentation.
"""
