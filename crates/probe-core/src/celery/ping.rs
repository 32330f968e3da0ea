//! One ping: publish the request, wait for the named worker's answer.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::{timeout_at, Instant};

use super::error::{expect_int, protocol, redis_error, refused};
use super::message::{self, Ids, Names, Reply};
use super::session::{connect, Cleanup};
use super::{BrokerUrlError, PingError, RedisBroker};
use crate::proto::resp::{RespConnectionError, Value};
use crate::time::human;

/// The default time a ping waits for its answer: 3 s, like `celery inspect ping`'s
/// common use in health checks.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// What a ping found, when the broker itself worked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PingAnswer {
    /// The named worker answered `pong`.
    Pong {
        /// From the start of the ping (connection included) to the answer.
        elapsed: Duration,
    },
    /// The request was published, but the named worker did not answer in time.
    NoReply {
        /// How many subscribers (workers' control consumers) received the request. Zero
        /// means no worker at all listens on this broker and database, and the ping
        /// returns at once instead of waiting.
        listeners: u64,
        /// How long the ping waited.
        waited: Duration,
    },
}

impl PingAnswer {
    /// Whether the named worker answered.
    pub fn replied(&self) -> bool {
        matches!(self, PingAnswer::Pong { .. })
    }
}

/// A ping of one Celery worker (`celery@host`) through a Redis broker; see the module
/// documentation.
///
/// Each ping opens its own connection, binds a private reply queue, publishes one
/// request, waits for the answer until its timeout, and removes its reply binding and
/// list again. The worker must accept JSON (Celery's default `accept_content`).
#[derive(Clone, Debug)]
pub struct CeleryPing {
    broker: RedisBroker,
    worker: String,
    timeout: Duration,
    names: Names,
}

impl CeleryPing {
    /// A ping of `worker` (its full node name, `celery@host`) through the Redis broker
    /// at `broker_url` (Celery's `broker_url`: `redis://[:password@]host[:port][/db]`).
    pub fn new(broker_url: &str, worker: impl Into<String>) -> Result<Self, BrokerUrlError> {
        Ok(CeleryPing {
            broker: RedisBroker::parse(broker_url)?,
            worker: worker.into(),
            timeout: DEFAULT_TIMEOUT,
            names: Names::new("celery"),
        })
    }

    /// The same ping with a time limit (default [`DEFAULT_TIMEOUT`]) covering the whole
    /// round trip, connection included.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The same ping through another control exchange (Celery's `control_exchange`
    /// setting; default `celery`).
    pub fn control_exchange(mut self, name: &str) -> Self {
        self.names = Names::new(name);
        self
    }

    /// The worker this ping addresses.
    pub fn worker(&self) -> &str {
        &self.worker
    }

    /// The broker, for messages (it displays without credentials).
    pub fn broker(&self) -> &RedisBroker {
        &self.broker
    }

    /// The time limit of one ping.
    pub fn time_limit(&self) -> Duration {
        self.timeout
    }

    /// The pub/sub channel requests go to (`/<db>.celery.pidbox`).
    pub fn channel(&self) -> String {
        self.names.request_channel(self.broker.db)
    }

