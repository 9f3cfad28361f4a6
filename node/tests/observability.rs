//! Observing a node (issue 10): attachment bytes waiting shown under the
//! peers that can supply them, not under every peer the dossier is shared
//! with; officers' commands logged inside a `dossier` span. Real daemons on
//! loopback; waits poll a condition with a deadline.

mod support;

use std::time::Duration;

use chrono::Utc;
use lienthong::local_network::LocalNetwork;
use lienthong::node::Node;
use lienthong::officer::{self, NewAttachment, NewDossier};
use lienthong::service::status::{PeerStatus, node_status};
use lienthong_shared::builtin;
use lienthong_shared::dossier::schema::Applicant;
use support::{COMMUNE, DISTRICT, PROVINCE, WAIT, at, office};

const SIZE: usize = 100_000;

/// The district's view of its link with `peer`.
fn link(node: &mut Node, peer: &str) -> PeerStatus {
    node_status(node, Utc::now())
        .unwrap()
        .peers
        .into_iter()
        .find(|p| p.office == peer)
        .unwrap_or_else(|| panic!("{peer} is a pinned peer"))
}

fn complete(node: &Node, hash: &str) -> bool {
    let hash = lienthong_shared::dossier::attachment::parse_hash(hash).unwrap();
    node.store
        .connection()
        .query_row(
            "SELECT coalesce(max(complete), 0) FROM blobs WHERE hash = ?1",
            [&hash[..]],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
        == 1
}

/// The district holds a commune's dossier but not its attachment; it is
/// shared with both of the district's peers (the commune below, the
/// province above), and only the commune holds the file. Before either is
/// asked, both may supply it; once the province answers "missing", the
/// bytes show under the commune alone; once the commune sends them, under
/// no one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachment_bytes_waiting_show_under_the_peer_that_holds_them() {
    let dir = tempfile::tempdir().unwrap();
    let (province, district, commune) = (office(PROVINCE), office(DISTRICT), office(COMMUNE));
    let mut net = LocalNetwork::init(
        &dir.path().join("net"),
        builtin::QUANG_NAM_3TIER,
        builtin::CATALOGUE,
        &[province.clone(), district.clone(), commune.clone()],
    )
    .unwrap();

    // At the commune: a dossier and a 100 kB scan attached to it.
    let mut at_commune = net.open(&commune).unwrap();
    let new = NewDossier::at_the_desk(
        "1.004227",
        Applicant {
            name: "Nguyễn Văn An".into(),
            ..Applicant::default()
        },
    );
    let code = officer::receive(&mut at_commune, &commune, "Hoa", at(2, 9, 0), &new)
        .unwrap()
        .code;
    let file = dir.path().join("so-do.pdf");
    std::fs::write(
        &file,
        (0..SIZE as u32)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let (_, attachment) = officer::attach(
        &mut at_commune,
        &code,
        None,
        "Hoa",
        at(2, 9, 30),
        &NewAttachment {
            file,
            component: "Sơ đồ thửa đất".into(),
            name: None,
            media_type: None,
        },
    )
    .unwrap();
    let key = officer::resolve(&mut at_commune, &code).unwrap().key;
    let saved = support::document(&mut at_commune, &key).save();
    // The commune's signatures travel with its changes (issue 8): without
    // them the district could not relay the dossier to the province.
    let signed = at_commune
        .store
        .read(|r| r.attestations(&key, &[]))
        .unwrap();
    assert!(!signed.is_empty(), "the commune signed what it wrote");
    drop(at_commune);

    // The district gets the document, not the file's bytes.
    let mut at_district = net.open(&district).unwrap();
    support::absorb(&mut at_district, &key, &saved, at(2, 10, 0)).unwrap();
    at_district
        .store
        .write(|w| w.put_attestations(&key, &signed))
        .unwrap();
    let scope = support::scope_rows(&at_district, &key);
    assert!(
        scope.contains(&COMMUNE.to_string()) && scope.contains(&PROVINCE.to_string()),
        "the dossier is shared with both peers: {scope:?}"
    );
    assert!(!complete(&at_district, &attachment.hash));
    // Nobody asked yet: either peer may supply it; neither is known to hold it.
    for peer in [COMMUNE, PROVINCE] {
        let l = link(&mut at_district, peer);
        assert_eq!(l.attachment_bytes_to_receive, SIZE as u64, "{peer}");
        assert_eq!(l.attachment_bytes_held_there, 0, "{peer}");
    }
    drop(at_district);

    // Province and district run; the commune is off. The district asks the
    // province, which answers that it does not hold the file.
    net.start(&province).await.unwrap();
    net.start(&district).await.unwrap();
    net.wait_until(
        &district,
        "the province said it lacks the file",
        WAIT,
        |n| link(n, PROVINCE).attachment_bytes_to_receive == 0,
    )
    .await
    .unwrap();
    let mut at_district = net.open(&district).unwrap();
    let from_commune = link(&mut at_district, COMMUNE);
    assert_eq!(
        from_commune.attachment_bytes_to_receive, SIZE as u64,
        "the commune, not yet asked, is the one that may supply the file"
    );
    assert!(!complete(&at_district, &attachment.hash));
    drop(at_district);

    // The commune comes up and sends the file: it was the supplier, and
    // nothing is waiting from anyone.
    net.start(&commune).await.unwrap();
    net.wait_until(&district, "the file from the commune", WAIT, |n| {
        complete(n, &attachment.hash)
    })
    .await
    .unwrap();
    let mut at_district = net.open(&district).unwrap();
    for peer in [COMMUNE, PROVINCE] {
        assert_eq!(
            link(&mut at_district, peer).attachment_bytes_to_receive,
            0,
            "{peer}"
        );
    }
    // The province hears the district now has it (it was owed), and fetches it.
    net.wait_until(&province, "the file relayed by the district", WAIT, |n| {
        complete(n, &attachment.hash)
    })
    .await
    .unwrap();
    net.stop_all().await;
}

/// A peer known to hold a blob (it sent the manifest) is counted under
/// "held there"; one that said it lacks it is not counted until it says it
/// has it — the store's bookkeeping the sessions write through
/// `SyncStore::peer_has_blob` / `peer_lacks_blob`.
#[test]
fn a_peer_that_lacks_a_blob_counts_again_once_it_has_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut at_commune = support::node(dir.path(), "commune", COMMUNE);
    let mut at_district = support::node(dir.path(), "district", DISTRICT);
    let new = NewDossier::at_the_desk(
        "1.004227",
        Applicant {
            name: "Lê Thị Bích".into(),
            ..Applicant::default()
        },
    );
    let code = officer::receive(&mut at_commune, &office(COMMUNE), "Hoa", at(2, 9, 0), &new)
        .unwrap()
        .code;
    let file = dir.path().join("giay-to.pdf");
    std::fs::write(&file, vec![7u8; SIZE]).unwrap();
    let (_, attachment) = officer::attach(
        &mut at_commune,
        &code,
        None,
        "Hoa",
        at(2, 9, 30),
        &NewAttachment {
            file,
            component: "Giấy tờ".into(),
            name: None,
            media_type: None,
        },
    )
    .unwrap();
    let key = officer::resolve(&mut at_commune, &code).unwrap().key;
    let saved = support::document(&mut at_commune, &key).save();
    support::absorb(&mut at_district, &key, &saved, at(2, 10, 0)).unwrap();
    let hash = lienthong_shared::dossier::attachment::parse_hash(&attachment.hash).unwrap();
    let peer = [9u8; 32];
    let max = u64::MAX;
    let waiting = |node: &mut Node| {
        node.store
            .read(|r| r.blob_bytes_waiting(&peer, COMMUNE, max))
            .unwrap()
    };
    let w = waiting(&mut at_district);
    assert_eq!((w.to_receive_held, w.to_receive_unknown), (0, SIZE as u64));

    at_district
        .store
        .write(|w| w.peer_lacks_blob(&peer, &hash))
        .unwrap();
    assert_eq!(
        waiting(&mut at_district).to_receive(),
        0,
        "said it lacks it"
    );

    at_district
        .store
        .write(|w| w.peer_has_blob(&peer, &hash))
        .unwrap();
    let w = waiting(&mut at_district);
    assert_eq!(
        (w.to_receive_held, w.to_receive_unknown),
        (SIZE as u64, 0),
        "said it has it"
    );

    // A reference over the attachment limit is never fetched: not waiting.
    assert_eq!(
        at_district
            .store
            .read(|r| r.blob_bytes_waiting(&peer, COMMUNE, SIZE as u64 - 1))
            .unwrap()
            .to_receive(),
        0
    );
}

