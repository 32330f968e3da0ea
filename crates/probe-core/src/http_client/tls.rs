//! TLS for `https://` targets (cargo feature `tls`).
//!
//! rustls on the ring provider, TLS 1.2 and 1.3, ALPN `http/1.1`, SNI from the URL's host
//! (none for an IP address, which is matched against the certificate's IP addresses).
//! Trusted: the system's certificate store, read once per process with rustls-native-certs
//! (the files named by `SSL_CERT_FILE` / `SSL_CERT_DIR` when either is set, otherwise the
//! bundle and directory OpenSSL would use, such as `/etc/ssl/certs`), plus the CA
//! certificates of one optional PEM file. Certificates are always verified: there is no
//! switch that turns verification off.
//!
//! A [`TlsConfig`] is built once and shared (it is an `Arc`) by every request made with it,
//! so a check's runs resume earlier sessions instead of a full handshake each time.

use std::fmt;
use std::path::{Path, PathBuf};

#[cfg(feature = "tls")]
use std::sync::{Arc, OnceLock};

#[cfg(feature = "tls")]
use rustls::pki_types::pem::PemObject;
#[cfg(feature = "tls")]
use rustls::pki_types::{CertificateDer, ServerName};
#[cfg(feature = "tls")]
use rustls::{ClientConfig, RootCertStore};
#[cfg(feature = "tls")]
use tokio::net::TcpStream;

#[cfg(feature = "tls")]
use super::HttpError;
#[cfg(feature = "tls")]
use crate::text::io_reason;

/// What to trust beyond the system's certificate store.
///
/// ```
/// use probe_core::http_client::{TlsConfig, TlsOptions};
///
/// let options = TlsOptions::new().ca_file("/nonexistent/internal-ca.pem");
/// let err = TlsConfig::new(&options).unwrap_err();
/// # #[cfg(feature = "tls")]
/// assert_eq!(
///     err.to_string(),
///     "cannot read CA file /nonexistent/internal-ca.pem: no such file or directory"
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsOptions {
    /// A PEM file of CA certificates trusted in addition to the system's (an internal CA).
    pub ca_file: Option<PathBuf>,
    /// A client certificate chain (PEM) and its private key (PEM: PKCS#8, PKCS#1 or SEC1),
    /// presented to servers that ask for one (mutual TLS).
    pub client_identity: Option<(PathBuf, PathBuf)>,
}

impl TlsOptions {
    /// The system's certificate store only.
    pub fn new() -> Self {
        TlsOptions::default()
    }

    /// The same options also trusting the CA certificates in the PEM file at `path`.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// The same options presenting the certificate chain in `cert` and the private key in
    /// `key` (both PEM files) when a server asks for a client certificate.
    pub fn client_identity(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.client_identity = Some((cert.into(), key.into()));
        self
    }
}

/// Why a TLS client configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    /// The CA file cannot be read.
    #[error("cannot read CA file {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// A plain reason: no such file, permission denied...
        reason: String,
    },
    /// The CA file holds no certificate.
    #[error("CA file {path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    Empty {
        /// The file.
        path: String,
    },
    /// A PEM section of the CA file is malformed.
    #[error("CA file {path}: {reason}")]
    Pem {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A certificate of the CA file cannot be a trust anchor.
    #[error("CA file {path}: certificate {index} is not a usable X.509 certificate ({reason})")]
    Certificate {
        /// The file.
        path: String,
        /// Its position in the file, from 1.
        index: usize,
        /// What the parser said.
        reason: String,
    },
    /// The client certificate or key cannot be used.
    #[error("client identity {path}: {reason}")]
    Identity {
        /// The certificate or key file.
        path: String,
        /// What is wrong (never the key's content).
        reason: String,
    },
    /// The TLS library refused the settings.
    #[error("cannot set up TLS: {0}")]
    Setup(String),
    /// This build has no TLS.
    #[error("https needs TLS, which this build leaves out (probe-core feature `tls`)")]
    Unavailable,
}

/// A TLS client configuration for `https://` targets: the trusted CA certificates and the
/// protocol settings. Cheap to clone; build it once per check, not per request.
#[derive(Clone)]
pub struct TlsConfig {
    #[cfg(feature = "tls")]
    inner: Arc<Inner>,
    #[cfg(not(feature = "tls"))]
    never: std::convert::Infallible,
}

