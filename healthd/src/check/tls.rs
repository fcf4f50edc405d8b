//! TLS client configuration for https checks (rustls, ring provider).
//!
//! With verification on, the server certificate must chain to the CA file given (or to the
//! system trust store) and carry the SNI name, or the target's IP address when no name is set.
//! With verification off, any certificate is accepted but the handshake signatures are still
//! checked, so a broken TLS stack on the real server still fails the check.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::spec::TlsProbe;

fn provider() -> Arc<CryptoProvider> {
    static P: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The system trust store, read once.
fn system_roots() -> Arc<RootCertStore> {
    static R: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    R.get_or_init(|| {
        let mut store = RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::warn!(error = %e, "could not load part of the system trust store");
        }
        let (_added, _ignored) = store.add_parsable_certificates(found.certs);
        Arc::new(store)
    })
    .clone()
}

/// Build the client side of an https check.
pub fn build(
    server_name: Option<String>,
    verify: bool,
    ca_file: Option<&Path>,
) -> Result<TlsProbe, String> {
    if let Some(name) = &server_name {
        ServerName::try_from(name.as_str())
            .map_err(|e| format!("sni {name:?} is not a valid server name: {e}"))?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?;
    let mut config = if verify {
        let roots = match ca_file {
            Some(path) => {
                let mut store = RootCertStore::empty();
                let certs = CertificateDer::pem_file_iter(path)
                    .map_err(|e| format!("cannot read CA file {}: {e}", path.display()))?;
                for cert in certs {
                    let cert =
                        cert.map_err(|e| format!("bad certificate in {}: {e}", path.display()))?;
                    store.add(cert).map_err(|e| {
                        format!("unusable CA certificate in {}: {e}", path.display())
                    })?;
                }
                if store.is_empty() {
                    return Err(format!("CA file {} holds no certificate", path.display()));
                }
                Arc::new(store)
            }
            None => system_roots(),
        };
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider())))
            .with_no_client_auth()
    };
    // HTTP/1.1 only: this is the protocol the checker speaks.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsProbe {
        server_name,
        verify,
        client: Arc::new(config),
    })
}

/// `tls_verify = false`: accept any certificate, still verify handshake signatures.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
