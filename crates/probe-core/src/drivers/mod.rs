//! Background tasks that feed the pure [`evaluators`](crate::evaluators) from checks: the
//! scheduling and the I/O the rules leave out, one driver per file.

pub mod cluster;
