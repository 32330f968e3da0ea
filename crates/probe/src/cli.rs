//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Health probes for Kubernetes, Docker and load balancers: a sidecar, a drop-in for
/// kafka-connect-healthcheck, and an exec-probe client.
#[derive(Debug, Parser)]
#[command(name = "probe", version, about, propagate_version = true)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
    /// Logging options.
    #[command(flatten)]
    pub log: LogArgs,
}

/// Logging options, accepted by every command.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Log level: error, warn, info, debug or trace (env PROBE_LOG_LEVEL; RUST_LOG filters
    /// take over when neither is given).
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Log format (env PROBE_LOG_FORMAT).
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
}

/// How log lines look.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// One human line per event.
    #[default]
    Text,
    /// One JSON object per event.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve health endpoints: the embedded default (the kubernetes dialect on
    /// 0.0.0.0:8080, all probes passing) or a TOML configuration.
    Serve(ServeArgs),
    /// Check an endpoint once and exit 0 when it is up, 1 when it is down (an exec probe).
    Check(CheckArgs),
    /// Serve kafka-connect-healthcheck's endpoints (`/`, `/ping`) for a Kafka Connect
    /// worker, with its flags and HEALTHCHECK_* variables, plus `/livez` and `/readyz`.
    Connect(Box<ConnectArgs>),
    /// Serve Kpow's health surface (/healthy, /up) for a Kafka cluster.
    ///
    /// /healthy turns 503 once the cluster has been unreachable longer than session timeout +
    /// heartbeat interval, and stays there; /up is always 200; /livez, /readyz and /startupz
    /// answer too. Environment: PORT (3000), BOOTSTRAP (required, host:port,...),
    /// STREAMS_ERROR_STRATEGY (LOG_EXCEPTION or LOG_AND_EXIT), HTTP_FORWARDED (true or false).
    Kpow(KpowArgs),
    /// Check a Celery worker (maykin-common `worker-health-check`): exit 0 healthy, 1 event
    /// loop liveness file missing or too old, 2 no answer to the ping, 4 not ready.
    WorkerCheck(WorkerCheckArgs),
    /// Check a scheduler's liveness file (maykin-common `beat-health-check`): exit 0 when
    /// it was modified within --max-age, 1 otherwise.
    BeatCheck(BeatCheckArgs),
    /// Check Kubernetes probes (and Dockerfile HEALTHCHECKs) against what the endpoints
    /// they reach do: exit 0 no error finding, 1 an error finding, 64 unreadable input.
    Lint(LintArgs),
}

/// `probe lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// A configuration a `probe serve` container of the manifests reads (repeatable). It
    /// is matched to a container by its path (`--config` or PROBE_CONFIG in the
    /// container), else by file name, else it is the only one given.
    #[arg(long, value_name = "FILE")]
    pub config: Vec<PathBuf>,
    /// A Dockerfile or Containerfile whose HEALTHCHECK to check (repeatable).
    #[arg(long, value_name = "FILE")]
    pub dockerfile: Vec<PathBuf>,
    /// How findings are printed.
    #[arg(long, value_enum, default_value = "text", value_name = "FORMAT")]
    pub format: LintFormat,
    /// Kubernetes YAML files, each of any number of documents; `-` reads standard input.
    #[arg(value_name = "MANIFEST", required_unless_present = "dockerfile")]
    pub manifests: Vec<PathBuf>,
}

/// How `probe lint` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum LintFormat {
    /// One line per finding.
    #[default]
    Text,
    /// One JSON document: `findings`, `errors`, `warnings`.
    Json,
}

/// `probe serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The configuration file (env PROBE_CONFIG). Without one, the embedded default.
    #[arg(long, short, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Listen on this address instead of server.listen (env PROBE_LISTEN).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// After SIGTERM or SIGINT: how long readiness fails while the server keeps answering,
    /// instead of server.drain (env PROBE_DRAIN; default 5s; a second signal ends it).
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub drain: Option<String>,
}

