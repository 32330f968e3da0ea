//! TLS for the stand-ins: a certificate authority made at test time and the server
//! certificates it signs, so tests reach [`Upstream`](crate::upstream::Upstream) and
//! [`FakeConnect`](crate::connect::FakeConnect) over `https://` the way a client reaches a
//! server with an internal CA: by trusting the CA's PEM file.
//!
//! ```
//! use probe_testkit::tls::TestCa;
//!
//! let ca = TestCa::new();
//! let server = ca.server(&["127.0.0.1", "localhost"]);
//! let pem = std::fs::read_to_string(server.ca_file()).unwrap();
//! assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
//! ```

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// How long a client may take over its handshake before the stand-in drops it.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A certificate authority for one test: a fresh key, its self-signed certificate, and that
/// certificate written to a PEM file (removed when the last clone is dropped).
#[derive(Clone)]
pub struct TestCa(Arc<CaInner>);

struct CaInner {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
    file: PathBuf,
}

impl TestCa {
    /// A new CA (ECDSA P-256), its certificate written to a temporary PEM file.
    pub fn new() -> TestCa {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}-{n}", std::process::id());
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // Each CA its own name, as separate CAs have: a client trusting another one finds
        // no issuer rather than a signature that does not match.
        params
            .distinguished_name
            .push(DnType::CommonName, format!("probe test CA {id}"));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("generate a CA key");
        let cert = params.self_signed(&key).expect("self-sign the CA");
        let pem = cert.pem();
        let file = std::env::temp_dir().join(format!("probe-testkit-ca-{id}.pem"));
        std::fs::write(&file, &pem).expect("write the CA's PEM file");
        TestCa(Arc::new(CaInner {
            issuer: Issuer::new(params, key),
            pem,
            file,
        }))
    }

    /// The CA's certificate, PEM-encoded.
    pub fn pem(&self) -> &str {
        &self.0.pem
    }

    /// The PEM file holding the CA's certificate: what a client is given as `ca_file`.
    pub fn ca_file(&self) -> &Path {
        &self.0.file
    }

    /// A client identity signed by this CA, written to two temporary PEM files (the
    /// certificate and its PKCS#8 key), for mutual TLS: `(certificate, key)`.
    pub fn client(&self, name: &str) -> (PathBuf, PathBuf) {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("client params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate().expect("generate a client key");
        let cert = params
            .signed_by(&key, &self.0.issuer)
            .expect("sign the client certificate");
        let base =
            std::env::temp_dir().join(format!("probe-testkit-client-{}-{n}", std::process::id()));
        let (cert_file, key_file) = (base.with_extension("crt"), base.with_extension("key"));
        std::fs::write(&cert_file, cert.pem()).expect("write the client certificate");
        std::fs::write(&key_file, key.serialize_pem()).expect("write the client key");
        (cert_file, key_file)
    }

    /// Like [`TestCa::server`], but the handshake requires a client certificate signed by
    /// `clients` (mutual TLS).
    pub fn server_requiring_clients(&self, names: &[&str], clients: &TestCa) -> TlsServer {
        let mut server = self.server(names);
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(clients.pem().as_bytes()) {
            roots.add(cert.expect("client CA PEM")).expect("client CA");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .expect("client verifier");
        let (chain, key) = (server.identity.0.clone(), server.identity.1.clone_key());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .expect("server certificate and key");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        server.acceptor = TlsAcceptor::from(Arc::new(config));
        server
    }

    /// A server identity for `names` (IP addresses or DNS names), signed by this CA.
    pub fn server(&self, names: &[&str]) -> TlsServer {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).expect("server names");
        params
            .distinguished_name
            .push(DnType::CommonName, "probe test server");
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().expect("generate a server key");
        let cert = params
            .signed_by(&key, &self.0.issuer)
            .expect("sign the server certificate");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let chain: Vec<CertificateDer<'static>> = vec![cert.der().clone()];
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(chain.clone(), key.clone_key())
            .expect("server certificate and key");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        TlsServer {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            ca: self.clone(),
            identity: Arc::new((chain, key)),
        }
    }
}

impl Default for TestCa {
    fn default() -> Self {
        TestCa::new()
    }
}

impl Drop for CaInner {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
    }
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa")
            .field("ca_file", &self.0.file)
            .finish()
    }
}

/// A server's TLS identity: its certificate and key, and the CA that signed them.
#[derive(Clone)]
pub struct TlsServer {
    acceptor: TlsAcceptor,
    ca: TestCa,
    identity: Arc<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
}

impl TlsServer {
    /// A fresh CA and a certificate for `127.0.0.1`, `::1` and `localhost`: what a stand-in
    /// on loopback serves unless a test needs another name.
    pub fn localhost() -> TlsServer {
        TestCa::new().server(&["127.0.0.1", "::1", "localhost"])
    }

    /// The CA that signed this identity.
    pub fn ca(&self) -> &TestCa {
        &self.ca
    }

    /// The PEM file of the CA that signed this identity.
    pub fn ca_file(&self) -> &Path {
        self.ca.ca_file()
    }

    /// Runs the server side of the handshake on `stream`, within 10 s.
    pub async fn accept(&self, stream: TcpStream) -> io::Result<TlsStream<TcpStream>> {
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(stream)).await {
            Ok(result) => result,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "TLS handshake timed out",
            )),
        }
    }
}

impl std::fmt::Debug for TlsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsServer").field("ca", &self.ca).finish()
    }
}
