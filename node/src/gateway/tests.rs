//! Delivery against a real HTTP server on loopback and real programs.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use chrono::TimeZone;

use super::*;
use crate::store::outbox::OutboxRow;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 20, 1, 0, 0).unwrap()
}

/// A store with `n` notices in the outbox.
fn store_with(n: u8) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(&dir.path().join("node.db")).unwrap();
    store
        .write(|w| {
            for i in 0..n {
                let added = w.enqueue_notice(
                    &OutboxRow {
                        doc_id: [i; 16],
                        code: format!("000.00.01.H49-260320-{:04}", i + 1),
                        kind: "result_ready".into(),
                        key: "2026-03-20T00:00:00.000Z".into(),
                        office: "commune:dien-ban/dien-phuong".into(),
                        audience: "applicant".into(),
                        applicant: "Nguyễn Văn An".into(),
                        phone: "0905000000".into(),
                        email: String::new(),
                        message: "Hồ sơ đã có kết quả.".into(),
                    },
                    t0(),
                )?;
                assert!(added);
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
    (dir, store)
}

/// What the receiving server does with its n-th request (from 0).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Answer {
    /// 503 before processing: nothing received.
    Fail,
    /// Processed, then the answer comes too late (the sender times out).
    Slow,
    Ok,
}

/// A tiny HTTP/1.1 receiver that dedupes by `Idempotency-Key`, as the
/// webhook's receiver is expected to.
#[derive(Default)]
struct Receiver {
    requests: usize,
    /// Processed notices by key, and how often each key came.
    seen: HashMap<String, usize>,
    bodies: Vec<serde_json::Value>,
}

fn serve(script: Vec<Answer>) -> (String, Arc<Mutex<Receiver>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/notices", listener.local_addr().unwrap());
    let receiver = Arc::new(Mutex::new(Receiver::default()));
    let shared = receiver.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut key = None;
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some((name, value)) = line.split_once(':') {
                    match name.to_ascii_lowercase().as_str() {
                        "idempotency-key" => key = Some(value.trim().to_string()),
                        "content-length" => length = value.trim().parse().unwrap_or(0),
                        _ => {}
                    }
                }
            }
            let mut body = vec![0; length.min(1 << 20)];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let answer = {
                let mut r = shared.lock().unwrap();
                let answer = script.get(r.requests).copied().unwrap_or(Answer::Ok);
                r.requests += 1;
                if answer != Answer::Fail {
                    let key = key.expect("every request carries an Idempotency-Key");
                    let count = r.seen.entry(key).or_default();
                    *count += 1;
                    if *count == 1 {
                        r.bodies.push(serde_json::from_slice(&body).unwrap());
                    }
                }
                answer
            };
            let reply: &[u8] = match answer {
                Answer::Fail => b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 11\r\nConnection: close\r\n\r\nmodem busy\n",
                Answer::Slow => {
                    std::thread::sleep(std::time::Duration::from_millis(1500));
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                }
                Answer::Ok => b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            };
            let _ = stream.write_all(reply);
        }
    });
    (url, receiver)
}

fn entries(store: &mut Store) -> Vec<OutboxEntry> {
    store.read(|r| notices::outbox(r, None)).unwrap()
}

