//! Several Kafka Streams clients (or topologies) in one process, each under its own name.

use std::fmt;

use super::{StreamsCheck, StreamsRules, StreamsState};
use crate::{BuildError, Builder, Policy, Probe};

/// The three checks each client registers: `<name>` in liveness, `<name>:ready` in
/// readiness, `<name>:started` in startup.
pub const PARTS: [(&str, Probe); 3] = [
    ("", Probe::Liveness),
    (":ready", Probe::Readiness),
    (":started", Probe::Startup),
];

/// A name registered twice in a [`StreamsClients`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("kafka streams client `{0}` is already registered")]
pub struct DuplicateClient(pub String);

/// The Kafka Streams clients of one process, each with its own state, rules and checks.
///
/// Registered into a [`Health`](crate::Health), the probes aggregate them as they do any
/// checks: liveness fails when any client is in (PENDING_)ERROR (or stuck, where its rules
/// say so), readiness passes when every client whose readiness is required
/// ([`StreamsRules::required_for_readiness`]) is RUNNING, startup once each has reached
/// RUNNING.
///
/// ```
/// use probe_core::evaluators::streams::{State, StreamsClients, StreamsRules};
/// use probe_core::{Health, Policy, Probe, Status};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let mut clients = StreamsClients::new();
/// let orders = clients.add("orders", StreamsRules::default()).unwrap();
/// let audit = clients
///     .add("audit", StreamsRules::default().required_for_readiness(false))
///     .unwrap();
/// let health = clients.register(Health::builder(), Policy::default()).unwrap().build().unwrap();
/// for s in [State::Rebalancing, State::Running] {
///     orders.transition(s).unwrap();
/// }
/// audit.transition(State::Rebalancing).unwrap();
/// // audit is not RUNNING, but its readiness is not required: a warning.
/// let report = health.evaluate(Probe::Readiness, &probe_core::Select::All).await;
/// assert_eq!(report.status, Status::Warn);
/// audit.fail("the stream thread died").unwrap();
/// let report = health.evaluate(Probe::Liveness, &probe_core::Select::All).await;
/// assert_eq!(report.status, Status::Fail);
/// # });
/// ```
#[derive(Clone, Default)]
pub struct StreamsClients {
    clients: Vec<Client>,
}

#[derive(Clone)]
struct Client {
    name: String,
    state: StreamsState,
    rules: StreamsRules,
}

impl StreamsClients {
    /// No clients yet.
    pub fn new() -> Self {
        StreamsClients::default()
    }

    /// Adds a client in CREATED under `name`, judged by `rules`; returns the state its
    /// state listener updates.
    pub fn add(
        &mut self,
        name: impl Into<String>,
        rules: StreamsRules,
    ) -> Result<StreamsState, DuplicateClient> {
        let state = StreamsState::new();
        self.add_state(name, state.clone(), rules)?;
        Ok(state)
    }

    /// Adds an existing `state` under `name`.
    pub fn add_state(
        &mut self,
        name: impl Into<String>,
        state: StreamsState,
        rules: StreamsRules,
    ) -> Result<(), DuplicateClient> {
        let name = name.into();
        if self.get(&name).is_some() {
            return Err(DuplicateClient(name));
        }
        self.clients.push(Client { name, state, rules });
        Ok(())
    }

    /// The state of the client called `name`.
    pub fn get(&self, name: &str) -> Option<&StreamsState> {
        self.clients
            .iter()
            .find(|c| c.name == name)
            .map(|c| &c.state)
    }

    /// The clients' names, in the order they were added.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.clients.iter().map(|c| c.name.as_str())
    }

    /// Every client's three checks: `(check name, check, probe)`, client by client.
    pub fn checks(&self) -> Vec<(String, StreamsCheck, Probe)> {
        self.clients
            .iter()
            .flat_map(|c| {
                PARTS.into_iter().map(move |(suffix, probe)| {
                    let check = StreamsCheck::new(c.state.clone(), probe).rules(c.rules);
                    (format!("{}{suffix}", c.name), check, probe)
                })
            })
            .collect()
    }

    /// Registers every client's checks into `builder`, each under `policy`.
    pub fn register(&self, builder: Builder, policy: Policy) -> Result<Builder, BuildError> {
        self.checks()
            .into_iter()
            .try_fold(builder, |b, (name, check, probe)| {
                b.check(name, check, [probe], policy.clone())
            })
    }
}

impl fmt::Debug for StreamsClients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.clients.iter().map(|c| (&c.name, c.state.state())))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_each_has_three_checks() {
        let mut clients = StreamsClients::new();
        clients.add("a", StreamsRules::default()).unwrap();
        clients.add("b", StreamsRules::default()).unwrap();
        assert_eq!(
            clients
                .add("a", StreamsRules::default())
                .unwrap_err()
                .to_string(),
            "kafka streams client `a` is already registered"
        );
        let names: Vec<_> = clients
            .checks()
            .into_iter()
            .map(|(n, _, p)| (n, p))
            .collect();
        assert_eq!(
            names,
            [
                ("a".to_owned(), Probe::Liveness),
                ("a:ready".to_owned(), Probe::Readiness),
                ("a:started".to_owned(), Probe::Startup),
                ("b".to_owned(), Probe::Liveness),
                ("b:ready".to_owned(), Probe::Readiness),
                ("b:started".to_owned(), Probe::Startup),
            ]
        );
    }
}