#[cfg(feature = "tls")]
struct Inner {
    client: Arc<ClientConfig>,
    trusted: usize,
    ca_file: Option<PathBuf>,
}

// === impl TlsConfig ===

impl TlsConfig {
    /// The system's certificate store only, loaded once per process and shared.
    pub fn system() -> Result<TlsConfig, TlsConfigError> {
        #[cfg(feature = "tls")]
        {
            static SYSTEM: OnceLock<Result<TlsConfig, String>> = OnceLock::new();
            SYSTEM
                .get_or_init(|| build(system_roots().clone(), None).map_err(|e| e.to_string()))
                .clone()
                .map_err(TlsConfigError::Setup)
        }
        #[cfg(not(feature = "tls"))]
        Err(TlsConfigError::Unavailable)
    }

    /// The system's certificate store plus what `options` adds. A CA file that is missing,
    /// unreadable, empty or malformed is an error.
    pub fn new(options: &TlsOptions) -> Result<TlsConfig, TlsConfigError> {
        #[cfg(feature = "tls")]
        {
            if options.ca_file.is_none() && options.client_identity.is_none() {
                return TlsConfig::system();
            }
            let mut roots = system_roots().clone();
            if let Some(path) = &options.ca_file {
                add_ca_file(&mut roots, path)?;
            }
            let identity = match &options.client_identity {
                Some((cert, key)) => Some(read_identity(cert, key)?),
                None => None,
            };
            build_with(roots, options.ca_file.clone(), identity)
        }
        #[cfg(not(feature = "tls"))]
        {
            let _ = options;
            Err(TlsConfigError::Unavailable)
        }
    }

    /// How many CA certificates are trusted (the system's and the CA file's).
    pub fn trusted(&self) -> usize {
        #[cfg(feature = "tls")]
        return self.inner.trusted;
        #[cfg(not(feature = "tls"))]
        match self.never {}
    }

    /// The extra CA file, if any.
    pub fn ca_file(&self) -> Option<&Path> {
        #[cfg(feature = "tls")]
        return self.inner.ca_file.as_deref();
        #[cfg(not(feature = "tls"))]
        match self.never {}
    }
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("trusted", &self.trusted())
            .field("ca_file", &self.ca_file())
            .finish()
    }
}

#[cfg(feature = "tls")]
fn build(roots: RootCertStore, ca_file: Option<PathBuf>) -> Result<TlsConfig, TlsConfigError> {
    build_with(roots, ca_file, None)
}

/// A client certificate chain and its key.
#[cfg(feature = "tls")]
type Identity = (
    Vec<CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
);

#[cfg(feature = "tls")]
fn read_identity(cert: &Path, key: &Path) -> Result<Identity, TlsConfigError> {
    use rustls::pki_types::PrivateKeyDer;
    let failed = |path: &Path, reason: String| TlsConfigError::Identity {
        path: path.display().to_string(),
        reason,
    };
    let pem = std::fs::read(cert).map_err(|e| failed(cert, io_reason(&e)))?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| failed(cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(failed(
            cert,
            "holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    let pem = std::fs::read(key).map_err(|e| failed(key, io_reason(&e)))?;
    let key_der = PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|_| failed(key, "holds no PEM private key".into()))?;
    Ok((chain, key_der))
}

#[cfg(feature = "tls")]
fn build_with(
    roots: RootCertStore,
    ca_file: Option<PathBuf>,
    identity: Option<Identity>,
) -> Result<TlsConfig, TlsConfigError> {
    let trusted = roots.len();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsConfigError::Setup(e.to_string()))?
        .with_root_certificates(roots);
    let mut client = match identity {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| TlsConfigError::Setup(format!("client certificate: {e}")))?,
    };
    client.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConfig {
        inner: Arc::new(Inner {
            client: Arc::new(client),
            trusted,
            ca_file,
        }),
    })
}

/// The system's CA certificates, read once per process. Unreadable entries are logged and
/// skipped; an empty store is logged, and handshakes then say that nothing is trusted.
#[cfg(feature = "tls")]
fn system_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for error in &found.errors {
            tracing::warn!("system CA certificates: {error}");
        }
        let mut roots = RootCertStore::empty();
        let (added, ignored) = roots.add_parsable_certificates(found.certs);
        if ignored > 0 {
            tracing::debug!("system CA certificates: {ignored} unusable ones skipped");
        }
        if added == 0 {
            tracing::warn!(
                "no system CA certificates found (install ca-certificates, or set SSL_CERT_FILE or a CA file): https targets will fail"
            );
        }
        roots
    })
}