#[test]
fn webhook_retries_until_each_notice_is_received_once() {
    let (_dir, mut store) = store_with(3);
    // Two refusals, then an answer lost to the timeout, then all well.
    let (url, receiver) = serve(vec![Answer::Fail, Answer::Fail, Answer::Slow]);
    let gateway =
        Gateway::Webhook(webhook::Webhook::new(&url, Duration::from_secs(1), None).unwrap());
    let cap = Duration::from_secs(600);

    let first = deliver_due(&mut store, &gateway, cap, t0()).unwrap();
    assert_eq!(
        first,
        Pass {
            delivered: 0,
            failed: 3
        }
    );
    let after = entries(&mut store);
    assert!(
        after
            .iter()
            .all(|e| e.delivery() == notices::Delivery::Failed)
    );
    assert!(
        after[0].last_error.as_deref().unwrap().contains("503"),
        "{after:?}"
    );
    assert!(
        after[2].last_error.as_deref().unwrap().contains("webhook"),
        "{after:?}"
    );
    // Backing off: nothing is tried again at the same moment.
    assert_eq!(
        deliver_due(&mut store, &gateway, cap, t0()).unwrap(),
        Pass::default()
    );

    // Later passes deliver everything; bounded, not a loop without end.
    let mut now = t0();
    for _ in 0..5 {
        now += chrono::Duration::seconds(cap.as_secs() as i64);
        deliver_due(&mut store, &gateway, cap, now).unwrap();
    }
    let done = entries(&mut store);
    assert!(
        done.iter()
            .all(|e| e.delivery() == notices::Delivery::Delivered),
        "{done:?}"
    );
    assert!(done.iter().all(|e| e.attempts == 1));
    let r = receiver.lock().unwrap();
    // The slow request was processed and then sent again: a duplicate the
    // receiver dropped by its key, so each notice counts once.
    assert_eq!(r.requests, 6);
    assert_eq!(r.seen.len(), 3);
    assert_eq!(r.seen.values().filter(|&&n| n == 2).count(), 1);
    assert_eq!(r.bodies.len(), 3);
    let codes: std::collections::BTreeSet<_> = r
        .bodies
        .iter()
        .map(|b| b["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 3);
    for body in &r.bodies {
        assert_eq!(body["kind"], "result_ready");
        assert!(
            r.seen
                .contains_key(body["idempotency_key"].as_str().unwrap())
        );
    }
}

#[test]
fn a_refused_connection_is_a_failed_try_with_its_reason() {
    let (_dir, mut store) = store_with(1);
    // A port nobody listens on any more.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/notices");
    let gateway =
        Gateway::Webhook(webhook::Webhook::new(&url, Duration::from_secs(2), None).unwrap());
    let pass = deliver_due(&mut store, &gateway, Duration::from_secs(60), t0()).unwrap();
    assert_eq!(pass.failed, 1);
    let entry = &entries(&mut store)[0];
    assert_eq!(entry.attempts, 1);
    assert!(entry.next_attempt_at.unwrap() > t0());
    assert!(entry.last_error.as_deref().unwrap().contains(&url));
}

fn sh(script: &str) -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into(), script.into()]
}

#[test]
fn a_failing_command_hook_is_retried_with_the_same_key() {
    let (dir, mut store) = store_with(1);
    let out = dir.path().join("sent");
    let tries = dir.path().join("tries");
    // Fails the first time (like a busy modem), then keeps the notice.
    let script = format!(
        "echo x >> {tries}; if [ $(wc -l < {tries}) -lt 2 ]; then echo 'modem busy' >&2; exit 3; fi; \
         echo \"$LIENTHONG_IDEMPOTENCY_KEY\" >> {out}; cat >> {out}",
        tries = tries.display(),
        out = out.display()
    );
    let gateway = Gateway::Command(command::CommandHook::new(
        sh(&script),
        Duration::from_secs(10),
    ));
    let cap = Duration::from_secs(60);
    assert_eq!(
        deliver_due(&mut store, &gateway, cap, t0()).unwrap().failed,
        1
    );
    let failed = &entries(&mut store)[0];
    assert_eq!(failed.delivery(), notices::Delivery::Failed);
    let error = failed.last_error.as_deref().unwrap();
    assert!(
        error.contains("modem busy") && error.contains("3"),
        "{error}"
    );
    assert!(!out.exists());

    let later = t0() + chrono::Duration::seconds(60);
    assert_eq!(
        deliver_due(&mut store, &gateway, cap, later)
            .unwrap()
            .delivered,
        1
    );
    let done = &entries(&mut store)[0];
    assert_eq!(done.sent_at, Some(later));
    let sent = std::fs::read_to_string(&out).unwrap();
    let (key, json) = sent.split_once('\n').unwrap();
    let expected = idempotency_key(&[0; 16], "result_ready", "2026-03-20T00:00:00.000Z");
    assert_eq!(key, expected);
    let json: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(json["idempotency_key"], expected.as_str());
    assert_eq!(json["phone"], "0905000000");
}

