//! The checks that come with `probe-core`, one per file.

pub mod http;
pub mod kafka_connect;
pub mod tcp;

pub use self::http::HttpCheck;
pub use self::kafka_connect::{ConnectConfigError, ConnectError, KafkaConnectCheck};
pub use self::tcp::TcpCheck;
