//! TLS termination for the sandbox and production fronts, with optional client certificates
//! (RFC 8705 mutual TLS), and client certificates forwarded by a trusted proxy.
//!
//! The listener asks every client for a certificate but never insists: the token endpoint's
//! other methods (client secrets) keep working without one. Any well-formed certificate is
//! accepted — the handshake itself proves the client holds its key, which is all
//! `self_signed_tls_client_auth` needs — and whether it chains to `PORTICO_TLS_CLIENT_CA` is
//! recorded beside it ([`ClientCertificate::ca_verified`]) for `tls_client_auth`. rustls' own
//! client verifier cannot accept "any certificate, and tell me whether it chains", hence
//! [`AnyClientCertificate`].

use crate::fronts::Front;
use anyhow::Context as _;
use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderName;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use portico_core::tokens::mtls::{self, ClientCertificate};
use portico_sandbox::client_ip::Cidr;
use rustls::DistinguishedName;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ParsedCertificate, WebPkiClientVerifier};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt as _;

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The CAs whose certificates serve `tls_client_auth` (`PORTICO_TLS_CLIENT_CA`).
#[derive(Clone)]
pub struct ClientCa {
    verifier: Arc<dyn ClientCertVerifier>,
    count: usize,
}

impl std::fmt::Debug for ClientCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientCa({} certificates)", self.count)
    }
}

impl ClientCa {
    /// Reads a PEM bundle of CA certificates.
    pub fn load(path: &Path) -> Result<Self, String> {
        let certs = read_certificates(path)?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in &certs {
            roots
                .add(cert.clone())
                .map_err(|e| format!("a CA certificate cannot be used: {e}"))?;
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .allow_unauthenticated()
            .build()
            .map_err(|e| format!("the CA certificates cannot be used: {e}"))?;
        Ok(Self {
            verifier,
            count: certs.len(),
        })
    }

    /// Whether `end_entity` (with the `intermediates` the client sent) chains to one of these
    /// CAs, is valid now and allowed for client authentication.
    pub fn verifies(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
    ) -> bool {
        self.verifier
            .verify_client_cert(end_entity, intermediates, UnixTime::now())
            .is_ok()
    }
}

/// A TLS listener's configuration (`PORTICO_TLS_CERT`, `PORTICO_TLS_KEY`).
#[derive(Clone)]
pub struct TlsServer {
    config: Arc<rustls::ServerConfig>,
    client_ca: Option<ClientCa>,
}

impl std::fmt::Debug for TlsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsServer")
            .field("client_ca", &self.client_ca)
            .finish_non_exhaustive()
    }
}

/// Why the certificate or key file cannot be used, and which of the two it is.
#[derive(Debug)]
pub enum TlsFileError {
    Certificate(String),
    Key(String),
}

impl TlsServer {
    pub fn load(
        cert: &Path,
        key: &Path,
        client_ca: Option<ClientCa>,
    ) -> Result<Self, TlsFileError> {
        let chain = read_certificates(cert).map_err(TlsFileError::Certificate)?;
        let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
            TlsFileError::Key(format!("no readable PEM private key in the file ({e})"))
        })?;
        let verifier = Arc::new(AnyClientCertificate {
            algorithms: provider().signature_verification_algorithms,
        });
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsFileError::Certificate(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .map_err(|e| {
                TlsFileError::Key(format!("the key cannot be used with the certificate: {e}"))
            })?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            config: Arc::new(config),
            client_ca,
        })
    }
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    std::fs::metadata(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read the file: {e}"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM certificate file: {e}"))?;
    if certs.is_empty() {
        return Err("no PEM certificate in the file".to_owned());
    }
    for cert in &certs {
        ParsedCertificate::try_from(cert)
            .map_err(|e| format!("a certificate in the file cannot be read: {e}"))?;
    }
    Ok(certs)
}

