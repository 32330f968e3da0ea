//! The checks that come with `probe-core`, one per file.

pub mod http;
pub mod kafka;
pub mod tcp;

pub use self::http::HttpCheck;
pub use self::kafka::KafkaCheck;
pub use self::tcp::TcpCheck;
