//! Node identities and pinned mutual TLS over real quinn endpoints on
//! loopback.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use lienthong_sync::transport::identity::{IdentityError, NodeId, NodeIdentity, ParseNodeIdError};
use lienthong_sync::transport::tls::{
    self, ALPN, PinnedPeers, client_config, default_transport_config, peer_node_id, server_config,
    server_name_for,
};
use proptest::prelude::*;
use quinn::{ConnectionError, Endpoint};

/// Upper bound on how long any handshake in these tests may take; a
/// refused connection must be refused well before the 60 s idle timeout.
const DEADLINE: Duration = Duration::from_secs(10);

fn transport() -> Arc<quinn::TransportConfig> {
    Arc::new(default_transport_config())
}

fn loopback() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

fn identity(name: &str) -> NodeIdentity {
    NodeIdentity::generate(name).expect("generate identity")
}

fn server(identity: &NodeIdentity, pinned: PinnedPeers) -> Endpoint {
    let config = server_config(identity, pinned, transport()).expect("server config");
    Endpoint::server(config, loopback()).expect("bind server")
}

fn client_endpoint() -> Endpoint {
    Endpoint::client(loopback()).expect("bind client")
}

fn dial(
    endpoint: &Endpoint,
    config: quinn::ClientConfig,
    server: &Endpoint,
    target: &NodeId,
) -> quinn::Connecting {
    let addr = server.local_addr().expect("server address");
    endpoint
        .connect_with(config, addr, &server_name_for(target))
        .expect("start connecting")
}

/// Drives a connection attempt that must be refused, and returns why. In
/// TLS 1.3 the client may finish its handshake before the server rejects
/// the client's certificate, so "refused" is either a failed connect or a
/// connection that is closed right after.
async fn refused(connecting: quinn::Connecting) -> ConnectionError {
    let outcome = tokio::time::timeout(DEADLINE, async {
        match connecting.await {
            Err(e) => e,
            Ok(connection) => connection.closed().await,
        }
    })
    .await
    .expect("connection was neither refused nor closed");
    assert!(
        matches!(
            outcome,
            ConnectionError::TransportError(_) | ConnectionError::ConnectionClosed(_)
        ),
        "expected a handshake failure, got {outcome:?}"
    );
    outcome
}

/// The server side of a refused handshake: the error of the next incoming
/// connection.
async fn server_refusal(server: &Endpoint) -> ConnectionError {
    tokio::time::timeout(DEADLINE, async {
        let incoming = server.accept().await.expect("endpoint open");
        match incoming.await {
            Err(e) => e,
            Ok(connection) => panic!(
                "server accepted {:?}",
                peer_node_id(&connection).map(|id| id.to_string())
            ),
        }
    })
    .await
    .expect("no incoming connection")
}

