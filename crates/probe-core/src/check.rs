//! The check trait, its outcome, and a closure adapter for embedders.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::{Attachment, Scope, Status};

/// A boxed, sendable future: what [`Check::check`] returns, so the trait stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What one run of a check found.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Pass, warn or fail.
    pub status: Status,
    /// A short, human sentence: why it failed, or what it saw.
    pub message: Option<String>,
    /// Optional structured details (JSON), e.g. the versions a check compared.
    pub details: Option<Value>,
    /// An optional typed value for endpoints that need the check's own result; see
    /// [`Attachment`].
    pub attachment: Option<Attachment>,
}

impl Outcome {
    /// A passing outcome with no message.
    pub fn pass() -> Self {
        Outcome {
            status: Status::Pass,
            message: None,
            details: None,
            attachment: None,
        }
    }

    /// A degraded outcome with a message.
    pub fn warn(message: impl Into<String>) -> Self {
        Outcome {
            status: Status::Warn,
            message: Some(message.into()),
            details: None,
            attachment: None,
        }
    }

    /// A failed outcome with a message saying why.
    pub fn fail(message: impl Into<String>) -> Self {
        Outcome {
            status: Status::Fail,
            message: Some(message.into()),
            details: None,
            attachment: None,
        }
    }

    /// The same outcome with `message`.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// The same outcome with structured `details`.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The same outcome carrying `value` to the reports of this run; see [`Attachment`].
    pub fn with_attachment<T: std::any::Any + Send + Sync>(mut self, value: T) -> Self {
        self.attachment = Some(Attachment::new(value));
        self
    }
}

/// One named unit of health: it looks at something and returns an [`Outcome`].
///
/// The name is given when the check is registered, so one implementation can be
/// registered several times (two databases, say). Implementations need not bound
/// their own time: the engine runs every check under its policy's timeout, and a
/// panic inside `check` is reported as a failed check.
///
/// ```
/// use probe_core::{BoxFuture, Check, Outcome, Scope};
///
/// struct QueueDepth(std::sync::atomic::AtomicUsize);
///
/// impl Check for QueueDepth {
///     fn scope(&self) -> Scope { Scope::Local }
///     fn check(&self) -> BoxFuture<'_, Outcome> {
///         Box::pin(async move {
///             match self.0.load(std::sync::atomic::Ordering::Relaxed) {
///                 n if n > 10_000 => Outcome::fail(format!("{n} jobs queued")),
///                 n if n > 1_000 => Outcome::warn(format!("{n} jobs queued")),
///                 _ => Outcome::pass(),
///             }
///         })
///     }
/// }
/// ```
pub trait Check: Send + Sync + 'static {
    /// Whether this check looks only at this process or at another system.
    fn scope(&self) -> Scope;

    /// Runs the check once.
    fn check(&self) -> BoxFuture<'_, Outcome>;
}

/// A check made from a closure; see [`from_fn`].
pub struct FnCheck<F> {
    scope: Scope,
    f: F,
}

/// Makes a check from a closure that returns a future of an [`Outcome`].
///
/// ```
/// use probe_core::{from_fn, Outcome, Scope};
/// let check = from_fn(Scope::Local, || async { Outcome::pass() });
/// ```
pub fn from_fn<F, Fut>(scope: Scope, f: F) -> FnCheck<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    FnCheck { scope, f }
}

impl<F> std::fmt::Debug for FnCheck<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnCheck")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl<F, Fut> Check for FnCheck<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    fn scope(&self) -> Scope {
        self.scope
    }

    fn check(&self) -> BoxFuture<'_, Outcome> {
        Box::pin((self.f)())
    }
}

impl<C: Check + ?Sized> Check for std::sync::Arc<C> {
    fn scope(&self) -> Scope {
        (**self).scope()
    }

    fn check(&self) -> BoxFuture<'_, Outcome> {
        (**self).check()
    }
}

impl<C: Check + ?Sized> Check for Box<C> {
    fn scope(&self) -> Scope {
        (**self).scope()
    }

    fn check(&self) -> BoxFuture<'_, Outcome> {
        (**self).check()
    }
}
