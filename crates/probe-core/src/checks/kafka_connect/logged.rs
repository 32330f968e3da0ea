//! What the Connect check logs: the peer's lines, at the peer's levels, each printed when
//! what it says changes. kafka-connect-healthcheck prints every connector and task on every
//! request; a sidecar asked several times a minute would repeat the same lines all day. So
//! a line is printed the first time, and then only when its connector or task changes
//! state, when an error's text changes, or when a connector becomes unknown; a round that
//! printed anything ends with the peer's separator line.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::evaluators::connect::Verdict;

/// What the last round printed.
#[derive(Debug, Default)]
pub(super) struct Logged(Mutex<Last>);

#[derive(Debug, Default)]
struct Last {
    /// `(connector, task)` → `(state, unhealthy)`.
    states: HashMap<(String, Option<i64>), (String, bool)>,
    /// Unknown connectors and why.
    unknown: HashMap<String, String>,
    /// The last error of the whole evaluation, and of the broker probe.
    error: Option<String>,
    describe_error: Option<String>,
    /// A line of the round under way was printed before its end (the broker probe's).
    pending: bool,
}

impl Logged {
    /// Logs what changed in `verdict` and the `unknown` connectors since the last round;
    /// whether anything was printed.
    pub(super) fn observations(&self, verdict: &Verdict, unknown: &[(String, String)]) -> bool {
        let mut last = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut printed = false;
        let mut states = HashMap::with_capacity(verdict.observations.len());
        for seen in &verdict.observations {
            let key = (seen.connector.clone(), seen.task);
            let now = (seen.state.clone(), seen.unhealthy);
            if last.states.get(&key) != Some(&now) {
                printed = true;
                let (name, state) = (&seen.connector, &seen.state);
                match (seen.task, seen.unhealthy) {
                    (None, true) => {
                        tracing::warn!("Connector '{name}' is unhealthy in failure state: {state}")
                    }
                    (None, false) => {
                        tracing::info!("Connector '{name}' is healthy in state: {state}")
                    }
                    (Some(id), true) => tracing::warn!(
                        "Connector '{name}' task '{id}' is unhealthy in failure state: {state}"
                    ),
                    (Some(id), false) => tracing::info!(
                        "Connector '{name}' task '{id}' is healthy in state: {state}"
                    ),
                }
            }
            states.insert(key, now);
        }
        let mut still_unknown = HashMap::with_capacity(unknown.len());
        for (name, why) in unknown {
            if last.unknown.get(name) != Some(why) {
                printed = true;
                tracing::warn!("Connector '{name}' is unknown: {why}");
            }
            still_unknown.insert(name.clone(), why.clone());
        }
        last.states = states;
        last.unknown = still_unknown;
        last.error = None;
        printed | std::mem::take(&mut last.pending)
    }

    /// Logs the evaluation's error unless the last round logged the same; whether it did.
    pub(super) fn error(&self, text: &str) -> bool {
        let mut last = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let pending = std::mem::take(&mut last.pending);
        if last.error.as_deref() == Some(text) {
            return pending;
        }
        tracing::error!(
            "Error while attempting to calculate health result. Assuming unhealthy. Error: {text}"
        );
        last.error = Some(text.to_owned());
        true
    }

    /// Logs the broker probe's error (`None`: it passed) unless unchanged.
    pub(super) fn describe_error(&self, name: &str, error: Option<&str>) {
        let mut last = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let now = error.map(|e| format!("{name}: {e}"));
        if last.describe_error == now {
            return;
        }
        last.describe_error = now;
        if let Some(e) = error {
            tracing::error!(
                "Error while attempting to get details for {name}. Assuming unhealthy. Error: {e}"
            );
            last.pending = true;
        }
    }
}

/// Ends a round: the peer's separator, when the round printed anything.
pub(super) fn end_of_round(printed: bool) {
    if printed {
        tracing::info!("------------------------------------------------");
    }
}
