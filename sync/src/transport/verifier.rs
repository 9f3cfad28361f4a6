//! rustls certificate verifiers that trust exactly the pinned node ids.
//!
//! Every node certificate is self-signed and there is no certificate
//! authority: the pin (the SHA-256 of the public key, see
//! [`NodeId`]) is the trust. So these verifiers do no chain building, and
//! they ignore the certificate's validity dates on purpose: offices run
//! offline for days with clocks that drift or were never set, and a node's
//! identity must not stop working because of a wrong clock or an old
//! certificate. What they do check:
//!
//! - the peer presents exactly one well-formed certificate;
//! - the node id of its public key is pinned (and, on the client side, is the
//!   very node that was dialled, as encoded in the server name);
//! - the TLS 1.3 handshake signature verifies with that public key, so a peer
//!   replaying a pinned certificate without holding its private key fails.
//!
//! [`super::tls`] builds the rustls and quinn configurations around them; they
//! are public for code that needs a hand-made rustls configuration.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, SignatureScheme,
};

use super::identity::NodeId;
use super::tls::{PinnedPeers, node_id_from_server_name};

/// Why a peer's certificate was refused. Carried inside the rustls error
/// (`rustls::Error::Other`), so its text ends up in the connection error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerRejected {
    #[error(
        "unknown peer {0}: not pinned in this node's config; add it to the peers list if it should connect"
    )]
    NotPinned(NodeId),
    #[error("wrong peer: dialled {expected} but the server presented {presented}")]
    WrongServer { expected: NodeId, presented: NodeId },
    #[error(
        "server name {0:?} does not name a node; dial with lienthong_sync::transport::tls::server_name_for"
    )]
    BadServerName(String),
    #[error(
        "peer {peer} sent {extra} extra certificate(s); a node presents exactly one self-signed certificate"
    )]
    ExtraCertificates { peer: NodeId, extra: usize },
}

impl From<PeerRejected> for rustls::Error {
    fn from(e: PeerRejected) -> Self {
        rustls::Error::Other(OtherError(Arc::new(e)))
    }
}

fn node_id_of(end_entity: &CertificateDer<'_>) -> Result<NodeId, rustls::Error> {
    NodeId::from_certificate_der(end_entity)
        .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))
}

fn check_pinned(
    pinned: &PinnedPeers,
    peer: NodeId,
    intermediates: &[CertificateDer<'_>],
    role: &'static str,
) -> Result<(), rustls::Error> {
    if !pinned.contains(&peer) {
        let err = PeerRejected::NotPinned(peer);
        tracing::warn!(%peer, role, "refused TLS handshake: {err}");
        return Err(err.into());
    }
    if !intermediates.is_empty() {
        let err = PeerRejected::ExtraCertificates {
            peer,
            extra: intermediates.len(),
        };
        tracing::warn!(%peer, role, "refused TLS handshake: {err}");
        return Err(err.into());
    }
    Ok(())
}

/// Used by a listening node to authenticate connecting clients: client
/// certificates are mandatory and must belong to a pinned node.
#[derive(Debug)]
pub struct PinnedClientVerifier {
    pinned: PinnedPeers,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedClientVerifier {
    /// `provider` supplies the signature algorithms (use the ring provider).
    pub fn new(pinned: PinnedPeers, provider: &CryptoProvider) -> Self {
        Self {
            pinned,
            algorithms: provider.signature_verification_algorithms,
        }
    }
}

impl ClientCertVerifier for PinnedClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // No CA to hint at: the client sends its one certificate.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime, // validity dates are deliberately ignored, see the module doc
    ) -> Result<ClientCertVerified, rustls::Error> {
        let peer = node_id_of(end_entity)?;
        if self.pinned.enrolment_open() && !self.pinned.contains(&peer) && intermediates.is_empty()
        {
            // Admitted for enrolment only: the listener refuses it any
            // other protocol (see `PinnedPeers::set_enrolment_open`).
            tracing::info!(%peer, "admitted an unpinned client for enrolment");
            return Ok(ClientCertVerified::assertion());
        }
        check_pinned(&self.pinned, peer, intermediates, "client")?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // Unreachable in practice (TLS 1.3 only), but verify properly anyway.
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Used by a dialling node to authenticate the server: the server must
/// present the node id encoded in the server name
/// ([`super::tls::server_name_for`]), and that node must be pinned.
#[derive(Debug)]
pub struct PinnedServerVerifier {
    pinned: PinnedPeers,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedServerVerifier {
    /// `provider` supplies the signature algorithms (use the ring provider).
    pub fn new(pinned: PinnedPeers, provider: &CryptoProvider) -> Self {
        Self {
            pinned,
            algorithms: provider.signature_verification_algorithms,
        }
    }
}

impl ServerCertVerifier for PinnedServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime, // validity dates are deliberately ignored, see the module doc
    ) -> Result<ServerCertVerified, rustls::Error> {
        let expected = match server_name {
            ServerName::DnsName(name) => node_id_from_server_name(name.as_ref()),
            _ => None,
        };
        let Some(expected) = expected else {
            let err = PeerRejected::BadServerName(server_name.to_str().into_owned());
            tracing::warn!("refused TLS handshake: {err}");
            return Err(err.into());
        };
        let presented = node_id_of(end_entity)?;
        if presented != expected {
            let err = PeerRejected::WrongServer {
                expected,
                presented,
            };
            tracing::warn!(%expected, %presented, "refused TLS handshake: {err}");
            return Err(err.into());
        }
        check_pinned(&self.pinned, presented, intermediates, "server")?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // Unreachable in practice (TLS 1.3 only), but verify properly anyway.
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
