//! Where a probe's request lands on a [`Served`] server: the route tables of the dialects
//! under the server's prefix, and gRPC health names, resolved the way the service and
//! `probe_grpc::Target` resolve them (a test holds them to the real service's answers).

use std::time::Duration;

use probe_core::{Policy, Probe, Scope};

use super::serves::{Endpoint, Served, Target};

/// The margin added to a check's own timeout when it is evaluated alone (as the engine
/// adds it to a probe's longest timeout).
const ONE_CHECK_MARGIN: Duration = Duration::from_millis(100);

impl Served {
    /// The whole evaluation of `probe`.
    fn probe(&self, probe: Probe, label: String) -> Endpoint {
        Endpoint {
            label,
            checks: self.checks_of(self.health.names(probe).map(str::to_owned).collect()),
            deadline: self.health.deadline(probe),
            liveness_names: self.liveness_names(),
        }
    }

    /// One check alone, in `probe`.
    fn one(&self, probe: Probe, name: &str, label: String) -> Endpoint {
        let timeout = self
            .health
            .policy(name)
            .map_or(Duration::ZERO, |p| p.timeout);
        Endpoint {
            label,
            checks: self.checks_of(vec![name.to_owned()]),
            deadline: (timeout + ONE_CHECK_MARGIN).min(self.health.deadline(probe)),
            liveness_names: self.liveness_names(),
        }
    }

    fn liveness_names(&self) -> Vec<String> {
        self.health
            .names(Probe::Liveness)
            .map(str::to_owned)
            .collect()
    }

    fn checks_of(&self, names: Vec<String>) -> Vec<(String, Scope, Policy)> {
        names
            .into_iter()
            .filter_map(|n| {
                let scope = self.health.scope(&n)?;
                let policy = self.health.policy(&n)?.clone();
                Some((n, scope, policy))
            })
            .collect()
    }

    /// Where a GET of `path_and_query` lands, dialect by dialect in the service's order
    /// (`connect`, which answers every path, last).
    pub fn http(&self, path_and_query: &str) -> Target {
        let full = path_and_query.split(['?', '#']).next().unwrap_or("");
        let served = || self.routes_hint();
        let rest = if self.prefix.is_empty() {
            Some(full)
        } else {
            full.strip_prefix(self.prefix.as_str())
                .filter(|p| p.is_empty() || p.starts_with('/'))
        };
        let Some(rest) = rest else {
            return Target::Missing(
                format!("{full} is outside the path prefix {}", self.prefix),
                served(),
            );
        };
        let path = if rest.is_empty() { "/" } else { rest };
        if self.metrics && path == "/metrics" {
            return Target::Fixed("/metrics".into());
        }
        let has = |d: &str| self.dialects.iter().any(|x| x == d);
        if has("kubernetes") {
            if path == "/statusz" {
                return Target::Fixed(full.into());
            }
            let rest = &path[1..];
            let (kind, check) = match rest.split_once('/') {
                Some((k, c)) => (k, Some(c)),
                None => (rest, None),
            };
            let probe = match kind {
                "livez" => Some(Probe::Liveness),
                "readyz" => Some(Probe::Readiness),
                "startupz" => Some(Probe::Startup),
                _ => None,
            };
            if let Some(p) = probe {
                return match check {
                    None => Target::Endpoint(self.probe(p, full.into())),
                    Some(c) if self.health.contains(p, c) => Target::Endpoint(self.one(p, c, full.into())),
                    Some(c) => Target::Missing(
                        format!("{full} names no check of {kind} (answers 404): `{c}` is not among [{}]", self.health.names(p).collect::<Vec<_>>().join(", ")),
                        format!("point it at /{kind} or at one of its checks"),
                    ),
                };
            }
        }
        if has("kpow") {
            match path {
                "/healthy" => return Target::Endpoint(self.probe(Probe::Liveness, full.into())),
                "/up" => return Target::Fixed(full.into()),
                _ => {}
            }
        }
        if has("open-klant") {
            match path {
                "/_healthz/livez/" => {
                    return Target::Endpoint(self.probe(Probe::Liveness, full.into()))
                }
                "/_healthz/readyz/" => {
                    return Target::Endpoint(self.probe(Probe::Readiness, full.into()))
                }
                "/_healthz/" => return Target::Endpoint(self.probe(Probe::Startup, full.into())),
                "/_healthz/livez" | "/_healthz/readyz" | "/_healthz" => {
                    return Target::Missing(
                        format!("{full} answers a redirect to {full}/, not a health answer"),
                        format!("write the path with its trailing slash: {full}/"),
                    )
                }
                _ => {}
            }
        }
        if has("connect") {
            match (path, &self.connect_check) {
                ("/ping", _) => return Target::Fixed(full.into()),
                ("/", Some(name)) => {
                    let probe = [Probe::Readiness, Probe::Liveness, Probe::Startup]
                        .into_iter()
                        .find(|p| self.health.contains(*p, name))
                        .unwrap_or(Probe::Readiness);
                    return Target::Endpoint(self.one(probe, name, full.into()));
                }
                _ => {}
            }
        }
        Target::Missing(format!("{full} is not served (answers 404)"), served())
    }

