//! The national portal export for a known story, against a hand-written
//! expected file (`tests/portal/march-2-3.jsonl`).

#[path = "support/desk.rs"]
mod desk;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use desk::*;
use lienthong::gateway::webhook::Webhook;
use lienthong::portal;
use lienthong_shared::dossier::Action;

#[test]
fn the_portal_export_of_a_period_matches_the_expected_file() {
    let root = tempfile::tempdir().unwrap();
    let mut commune = node(root.path(), DIEN_PHUONG);
    // Monday 2 March: one resolved the same morning, one refused online
    // filing, one still in processing; Tuesday 10 March: out of the period.
    let resolved = receive(&mut commune, DIEN_PHUONG, at(2, 9, 0), "Nguyễn Văn An");
    start(&mut commune, &resolved, DIEN_PHUONG, at(2, 9, 5));
    resolve(&mut commune, &resolved, DIEN_PHUONG, at(2, 10, 0));
    let refused = submit(&mut commune, DIEN_PHUONG, at(2, 9, 10), "Trần Thị Bình");
    act(
        &mut commune,
        &refused,
        None,
        at(2, 9, 30),
        Action::Refused {
            reason: "Không thuộc thẩm quyền".into(),
        },
    );
    let open = receive(&mut commune, DIEN_PHUONG, at(2, 14, 0), "Lê Văn Cường");
    start(&mut commune, &open, DIEN_PHUONG, at(2, 14, 5));
    let later = receive(&mut commune, DIEN_PHUONG, at(10, 9, 0), "Phạm Thị Dung");
    let dir = commune.dir.root().to_path_buf();
    drop(commune);

    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_lienthong"))
            .env_remove(lienthong::i18n::LANG_ENV)
            .args(args)
            .output()
            .unwrap()
    };
    let d = dir.to_str().unwrap();
    let out = run(&[
        "export",
        "--data",
        d,
        "--format",
        "portal",
        "--from",
        "2026-03-02 00:00",
        "--to",
        "2026-03-04 00:00",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = String::from_utf8(out.stdout).unwrap();
    let expected = include_str!("portal/march-2-3.jsonl");
    let lines = |text: &str| -> Vec<serde_json::Value> {
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    assert_eq!(lines(&got), lines(expected), "got:\n{got}");
    assert!(!got.contains(&later));

    // A wrong format or an empty period says what is wrong.
    let wrong = run(&[
        "export",
        "--data",
        d,
        "--format",
        "csv",
        "--from",
        "2026-03-02 00:00",
        "--to",
        "2026-03-04 00:00",
    ]);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("--format portal"));
    let backwards = run(&[
        "export",
        "--data",
        d,
        "--format",
        "portal",
        "--from",
        "2026-03-04 00:00",
        "--to",
        "2026-03-02 00:00",
    ]);
    assert!(!backwards.status.success());
    assert!(String::from_utf8_lossy(&backwards.stderr).contains("must be after"));
}

/// A loopback HTTP receiver: answers 503 to its first request, then 200;
/// records (Idempotency-Key, body) of each request.
/// What the receiver got: (Idempotency-Key, body) per accepted request.
type Received = Arc<Mutex<Vec<(String, String)>>>;

fn receiver() -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/portal", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let shared = seen.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut key, mut length) = (String::new(), 0usize);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some((name, value)) = line.trim_end().split_once(':') {
                    match name.to_ascii_lowercase().as_str() {
                        "idempotency-key" => key = value.trim().to_string(),
                        "content-length" => length = value.trim().parse().unwrap_or(0),
                        _ => {}
                    }
                }
            }
            let mut body = vec![0; length.min(1 << 20)];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let reply: &[u8] = if n == 0 {
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            } else {
                shared
                    .lock()
                    .unwrap()
                    .push((key, String::from_utf8(body).unwrap()));
                b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            };
            let _ = stream.write_all(reply);
        }
    });
    (url, seen)
}

#[test]
fn each_status_a_dossier_reaches_is_delivered_to_the_portal_once() {
    let root = tempfile::tempdir().unwrap();
    let mut commune = node(root.path(), DIEN_PHUONG);
    let code = receive(&mut commune, DIEN_PHUONG, at(2, 9, 0), "Nguyễn Văn An");
    let (url, seen) = receiver();
    let endpoint = Webhook::new(&url, Duration::from_secs(5), None).unwrap();
    let tree = commune.network.offices.clone();
    let tz = commune.calendar.timezone();
    let cap = Duration::from_secs(60);

    assert_eq!(
        portal::queue_changes(&mut commune.store, &tree, tz, at(2, 9, 1)).unwrap(),
        1
    );
    assert_eq!(
        portal::queue_changes(&mut commune.store, &tree, tz, at(2, 9, 2)).unwrap(),
        0
    );
    // The endpoint refuses the first try; the retry waits its backoff.
    let first = portal::deliver_due(&mut commune.store, &endpoint, cap, at(2, 9, 3)).unwrap();
    assert_eq!((first.delivered, first.failed), (0, 1));
    let again = portal::deliver_due(&mut commune.store, &endpoint, cap, at(2, 9, 3)).unwrap();
    assert_eq!((again.delivered, again.failed), (0, 0));
    let later = portal::deliver_due(&mut commune.store, &endpoint, cap, at(2, 9, 5)).unwrap();
    assert_eq!(later.delivered, 1);

    // Processing, then resolved: each new status is one more record.
    start(&mut commune, &code, DIEN_PHUONG, at(2, 9, 10));
    let mut queued =
        1 + portal::queue_changes(&mut commune.store, &tree, tz, at(2, 9, 11)).unwrap();
    resolve(&mut commune, &code, DIEN_PHUONG, at(2, 10, 0));
    let resolved = portal::queue_changes(&mut commune.store, &tree, tz, at(2, 10, 1)).unwrap();
    assert_eq!(resolved, 1);
    queued += resolved;
    let last = portal::deliver_due(&mut commune.store, &endpoint, cap, at(2, 10, 2)).unwrap();
    assert_eq!(last.delivered + 1, queued);

    let seen = seen.lock().unwrap();
    // Each body is a DongBoHoSoMC request carrying one record; the first
    // creates the dossier at the portal, the later ones update it.
    let bodies: Vec<serde_json::Value> = seen
        .iter()
        .map(|(_, body)| serde_json::from_str(body).unwrap())
        .collect();
    for (i, body) in bodies.iter().enumerate() {
        assert_eq!(body["service"], "DongBoHoSoMC", "{body}");
        assert_eq!(
            body["isUpdating"],
            if i == 0 { "False" } else { "True" },
            "{body}"
        );
        assert_eq!(body["madonvi"], "000.01.36.H49", "{body}");
        assert_eq!(body["data"].as_array().unwrap().len(), 1, "{body}");
        assert_eq!(body["data"][0]["MaHoSo"], code.as_str(), "{body}");
    }
    let statuses: Vec<u64> = bodies
        .iter()
        .map(|body| {
            body["data"][0]["TrangThaiHoSo"]
                .as_str()
                .expect("the status as a string")
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(statuses.len(), queued);
    assert!(matches!(statuses[0], 2 | 4), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&9));
    // One key per dossier and status: none repeats.
    let keys: std::collections::BTreeSet<_> = seen.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(keys.len(), queued);
    assert!(seen.iter().all(|(_, body)| body.contains(&code)));
}
