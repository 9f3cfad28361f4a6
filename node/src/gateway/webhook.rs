//! The HTTP webhook: each notice is POSTed as JSON to the configured URL
//! with the header `Idempotency-Key`. A 2xx answer means delivered; any
//! other answer, a refused connection or a timeout is a failed try. At most
//! [`super::MAX_ERROR_BYTES`] of an error body are read.
//!
//! An `https://` URL is verified with rustls (the ring provider the QUIC
//! transport already uses) against the system's CA bundle, or against the
//! `ca_file` configured (PEM: a province's own CA, a self-signed portal
//! gateway). Nothing is ever sent unverified.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ureq::Agent;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig, TlsProvider};

use super::{MAX_ERROR_BYTES, clip};

/// The header carrying the notice's stable key.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// Where Linux distributions keep the system's CA bundle (Debian/Ubuntu
/// first, the package's targets; then Fedora/RHEL, openSUSE, Alpine).
pub const SYSTEM_CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// A bundle larger than this is not a CA file.
const MAX_CA_FILE_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Webhook {
    url: String,
    agent: Agent,
}

impl Webhook {
    /// A webhook at `url`; one try (connect, send, answer) takes at most
    /// `timeout`. For an `https://` URL the server's certificate is checked
    /// against `ca_file` (PEM) if given, else the system's CA bundle; `Err`
    /// says what could not be read and what to do.
    pub fn new(url: &str, timeout: Duration, ca_file: Option<&Path>) -> Result<Self, String> {
        let mut config = Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0);
        if url.starts_with("https://") {
            let roots = match ca_file {
                Some(path) => read_roots(path)?,
                None => system_roots()?,
            };
            config = config.tls_config(
                TlsConfig::builder()
                    .provider(TlsProvider::Rustls)
                    .unversioned_rustls_crypto_provider(Arc::new(
                        rustls::crypto::ring::default_provider(),
                    ))
                    .root_certs(RootCerts::Specific(Arc::new(roots)))
                    .build(),
            );
        }
        Ok(Webhook {
            url: url.to_string(),
            agent: config.build().into(),
        })
    }

    /// POST the notice once. Blocking: the daemon calls it on a blocking thread.
    pub fn deliver(&self, body: &[u8], key: &str) -> Result<(), String> {
        let mut response = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header(IDEMPOTENCY_HEADER, key)
            .send(body)
            .map_err(|e| clip(format!("webhook {}: {e}", self.url)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_ERROR_BYTES as u64)
            .read_to_string()
            .unwrap_or_default();
        Err(clip(format!(
            "webhook {} answered {status}: {}",
            self.url,
            text.trim()
        )))
    }
}

/// The certificates of a PEM file (other PEM items, such as keys, are
/// skipped); at least one.
pub fn read_roots(path: &Path) -> Result<Vec<Certificate<'static>>, String> {
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?
        .len();
    if size > MAX_CA_FILE_BYTES {
        return Err(format!(
            "the CA file {} is {size} bytes: not a PEM bundle of CA certificates (at most {MAX_CA_FILE_BYTES})",
            path.display()
        ));
    }
    let pem = std::fs::read(path)
        .map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?;
    let mut roots = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(cert)) => roots.push(cert),
            Ok(_) => {}
            Err(e) => {
                return Err(format!(
                    "the CA file {} is not valid PEM: {e}",
                    path.display()
                ));
            }
        }
    }
    if roots.is_empty() {
        return Err(format!(
            "the CA file {} holds no certificate (expected PEM blocks \"-----BEGIN CERTIFICATE-----\")",
            path.display()
        ));
    }
    Ok(roots)
}

/// The system's CA bundle, from the first of [`SYSTEM_CA_BUNDLES`] present.
fn system_roots() -> Result<Vec<Certificate<'static>>, String> {
    let found: Option<PathBuf> = SYSTEM_CA_BUNDLES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    match found {
        Some(path) => read_roots(&path),
        None => Err(format!(
            "no system CA bundle found (looked at {}): install the ca-certificates package, or set ca_file to the PEM file of the CA that signed the server's certificate",
            SYSTEM_CA_BUNDLES.join(", ")
        )),
    }
}