#[tokio::test]
async fn pinned_nodes_connect_identify_each_other_and_echo() {
    let a = identity("commune-a");
    let b = identity("district-b");
    let server = server(&b, PinnedPeers::new([a.node_id()]));
    let server_task = {
        let server = server.clone();
        tokio::spawn(async move {
            let connection = server
                .accept()
                .await
                .expect("incoming")
                .await
                .expect("accept");
            let peer = peer_node_id(&connection).expect("peer id");
            let (mut send, mut recv) = connection.accept_bi().await.expect("accept stream");
            let message = recv.read_to_end(1 << 16).await.expect("read");
            send.write_all(&message).await.expect("echo");
            send.finish().expect("finish");
            // Wait for the client to close after reading the echo.
            connection.closed().await;
            peer
        })
    };

    let client = client_endpoint();
    let config = client_config(&a, PinnedPeers::new([b.node_id()]), transport()).unwrap();
    let connection = tokio::time::timeout(DEADLINE, dial(&client, config, &server, &b.node_id()))
        .await
        .expect("handshake in time")
        .expect("connect");
    assert_eq!(peer_node_id(&connection).unwrap(), b.node_id());
    assert_eq!(
        connection
            .handshake_data()
            .and_then(|d| d.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
            .and_then(|d| d.protocol),
        Some(ALPN.to_vec())
    );

    let (mut send, mut recv) = connection.open_bi().await.expect("open stream");
    let message: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    send.write_all(&message).await.unwrap();
    send.finish().unwrap();
    let echoed = recv.read_to_end(1 << 16).await.unwrap();
    assert_eq!(echoed, message);
    connection.close(0u32.into(), b"done");

    let seen_by_server = server_task.await.unwrap();
    assert_eq!(seen_by_server, a.node_id());
    client.wait_idle().await;
}

/// One connect + close between pinned nodes, with no application data: what
/// an idle reconnect costs on the wire.
#[tokio::test]
async fn idle_reconnect_is_small() {
    let a = identity("commune-a");
    let b = identity("district-b");
    let server = server(&b, PinnedPeers::new([a.node_id()]));
    let server_task = {
        let server = server.clone();
        tokio::spawn(async move {
            let connection = server.accept().await.unwrap().await.unwrap();
            connection.closed().await;
            connection.stats()
        })
    };
    let client = client_endpoint();
    let config = client_config(&a, PinnedPeers::new([b.node_id()]), transport()).unwrap();
    let connection = dial(&client, config, &server, &b.node_id()).await.unwrap();
    connection.close(0u32.into(), b"");
    client.wait_idle().await;
    let client_stats = connection.stats();
    let server_stats = server_task.await.unwrap();

    let wire = client_stats.udp_tx.bytes + server_stats.udp_tx.bytes;
    println!(
        "certificate sizes: a={} b={} bytes",
        a.certificate_der().len(),
        b.certificate_der().len()
    );
    println!(
        "connect+close: client sent {} B in {} datagrams, received {} B; \
         server sent {} B in {} datagrams, received {} B; total on the wire {} B",
        client_stats.udp_tx.bytes,
        client_stats.udp_tx.datagrams,
        client_stats.udp_rx.bytes,
        server_stats.udp_tx.bytes,
        server_stats.udp_tx.datagrams,
        server_stats.udp_rx.bytes,
        wire
    );
    // Each handshake flight fits one 1200-byte datagram with room to spare.
    assert!(a.certificate_der().len() < 400);
    // RFC 9000 makes 3600 of these bytes padding: the client's Initial, the
    // client's Initial ACK coalesced with its certificate flight and the
    // server's first flight must each fill a 1200-byte datagram. The rest
    // is ACKs, HANDSHAKE_DONE, NEW_CONNECTION_IDs and the close (about 4.1 KB
    // in all with quinn's default 8-byte connection ids). A regression
    // guard: more means an extra datagram crept in.
    assert!(
        client_stats.udp_tx.datagrams <= 5 && server_stats.udp_tx.datagrams <= 4,
        "extra datagrams in the handshake"
    );
    assert!(wire < 4300, "idle reconnect costs {wire} bytes");
}

#[tokio::test]
async fn client_not_pinned_by_server_is_refused() {
    let a = identity("commune-a");
    let b = identity("district-b");
    let stranger = identity("someone-else");
    let pinned = PinnedPeers::new([stranger.node_id()]);
    let server = server(&b, pinned.clone());

    let client = client_endpoint();
    let config = client_config(&a, PinnedPeers::new([b.node_id()]), transport()).unwrap();
    let server_side = server_refusal(&server);
    let client_side = refused(dial(&client, config.clone(), &server, &b.node_id()));
    let (server_err, client_err) = tokio::join!(server_side, client_side);

    let text = server_err.to_string();
    assert!(
        text.contains(&format!("unknown peer {}", a.node_id())) && text.contains("not pinned"),
        "server error should name the unknown peer: {text}"
    );
    println!("server: {server_err}\nclient: {client_err}");

    // Pinning at runtime lets the same client in on the next handshake.
    pinned.insert(a.node_id());
    let server_task = {
        let server = server.clone();
        tokio::spawn(async move {
            let connection = server.accept().await.unwrap().await.unwrap();
            peer_node_id(&connection).unwrap()
        })
    };
    let connection = dial(&client, config, &server, &b.node_id()).await.unwrap();
    assert_eq!(server_task.await.unwrap(), a.node_id());
    assert_eq!(peer_node_id(&connection).unwrap(), b.node_id());
}

#[tokio::test]
async fn server_with_another_identity_than_dialled_is_refused() {
    let a = identity("district-a");
    let b = identity("district-b");
    let c = identity("commune-c");
    // B is pinned by the client too, but the client dials A's name.
    let server = server(&b, PinnedPeers::new([c.node_id()]));
    let client = client_endpoint();
    let config = client_config(
        &c,
        PinnedPeers::new([a.node_id(), b.node_id()]),
        transport(),
    )
    .unwrap();
    let server_side = async {
        let incoming = server.accept().await.unwrap();
        incoming.await.err()
    };
    let (client_err, server_err) = tokio::join!(
        refused(dial(&client, config, &server, &a.node_id())),
        server_side
    );
    let text = client_err.to_string();
    assert!(
        text.contains(&format!(
            "dialled {} but the server presented {}",
            a.node_id(),
            b.node_id()
        )),
        "{text}"
    );
    assert!(
        server_err.is_some(),
        "the server must not see an established connection"
    );
}

#[tokio::test]
async fn server_not_pinned_by_client_is_refused() {
    let a = identity("commune-a");
    let b = identity("district-b");
    let server = server(&b, PinnedPeers::new([a.node_id()]));
    let client = client_endpoint();
    let config = client_config(&a, PinnedPeers::default(), transport()).unwrap();
    let server_side = async { server.accept().await.unwrap().await.err() };
    let (client_err, server_err) = tokio::join!(
        refused(dial(&client, config, &server, &b.node_id())),
        server_side
    );
    let text = client_err.to_string();
    assert!(
        text.contains(&format!("unknown peer {}", b.node_id())) && text.contains("not pinned"),
        "{text}"
    );
    assert!(server_err.is_some());
}

#[tokio::test]
async fn client_without_our_alpn_is_refused() {
    let a = identity("commune-a");
    let b = identity("district-b");
    let server = server(&b, PinnedPeers::new([a.node_id()]));
    let mut tls_config = tls::rustls_client_config(&a, PinnedPeers::new([b.node_id()])).unwrap();
    tls_config.alpn_protocols = vec![b"something-else/1".to_vec()];
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls_config).unwrap();
    let config = quinn::ClientConfig::new(Arc::new(crypto));
    let client = client_endpoint();
    let (client_err, server_err) = tokio::join!(
        refused(dial(&client, config, &server, &b.node_id())),
        server_refusal(&server)
    );
    println!("server: {server_err}\nclient: {client_err}");
}

