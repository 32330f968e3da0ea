//! The checks that come with `probe-core`, one per file. `tcp`, `file-age` and
//! `file-exists` are in every build; each of the others needs the cargo feature of its
//! family (see the crate's documentation).

#[cfg(feature = "amqp")]
pub mod amqp;
#[cfg(feature = "celery")]
pub mod celery_ping;
pub mod file_age;
pub mod file_exists;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "kafka")]
pub mod kafka;
#[cfg(feature = "kafka-connect")]
pub mod kafka_connect;
#[cfg(feature = "memcached")]
pub mod memcached;
#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "postgres-query")]
pub mod postgres_migrations;
#[cfg(feature = "postgres-query")]
pub mod postgres_query;
#[cfg(feature = "postgres-query")]
mod postgres_session;
#[cfg(feature = "redis")]
pub mod redis;
pub mod storage;
pub mod tcp;

#[cfg(feature = "amqp")]
pub use self::amqp::AmqpCheck;
#[cfg(feature = "celery")]
pub use self::celery_ping::CeleryPingCheck;
pub use self::file_age::{FileAge, FileAgeCheck};
pub use self::file_exists::{FileExistsCheck, FileProblem};
#[cfg(feature = "http")]
pub use self::http::HttpCheck;
#[cfg(feature = "kafka")]
pub use self::kafka::KafkaCheck;
#[cfg(feature = "kafka-connect")]
pub use self::kafka_connect::{ConnectConfigError, ConnectError, KafkaConnectCheck};
#[cfg(feature = "memcached")]
pub use self::memcached::MemcachedCheck;
#[cfg(feature = "mysql")]
pub use self::mysql::MysqlCheck;
#[cfg(feature = "postgres")]
pub use self::postgres::PostgresCheck;
#[cfg(feature = "postgres-query")]
pub use self::postgres_migrations::PostgresMigrationsCheck;
#[cfg(feature = "postgres-query")]
pub use self::postgres_query::{PostgresConfigError, PostgresQueryCheck};
#[cfg(feature = "redis")]
pub use self::redis::RedisCheck;
pub use self::storage::{StorageCheck, StorageFailure};
pub use self::tcp::TcpCheck;
