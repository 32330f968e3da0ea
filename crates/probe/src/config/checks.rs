//! From a `[[check]]` table's `type` and keys to the checks it registers.
//!
//! Most types build one check, registered under the table's `name` in the probes its
//! `probes` key names. A type may build several (`kafka-streams` registers `<name>`,
//! `<name>:ready` and `<name>:started`, each in its own probe) and may need work running
//! beside the engine (a cluster driver): a [`Background`], started once the engine is built.

use std::sync::Arc;
use std::time::Duration;

use probe_core::celery::DEFAULT_TIMEOUT;
use probe_core::checks::{
    CeleryPingCheck, FileAgeCheck, FileExistsCheck, HttpCheck, KafkaConnectCheck, TcpCheck,
};
use probe_core::evaluators::connect::{parse_containers, parse_states, ConnectRules, RulesError};
use probe_core::http_client::TlsConfig;
use probe_core::{Check, Probe};

use crate::background::Background;

use super::{databases, kafka, tls, ConfigError, Fields};

/// The check types a configuration may name.
pub const TYPES: &[&str] = &[
    "tcp",
    "http",
    "file-age",
    "file-exists",
    "celery-ping",
    "kafka",
    "kafka-streams",
    "kafka-connect",
];

/// The broker `celery-ping` uses when none is given (Celery's own default).
pub const DEFAULT_BROKER: &str = "redis://localhost:6379/0";

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
}

impl Built {
    /// One check under the table's name, in the table's probes.
    pub fn one(check: Arc<dyn Check>) -> Self {
        Built {
            parts: vec![Part {
                suffix: "",
                check,
                probes: None,
            }],
            background: None,
            own_time: None,
            connect: None,
        }
    }

    /// The same, with the check's own time limit.
    pub fn own_time(mut self, own: Duration) -> Self {
        self.own_time = Some(own);
        self
    }
}

/// Builds the checks of type `kind` from its keys.
pub fn build(kind: &str, f: &mut Fields) -> Result<Built, ConfigError> {
    match kind {
        "tcp" => Ok(Built::one(Arc::new(TcpCheck::new(
            f.required_string("address")?,
        )))),
        "http" => {
            let url = f.required_string("url")?;
            let mut check = HttpCheck::new(&url).map_err(|e| f.error("url", e.to_string()))?;
            if let Some(tls) = ca_file(f, &url)? {
                check = check.tls(tls);
            }
            Ok(Built::one(Arc::new(check)))
        }
        "kafka" => kafka::kafka(f),
        "kafka-streams" => kafka::kafka_streams(f),
        "kafka-connect" => {
            let check = kafka_connect(f)?;
            let mut built = Built::one(Arc::new(check.clone()));
            built.connect = Some(check);
            Ok(built)
        }
        "file-age" => {
            let path = f.required_string("path")?;
            let max_age = f
                .duration("max_age")?
                .ok_or_else(|| f.error("max_age", "missing (required)"))?;
            Ok(Built::one(Arc::new(FileAgeCheck::new(path, max_age))))
        }
        "file-exists" => Ok(Built::one(Arc::new(FileExistsCheck::new(
            f.required_string("path")?,
        )))),
        "celery-ping" => celery_ping(f).map(|(check, own)| Built::one(check).own_time(own)),
        other => databases::build(other, f).unwrap_or_else(|| {
            let available: Vec<&str> = TYPES.iter().chain(databases::TYPES).copied().collect();
            Err(f.error(
                "type",
                format!(
                    "unknown check type `{other}` (available: {})",
                    available.join(", ")
                ),
            ))
        }),
    }
}

