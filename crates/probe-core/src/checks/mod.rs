//! The checks that come with `probe-core`, one per file.

pub mod amqp;
pub mod endpoint;
pub mod http;
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
pub use self::endpoint::{Endpoint, UrlError};
pub use self::http::HttpCheck;
pub use self::memcached::MemcachedCheck;
pub use self::mysql::MysqlPing;
pub use self::postgres::PgIsReady;
#[cfg(feature = "postgres-query")]
pub use self::postgres_migrations::PgMigrations;
#[cfg(feature = "postgres-query")]
pub use self::postgres_query::{PgConfigError, PgQuery};
pub use self::redis::RedisCheck;
pub use self::tcp::TcpCheck;
