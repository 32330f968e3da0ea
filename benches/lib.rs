//! Benchmarks live in this directory.