/// A [`rustls::sign::CertifiedKey`] pairing `cert_of`'s certificate with
/// `key_of`'s private key: someone who copied a pinned certificate but does
/// not hold its key.
fn forged(cert_of: &NodeIdentity, key_of: &NodeIdentity) -> Arc<rustls::sign::SingleCertAndKey> {
    let key = rustls::crypto::ring::sign::any_supported_type(&key_of.private_key()).unwrap();
    let certified = rustls::sign::CertifiedKey::new(vec![cert_of.certificate()], key);
    assert!(certified.keys_match().is_err());
    Arc::new(rustls::sign::SingleCertAndKey::from(certified))
}

#[tokio::test]
async fn server_with_copied_certificate_but_wrong_key_fails() {
    let a = identity("district-a");
    let b = identity("impostor-b");
    let c = identity("commune-c");
    // The impostor presents A's certificate but signs with B's key.
    let mut tls_config = tls::rustls_server_config(&b, PinnedPeers::new([c.node_id()])).unwrap();
    tls_config.cert_resolver = forged(&a, &b);
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls_config).unwrap();
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    config.transport_config(transport());
    let server = Endpoint::server(config, loopback()).unwrap();

    let client = client_endpoint();
    let config = client_config(&c, PinnedPeers::new([a.node_id()]), transport()).unwrap();
    let server_side = async { server.accept().await.unwrap().await.err() };
    let (client_err, server_err) = tokio::join!(
        refused(dial(&client, config, &server, &a.node_id())),
        server_side
    );
    let text = client_err.to_string();
    assert!(text.to_lowercase().contains("signature"), "{text}");
    assert!(server_err.is_some());
}

