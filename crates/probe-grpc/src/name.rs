//! What the `service` of a health request names, and how a probe's status reads in gRPC.

use probe_core::{Health, Probe};
use tonic_health::pb::health_check_response::ServingStatus;

/// What a `service` name stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A whole probe: `""` (the server's overall health: readiness), `liveness`,
    /// `readiness` or `startup`.
    Probe(Probe),
    /// One check alone, evaluated in `probe`: the first of readiness, liveness and
    /// startup that holds it.
    Check {
        /// The probe it is evaluated in.
        probe: Probe,
        /// The check's name.
        name: String,
    },
}

/// The probes a check name is looked up in, in this order.
const LOOKUP: [Probe; 3] = [Probe::Readiness, Probe::Liveness, Probe::Startup];

impl Target {
    /// What `service` names in `health`; `None`: nothing (`NOT_FOUND`, `SERVICE_UNKNOWN`).
    /// A probe's name wins over a check of the same name.
    pub fn resolve(health: &Health, service: &str) -> Option<Target> {
        let probe = match service {
            "" | "readiness" => Some(Probe::Readiness),
            "liveness" => Some(Probe::Liveness),
            "startup" => Some(Probe::Startup),
            _ => None,
        };
        if let Some(p) = probe {
            return Some(Target::Probe(p));
        }
        LOOKUP
            .into_iter()
            .find(|p| health.contains(*p, service))
            .map(|probe| Target::Check {
                probe,
                name: service.to_owned(),
            })
    }

    /// Whether the name turns `NOT_SERVING` once shutdown has begun: every one but
    /// `liveness`, so the orchestrator stops sending traffic while the process lives on.
    pub fn follows_shutdown(&self) -> bool {
        *self != Target::Probe(Probe::Liveness)
    }

    /// The serving status for a status that is `passing` (warn included) or not, with
    /// shutdown `begun` or not.
    pub fn serving(&self, passing: bool, begun: bool) -> ServingStatus {
        if passing && !(begun && self.follows_shutdown()) {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use probe_core::testing::Scripted;
    use probe_core::Policy;

    fn health() -> Health {
        let b = Health::builder();
        let b = b
            .check(
                "db",
                Scripted::dependency([]),
                [Probe::Readiness, Probe::Startup],
                Policy::default(),
            )
            .unwrap();
        let b = b
            .check(
                "loop",
                Scripted::local([]),
                [Probe::Liveness],
                Policy::default(),
            )
            .unwrap();
        let b = b
            .check(
                "warmup",
                Scripted::local([]),
                [Probe::Startup],
                Policy::default(),
            )
            .unwrap();
        let b = b
            .check(
                "liveness",
                Scripted::local([]),
                [Probe::Readiness],
                Policy::default(),
            )
            .unwrap();
        b.build().unwrap()
    }

    #[tokio::test]
    async fn names_are_probes_first_then_checks_in_readiness_liveness_startup() {
        let h = health();
        assert_eq!(
            Target::resolve(&h, ""),
            Some(Target::Probe(Probe::Readiness))
        );
        assert_eq!(
            Target::resolve(&h, "readiness"),
            Some(Target::Probe(Probe::Readiness))
        );
        assert_eq!(
            Target::resolve(&h, "startup"),
            Some(Target::Probe(Probe::Startup))
        );
        assert_eq!(
            Target::resolve(&h, "liveness"),
            Some(Target::Probe(Probe::Liveness)),
            "a probe's name wins over a check's"
        );
        let check = |probe, name: &str| {
            Some(Target::Check {
                probe,
                name: name.to_owned(),
            })
        };
        assert_eq!(Target::resolve(&h, "db"), check(Probe::Readiness, "db"));
        assert_eq!(Target::resolve(&h, "loop"), check(Probe::Liveness, "loop"));
        assert_eq!(
            Target::resolve(&h, "warmup"),
            check(Probe::Startup, "warmup")
        );
        assert_eq!(Target::resolve(&h, "nosuch"), None);
        assert_eq!(Target::resolve(&h, "Readiness"), None, "names are exact");
    }

    #[test]
    fn only_liveness_keeps_serving_through_shutdown() {
        let live = Target::Probe(Probe::Liveness);
        assert_eq!(live.serving(true, true), ServingStatus::Serving);
        assert_eq!(live.serving(false, false), ServingStatus::NotServing);
        for t in [
            Target::Probe(Probe::Readiness),
            Target::Probe(Probe::Startup),
            Target::Check {
                probe: Probe::Liveness,
                name: "loop".into(),
            },
        ] {
            assert_eq!(t.serving(true, false), ServingStatus::Serving, "{t:?}");
            assert_eq!(t.serving(true, true), ServingStatus::NotServing, "{t:?}");
        }
    }
}
