"""Build: find the toolchains, build each implementation (go build, cargo build --release, hybrids
linked through cgo), time it, cache it by source hash, and record the settings it was built with and
its build and operations profile (clean builds, binary sizes, dependencies).

May import the shared vocabulary and `harness.store` (the cached build records are written
atomically like results), nothing that measures, analyses or presents.
"""