/// A log writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The JSON log lines whose message is `message`.
fn lines_with(captured: &Captured, message: &str) -> Vec<serde_json::Value> {
    String::from_utf8(captured.0.lock().unwrap().clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["fields"]["message"] == message)
        .collect()
}

/// Receipt, an action and an attachment each log one line inside a
/// `dossier` span carrying the code — the line itself does not repeat it.
#[test]
fn officers_commands_log_inside_a_dossier_span() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = support::node(dir.path(), "commune", COMMUNE);
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_max_level(tracing::Level::INFO)
        .with_writer(captured.clone())
        .finish();
    let code = tracing::subscriber::with_default(subscriber, || {
        let new = NewDossier::at_the_desk(
            "1.004227",
            Applicant {
                name: "Phạm Văn Cường".into(),
                ..Applicant::default()
            },
        );
        let code = officer::receive(&mut node, &office(COMMUNE), "Hoa", at(2, 9, 0), &new)
            .unwrap()
            .code;
        let file = dir.path().join("don.pdf");
        std::fs::write(&file, b"%PDF-1.4 don de nghi").unwrap();
        officer::attach(
            &mut node,
            &code,
            None,
            "Hoa",
            at(2, 9, 10),
            &NewAttachment {
                file,
                component: "Đơn".into(),
                name: None,
                media_type: None,
            },
        )
        .unwrap();
        officer::record(
            &mut node,
            &code,
            None,
            "Hoa",
            at(2, 9, 20),
            lienthong_shared::dossier::Action::Note {
                text: "Gọi điện cho công dân".into(),
            },
        )
        .unwrap();
        code
    });
    for message in ["received", "attachment added", "recorded"] {
        let lines = lines_with(&captured, message);
        assert_eq!(lines.len(), 1, "one {message:?} line");
        let line = &lines[0];
        assert_eq!(line["span"]["name"], "dossier", "{line}");
        assert_eq!(line["span"]["code"], code.as_str(), "{line}");
        assert!(
            line["fields"].get("code").is_none() && line["fields"].get("dossier").is_none(),
            "the code is not repeated by hand: {line}"
        );
    }
    let recorded = &lines_with(&captured, "recorded")[0];
    assert_eq!(recorded["fields"]["action"], "note", "{recorded}");
    assert_eq!(recorded["fields"]["officer"], "Hoa", "{recorded}");
}

