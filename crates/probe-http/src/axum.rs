//! The probes in an axum 0.8 application (cargo feature `axum`).
//!
//! [`router`] turns a [`ProbeService`] into a `Router` holding the probe routes of its
//! dialects (each dialect's [`routes`](crate::Dialect::routes), under the service's path
//! prefix); the application merges it into its own with one line:
//!
//! ```
//! use axum::routing::get;
//! use axum::Router;
//! use probe_core::Health;
//! use probe_http::{Kubernetes, ProbeService};
//!
//! async fn hello() -> &'static str {
//!     "hello\n"
//! }
//!
//! let health = Health::builder().build().unwrap();
//! let probes = ProbeService::builder().dialect(Kubernetes::new(health)).build();
//! let app: Router = Router::new()
//!     .route("/", get(hello))
//!     .merge(probe_http::axum::router(probes));
//! ```
//!
//! Every method of a probe path goes to the service, so the probes keep the library's
//! answers: 405 with `Allow: GET, HEAD` for other methods, 404 for an unknown check name
//! (`/readyz/nosuch`). Every other path stays the application's: its routes, its fallback,
//! or axum's empty 404.
//!
//! Serve the application with `into_make_service_with_connect_info::<SocketAddr>()`: the
//! service reads the client's address from axum's `ConnectInfo<SocketAddr>`, so under the
//! default details policy loopback clients see why a check fails. Without it every client
//! counts as remote and reads `reason withheld`.
//!
//! `ProbeService` is also a tower `Service`, so axum's other ways of mounting one work too:
//! `nest_service("/health", probes)` sends every path under `/health` to it (with the
//! prefix stripped), and `fallback_service(probes)` every path the application has no
//! route for; in both the service answers the paths it does not know with its own 404
//! (`not found`).

use ::axum::Router;

use crate::ProbeService;

/// The probe routes of `service` as a router, to [`merge`](Router::merge) into an
/// application's: each path pattern of its dialects, under its path prefix, sent to
/// `service` whatever the method. A dialect listing no routes is not reached this way;
/// mount such a service with `nest_service` or `fallback_service`.
///
/// # Panics
///
/// At the merge, as axum's `merge` does, when the application already routes one of
/// the probe paths.
pub fn router<S>(service: ProbeService) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    service
        .route_patterns()
        .iter()
        .fold(Router::new(), |router, pattern| {
            router.route_service(pattern, service.clone())
        })
}

#[cfg(test)]
mod tests {
    use probe_core::Health;

    use crate::{Kpow, Kubernetes, ProbeService};

    fn health() -> Health {
        Health::builder().build().unwrap()
    }

    #[test]
    fn patterns_are_each_dialects_routes_under_the_prefix_once() {
        let service = ProbeService::builder()
            .path_prefix("/health/")
            .dialect(Kubernetes::new(health()))
            .dialect(Kpow::new(health()))
            .dialect(Kubernetes::new(health()))
            .build();
        assert_eq!(
            service.route_patterns(),
            [
                "/health/livez",
                "/health/livez/{*check}",
                "/health/readyz",
                "/health/readyz/{*check}",
                "/health/startupz",
                "/health/startupz/{*check}",
                "/health/statusz",
                "/health/healthy",
                "/health/up",
            ]
        );
    }

    /// A dialect claiming the root, as the `connect` dialect does.
    struct Root;

    impl crate::Dialect for Root {
        fn name(&self) -> &'static str {
            "root"
        }
        fn answer<'a>(
            &'a self,
            _req: crate::Req<'a>,
        ) -> Option<probe_core::BoxFuture<'a, crate::Response>> {
            None
        }
        fn routes(&self) -> &'static [&'static str] {
            &["/", "/ping"]
        }
    }

    #[test]
    fn the_root_route_is_the_prefix_with_and_without_a_slash() {
        let service = ProbeService::builder()
            .path_prefix("/connect")
            .fallback(Root)
            .build();
        assert_eq!(
            service.route_patterns(),
            ["/connect", "/connect/", "/connect/ping"]
        );
        let service = ProbeService::builder().fallback(Root).build();
        assert_eq!(service.route_patterns(), ["/", "/ping"]);
    }

    /// A dialect of an embedder's that lists no routes.
    struct Unlisted;

    impl crate::Dialect for Unlisted {
        fn name(&self) -> &'static str {
            "unlisted"
        }
        fn answer<'a>(
            &'a self,
            _req: crate::Req<'a>,
        ) -> Option<probe_core::BoxFuture<'a, crate::Response>> {
            None
        }
    }

    #[test]
    fn a_dialect_listing_no_routes_adds_none() {
        let service = ProbeService::builder()
            .dialect(Unlisted)
            .dialect(Kpow::new(health()))
            .build();
        assert_eq!(service.route_patterns(), ["/healthy", "/up"]);
    }
}
