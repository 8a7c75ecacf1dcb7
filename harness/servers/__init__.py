"""Server workloads in parts: lifecycle (start, ready, stop), driving one phase, the replicated
protocol, and the statistics over replicates."""
