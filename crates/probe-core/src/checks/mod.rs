//! The checks that come with `probe-core`, one per file.

pub mod http;
pub mod tcp;

pub use self::http::HttpCheck;
pub use self::tcp::TcpCheck;