/// `probe check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// What to check: an http:// or https:// URL, tcp://host:port, file://PATH, or
    /// grpc://host:port[?service=NAME] (gRPC health; the service defaults to "", the
    /// server's overall health).
    #[arg(value_name = "URL", conflicts_with = "endpoint")]
    pub url: Option<String>,
    /// The same as URL. A missing scheme becomes http://, a missing host localhost:8000, a
    /// missing path /_healthz/livez/.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Give up after this many seconds.
    #[arg(
        long,
        default_value = "3",
        value_name = "SECONDS",
        allow_hyphen_values = true
    )]
    pub timeout: String,
    /// For file:// targets: the file must have been modified within this many seconds
    /// (without it, the file must only exist).
    #[arg(long, value_name = "SECONDS", allow_hyphen_values = true)]
    pub max_age: Option<String>,
    /// For https:// (and redirects to it): also trust the CA certificates in this PEM file,
    /// beside the system's store (SSL_CERT_FILE / SSL_CERT_DIR when set).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<String>,
}

/// `probe kpow`. Durations are written `800ms`, `3s`, `1m30s`.
#[derive(Debug, Args)]
pub struct KpowArgs {
    /// Kafka's session.timeout.ms: with the heartbeat interval, how long the cluster may be
    /// unreachable before Kafka Streams enters ERROR.
    #[arg(
        long,
        default_value = "45s",
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    pub session_timeout: String,
    /// Kafka's heartbeat.interval.ms; the brokers are asked every half interval (at most
    /// every 1s).
    #[arg(
        long,
        default_value = "3s",
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    pub heartbeat_interval: String,
    /// Serve every route under this path only (e.g. /kpow).
    #[arg(long, default_value = "", value_name = "PATH")]
    pub path_prefix: String,
    /// How long each broker has to answer ApiVersions.
    #[arg(
        long,
        default_value = "700ms",
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    pub broker_timeout: String,
    /// Listen on this address instead of 0.0.0.0:$PORT.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// After SIGTERM: how long readiness fails while the server keeps answering.
    #[arg(
        long,
        default_value = "5s",
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    pub drain: String,
    /// Who reads why /healthy fails: never, local (loopback clients) or always.
    #[arg(long, default_value = "local", value_name = "POLICY")]
    pub details: String,
    /// A Streams state counts for the probes only once it has held this long, e.g.
    /// REBALANCING=30s (repeatable; not for PENDING_ERROR or ERROR).
    #[arg(long, value_name = "STATE=DURATION", allow_hyphen_values = true)]
    pub debounce: Vec<String>,
    /// A REBALANCING or PENDING_SHUTDOWN longer than this is stuck: readiness fails
    /// (default 15m; "never" turns it off).
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub stuck_after: Option<String>,
    /// A stuck client fails liveness too.
    #[arg(long)]
    pub stuck_liveness: bool,
}

/// `probe worker-check`: the flags of maykin-common's `worker-health-check`. The checks
/// run in its order: event loop liveness, ping, readiness; the first failure decides the
/// exit status.
#[derive(Debug, Args)]
pub struct WorkerCheckArgs {
    /// The event loop liveness file, touched by the worker while its loop turns.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "/tmp/celery_worker_event_loop_live"
    )]
    pub liveness_file: PathBuf,
    /// How long ago the liveness file may have been modified, in seconds.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value = "70",
        allow_hyphen_values = true
    )]
    pub max_age: String,
    /// Skip the event loop liveness check.
    #[arg(long, overrides_with = "no_skip_event_loop_liveness")]
    pub skip_event_loop_liveness: bool,
    /// Run the event loop liveness check (the default).
    #[arg(long, overrides_with = "skip_event_loop_liveness")]
    pub no_skip_event_loop_liveness: bool,
    /// The broker URL (Celery's CELERY_BROKER setting), for the ping round trip.
    #[arg(long, value_name = "URL", default_value = "redis://localhost:6379/0")]
    pub broker: String,
    /// The worker's node name. Default: env CELERY_WORKER_NAME, else celery@<hostname>.
    #[arg(long, value_name = "NAME")]
    pub worker_name: Option<String>,
    /// How long to wait for the worker's answer to the ping, in seconds.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value = "3",
        allow_hyphen_values = true
    )]
    pub ping_timeout: String,
    /// Skip the ping round trip.
    #[arg(long, overrides_with = "no_skip_ping")]
    pub skip_ping: bool,
    /// Run the ping round trip (the default).
    #[arg(long, overrides_with = "skip_ping")]
    pub no_skip_ping: bool,
    /// The readiness file, present while the worker takes tasks.
    #[arg(long, value_name = "FILE", default_value = "/tmp/celery_worker_ready")]
    pub readiness_file: PathBuf,
    /// Skip the readiness check (the default).
    #[arg(long, overrides_with = "no_skip_readiness")]
    pub skip_readiness: bool,
    /// Run the readiness check.
    #[arg(long, overrides_with = "skip_readiness")]
    pub no_skip_readiness: bool,
}