#[tokio::test]
async fn client_with_copied_certificate_but_wrong_key_fails() {
    let a = identity("commune-a");
    let b = identity("impostor-b");
    let s = identity("district-s");
    let server = server(&s, PinnedPeers::new([a.node_id()]));
    // The impostor presents A's (pinned) certificate but signs with B's key.
    let mut tls_config = tls::rustls_client_config(&b, PinnedPeers::new([s.node_id()])).unwrap();
    tls_config.client_auth_cert_resolver = forged(&a, &b);
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls_config).unwrap();
    let config = quinn::ClientConfig::new(Arc::new(crypto));
    let client = client_endpoint();
    let (client_err, server_err) = tokio::join!(
        refused(dial(&client, config, &server, &s.node_id())),
        server_refusal(&server)
    );
    let text = server_err.to_string();
    assert!(text.to_lowercase().contains("signature"), "{text}");
    println!("server: {server_err}\nclient: {client_err}");
}

#[test]
fn peer_node_id_needs_a_handshake() {
    // Nothing to test without a connection: make sure the error reads well.
    let text = tls::TlsError::NoPeerCertificate.to_string();
    assert!(text.contains("no peer certificate"));
}

// ----- NodeId text form -----

#[test]
fn node_id_text_form() {
    let id = NodeId::from_bytes([0u8; 32]);
    assert_eq!(
        id.to_string(),
        "lt1-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa"
    );
    assert_eq!(id.short().to_string(), "lt1-aaaa-aaaa");
    assert_eq!(format!("{id:?}"), id.to_string());

    let id = identity("x").node_id();
    let text = id.to_string();
    assert_eq!(text.len(), 4 + 52 + 12);
    assert!(text.starts_with(&id.short().to_string()));
    assert_eq!(&id.actor_bytes()[..], &id.as_bytes()[..16]);
}

#[test]
fn node_id_parse_errors() {
    let good = NodeId::from_bytes([0x5a; 32]).to_string();

    let err = "ab12-cdef".parse::<NodeId>().unwrap_err();
    assert!(matches!(err, ParseNodeIdError::MissingPrefix(_)));
    assert!(err.to_string().contains("lt1-"), "{err}");
    assert!(matches!(
        "".parse::<NodeId>(),
        Err(ParseNodeIdError::MissingPrefix(_))
    ));

    let with_zero = good.replacen('a', "0", 1);
    if with_zero != good {
        let err = with_zero.parse::<NodeId>().unwrap_err();
        assert_eq!(err, ParseNodeIdError::InvalidCharacter('0'));
        assert!(err.to_string().contains("a-z"), "{err}");
    }
    let err = format!("{good}x").parse::<NodeId>().unwrap_err();
    assert_eq!(err, ParseNodeIdError::WrongLength(53));
    let err = "lt1-abcd-efgh".parse::<NodeId>().unwrap_err();
    assert_eq!(err, ParseNodeIdError::WrongLength(8));
    assert!(err.to_string().contains("short form"), "{err}");
    let err = format!("{good} extra").parse::<NodeId>().unwrap_err();
    assert_eq!(err, ParseNodeIdError::InvalidCharacter(' '));
    assert!(matches!(
        "lt1-ü".parse::<NodeId>(),
        Err(ParseNodeIdError::InvalidCharacter('ü'))
    ));

    // 52 characters carry 260 bits; the last 4 must be zero, so only 'a'
    // and 'q' can end an id.
    let mut impossible = good.clone();
    impossible.pop();
    impossible.push('b');
    let err = impossible.parse::<NodeId>().unwrap_err();
    assert_eq!(err, ParseNodeIdError::ImpossibleLastCharacter);
    assert!(err.to_string().contains("typo"));
}

