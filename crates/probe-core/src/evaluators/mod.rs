//! Pure evaluators: rules from observed state to a verdict, with no I/O, one per file.

pub mod cluster;
pub mod cluster_driver;
pub mod error_strategy;
pub mod streams;
