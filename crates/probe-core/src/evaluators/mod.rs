//! Pure evaluators: rules from observed state to a verdict, one per file. Nothing here
//! does I/O or spawns a task: the checks and the `drivers` observe, and hand what they saw
//! to these rules.

pub mod cluster;
pub mod connect;
pub mod error_strategy;
pub mod migrations;
pub mod streams;