fn any_node_id() -> impl Strategy<Value = NodeId> {
    any::<[u8; 32]>().prop_map(NodeId::from_bytes)
}

proptest! {
    #[test]
    fn node_id_round_trips_through_text(id in any_node_id()) {
        let text = id.to_string();
        prop_assert_eq!(text.parse::<NodeId>().unwrap(), id);
        prop_assert_eq!(text.to_uppercase().parse::<NodeId>().unwrap(), id);
        prop_assert_eq!(text.replace('-', "").parse::<NodeId>().unwrap(), id);
        prop_assert_eq!(format!("  {text}\n").parse::<NodeId>().unwrap(), id);
        let server_name = server_name_for(&id);
        prop_assert!(rustls::pki_types::ServerName::try_from(server_name).is_ok());
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(text in ".{0,80}") {
        let _ = text.parse::<NodeId>();
        let _ = format!("lt1-{text}").parse::<NodeId>();
    }

    #[test]
    fn garbage_is_not_a_certificate(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        prop_assert!(NodeId::from_certificate_der(&bytes).is_err());
    }

    #[test]
    fn mangled_certificates_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let cert = certificate_sample();
        let mut bytes = cert.to_vec();
        for (index, value) in edits {
            let i = index.index(bytes.len());
            bytes[i] = value;
        }
        let _ = NodeId::from_certificate_der(&bytes);
        let _ = NodeId::from_certificate_der(&bytes[..cut.index(bytes.len())]);
    }
}

fn certificate_sample() -> &'static [u8] {
    static CERT: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    CERT.get_or_init(|| identity("sample").certificate_der().to_vec())
}

#[test]
fn node_id_is_the_hash_of_the_public_key() {
    let a = identity("commune-a");
    assert_eq!(
        NodeId::from_certificate_der(a.certificate_der()).unwrap(),
        a.node_id()
    );
    let b = identity("commune-a");
    assert_ne!(a.node_id(), b.node_id(), "same name, different keys");
}

// ----- saving and loading -----

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn save_then_load_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("node");
    let original = identity("huyen-thang-binh");
    original.save(&home).unwrap();
    let key_path = home.join(NodeIdentity::KEY_FILE);
    let cert_path = home.join(NodeIdentity::CERT_FILE);
    #[cfg(unix)]
    assert_eq!(mode(&key_path), 0o600);
    assert!(
        std::fs::read_to_string(&key_path)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----\n")
    );
    assert!(
        std::fs::read_to_string(&cert_path)
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----\n")
    );

    let loaded = NodeIdentity::load(&home).unwrap();
    assert_eq!(loaded.node_id(), original.node_id());
    assert_eq!(loaded.certificate_der(), original.certificate_der());
    // The loaded key is usable: it builds TLS configurations.
    server_config(&loaded, PinnedPeers::default(), transport()).unwrap();
    assert!(!format!("{loaded:?}").contains("PRIVATE"));
}

