//! A typed value a check hands over with its outcome, for an endpoint that needs more
//! than a status and a message.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// A value a check attaches to its [`Outcome`](crate::Outcome), carried unchanged to
/// every [`CheckReport`](crate::CheckReport) of that run — including reports served from
/// the reuse window and reports of callers that joined the run in flight.
///
/// The engine never looks inside: an attachment is how a custom endpoint gets the
/// check's own typed result while still sharing the engine's single-flight, reuse window
/// and timeout. The `connect` dialect of `probe-http` reads the Kafka Connect verdict this
/// way. Cloning is cheap (one reference count).
///
/// ```
/// use probe_core::{Attachment, Outcome};
///
/// let outcome = Outcome::pass().with_attachment(vec![3_u32, 4]);
/// let attached = outcome.attachment.expect("attached");
/// assert_eq!(attached.downcast_ref::<Vec<u32>>(), Some(&vec![3, 4]));
/// assert!(attached.downcast_ref::<String>().is_none());
/// ```
#[derive(Clone)]
pub struct Attachment(Arc<dyn Any + Send + Sync>);

impl Attachment {
    /// Wraps `value`.
    pub fn new<T: Any + Send + Sync>(value: T) -> Self {
        Attachment(Arc::new(value))
    }

    /// The value, if it is a `T`.
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref::<T>()
    }
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Attachment(..)")
    }
}

/// Two attachments are equal when they are the same value (one run's), not merely equal
/// values: the engine cannot compare what it cannot see.
impl PartialEq for Attachment {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_value_and_compare_equal() {
        let a = Attachment::new(String::from("verdict"));
        let b = a.clone();
        assert_eq!(a, b);
        assert_ne!(a, Attachment::new(String::from("verdict")));
        assert_eq!(
            b.downcast_ref::<String>().map(String::as_str),
            Some("verdict")
        );
        assert_eq!(format!("{a:?}"), "Attachment(..)");
    }
}