/// The value of the sample `line_start` (name and labels as written).
fn sample(text: &str, line_start: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start)?.strip_prefix(' ')?.parse().ok())
}

async fn scrape(url: &str) -> String {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || {
        ureq::get(&url)
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap()
    })
    .await
    .unwrap()
}

/// Every metric issue 10 lists, read from `/metrics` served by a real
/// console over HTTP while the daemons sync: officers' operations by
/// action, bytes on the wire each way, refusals both ways, lag, attachment
/// bytes waiting — besides the dossier, outbox and link figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_cover_operations_traffic_refusals_and_lag_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let (district, commune) = (office(DISTRICT), office(COMMUNE));
    let mut net = LocalNetwork::init(
        &dir.path().join("net"),
        builtin::QUANG_NAM_3TIER,
        builtin::CATALOGUE,
        &[district.clone(), commune.clone()],
    )
    .unwrap();
    // Two receipts, a note and an attachment at the commune.
    let mut at_commune = net.open(&commune).unwrap();
    let mut codes = Vec::new();
    for (name, hour) in [("An", 9), ("Bình", 10)] {
        let new = NewDossier::at_the_desk(
            "1.004227",
            Applicant {
                name: name.into(),
                ..Applicant::default()
            },
        );
        codes.push(
            officer::receive(&mut at_commune, &commune, "Hoa", at(2, hour, 0), &new)
                .unwrap()
                .code,
        );
    }
    officer::record(
        &mut at_commune,
        &codes[0],
        None,
        "Hoa",
        at(2, 11, 0),
        lienthong_shared::dossier::Action::Note {
            text: "Đã gọi điện".into(),
        },
    )
    .unwrap();
    let file = dir.path().join("scan.pdf");
    // Incompressible (xorshift), so the bytes on the wire exceed its size.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..70_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&file, noise).unwrap();
    officer::attach(
        &mut at_commune,
        &codes[1],
        None,
        "Hoa",
        at(2, 11, 30),
        &NewAttachment {
            file,
            component: "Giấy tờ".into(),
            name: None,
            media_type: None,
        },
    )
    .unwrap();
    let district_id = net.open(&district).unwrap().node_id();
    let (_, token) = lienthong::service::api_tokens::add(
        &mut at_commune,
        "cong-dich-vu-cong",
        lienthong::service::accounts::Role::Desk,
        at(2, 11, 45),
    )
    .unwrap();
    drop(at_commune);

    // The console's clock: Monday 2 March 2026, noon.
    let console = lienthong::console::Console::start(
        net.open(&commune).unwrap(),
        "127.0.0.1:0".parse().unwrap(),
        lienthong::replication::Clock::new(|| at(2, 12, 0)),
    )
    .await
    .unwrap();
    let base = format!("http://{}", console.local_addr());
    // A third receipt through the JSON API: counted under face="api".
    let api = format!("{base}/api/v1/dossiers");
    let status = tokio::task::spawn_blocking(move || {
        ureq::post(&api)
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .send(r#"{"procedure":"1.004227","applicant":{"name":"Chi"}}"#)
            .unwrap()
            .status()
            .as_u16()
    })
    .await
    .unwrap();
    assert_eq!(status, 201);
    let url = format!("{base}/metrics");
    // Before any link: an attachment the district does not hold, to send.
    let text = scrape(&url).await;
    let peer = format!("peer=\"{DISTRICT}\",node=\"{}\"", district_id.short());
    assert_eq!(
        sample(
            &text,
            &format!("lienthong_peer_attachment_bytes_waiting{{{peer},direction=\"send\"}}")
        ),
        Some(70_000),
        "{text}"
    );
    assert_eq!(
        sample(&text, &format!("lienthong_peer_sent_bytes_total{{{peer}}}")),
        Some(0),
        "nothing sent before the daemons run"
    );

    net.start_all().await.unwrap();
    net.wait_until(&district, "the dossiers", WAIT, |n| {
        codes.iter().all(|c| officer::resolve(n, c).is_ok())
    })
    .await
    .unwrap();
    // Traffic is added every 5 s while the link is up.
    let deadline = std::time::Instant::now() + WAIT;
    let text = loop {
        let text = scrape(&url).await;
        let sent = sample(&text, &format!("lienthong_peer_sent_bytes_total{{{peer}}}"));
        let waiting = sample(
            &text,
            &format!("lienthong_peer_attachment_bytes_waiting{{{peer},direction=\"send\"}}"),
        );
        if sent > Some(70_000) && waiting == Some(0) {
            break text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no traffic counted: {text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    console.shutdown().await;
    net.stop_all().await;

    let ops = |action: &str| {
        sample(
            &text,
            &format!(
                "lienthong_officer_operations_total{{action=\"{action}\",office=\"{COMMUNE}\",face=\"cli\"}}"
            ),
        )
    };
    assert_eq!(ops("received"), Some(2), "{text}");
    assert_eq!(
        sample(
            &text,
            &format!(
                "lienthong_officer_operations_total{{action=\"received\",office=\"{COMMUNE}\",face=\"api\"}}"
            )
        ),
        Some(1),
        "{text}"
    );
    assert_eq!(ops("note"), Some(1), "{text}");
    assert_eq!(ops("attachment"), Some(1), "{text}");
    assert!(
        sample(
            &text,
            &format!("lienthong_peer_received_bytes_total{{{peer}}}")
        )
        .unwrap()
            > 0,
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!("lienthong_peer_refused_by_peer_total{{{peer}}}")
        ),
        Some(0)
    );
    assert_eq!(
        sample(&text, &format!("lienthong_peer_refused_total{{{peer}}}")),
        Some(0)
    );
    assert_eq!(
        sample(
            &text,
            &format!("lienthong_receipts_today{{office=\"{COMMUNE}\"}}")
        ),
        Some(3),
        "three receipts on the console's day: {text}"
    );
    // Every family the issue asks for is there, and every sample belongs to one.
    for family in [
        "lienthong_dossiers",
        "lienthong_dossiers_overdue",
        "lienthong_peer_connected",
        "lienthong_peer_last_success_timestamp_seconds",
        "lienthong_peer_incoming_lag_entries",
        "lienthong_peer_outgoing_lag_entries",
        "lienthong_peer_sent_bytes_total",
        "lienthong_peer_received_bytes_total",
        "lienthong_peer_received_bytes_today",
        "lienthong_peer_refused_total",
        "lienthong_peer_refused_by_peer_total",
        "lienthong_peer_attachment_bytes_waiting",
        "lienthong_outbox_depth",
        "lienthong_officer_operations_total",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family} missing"
        );
    }
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let name = line.split(['{', ' ']).next().unwrap();
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "undeclared {name}"
        );
    }
    for family in [
        "lienthong_peer_incoming_lag_entries",
        "lienthong_peer_outgoing_lag_entries",
    ] {
        assert!(
            sample(&text, &format!("{family}{{{peer}}}")).is_some(),
            "{family}: {text}"
        );
    }
}