/// `probe beat-check`: the flags of maykin-common's `beat-health-check`.
#[derive(Debug, Args)]
pub struct BeatCheckArgs {
    /// The scheduler's liveness file, touched each time it schedules a task.
    #[arg(long, value_name = "FILE", default_value = "/tmp/celery_beat_live")]
    pub file: PathBuf,
    /// How long ago the file may have been modified, in seconds.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value = "3600",
        allow_hyphen_values = true
    )]
    pub max_age: String,
}

/// `probe connect`: the flags of kafka-connect-healthcheck 0.3.0, each also read from its
/// `HEALTHCHECK_*` variable (a flag wins over the variable, the variable over the default;
/// an empty variable counts as unset). As with the peer, each of its eight flags may be given
/// without a value: it then means the default, whatever the variable says.
#[derive(Debug, Default, Args)]
pub struct ConnectArgs {
    /// The port to listen on [env: HEALTHCHECK_PORT] [default: 18083].
    #[arg(long, value_name = "PORT", num_args = 0..=1, default_missing_value = "")]
    pub port: Option<String>,
    /// The Kafka Connect REST API, with an optional path prefix
    /// [env: HEALTHCHECK_CONNECT_URL] [default: http://localhost:8083].
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "")]
    pub connect_url: Option<String>,
    /// Judge only the connectors and tasks of this worker (its advertised host:port);
    /// `auto` derives it from CONNECT_REST_ADVERTISED_HOST_NAME and CONNECT_REST_PORT (or
    /// POD_IP and the Connect URL's port) [env: HEALTHCHECK_CONNECT_WORKER_ID]
    /// [default: all workers].
    #[arg(long, value_name = "ID", num_args = 0..=1, default_missing_value = "")]
    pub connect_worker_id: Option<String>,
    /// Comma-separated states that count as failures: UNASSIGNED, RUNNING, PAUSED, FAILED,
    /// RESTARTING, STOPPED [env: HEALTHCHECK_UNHEALTHY_STATES] [default: FAILED].
    #[arg(long, value_name = "STATES", num_args = 0..=1, default_missing_value = "")]
    pub unhealthy_states: Option<String>,
    /// Comma-separated kinds judged and counted: CONNECTOR, TASK
    /// [env: HEALTHCHECK_CONSIDERED_CONTAINERS] [default: CONNECTOR,TASK].
    #[arg(long, value_name = "CONTAINERS", num_args = 0..=1, default_missing_value = "")]
    pub considered_containers: Option<String>,
    /// Failed containers tolerated, in percent of all considered ones
    /// [env: HEALTHCHECK_FAILURE_THRESHOLD_PERCENTAGE] [default: 0].
    #[arg(
        long,
        value_name = "PERCENT",
        num_args = 0..=1,
        default_missing_value = "",
        allow_negative_numbers = true
    )]
    pub failure_threshold_percentage: Option<String>,
    /// Basic authentication against Connect, split at the first colon
    /// [env: HEALTHCHECK_BASIC_AUTH] [default: none].
    #[arg(long, value_name = "USER:PASSWORD", num_args = 0..=1, default_missing_value = "")]
    pub basic_auth: Option<String>,
    /// Log level: DEBUG, INFO, WARNING or ERROR, in any case (TRACE, WARN and CRITICAL
    /// too) [env: HEALTHCHECK_LOG_LEVEL] [default: INFO].
    #[arg(long, value_name = "LEVEL", num_args = 0..=1, default_missing_value = "")]
    pub log_level: Option<String>,
    /// For an https:// Connect URL: also trust the CA certificates in this PEM file, beside
    /// the system's store [env: HEALTHCHECK_CA_FILE] [default: none].
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<String>,
    /// For an https:// Connect URL that asks for one: the client certificate chain (PEM)
    /// [env: HEALTHCHECK_CLIENT_CERT] [default: none].
    #[arg(long, value_name = "FILE")]
    pub client_cert: Option<String>,
    /// The private key (PEM) of --client-cert [env: HEALTHCHECK_CLIENT_KEY] [default: none].
    #[arg(long, value_name = "FILE")]
    pub client_key: Option<String>,
    /// Extra headers for every request to Connect, one `Name: value` per line (a bearer
    /// token, a gateway's key); never logged. HEALTHCHECK_BEARER_TOKEN adds
    /// `Authorization: Bearer <token>` [env: HEALTHCHECK_HEADER_FILE] [default: none].
    #[arg(long, value_name = "FILE")]
    pub header_file: Option<String>,
    /// The address to listen on, IPv4 or IPv6 [env: HEALTHCHECK_BIND] [default: 0.0.0.0].
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// The time allowed for each request to Connect; `GET /` answers within it (plus
    /// 0.2 s) [env: HEALTHCHECK_REQUEST_TIMEOUT] [default: 5s].
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub request_timeout: Option<String>,
    /// Reuse a verdict for this long before asking Connect again (concurrent `GET /`
    /// always share one evaluation) [env: HEALTHCHECK_CACHE] [default: none].
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub cache: Option<String>,
    /// After SIGTERM or SIGINT: how long `/readyz` fails while the server keeps answering
    /// (a second signal ends it) [env: HEALTHCHECK_DRAIN] [default: 0s, exit at once like
    /// the peer].
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub drain: Option<String>,
    /// Who sees error texts, worker ids and traces in the answers: never, local (clients
    /// on loopback) or always (the peer's behaviour); others get the same documents with
    /// them withheld [env: HEALTHCHECK_DETAILS] [default: local].
    #[arg(long, value_name = "POLICY")]
    pub details: Option<String>,
    /// Show task stack traces only to clients on loopback, even with --details always
    /// [env: HEALTHCHECK_REDACT_TRACES].
    #[arg(long)]
    pub redact_traces: bool,
    /// Ask the worker's own `GET /health` (Kafka 3.9+, KIP-1017) for /livez, /startupz and
    /// /readyz, and in `GET /` [env: HEALTHCHECK_WORKER_HEALTH].
    #[arg(long)]
    pub worker_health: bool,
    /// Let a failed connector or task fail /livez too (by default /livez is the worker
    /// alone) [env: HEALTHCHECK_LIVENESS_INCLUDES_CONNECTORS].
    #[arg(long)]
    pub liveness_includes_connectors: bool,
    /// How long a state must last before it counts as unhealthy, e.g.
    /// `UNASSIGNED=30s,RESTARTING=30s` [env: HEALTHCHECK_STATE_GRACE] [default: none].
    #[arg(long, value_name = "STATE=DURATION,...")]
    pub state_grace: Option<String>,
    /// Fail /readyz until this connector exists and has been RUNNING once; repeatable;
    /// `/REGEX/` for any connector whose name matches [env: HEALTHCHECK_EXPECT_CONNECTORS,
    /// comma-separated].
    #[arg(long, value_name = "NAME")]
    pub expect_connector: Vec<String>,
    /// Restart FAILED connectors and tasks through Connect's REST API, with a backoff of
    /// min(n²+n, 60) minutes after the n-th restart [env: HEALTHCHECK_RESTART_FAILED].
    #[arg(long)]
    pub restart_failed: bool,
    /// With --restart-failed: log what would be restarted, restart nothing
    /// [env: HEALTHCHECK_RESTART_DRY_RUN].
    #[arg(long)]
    pub dry_run: bool,
    /// With --restart-failed: stop restarting a container after this many restarts, or
    /// `unlimited` [env: HEALTHCHECK_RESTART_MAX] [default: unlimited].
    #[arg(long, value_name = "COUNT")]
    pub restart_max: Option<String>,
    /// With --restart-failed: forget a container's restarts once it has been RUNNING this
    /// long [env: HEALTHCHECK_RESTART_RESET_AFTER] [default: 1h].
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub restart_reset_after: Option<String>,
    /// With --restart-failed: how often the statuses are read
    /// [env: HEALTHCHECK_RESTART_INTERVAL] [default: 30s].
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub restart_interval: Option<String>,
    /// With --restart-failed: only connectors whose name matches this regular expression
    /// [env: HEALTHCHECK_RESTART_CONNECTORS] [default: all].
    #[arg(long, value_name = "REGEX")]
    pub restart_connectors: Option<String>,
    /// With --restart-failed: only containers whose stack trace matches this regular
    /// expression [env: HEALTHCHECK_RESTART_TRACE] [default: any].
    #[arg(long, value_name = "REGEX")]
    pub restart_trace: Option<String>,
}
