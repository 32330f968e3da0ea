//! What a check type's builder hands back: the checks one `[[check]]` table registers,
//! and the work they need running beside the engine.
//!
//! Most types build one check, registered under the table's `name` in the probes its
//! `probes` key names. A type may build several (`kafka-streams` registers `<name>`,
//! `<name>:ready` and `<name>:started`, each in its own probe) and may need a
//! [`Background`], started once the engine is built.

use std::sync::Arc;
use std::time::Duration;

use probe_core::checks::KafkaConnectCheck;
use probe_core::{Check, Probe};
use probe_http::StandsFor;

use crate::background::Background;

/// One check a table registers.
pub struct Part {
    /// Appended to the table's name: `""` for the main check, `":ready"`...
    pub suffix: &'static str,
    /// The check.
    pub check: Arc<dyn Check>,
    /// The probes it is in, when the type decides; `None`: the table's `probes` key.
    pub probes: Option<Vec<Probe>>,
}

/// What a table builds.
pub struct Built {
    /// The checks to register, the main one first.
    pub parts: Vec<Part>,
    /// Work to start once the engine is built.
    pub background: Option<Arc<dyn Background>>,
    /// How long one run needs at least, when the check bounds its own time (`celery-ping`'s
    /// `ping_timeout`): the policy `timeout` must be longer, or the engine cuts the run off
    /// before it can report. The default timeout is then this plus one second.
    pub own_time: Option<Duration>,
    /// For `kafka-connect`: the check itself, which the `connect` dialect also serves.
    pub connect: Option<KafkaConnectCheck>,
    /// Which of django-health-check's checks the main check stands for.
    pub stands_for: StandsFor,
}

impl Built {
    /// One check under the table's name, in the table's probes.
    pub fn one(check: impl Check) -> Self {
        Built {
            parts: vec![Part {
                suffix: "",
                check: Arc::new(check),
                probes: None,
            }],
            background: None,
            own_time: None,
            connect: None,
            stands_for: StandsFor::Other,
        }
    }

    /// The same, standing for one of django-health-check's checks.
    pub fn standing_for(mut self, s: StandsFor) -> Self {
        self.stands_for = s;
        self
    }

    /// The same, with the check's own time limit.
    pub fn own_time(mut self, own: Duration) -> Self {
        self.own_time = Some(own);
        self
    }
}
