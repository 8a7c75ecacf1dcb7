"""Go vs Rust benchmark harness."""

__version__ = "0.1.0"