/// A one-thread HTTPS server on loopback with a certificate for
/// 127.0.0.1 signed by a CA made for the test; each request's
/// `Idempotency-Key` and body are sent on the channel. Returns the URL and
/// the CA's certificate (PEM).
fn https_server() -> (String, String, std::sync::mpsc::Receiver<(String, Vec<u8>)>) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
    use std::io::{BufRead, BufReader, Read, Write};

    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Liên Thông test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let server_key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .subject_alt_names
        .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
    let server_cert = params.signed_by(&server_key, &issuer).unwrap();

    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![server_cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
        )
        .unwrap();
    let config = std::sync::Arc::new(config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}/notices", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let connection = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(connection, stream);
            let mut reader = BufReader::new(&mut tls);
            let (mut length, mut key) = (0usize, String::new());
            let mut line = String::new();
            // A client that refuses the certificate fails here: next.
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                continue;
            }
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap_or((&line, ""));
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "idempotency-key" => key = value.trim().to_string(),
                    _ => {}
                }
            }
            let mut body = vec![0u8; length.min(1 << 20)];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let _ =
                tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = tls.flush();
            tls.conn.send_close_notify();
            let _ = tls.flush();
            let _ = tx.send((key, body));
        }
    });
    (url, ca_cert.pem(), rx)
}