    /// Pings the worker once.
    ///
    /// `Ok(Pong)` when it answered, `Ok(NoReply)` when the broker worked but the worker
    /// did not answer within the timeout, `Err` when the broker could not be used or the
    /// reply was not valid.
    pub async fn ping(&self) -> Result<PingAnswer, PingError> {
        let started = Instant::now();
        let deadline = started + self.timeout;
        let ids = Ids::random();
        let addr = self.broker.addr();

        let mut conn = match timeout_at(deadline, connect(&self.broker)).await {
            Ok(conn) => conn?,
            Err(_) => {
                return Err(PingError::Connect {
                    addr,
                    reason: format!("timed out after {}", human(self.timeout)),
                })
            }
        };
        if let Some(password) = &self.broker.password {
            let auth = conn.auth(self.broker.username.as_deref(), password);
            self.within(deadline, "AUTH", auth).await?;
        }
        let select = conn.select(self.broker.db);
        self.within(deadline, "SELECT", select).await?;
        let mut cleanup = Cleanup {
            broker: self.broker.clone(),
            names: self.names.clone(),
            oid: Some(ids.oid.clone()),
        };

        let binding = self.names.binding(&ids.oid);
        for set in [self.names.binding_table(), self.names.binding_permanent()] {
            let args: [&[u8]; 3] = [b"SADD", set.as_bytes(), binding.as_bytes()];
            let call = conn.command(&args);
            expect_int(&addr, "SADD", self.within(deadline, "SADD", call).await?)?;
        }
        let expires = (SystemTime::now() + self.timeout)
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let request = message::ping_request(&self.names, &self.worker, &ids, expires);
        let channel = self.channel();
        let args: [&[u8]; 3] = [b"PUBLISH", channel.as_bytes(), request.as_bytes()];
        let call = conn.command(&args);
        let listeners = expect_int(
            &addr,
            "PUBLISH",
            self.within(deadline, "PUBLISH", call).await?,
        )?;
        let listeners = u64::try_from(listeners).unwrap_or(0);
        if listeners == 0 {
            cleanup.run(&mut conn).await;
            return Ok(PingAnswer::NoReply {
                listeners,
                waited: started.elapsed(),
            });
        }

        let lists = self.names.reply_lists(&ids.oid);
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            // Redis gives up a second after the ping does, so the ping's own timeout
            // decides; older servers only take whole seconds.
            let server_wait = (remaining.as_secs() + 2).to_string();
            let mut args: Vec<&[u8]> = vec![b"BRPOP"];
            args.extend(lists.iter().map(|l| l.as_bytes()));
            args.push(server_wait.as_bytes());
            let popped = match timeout_at(deadline, conn.command(&args)).await {
                Ok(popped) => popped.map_err(|e| redis_error(&addr, "BRPOP", e))?,
                Err(_) => {
                    // The BRPOP is still pending on this connection: clean up on another.
                    drop(conn);
                    cleanup.run_fresh().await;
                    return Ok(PingAnswer::NoReply {
                        listeners,
                        waited: started.elapsed(),
                    });
                }
            };
            let raw = match popped {
                Value::Nil => continue,
                Value::Array(mut kv) if kv.len() == 2 => match kv.pop() {
                    Some(Value::Bulk(raw)) => raw,
                    _ => return Err(protocol(&addr, "BRPOP", "expected a list element")),
                },
                Value::Error(e) => return Err(refused(&addr, "BRPOP", &e)),
                _ => return Err(protocol(&addr, "BRPOP", "expected a key and an element")),
            };
            let answers = match message::parse_reply(&raw, &ids.ticket) {
                Ok(Reply::Answer(answers)) => answers,
                Ok(Reply::Other) => continue,
                Err(reason) => {
                    cleanup.run(&mut conn).await;
                    return Err(PingError::Reply {
                        worker: self.worker.clone(),
                        reason,
                    });
                }
            };
            let Some(answer) = answers.get(&self.worker) else {
                continue;
            };
            let elapsed = started.elapsed();
            cleanup.run(&mut conn).await;
            return if message::is_pong(answer) {
                Ok(PingAnswer::Pong { elapsed })
            } else {
                Err(PingError::Reply {
                    worker: self.worker.clone(),
                    reason: format!(
                        "expected {{\"ok\": \"pong\"}}, got {}",
                        message::truncated(&answer.to_string())
                    ),
                })
            };
        }
    }

    /// Runs one command's future under the ping's deadline.
    async fn within<F, T>(
        &self,
        deadline: Instant,
        command: &'static str,
        f: F,
    ) -> Result<T, PingError>
    where
        F: Future<Output = Result<T, RespConnectionError>>,
    {
        match timeout_at(deadline, f).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(redis_error(&self.broker.addr(), command, e)),
            Err(_) => Err(PingError::Timeout {
                addr: self.broker.addr(),
                command,
                timeout: human(self.timeout),
            }),
        }
    }
}
