//! The check types that look at a file: `file-age` (a liveness file touched while a loop
//! turns) and `file-exists` (a readiness file).

use probe_core::checks::{FileAgeCheck, FileExistsCheck, StorageCheck};
use probe_http::StandsFor;

use super::built::Built;
use super::{ConfigError, Fields};

/// `file-age`: `path` and `max_age` (both required). This `max_age` is the file's, not
/// the policy's staleness limit.
pub(super) fn file_age(f: &mut Fields) -> Result<Built, ConfigError> {
    let path = path(f)?;
    let max_age = f
        .duration("max_age")?
        .ok_or_else(|| f.error("max_age", "missing (required)"))?;
    Ok(Built::one(FileAgeCheck::new(path, max_age)))
}

/// `file-exists`: `path` (required).
pub(super) fn file_exists(f: &mut Fields) -> Result<Built, ConfigError> {
    Ok(Built::one(FileExistsCheck::new(path(f)?)))
}

/// `storage`: `path` (required), a directory that must take, return and release a
/// file; stands for django-health-check's storage check.
pub(super) fn storage(f: &mut Fields) -> Result<Built, ConfigError> {
    Ok(Built::one(StorageCheck::new(path(f)?)).standing_for(StandsFor::Storage))
}

/// `path`: required, and not empty (an empty path names no file, so it could never pass).
fn path(f: &mut Fields) -> Result<String, ConfigError> {
    let path = f.required_string("path")?;
    if path.is_empty() {
        return Err(f.error(
            "path",
            "empty (write the file's path, e.g. \"/tmp/worker.live\")",
        ));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use probe_core::{Probe, Scope};

    use crate::config::testing::{one, refused};

    #[test]
    fn file_checks_take_a_path_and_file_age_its_max_age() {
        let c = one("type = \"file-age\"\npath = \"/tmp/w.live\"\nmax_age = \"70s\"\nprobes = [\"liveness\"]")
            .unwrap();
        assert_eq!(c.check.scope(), Scope::Local);
        assert_eq!(c.probes, [Probe::Liveness]);
        // max_age is the file's, not the policy's staleness limit.
        assert_eq!(c.policy.max_age, None);
        let e = refused("type = \"file-age\"\npath = \"/tmp/w.live\"");
        assert_eq!(e, "check[0] \"c\".max_age: missing (required)");
        let e = refused("type = \"file-exists\"");
        assert_eq!(e, "check[0] \"c\".path: missing (required)");
        let e = refused("type = \"file-age\"\npath = \"\"\nmax_age = \"70s\"");
        assert!(e.starts_with("check[0] \"c\".path: empty"), "{e}");
        let e = refused("type = \"file-exists\"\npath = \"\"");
        assert!(e.starts_with("check[0] \"c\".path: empty"), "{e}");
        let c = one("type = \"file-exists\"\npath = \"/tmp/ready\"\nmax_age = \"5s\"").unwrap();
        assert_eq!(c.policy.max_age, Some(Duration::from_secs(5)));
    }
}
