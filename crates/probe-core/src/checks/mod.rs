//! The checks that come with `probe-core`, one per file.

pub mod celery_ping;
pub mod file_age;
pub mod file_exists;
pub mod http;
pub mod kafka;
pub mod kafka_connect;
pub mod tcp;

pub use self::celery_ping::CeleryPingCheck;
pub use self::file_age::FileAgeCheck;
pub use self::file_exists::FileExistsCheck;
pub use self::http::HttpCheck;
pub use self::kafka::KafkaCheck;
pub use self::kafka_connect::{ConnectConfigError, ConnectError, KafkaConnectCheck};
pub use self::tcp::TcpCheck;
