//! Pure evaluators: rules from observed state to a verdict, with no I/O, one per file.

pub mod migrations;
