//! The checks that come with `probe-core`, one per file.

pub mod amqp;
pub mod celery_ping;
pub mod file_age;
pub mod file_exists;
pub mod http;
pub mod kafka;
pub mod kafka_connect;
pub mod memcached;
pub mod mysql;
pub mod postgres;
#[cfg(feature = "postgres-query")]
pub mod postgres_migrations;
#[cfg(feature = "postgres-query")]
pub mod postgres_query;
pub mod redis;
pub mod tcp;

pub use self::amqp::AmqpCheck;
pub use self::celery_ping::CeleryPingCheck;
pub use self::file_age::FileAgeCheck;
pub use self::file_exists::FileExistsCheck;
pub use self::http::HttpCheck;
pub use self::kafka::KafkaCheck;
pub use self::kafka_connect::{ConnectConfigError, ConnectError, KafkaConnectCheck};
pub use self::memcached::MemcachedCheck;
pub use self::mysql::MysqlCheck;
pub use self::postgres::PostgresCheck;
#[cfg(feature = "postgres-query")]
pub use self::postgres_migrations::PostgresMigrationsCheck;
#[cfg(feature = "postgres-query")]
pub use self::postgres_query::{PostgresConfigError, PostgresQueryCheck};
pub use self::redis::RedisCheck;
pub use self::tcp::TcpCheck;