#[cfg(feature = "tls")]
fn add_ca_file(roots: &mut RootCertStore, path: &Path) -> Result<(), TlsConfigError> {
    let shown = path.display().to_string();
    let pem = std::fs::read(path).map_err(|e| TlsConfigError::Read {
        path: shown.clone(),
        reason: io_reason(&e),
    })?;
    let mut count = 0;
    for (i, cert) in CertificateDer::pem_slice_iter(&pem).enumerate() {
        let cert = cert.map_err(|e| TlsConfigError::Pem {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        roots.add(cert).map_err(|e| TlsConfigError::Certificate {
            path: shown.clone(),
            index: i + 1,
            reason: certificate_reason(&e),
        })?;
        count += 1;
    }
    if count == 0 {
        return Err(TlsConfigError::Empty { path: shown });
    }
    Ok(())
}

#[cfg(feature = "tls")]
fn certificate_reason(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(c) => format!("{c:?}"),
        other => other.to_string(),
    }
}

/// The name the server's certificate must carry: a DNS name, or an IP address.
#[cfg(feature = "tls")]
pub(super) fn server_name(host: &str) -> Option<ServerName<'static>> {
    ServerName::try_from(host.to_owned()).ok()
}

/// Runs the TLS handshake over `stream`, verifying the certificate against `host`.
#[cfg(feature = "tls")]
pub(super) async fn handshake(
    config: &TlsConfig,
    host: &str,
    addr: &str,
    stream: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, HttpError> {
    let failed = |reason: String| HttpError::Tls {
        addr: addr.to_owned(),
        reason,
    };
    let name =
        server_name(host).ok_or_else(|| failed(format!("`{host}` is not a valid server name")))?;
    tokio_rustls::TlsConnector::from(config.inner.client.clone())
        .connect(name, stream)
        .await
        .map_err(|e| failed(handshake_reason(&e, config.trusted())))
}

/// A plain reason for a failed handshake: rustls's own words, with a hint where the cause
/// is usually elsewhere.
#[cfg(feature = "tls")]
fn handshake_reason(e: &std::io::Error, trusted: usize) -> String {
    use rustls::{CertificateError, Error, InvalidMessage};
    match e.get_ref().and_then(|inner| inner.downcast_ref::<Error>()) {
        Some(Error::InvalidMessage(InvalidMessage::InvalidContentType)) => {
            "the server did not answer in TLS (is it plain http?)".to_owned()
        }
        Some(err @ Error::InvalidCertificate(CertificateError::UnknownIssuer)) if trusted == 0 => {
            format!("{err} (no CA certificate is trusted: the system store is empty and no CA file is set)")
        }
        Some(err) => err.to_string(),
        None => io_reason(e),
    }
}

#[cfg(all(test, feature = "tls"))]
mod tests {
    use super::*;

    #[test]
    fn ip_addresses_and_dns_names_are_server_names() {
        assert!(matches!(
            server_name("127.0.0.1"),
            Some(ServerName::IpAddress(_))
        ));
        assert!(matches!(server_name("::1"), Some(ServerName::IpAddress(_))));
        assert!(matches!(
            server_name("connect.internal"),
            Some(ServerName::DnsName(_))
        ));
        assert!(server_name("bad name").is_none());
    }

    #[test]
    fn ca_files_must_hold_certificates() {
        let dir = std::env::temp_dir().join(format!("probe-core-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = TlsConfig::new(&TlsOptions::new().ca_file(&empty)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "CA file {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                empty.display()
            )
        );
        let garbage = dir.join("garbage.pem");
        std::fs::write(
            &garbage,
            "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let err = TlsConfig::new(&TlsOptions::new().ca_file(&garbage)).unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "CA file {}: certificate 1 is not a usable X.509 certificate",
                garbage.display()
            )),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_system_store_is_loaded_once_and_shared() {
        let a = TlsConfig::system().unwrap();
        let b = TlsConfig::new(&TlsOptions::new()).unwrap();
        assert!(Arc::ptr_eq(&a.inner, &b.inner));
        assert_eq!(a.ca_file(), None);
    }
}