/// `celery-ping`: `broker` (default [`DEFAULT_BROKER`]), `worker` (required),
/// `ping_timeout` (default 3 s).
fn celery_ping(f: &mut Fields) -> Result<(Arc<dyn Check>, Duration), ConfigError> {
    let broker = f
        .string("broker")?
        .unwrap_or_else(|| DEFAULT_BROKER.to_owned());
    let worker = f.required_string("worker")?;
    if worker.trim().is_empty() {
        return Err(f.error(
            "worker",
            "empty (write the worker's node name, e.g. \"celery@worker-0\")",
        ));
    }
    let ping_timeout = f.duration("ping_timeout")?.unwrap_or(DEFAULT_TIMEOUT);
    if ping_timeout.is_zero() {
        return Err(f.error("ping_timeout", "must be greater than zero"));
    }
    let check = CeleryPingCheck::new(&broker, worker)
        .map_err(|e| f.error("broker", e.to_string()))?
        .timeout(ping_timeout);
    Ok((Arc::new(check), ping_timeout))
}

/// `ca_file`: a PEM file of CA certificates trusted beside the system's store, for an
/// `https://` `url` only; read now, so a bad file is a configuration error.
fn ca_file(f: &mut Fields, url: &str) -> Result<Option<TlsConfig>, ConfigError> {
    let Some(path) = f.string("ca_file")? else {
        return Ok(None);
    };
    if !tls::is_https(url) {
        return Err(f.error("ca_file", "only applies to an https:// url"));
    }
    tls::trusting(&path)
        .map(Some)
        .map_err(|problem| f.error("ca_file", problem))
}

/// A `kafka-connect` check: `url` (required), `worker_id`, `unhealthy_states` and
/// `considered_containers` (a comma-separated string or a list), `failure_threshold_percentage`,
/// `basic_auth` (`user:password`), `request_timeout` (each request to Connect, default 5s),
/// `worker_health` (also ask `GET /health`, Kafka 3.9+) and `ca_file` (for `https://`).
pub fn kafka_connect(f: &mut Fields) -> Result<KafkaConnectCheck, ConfigError> {
    let url = f.required_string("url")?;
    let d = ConnectRules::default();
    let unhealthy_states = match f.strings("unhealthy_states")? {
        Some(list) => parse_states(&list.join(","))
            .map_err(|e| f.error("unhealthy_states", rules_problem(e)))?,
        None => d.unhealthy_states,
    };
    let considered_containers = match f.strings("considered_containers")? {
        Some(list) => parse_containers(&list.join(","))
            .map_err(|e| f.error("considered_containers", rules_problem(e)))?,
        None => d.considered_containers,
    };
    let rules = ConnectRules {
        unhealthy_states,
        considered_containers,
        worker_id: f
            .string("worker_id")?
            .map(|w| w.trim().to_owned())
            .filter(|w| !w.is_empty()),
        failure_threshold_percentage: f.u32("failure_threshold_percentage")?.unwrap_or(0),
    };
    let mut check =
        KafkaConnectCheck::new(&url, rules).map_err(|e| f.error("url", e.to_string()))?;
    if let Some(tls) = ca_file(f, &url)? {
        check = check.tls(tls);
    }
    if let Some(auth) = f.string("basic_auth")? {
        check = check
            .basic_auth(&auth)
            .map_err(|e| f.error("basic_auth", e.to_string()))?;
    }
    if let Some(timeout) = f.duration("request_timeout")? {
        if timeout.is_zero() {
            return Err(f.error("request_timeout", "must be greater than zero"));
        }
        check = check.request_timeout(timeout);
    }
    let worker_health = f.bool("worker_health")?.unwrap_or(false);
    Ok(check.worker_health(worker_health))
}

