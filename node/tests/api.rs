//! The JSON API on a real server (127.0.0.1, OS-chosen port) with a real
//! client: bearer tokens (none → 401, revoked → 401), receiving and acting
//! through the service layer with the token's name as the officer, a refused
//! action → 409 in both languages with nothing written, a role without the
//! right → 403, keyset paging that lists every dossier once, bounded bodies.

#[path = "support/desk.rs"]
mod desk;
#[path = "support/http.rs"]
mod http;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use desk::*;
use http::Served;
use lienthong::node::Node;
use lienthong::service::accounts::Role;
use lienthong::service::api_tokens;
use serde_json::Value;

fn dir_of(root: &Path, office: &str) -> PathBuf {
    root.join(office.replace([':', '/'], "_"))
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn last_seq(dir: &Path) -> i64 {
    let mut node = Node::open(dir).unwrap();
    node.store.read(|r| r.last_seq()).unwrap()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

const RECEIVE: &str =
    r#"{"procedure":"1.000894","applicant":{"name":"Nguyễn Văn An","id_number":"049012345678"}}"#;

struct World {
    _root: tempfile::TempDir,
    dir: PathBuf,
    served: Served,
    desk: String,
    leader: String,
    revoked: String,
}

fn world() -> World {
    let root = tempfile::tempdir().unwrap();
    let mut node = node(root.path(), DIEN_PHUONG);
    let now = at(2, 9, 0);
    let (_, desk) = api_tokens::add(&mut node, "cong-dich-vu-cong", Role::Desk, now).unwrap();
    let (_, leader) = api_tokens::add(&mut node, "lanh-dao-xa", Role::Leader, now).unwrap();
    let (_, revoked) = api_tokens::add(&mut node, "old-portal", Role::Desk, now).unwrap();
    api_tokens::revoke(&mut node, "old-portal", now).unwrap();
    assert!(
        api_tokens::authenticate(&mut node, &desk)
            .unwrap()
            .is_some(),
        "precondition: the desk token authenticates"
    );
    let dir = dir_of(root.path(), DIEN_PHUONG);
    let served = Served::start(node, now);
    World {
        _root: root,
        dir,
        served,
        desk,
        leader,
        revoked,
    }
}

fn assert_error(status: u16, body: &str, want_status: u16, want_code: &str) -> Value {
    assert_eq!(status, want_status, "{body}");
    let v = json(body);
    assert_eq!(v["error"]["code"], want_code, "{body}");
    for lang in ["message_vi", "message_en"] {
        assert!(
            v["error"][lang].as_str().is_some_and(|m| m.len() > 10),
            "{lang} missing: {body}"
        );
    }
    assert_ne!(v["error"]["message_vi"], v["error"]["message_en"]);
    v
}

#[test]
fn tokens_are_required_and_revoked_ones_refused() {
    let w = world();
    let before = last_seq(&w.dir);
    let (status, _, body) = w.served.get("/api/v1/dossiers", &[]);
    assert_error(status, &body, 401, "no_token");
    let (status, body) = w.served.post_json("/api/v1/dossiers", &[], RECEIVE);
    assert_error(status, &body, 401, "no_token");
    let revoked = bearer(&w.revoked);
    let (status, body) =
        w.served
            .post_json("/api/v1/dossiers", &[("Authorization", &revoked)], RECEIVE);
    assert_error(status, &body, 401, "bad_token");
    let wrong = bearer(&format!("{}x", w.desk));
    let (status, _, body) = w.served.get("/api/v1/report", &[("Authorization", &wrong)]);
    assert_error(status, &body, 401, "bad_token");
    assert_eq!(last_seq(&w.dir), before, "nothing was written");
    // The good token reads.
    let good = bearer(&w.desk);
    let (status, kind, body) = w.served.get("/api/v1/report", &[("Authorization", &good)]);
    assert_eq!(status, 200, "{body}");
    assert!(kind.starts_with("application/json"));
    assert_eq!(json(&body)["total"]["received"], 0);
    let (status, _, body) = w
        .served
        .get("/api/v1/nothing-here", &[("Authorization", &good)]);
    assert_error(status, &body, 404, "not_found");
}

#[test]
fn a_dossier_received_and_finished_through_the_api_records_the_token_names() {
    let w = world();
    let desk = bearer(&w.desk);
    let leader = bearer(&w.leader);
    let (status, body) =
        w.served
            .post_json("/api/v1/dossiers", &[("Authorization", &desk)], RECEIVE);
    assert_eq!(status, 201, "{body}");
    let received = json(&body);
    let code = received["code"].as_str().unwrap().to_string();
    assert!(
        code.starts_with("000.01.36.H49-260302-"),
        "the commune's agency code and the day: {code}"
    );
    assert_eq!(received["status"], "processing", "{body}");
    assert!(
        received["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["officer"] == "cong-dich-vu-cong"),
        "{body}"
    );

    // What the rules allow now, under the names the actions endpoint reads.
    let (status, _, body) = w.served.get(
        &format!("/api/v1/dossiers/{code}"),
        &[("Authorization", &desk)],
    );
    assert_eq!(status, 200, "{body}");
    let allowed = &json(&body)["allowed"][0];
    assert_eq!(allowed["office"]["id"], DIEN_PHUONG, "{body}");
    let names: Vec<&str> = allowed["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"approve") && !names.contains(&"return"),
        "{names:?}"
    );

    // The desk may not approve: 403, nothing written.
    let before = last_seq(&w.dir);
    let path = format!("/api/v1/dossiers/{code}/actions");
    let (status, body) = w.served.post_json(
        &path,
        &[("Authorization", &desk)],
        r#"{"action":"approve"}"#,
    );
    assert_error(status, &body, 403, "role");
    // The rules refuse returning a dossier still in processing: 409, both
    // languages, nothing written.
    let (status, body) = w.served.post_json(
        &path,
        &[("Authorization", &desk)],
        r#"{"action":"return","channel":"direct"}"#,
    );
    let refused = assert_error(status, &body, 409, "not_allowed");
    assert!(
        refused["error"]["message_en"]
            .as_str()
            .unwrap()
            .contains(&code),
        "{body}"
    );
    assert_eq!(last_seq(&w.dir), before, "a refused action writes nothing");
    // A malformed action: 400.
    let (status, body) =
        w.served
            .post_json(&path, &[("Authorization", &desk)], r#"{"action":"fly"}"#);
    assert_error(status, &body, 400, "bad_request");

    for (token, action) in [
        (&leader, r#"{"action":"approve","note":"Đồng ý"}"#),
        (
            &leader,
            r#"{"action":"issue_result","result":"Giấy chứng nhận kết hôn"}"#,
        ),
        (&desk, r#"{"action":"return"}"#),
    ] {
        let (status, body) = w
            .served
            .post_json(&path, &[("Authorization", token)], action);
        assert_eq!(status, 200, "{action}: {body}");
    }

    let (status, _, body) = w.served.get(
        &format!("/api/v1/dossiers/{code}"),
        &[("Authorization", &desk)],
    );
    assert_eq!(status, 200, "{body}");
    let one = json(&body);
    assert_eq!(one["dossier"]["status"], "returned", "{body}");
    let timeline = one["timeline"].as_array().unwrap();
    let officers: Vec<&str> = timeline
        .iter()
        .map(|e| e["officer"].as_str().unwrap())
        .collect();
    assert!(officers.contains(&"cong-dich-vu-cong"), "{officers:?}");
    assert!(officers.contains(&"lanh-dao-xa"), "{officers:?}");
    assert_eq!(officers.last(), Some(&"cong-dich-vu-cong"));
    for event in timeline {
        assert_eq!(event["office"]["id"], DIEN_PHUONG);
        let name = event["office"]["name"].as_str().unwrap();
        assert!(name.contains("Điện Phương"), "office by name: {name}");
        assert!(event["text_vi"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(event["text_en"].as_str().is_some_and(|t| !t.is_empty()));
    }
    assert_eq!(one["allowed"], Value::Array(vec![]), "nothing left to do");
    let (status, _, body) = w
        .served
        .get("/api/v1/dossiers/NO-SUCH-CODE", &[("Authorization", &desk)]);
    assert_error(status, &body, 404, "unknown_dossier");
}

#[test]
fn pages_list_every_dossier_once_and_bodies_are_bounded() {
    let w = world();
    let desk = bearer(&w.desk);
    let mut codes = BTreeSet::new();
    for _ in 0..7 {
        let (status, body) =
            w.served
                .post_json("/api/v1/dossiers", &[("Authorization", &desk)], RECEIVE);
        assert_eq!(status, 201, "{body}");
        codes.insert(json(&body)["code"].as_str().unwrap().to_string());
    }
    assert_eq!(codes.len(), 7);
    let mut seen = Vec::new();
    let mut after = String::new();
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages < 10, "paging does not end");
        let (status, _, body) = w.served.get(
            &format!("/api/v1/dossiers?limit=3&status=processing&after={after}"),
            &[("Authorization", &desk)],
        );
        assert_eq!(status, 200, "{body}");
        let page = json(&body);
        let rows = page["dossiers"].as_array().unwrap();
        assert!(rows.len() <= 3);
        seen.extend(rows.iter().map(|r| r["code"].as_str().unwrap().to_string()));
        match page["next"].as_str() {
            Some(next) => after = next.to_string(),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 7, "{seen:?}");
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), codes);
    let (status, _, body) = w.served.get(
        &format!("/api/v1/dossiers?holder={DIEN_MINH}"),
        &[("Authorization", &desk)],
    );
    assert_eq!(status, 200);
    assert_eq!(json(&body)["dossiers"], Value::Array(vec![]));
    let (status, _, body) = w.served.get(
        "/api/v1/dossiers?status=flying",
        &[("Authorization", &desk)],
    );
    assert_error(status, &body, 400, "bad_request");

    let before = last_seq(&w.dir);
    let huge = format!(
        r#"{{"procedure":"1.000894","applicant":{{"name":"{}"}}}}"#,
        "A".repeat(100 * 1024)
    );
    let (status, body) = w
        .served
        .post_json("/api/v1/dossiers", &[("Authorization", &desk)], &huge);
    assert_error(status, &body, 413, "too_large");
    assert_eq!(last_seq(&w.dir), before);
}

#[test]
fn api_token_cli_prints_the_token_once_lists_and_revokes() {
    let root = tempfile::tempdir().unwrap();
    drop(node(root.path(), DIEN_PHUONG));
    let dir = dir_of(root.path(), DIEN_PHUONG);
    let data = dir.to_str().unwrap();
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_lienthong"))
            .env("LIENTHONG_LANG", "en")
            .args(args)
            .output()
            .unwrap()
    };
    let out = cli(&[
        "api-token",
        "add",
        "--data",
        data,
        "--name",
        "portal",
        "--role",
        "leader",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(token.starts_with("lt_") && token.len() > 40, "{token}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("shown this once"));
    let mut node = Node::open(&dir).unwrap();
    let client = api_tokens::authenticate(&mut node, &token)
        .unwrap()
        .unwrap();
    assert_eq!(
        (client.name.as_str(), client.role),
        ("portal", Role::Leader)
    );
    drop(node);
    // Stored hashed: the token itself is nowhere in the store's files.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
                "{path:?} holds the token"
            );
        }
    }
    let listed = cli(&["api-token", "list", "--data", data]);
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(
        listed.contains("portal") && listed.contains("leader"),
        "{listed}"
    );
    let out = cli(&["api-token", "add", "--data", data, "--name", "portal"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert!(
        cli(&["api-token", "revoke", "--data", data, "--name", "portal"])
            .status
            .success()
    );
    let mut node = Node::open(&dir).unwrap();
    assert_eq!(api_tokens::authenticate(&mut node, &token).unwrap(), None);
    drop(node);
    let out = cli(&["api-token", "revoke", "--data", data, "--name", "portal"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no active token"));
}
