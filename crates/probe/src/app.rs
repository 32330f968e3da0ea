//! Running a parsed command line: logging, then the command, then the exit status.
//! Exit status: 0 done or up, 1 down or a runtime failure, 2 bad usage, 64 bad configuration.

use std::process::ExitCode;

use crate::cli::{Cli, Command, LogArgs, LogFormat};
use crate::config::{Config, ConfigError};
use crate::env::Env;
use crate::sidecar::RunError;
use crate::{beat_cmd, check_cmd, connect_cmd, exec, kpow, lint, logging, serve, worker_cmd};

/// Exit status for a bad configuration or flag value (sysexits EX_USAGE).
const EXIT_CONFIG: u8 = 64;

/// Runs `cli` with the variables of `env`, and returns the process's exit status.
pub fn main(cli: Cli, env: &dyn Env) -> ExitCode {
    match run(cli, env) {
        Ok(code) => code,
        Err(Failure::Config(e)) => {
            logging::complain(format_args!("probe: configuration error: {e}"));
            ExitCode::from(EXIT_CONFIG)
        }
        Err(Failure::Runtime(e)) => {
            tracing::error!("{e}");
            logging::complain(format_args!("probe: {e}"));
            ExitCode::FAILURE
        }
    }
}

enum Failure {
    Config(ConfigError),
    Runtime(String),
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        Failure::Config(e)
    }
}

impl From<RunError> for Failure {
    fn from(e: RunError) -> Self {
        match e {
            RunError::Config(e) => Failure::Config(e),
            RunError::Bind(e) => Failure::Runtime(e.to_string()),
        }
    }
}

fn run(cli: Cli, env: &dyn Env) -> Result<ExitCode, Failure> {
    let format = log_format(&cli, env)?;
    // `probe connect` takes its level the peer's way (HEALTHCHECK_LOG_LEVEL, default INFO).
    if !matches!(cli.command, Command::Connect(_)) {
        init_logging(&cli.log, format, env)?;
    }
    match cli.command {
        Command::Serve(args) => serve_config(serve::config(&args, env)?),
        Command::Kpow(args) => serve_config(kpow::config(&args, env)?),
        Command::Check(args) => {
            let plan = check_cmd::plan(&args, env)?;
            let verdict = exec_runtime()?.block_on(check_cmd::run(&plan));
            Ok(match verdict {
                check_cmd::Verdict::Up(line) => {
                    logging::say(line);
                    ExitCode::SUCCESS
                }
                check_cmd::Verdict::Down(line) => {
                    logging::complain(line);
                    ExitCode::FAILURE
                }
            })
        }
        Command::WorkerCheck(args) => {
            let plan = worker_cmd::plan(&args, env)?;
            let verdict = exec_runtime()?.block_on(worker_cmd::run(&plan));
            for line in &verdict.lines {
                if line.ok {
                    logging::say(&line.text);
                } else {
                    logging::complain(&line.text);
                }
            }
            Ok(ExitCode::from(verdict.code))
        }
        Command::Connect(args) => {
            let options =
                connect_cmd::ConnectOptions::read(&args, cli.log.log_level.as_deref(), env)?;
            logging::init(Some(options.log_level), None, format);
            runtime()?.block_on(connect_cmd::run(options))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Lint(args) => Ok(ExitCode::from(lint::run(&args))),
        Command::BeatCheck(args) => {
            let (file, max_age) = beat_cmd::plan(&args)?;
            Ok(
                match exec_runtime()?.block_on(beat_cmd::run(&file, max_age)) {
                    Ok(line) => {
                        logging::say(line);
                        ExitCode::SUCCESS
                    }
                    Err(line) => {
                        logging::complain(line);
                        ExitCode::FAILURE
                    }
                },
            )
        }
    }
}

/// Serves `config` until SIGTERM and the drain after it.
fn serve_config(config: Config) -> Result<ExitCode, Failure> {
    runtime()?.block_on(serve::run(config))?;
    Ok(ExitCode::SUCCESS)
}

/// The level from `--log-level` or `PROBE_LOG_LEVEL`, else `RUST_LOG`, else info.
fn init_logging(log: &LogArgs, format: LogFormat, env: &dyn Env) -> Result<(), Failure> {
    let level = match log
        .log_level
        .clone()
        .or_else(|| env.var("PROBE_LOG_LEVEL").filter(|s| !s.is_empty()))
    {
        Some(l) => Some(logging::level(&l)?),
        None => None,
    };
    logging::init(level, env.var("RUST_LOG"), format);
    Ok(())
}

fn log_format(cli: &Cli, env: &dyn Env) -> Result<LogFormat, Failure> {
    Ok(match (cli.log.log_format, env.var("PROBE_LOG_FORMAT")) {
        (Some(f), _) => f,
        (None, Some(f)) => match f.to_ascii_lowercase().as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => {
                return Err(ConfigError::key(
                    "PROBE_LOG_FORMAT",
                    format!("unknown format {f:?} (text or json)"),
                )
                .into())
            }
        },
        (None, None) => LogFormat::Text,
    })
}

fn exec_runtime() -> Result<tokio::runtime::Runtime, Failure> {
    exec::runtime().map_err(|e| Failure::Runtime(format!("cannot start the runtime: {e}")))
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .max_blocking_threads(16)
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(format!("cannot start the runtime: {e}")))
}