fn rules_problem(e: RulesError) -> String {
    match e {
        RulesError::State(e) => e.to_string(),
        RulesError::Container(e) => e.to_string(),
        RulesError::Empty(_) => "the list is empty".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use probe_core::{Probe, Scope};

    use crate::config::Config;

    fn one(keys: &str) -> Result<crate::config::CheckSpec, String> {
        Config::parse(&format!("[[check]]\nname = \"c\"\n{keys}\n"))
            .map(|mut c| c.checks.remove(0))
            .map_err(|e| e.to_string())
    }

    fn refused(keys: &str) -> String {
        match one(keys) {
            Ok(_) => panic!("accepted: {keys}"),
            Err(e) => e,
        }
    }

    #[test]
    fn file_checks_take_a_path_and_file_age_its_max_age() {
        let c = one("type = \"file-age\"\npath = \"/tmp/w.live\"\nmax_age = \"70s\"\nprobes = [\"liveness\"]")
            .unwrap();
        assert_eq!(c.check.scope(), Scope::Local);
        assert_eq!(c.probes, [Probe::Liveness]);
        // max_age is the file's, not the policy's staleness limit.
        assert_eq!(c.policy.max_age, None);
        let e = refused("type = \"file-age\"\npath = \"/tmp/w.live\"");
        assert_eq!(e, "check[0] \"c\".max_age: missing (required)");
        let e = refused("type = \"file-exists\"");
        assert_eq!(e, "check[0] \"c\".path: missing (required)");
        let c = one("type = \"file-exists\"\npath = \"/tmp/ready\"\nmax_age = \"5s\"").unwrap();
        assert_eq!(c.policy.max_age, Some(Duration::from_secs(5)));
    }

    #[test]
    fn celery_ping_gets_a_policy_timeout_longer_than_its_ping() {
        let c = one("type = \"celery-ping\"\nworker = \"celery@w\"").unwrap();
        assert_eq!(c.check.scope(), Scope::Dependency);
        assert_eq!(c.policy.timeout, Duration::from_secs(4));
        let c = one("type = \"celery-ping\"\nworker = \"celery@w\"\nping_timeout = \"1s\"\ntimeout = \"1500ms\"")
            .unwrap();
        assert_eq!(c.policy.timeout, Duration::from_millis(1500));
        let e = refused("type = \"celery-ping\"\nworker = \"celery@w\"\ntimeout = \"2s\"");
        assert!(
            e.starts_with(
                "check[0] \"c\".timeout: 2s must be longer than the check's own time limit (3s)"
            ),
            "{e}"
        );
        let e = refused("type = \"celery-ping\"");
        assert_eq!(e, "check[0] \"c\".worker: missing (required)");
        let e = refused("type = \"celery-ping\"\nworker = \"w\"\nbroker = \"amqp://:pw@h/\"");
        assert!(
            e.starts_with("check[0] \"c\".broker: unsupported broker URL scheme `amqp`"),
            "{e}"
        );
        let e = refused(
            "type = \"celery-ping\"\nworker = \"w\"\nbroker = \"redis://:secret@h:port/0\"",
        );
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn ca_files_are_read_at_once_and_only_for_https() {
        let cases = [
            (
                "type = \"http\"\nurl = \"http://web:8000/\"\nca_file = \"/etc/ca.pem\"",
                "check[0] \"c\".ca_file: only applies to an https:// url".to_owned(),
            ),
            (
                "type = \"http\"\nurl = \"https://web/\"\nca_file = \"/nonexistent/ca.pem\"",
                "check[0] \"c\".ca_file: cannot read CA file /nonexistent/ca.pem: no such file or directory".to_owned(),
            ),
            (
                "type = \"kafka-connect\"\nurl = \"https://connect:8083\"\nca_file = \"\"",
                "check[0] \"c\".ca_file: empty (write the path of a PEM file of CA certificates)".to_owned(),
            ),
            (
                "type = \"kafka-connect\"\nurl = \"https://connect:8083\"\nca_file = 1",
                "check[0] \"c\".ca_file: expected a string, found integer".to_owned(),
            ),
        ];
        for (keys, expected) in cases {
            assert_eq!(refused(keys), expected, "{keys}");
        }
        // Without a CA file, https trusts the system's store.
        let c = one("type = \"kafka-connect\"\nurl = \"https://connect:8083\"").unwrap();
        assert_eq!(c.check.scope(), Scope::Dependency);
    }

    #[test]
    fn unknown_types_list_the_available_ones() {
        let e = refused("type = \"nope\"");
        assert!(e.contains("file-age, file-exists, celery-ping"), "{e}");
    }
}