/// A webhook on `https://` is verified: with the CA that signed the
/// server's certificate in `ca_file` the notice is delivered (key and body
/// as sent); against the system's bundle the self-signed server is refused
/// and receives nothing; a CA file that is missing or holds no certificate
/// is a clear error before anything is sent.
#[test]
fn webhook_over_https_trusts_the_configured_ca_only() {
    use lienthong::gateway::webhook::Webhook;
    let dir = tempfile::tempdir().unwrap();
    let (url, ca_pem, received) = https_server();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &ca_pem).unwrap();

    let hook = Webhook::new(&url, Duration::from_secs(5), Some(&ca)).unwrap();
    hook.deliver(b"{\"code\":\"H49.01-260302-0001\"}", "key-1")
        .unwrap();
    let (key, body) = received.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(key, "key-1");
    assert_eq!(body, b"{\"code\":\"H49.01-260302-0001\"}");

    // The system's roots do not know the test CA: refused, nothing sent.
    match Webhook::new(&url, Duration::from_secs(5), None) {
        Err(e) => assert!(e.contains("no system CA bundle"), "{e}"),
        Ok(system) => {
            let error = system.deliver(b"{}", "key-2").unwrap_err();
            assert!(
                error.to_lowercase().contains("certificate") || error.contains("UnknownIssuer"),
                "{error}"
            );
            assert!(
                received.recv_timeout(Duration::from_millis(500)).is_err(),
                "nothing reached the server"
            );
        }
    }

    let missing = Webhook::new(
        &url,
        Duration::from_secs(5),
        Some(&dir.path().join("none.pem")),
    )
    .unwrap_err();
    assert!(missing.contains("cannot read the CA file"), "{missing}");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let empty = Webhook::new(&url, Duration::from_secs(5), Some(&empty)).unwrap_err();
    assert!(empty.contains("holds no certificate"), "{empty}");

    // The same through node.toml's [gateway] section.
    let config = lienthong::config::GatewayConfig {
        webhook: Some(url),
        command: None,
        timeout_seconds: 5,
        max_backoff_seconds: 60,
        ca_file: Some(ca),
    };
    let gateway = lienthong::gateway::Gateway::from_config(&config).unwrap();
    gateway.deliver(b"{}", "key-3").unwrap();
    assert_eq!(
        received.recv_timeout(Duration::from_secs(5)).unwrap().0,
        "key-3"
    );
}
