//! Work a check needs running beside the engine, such as the cluster driver of a Kafka
//! Streams stand-in.
//!
//! The configuration collects it while it builds the checks, and starts it once the
//! engine is built; whoever provides the work (the Streams stand-in) knows nothing of the
//! configuration.

/// Work a check type needs running beside the engine, such as the cluster driver of
/// `kafka-streams`.
pub trait Background: Send + Sync {
    /// Starts the work, inside the Tokio runtime. Called once the engine is built; a second
    /// call does nothing.
    fn start(&self);

    /// How long the work may take before startup can be decided, with why: a startup
    /// probe that gives up sooner restarts a process that was still within its rules
    /// (`probe lint` checks the startup budget against it). `None`: no such wait.
    fn startup_needs(&self) -> Option<(std::time::Duration, String)> {
        None
    }
}
