//! `tcp`: a dependency is up when its port accepts a connection.

use tokio::net::TcpStream;

use crate::text::io_reason;
use crate::{BoxFuture, Check, Outcome, Scope};

/// Connects to `host:port`; passes when the connection is accepted.
///
/// ```
/// use probe_core::checks::TcpCheck;
/// let db = TcpCheck::new("127.0.0.1:5432");
/// ```
#[derive(Clone, Debug)]
pub struct TcpCheck {
    address: String,
}

impl TcpCheck {
    /// A check of `address` (`host:port`, a name or an IP literal; `[::1]:80` for IPv6).
    pub fn new(address: impl Into<String>) -> Self {
        TcpCheck {
            address: address.into(),
        }
    }
}

impl Check for TcpCheck {
    fn scope(&self) -> Scope {
        Scope::Dependency
    }

    fn check(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            match TcpStream::connect(self.address.as_str()).await {
                Ok(_) => Outcome::pass().with_message(format!("connected to {}", self.address)),
                Err(e) => Outcome::fail(format!(
                    "cannot connect to {}: {}",
                    self.address,
                    io_reason(&e)
                )),
            }
        })
    }
}