#[test]
fn a_command_hook_past_its_time_is_stopped() {
    let (_dir, mut store) = store_with(1);
    let gateway = Gateway::Command(command::CommandHook::new(
        sh("sleep 30"),
        Duration::from_secs(1),
    ));
    let started = std::time::Instant::now();
    assert_eq!(
        deliver_due(&mut store, &gateway, Duration::from_secs(60), t0())
            .unwrap()
            .failed,
        1
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let error = entries(&mut store)[0].last_error.clone().unwrap();
    assert!(error.contains("longer than 1 s"), "{error}");
}

#[test]
fn backoff_doubles_with_jitter_up_to_the_cap() {
    let cap = Duration::from_secs(3600);
    for failures in 1..=12u32 {
        let full = FIRST_BACKOFF.saturating_mul(1 << (failures - 1)).min(cap);
        let wait = backoff(7, failures, cap);
        assert!(
            wait >= full / 2 && wait <= full,
            "{failures}: {wait:?} vs {full:?}"
        );
        assert_eq!(wait, backoff(7, failures, cap), "deterministic");
    }
    assert!(backoff(7, 40, cap) <= cap);
    // Notices failed together spread out.
    let spread: std::collections::BTreeSet<_> = (0..20).map(|id| backoff(id, 3, cap)).collect();
    assert!(spread.len() > 10);
}

#[test]
fn keys_are_stable_and_distinct() {
    let a = idempotency_key(&[1; 16], "overdue", "2026-03-03T02:00:00.000Z");
    assert_eq!(
        a,
        idempotency_key(&[1; 16], "overdue", "2026-03-03T02:00:00.000Z")
    );
    assert_eq!(a.len(), 3 + 32);
    assert_ne!(
        a,
        idempotency_key(&[1; 16], "due_soon", "2026-03-03T02:00:00.000Z")
    );
    assert_ne!(
        a,
        idempotency_key(&[2; 16], "overdue", "2026-03-03T02:00:00.000Z")
    );
    assert_ne!(
        a,
        idempotency_key(&[1; 16], "overdue", "2026-03-03T02:00:00.001Z")
    );
}

#[test]
fn the_gateway_section_is_checked() {
    let config = |webhook: Option<&str>, command: Option<Vec<String>>| GatewayConfig {
        webhook: webhook.map(str::to_string),
        command,
        timeout_seconds: 10,
        max_backoff_seconds: 3600,
        ca_file: None,
    };
    assert!(config(Some("http://127.0.0.1:9/n"), None).check().is_ok());
    assert!(config(None, Some(sh("true"))).check().is_ok());
    let both = config(Some("http://127.0.0.1:9/n"), Some(sh("true")))
        .check()
        .unwrap_err();
    assert!(both.contains("exactly one"), "{both}");
    assert!(config(None, None).check().is_err());
    assert!(config(Some("https://x/n"), None).check().is_ok());
    assert!(
        config(Some("ftp://x/n"), None)
            .check()
            .unwrap_err()
            .contains("https://")
    );
    let mut plain_with_ca = config(Some("http://127.0.0.1:9/n"), None);
    plain_with_ca.ca_file = Some("/etc/lienthong/ca.pem".into());
    assert!(plain_with_ca.check().unwrap_err().contains("ca_file"));
    assert!(
        config(None, Some(vec![]))
            .check()
            .unwrap_err()
            .contains("program")
    );
    let mut slow = config(Some("http://127.0.0.1:9/n"), None);
    slow.timeout_seconds = 0;
    assert!(slow.check().unwrap_err().contains("timeout_seconds"));
}

#[test]
fn node_toml_carries_the_gateway_and_the_portal() {
    use crate::config::NodeConfig;
    let file = std::path::Path::new("node.toml");
    let source = r#"
office = "commune:dien-ban/dien-phuong"

[gateway]
command = ["/usr/local/bin/send-sms", "--modem", "/dev/ttyUSB0"]
timeout_seconds = 20

[portal]
endpoint = "http://127.0.0.1:9100/portal"
"#;
    let config = NodeConfig::parse(file, source).unwrap();
    let gateway = config.gateway.clone().unwrap();
    assert_eq!(
        gateway.command.as_ref().unwrap()[0],
        "/usr/local/bin/send-sms"
    );
    assert_eq!(
        (gateway.timeout_seconds, gateway.max_backoff_seconds),
        (20, 3600)
    );
    assert_eq!(
        config.portal.as_ref().unwrap().endpoint,
        "http://127.0.0.1:9100/portal"
    );
    // Written back and read again, unchanged.
    assert_eq!(NodeConfig::parse(file, &config.to_toml()).unwrap(), config);
    // Without the sections: nothing configured, and nothing written.
    let bare = NodeConfig::parse(file, "office = \"commune:dien-ban/dien-phuong\"\n").unwrap();
    assert!(bare.gateway.is_none() && bare.portal.is_none());
    assert!(!bare.to_toml().contains("[gateway]"));
    // A wrong section says what is wrong and where.
    let both = format!("{source}\n").replace(
        "[gateway]\n",
        "[gateway]\nwebhook = \"http://127.0.0.1:9/n\"\n",
    );
    let error = NodeConfig::parse(file, &both).unwrap_err().to_string();
    assert!(error.contains("exactly one"), "{error}");
    let https = source.replace("http://127.0.0.1:9100", "https://dichvucong.gov.vn");
    assert!(NodeConfig::parse(file, &https).is_ok(), "https is accepted");
    let ftp = source.replace("http://127.0.0.1:9100", "ftp://dichvucong.gov.vn");
    let error = NodeConfig::parse(file, &ftp).unwrap_err().to_string();
    assert!(
        error.contains("[portal] endpoint") && error.contains("https://"),
        "{error}"
    );
    let plain_ca = source.replace(
        "endpoint = \"http://127.0.0.1:9100/portal\"",
        "endpoint = \"http://127.0.0.1:9100/portal\"\nca_file = \"/etc/lienthong/ca.pem\"",
    );
    let error = NodeConfig::parse(file, &plain_ca).unwrap_err().to_string();
    assert!(error.contains("[portal] ca_file"), "{error}");
    let unknown = source.replace("timeout_seconds = 20", "timeout = 20");
    assert!(
        NodeConfig::parse(file, &unknown).is_err(),
        "deny_unknown_fields"
    );
}

/// A log writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
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

/// A failed try is logged inside a `notice` span carrying the outbox id,
/// the dossier's code and the kind; the line itself does not repeat them.
#[test]
fn a_failed_delivery_logs_inside_the_notice_span() {
    let (_dir, mut store) = store_with(1);
    let gateway = Gateway::Command(command::CommandHook::new(
        sh("echo 'modem busy' >&2; exit 3"),
        Duration::from_secs(10),
    ));
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_writer(captured.clone())
        .finish();
    let pass = tracing::subscriber::with_default(subscriber, || {
        deliver_due(&mut store, &gateway, Duration::from_secs(60), t0()).unwrap()
    });
    assert_eq!(pass.failed, 1);
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let line: serde_json::Value = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["fields"]["message"] == "notice not delivered")
        .unwrap_or_else(|| panic!("no failure logged: {text}"));
    let span = &line["span"];
    assert_eq!(span["name"], "notice", "{line}");
    assert_eq!(span["dossier"], "000.00.01.H49-260320-0001", "{line}");
    assert_eq!(span["kind"], "result_ready", "{line}");
    assert!(span["id"].is_number(), "{line}");
    assert!(
        line["fields"].get("dossier").is_none() && line["fields"].get("notice").is_none(),
        "not repeated by hand: {line}"
    );
    assert!(
        line["fields"]["error"]
            .as_str()
            .unwrap()
            .contains("modem busy"),
        "{line}"
    );
}