/// Asks for a client certificate, never requires one, accepts any well-formed one: the
/// handshake signature (checked here as usual) proves its key; what it is worth is decided
/// later (CA chain for `tls_client_auth`, pinning for `self_signed_tls_client_auth`).
#[derive(Debug)]
struct AnyClientCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCertificate {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    /// No hints: a self-signed certificate is as welcome as a CA-issued one.
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        ParsedCertificate::try_from(end_entity)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Client certificates forwarded by a TLS-terminating proxy in a header
/// (`PORTICO_CLIENT_CERT_HEADER`): believed only from `PORTICO_TRUSTED_PROXIES`, removed from
/// every request either way.
#[derive(Clone, Debug)]
pub struct ForwardedCertificates {
    pub header: HeaderName,
    pub trusted_proxies: Arc<Vec<Cidr>>,
    /// Forwarded certificates count as CA-issued only if they chain to these CAs.
    pub client_ca: Option<ClientCa>,
}

impl ForwardedCertificates {
    /// Takes the header off `request`; from a trusted peer (and on a connection that did not
    /// present a certificate itself), its certificate becomes the request's.
    pub fn apply(&self, request: &mut Request, peer: SocketAddr) {
        let values: Vec<_> = request
            .headers_mut()
            .get_all(&self.header)
            .iter()
            .cloned()
            .collect();
        if values.is_empty() {
            return;
        }
        request.headers_mut().remove(&self.header);
        let peer = peer.ip().to_canonical();
        if !self.trusted_proxies.iter().any(|c| c.contains(peer))
            || request.extensions().get::<ClientCertificate>().is_some()
        {
            return;
        }
        // Several values are ambiguous: none is believed.
        let [value] = values.as_slice() else {
            return;
        };
        let Some(der) = value
            .to_str()
            .ok()
            .and_then(mtls::parse_forwarded_certificate)
        else {
            tracing::debug!("a forwarded client certificate could not be read; ignored");
            return;
        };
        let ca_verified = self
            .client_ca
            .as_ref()
            .is_some_and(|ca| ca.verifies(&CertificateDer::from(der.as_slice()), &[]));
        request
            .extensions_mut()
            .insert(ClientCertificate::new(der, ca_verified));
    }
}

/// Serves `app` on `listener`: over TLS when `tls` is given, reading forwarded certificates
/// when `forwarded` is. Stops accepting when `shutdown` turns true and lets open connections
/// finish (the caller bounds how long).
pub async fn serve(
    front: &'static str,
    listener: TcpListener,
    app: Front,
    tls: Option<TlsServer>,
    forwarded: Option<ForwardedCertificates>,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let acceptor = tls
        .as_ref()
        .map(|t| tokio_rustls::TlsAcceptor::from(t.config.clone()));
    let client_ca = tls.and_then(|t| t.client_ca);
    let forwarded = forwarded.map(Arc::new);
    let graceful = GracefulShutdown::new();
    let stop = async move {
        while !*shutdown.borrow_and_update() {
            if shutdown.changed().await.is_err() {
                break;
            }
        }
    };
    tokio::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    tracing::warn!(front, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        let forwarded = forwarded.clone();
        let client_ca = client_ca.clone();
        let acceptor = acceptor.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let builder = auto::Builder::new(TokioExecutor::new());
            match acceptor {
                Some(acceptor) => {
                    let stream =
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                            Ok(Ok(stream)) => stream,
                            Ok(Err(e)) => {
                                tracing::debug!(front, %peer, error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => return,
                        };
                    let certificate = stream.get_ref().1.peer_certificates().and_then(|chain| {
                        let (end_entity, intermediates) = chain.split_first()?;
                        let ca_verified = client_ca
                            .as_ref()
                            .is_some_and(|ca| ca.verifies(end_entity, intermediates));
                        Some(ClientCertificate::new(end_entity.to_vec(), ca_verified))
                    });
                    let service = connection_service(app, peer, certificate, forwarded);
                    let connection =
                        builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    let _ = watcher.watch(connection.into_owned()).await;
                }
                None => {
                    let service = connection_service(app, peer, None, forwarded);
                    let connection =
                        builder.serve_connection_with_upgrades(TokioIo::new(tcp), service);
                    let _ = watcher.watch(connection.into_owned()).await;
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// One connection's requests: the peer address (as `axum::serve` gives it), the
/// connection's certificate and the forwarded one go into each request's extensions.
fn connection_service(
    app: Front,
    peer: SocketAddr,
    certificate: Option<ClientCertificate>,
    forwarded: Option<Arc<ForwardedCertificates>>,
) -> hyper_util::service::TowerToHyperService<
    impl tower::Service<
        hyper::Request<hyper::body::Incoming>,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
        Future = impl Send,
    > + Clone
    + Send,
> {
    let service = tower::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
        let mut request = request.map(axum::body::Body::new);
        request.extensions_mut().insert(ConnectInfo(peer));
        if let Some(certificate) = &certificate {
            request.extensions_mut().insert(certificate.clone());
        }
        if let Some(forwarded) = &forwarded {
            forwarded.apply(&mut request, peer);
        }
        app.clone().oneshot(request)
    });
    hyper_util::service::TowerToHyperService::new(service)
}

/// `serve` with the reason attached, for the front's task.
pub async fn serve_front(
    front: &'static str,
    listener: TcpListener,
    app: Front,
    tls: Option<TlsServer>,
    forwarded: Option<ForwardedCertificates>,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(front, %addr, tls = tls.is_some(), "listening");
    serve(front, listener, app, tls, forwarded, shutdown)
        .await
        .with_context(|| format!("{front} front failed"))
}
