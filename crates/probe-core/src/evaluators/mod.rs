//! Pure evaluators: rules from observed state to a verdict, one per file. `cluster_driver`
//! is the one piece here that runs tasks: it feeds observations to the `cluster` rules.

pub mod cluster;
pub mod cluster_driver;
pub mod connect;
pub mod error_strategy;
pub mod migrations;
pub mod streams;