    /// Where a gRPC health `Check` for `service` lands.
    pub fn grpc(&self, service: &str) -> Target {
        if !self.grpc {
            return Target::Missing(
                format!("port {} answers HTTP only, not gRPC", self.port),
                "set [server] grpc = true, or use an httpGet probe".into(),
            );
        }
        let label = format!("gRPC service {service:?}");
        match probe_grpc::Target::resolve(&self.health, service) {
            Some(probe_grpc::Target::Probe(p)) => Target::Endpoint(self.probe(p, label)),
            Some(probe_grpc::Target::Check { probe, name }) => {
                Target::Endpoint(self.one(probe, &name, label))
            }
            None => Target::Missing(
                format!(
                    "the server does not know the gRPC service {service:?} (answers NOT_FOUND)"
                ),
                "use \"liveness\", \"readiness\", \"startup\", \"\" or a check's name".into(),
            ),
        }
    }

    fn routes_hint(&self) -> String {
        let p = &self.prefix;
        let mut routes = Vec::new();
        for d in &self.dialects {
            match d.as_str() {
                "kubernetes" => {
                    routes.extend(["/livez", "/readyz", "/startupz"].map(|r| format!("{p}{r}")))
                }
                "kpow" => routes.extend(["/healthy", "/up"].map(|r| format!("{p}{r}"))),
                "open-klant" => routes.extend(
                    ["/_healthz/livez/", "/_healthz/readyz/", "/_healthz/"]
                        .map(|r| format!("{p}{r}")),
                ),
                "connect" => routes.extend(["/", "/ping"].map(|r| format!("{p}{r}"))),
                _ => {}
            }
        }
        format!("use one of {}", routes.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::lint::serves::{from_config, Reading};

    /// What lint says of each path agrees with what the real service answers: a 404 (or the
    /// trailing-slash redirect) exactly where lint says the path is not served.
    #[tokio::test]
    async fn lint_routes_agree_with_the_service() {
        let cases = [
            ("[server]\ndialects = [\"kubernetes\", \"kpow\", \"open-klant\"]\npath_prefix = \"/p\"\n", None),
            ("[server]\ndialects = [\"kpow\", \"kubernetes\"]\n", None),
            ("[server]\ndialects = [\"open-klant\"]\n", None),
            (
                "[server]\ndialects = [\"connect\", \"kubernetes\"]\n",
                Some("[[check]]\nname = \"kc\"\ntype = \"kafka-connect\"\nurl = \"http://127.0.0.1:9\"\nprobes = [\"readiness\"]\n"),
            ),
        ];
        let paths = [
            "/livez",
            "/readyz",
            "/startupz",
            "/livez/beat",
            "/readyz/beat",
            "/livez/nope",
            "/statusz",
            "/healthy",
            "/up",
            "/_healthz/",
            "/_healthz/livez/",
            "/_healthz/readyz/",
            "/_healthz/livez",
            "/",
            "/ping",
            "/healthz",
            "/livez/",
            "/p",
            "/p/livez",
            "/p/healthy",
            "/p/_healthz/readyz/",
            "/p/livez/beat",
            "/px/livez",
            "/readyz?verbose",
        ];
        for (head, extra) in cases {
            let toml = format!(
                "{head}\n[[check]]\nname = \"beat\"\ntype = \"file-exists\"\npath = \"/nonexistent\"\nprobes = [\"liveness\"]\n{}",
                extra.unwrap_or("")
            );
            let config = Config::parse(&toml).unwrap();
            let Reading::Serves(served) = from_config(&config) else {
                panic!("not a server")
            };
            let (_, service) = crate::serve::service(&config).unwrap();
            for path in paths {
                let answer = service
                    .respond(http::Request::get(path).body(()).unwrap())
                    .await;
                let status = answer.status().as_u16();
                let served_here = !matches!(served.http(path), Target::Missing(..));
                assert_eq!(
                    served_here,
                    status != 404 && status != 301 && status != 308,
                    "{head:?} {path}: lint says {:?}, the service answers {status}",
                    served.http(path)
                );
            }
        }
    }
}