#[test]
fn save_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let first = identity("a");
    first.save(dir.path()).unwrap();
    let err = identity("b").save(dir.path()).unwrap_err();
    assert!(
        matches!(err, IdentityError::AlreadyExists { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("refusing to overwrite"), "{err}");
    assert_eq!(
        NodeIdentity::load(dir.path()).unwrap().node_id(),
        first.node_id()
    );

    // A certificate alone is enough to refuse, and no key is left behind.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(NodeIdentity::CERT_FILE), "x").unwrap();
    let err = identity("c").save(dir.path()).unwrap_err();
    assert!(
        matches!(err, IdentityError::AlreadyExists { .. }),
        "{err:?}"
    );
    assert!(!dir.path().join(NodeIdentity::KEY_FILE).exists());
}

#[test]
fn load_explains_a_missing_identity() {
    let dir = tempfile::tempdir().unwrap();
    let err = NodeIdentity::load(dir.path()).unwrap_err();
    assert!(
        matches!(err, IdentityError::NotInitialized { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("lienthong init"), "{err}");

    identity("a").save(dir.path()).unwrap();
    std::fs::remove_file(dir.path().join(NodeIdentity::CERT_FILE)).unwrap();
    let err = NodeIdentity::load(dir.path()).unwrap_err();
    assert!(matches!(err, IdentityError::Incomplete { .. }), "{err:?}");
    assert!(err.to_string().contains("node.crt"), "{err}");
}

#[cfg(unix)]
#[test]
fn load_refuses_a_key_readable_by_others() {
    let dir = tempfile::tempdir().unwrap();
    identity("a").save(dir.path()).unwrap();
    let key_path = dir.path().join(NodeIdentity::KEY_FILE);
    set_mode(&key_path, 0o644);
    let err = NodeIdentity::load(dir.path()).unwrap_err();
    assert!(
        matches!(err, IdentityError::KeyPermissions { mode: 0o644, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&format!("chmod 600 {}", key_path.display())),
        "{text}"
    );

    set_mode(&key_path, 0o640);
    assert!(NodeIdentity::load(dir.path()).is_err());
    set_mode(&key_path, 0o600);
    NodeIdentity::load(dir.path()).unwrap();
}

#[test]
fn load_reports_corrupt_pem() {
    let dir = tempfile::tempdir().unwrap();
    identity("a").save(dir.path()).unwrap();
    let cert_path = dir.path().join(NodeIdentity::CERT_FILE);
    let key_path = dir.path().join(NodeIdentity::KEY_FILE);
    let good_cert = std::fs::read(&cert_path).unwrap();

    std::fs::write(&cert_path, "this is not a certificate\n").unwrap();
    let err = NodeIdentity::load(dir.path()).unwrap_err();
    assert!(matches!(err, IdentityError::CorruptPem { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("node.crt") && text.contains("CERTIFICATE"),
        "{text}"
    );

    // Valid PEM around bytes that are not a certificate.
    std::fs::write(
        &cert_path,
        "-----BEGIN CERTIFICATE-----\nAAECAwQ=\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let err = NodeIdentity::load(dir.path()).unwrap_err();
    assert!(matches!(err, IdentityError::CorruptPem { .. }), "{err:?}");

    // Truncated key file.
    std::fs::write(&cert_path, &good_cert).unwrap();
    let key = std::fs::read_to_string(&key_path).unwrap();
    std::fs::write(&key_path, &key[..key.len() / 2]).unwrap();
    let err = NodeIdentity::load(dir.path()).unwrap_err();
    assert!(matches!(err, IdentityError::CorruptPem { .. }), "{err:?}");
    assert!(err.to_string().contains("node.key"), "{err}");
}

#[test]
fn load_refuses_a_key_that_does_not_match_the_certificate() {
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    identity("a").save(dir_a.path()).unwrap();
    identity("b").save(dir_b.path()).unwrap();
    std::fs::copy(
        dir_b.path().join(NodeIdentity::KEY_FILE),
        dir_a.path().join(NodeIdentity::KEY_FILE),
    )
    .unwrap();
    let err = NodeIdentity::load(dir_a.path()).unwrap_err();
    assert!(matches!(err, IdentityError::KeyMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains("does not match"), "{err}");
}

#[test]
fn generate_rejects_bad_common_names() {
    assert!(matches!(
        NodeIdentity::generate(""),
        Err(IdentityError::InvalidCommonName(_))
    ));
    assert!(NodeIdentity::generate(&"x".repeat(65)).is_err());
    NodeIdentity::generate("Xã Bình Dương").unwrap();
}
