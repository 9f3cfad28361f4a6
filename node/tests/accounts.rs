//! Officers' accounts: created from the CLI with a memory-hard hash, signed
//! in with lock-out after repeated failures; nothing secret is printed.

mod support;

use std::io::Write;
use std::process::Stdio;

use chrono::{Duration, TimeZone, Utc};
use lienthong::node::Node;
use lienthong::service::accounts::{self, AccountError, MAX_FAILURES, Role};

use support::*;

fn add_from_cli(dir: &str, name: &str, role: &str, password: &str) -> std::process::Output {
    let mut child = lienthong()
        .args([
            "account",
            "add",
            "--data",
            dir,
            "--name",
            name,
            "--full-name",
            "Trần Thị Hoa",
            "--role",
            role,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command refused before it reads the password (a bad data
    // directory, say) has closed its end: that is its answer, not an error.
    if let Err(e) = writeln!(child.stdin.take().unwrap(), "{password}") {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

/// Issue 9: the administrator's refusals come from the service's catalogue:
/// in Vietnamese by default, not the `#[error]` English.
#[test]
fn account_and_token_refusals_are_worded_in_vietnamese() {
    let root = tempfile::tempdir().unwrap();
    let dir = init(root.path(), "commune", COMMUNE);
    let d = dir.to_str().unwrap();
    let vi = |args: &[&str], stdin: &str| {
        let mut child = lienthong()
            .env(lienthong::i18n::LANG_ENV, "vi")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _ = writeln!(child.stdin.take().unwrap(), "{stdin}");
        child.wait_with_output().unwrap()
    };
    let add = |name: &str, password: &str| {
        let args = ["account", "add", "--data", d, "--name", name];
        let args = [
            &args[..],
            &["--full-name", "Trần Thị Hoa", "--role", "desk"],
        ]
        .concat();
        vi(&args, password)
    };
    let out = add("hoa", "một mật khẩu dài");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (out, expected) in [
        (
            add("hoa", "một mật khẩu khác dài"),
            "đã có tài khoản “hoa” trên nút này",
        ),
        (
            add("binh", "ngắn"),
            "mật khẩu quá ngắn: cần ít nhất 10 ký tự",
        ),
        (
            add("Binh Le", "một mật khẩu dài"),
            "không dùng được làm tên đăng nhập",
        ),
    ] {
        let e = String::from_utf8(out.stderr).unwrap();
        assert!(!out.status.success() && e.contains(expected), "{e}");
        assert!(
            !e.contains("already exists") && !e.contains("at least"),
            "{e}"
        );
    }
    let token = |verb: &str| vi(&["api-token", verb, "--data", d, "--name", "portal"], "");
    assert!(token("add").status.success());
    for (out, expected) in [
        (token("add"), "đã có mã truy cập tên “portal” trên nút này"),
        (
            vi(&["api-token", "revoke", "--data", d, "--name", "erp"], ""),
            "không có mã truy cập nào đang dùng tên “erp”",
        ),
    ] {
        let e = String::from_utf8(out.stderr).unwrap();
        assert!(!out.status.success() && e.contains(expected), "{e}");
    }
}

#[test]
fn an_administrator_adds_accounts_from_the_cli() {
    let root = tempfile::tempdir().unwrap();
    let dir = init(root.path(), "commune", COMMUNE);
    let d = dir.to_str().unwrap();
    let out = add_from_cli(d, "hoa", "desk", "một mật khẩu dài");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(
        printed.contains("hoa (Trần Thị Hoa) — Cán bộ một cửa"),
        "{printed}"
    );

    // Refusals say what is wrong and write nothing.
    let out = add_from_cli(d, "hoa", "leader", "một mật khẩu khác dài");
    let e = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success() && e.contains("already exists"), "{e}");
    let out = add_from_cli(d, "binh", "desk", "ngắn");
    let e = String::from_utf8(out.stderr).unwrap();
    assert!(
        !out.status.success() && e.contains("at least 10 characters"),
        "{e}"
    );
    let out = add_from_cli(d, "Binh Le", "desk", "một mật khẩu dài");
    let e = String::from_utf8(out.stderr).unwrap();
    assert!(
        !out.status.success() && e.contains("not a sign-in name"),
        "{e}"
    );
    let out = add_from_cli(d, "binh", "boss", "một mật khẩu dài");
    let e = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success() && e.contains("not a role"), "{e}");

    let listed = ok(&["account", "list", "--data", d]);
    assert!(
        listed.contains("hoa") && listed.contains("Cán bộ một cửa"),
        "{listed}"
    );
    assert!(!listed.contains("binh"), "{listed}");
    assert!(
        !listed.contains("argon2") && !listed.contains("mật khẩu"),
        "{listed}"
    );

    // Stored as an Argon2id hash, never as the password.
    let mut node = Node::open(&dir).unwrap();
    let row = node.store.read(|r| r.account("hoa")).unwrap().unwrap();
    assert!(
        row.password_hash.starts_with("$argon2id$"),
        "{}",
        row.password_hash
    );
    assert!(!row.password_hash.contains("một"));
    let signed_in = accounts::sign_in(&mut node, "hoa", "một mật khẩu dài", Utc::now()).unwrap();
    assert_eq!(signed_in.role, Role::Desk);
    assert_eq!(signed_in.display_name, "Trần Thị Hoa");
}

#[test]
fn repeated_failures_lock_the_account_for_a_while() {
    let root = tempfile::tempdir().unwrap();
    let dir = init(root.path(), "commune", COMMUNE);
    let mut node = Node::open(&dir).unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap();
    accounts::add(
        &mut node,
        "binh",
        "Lê Văn Bình",
        Role::Leader,
        "lãnh đạo phê duyệt",
        t0,
    )
    .unwrap();
    let right = "lãnh đạo phê duyệt";

    // An unknown name and a wrong password read the same.
    let unknown = accounts::sign_in(&mut node, "nobody", right, t0).unwrap_err();
    let wrong = accounts::sign_in(&mut node, "binh", "sai mật khẩu", t0).unwrap_err();
    assert_eq!(unknown.to_string(), wrong.to_string());
    assert!(matches!(wrong, AccountError::BadCredentials));
    // A success clears the count.
    accounts::sign_in(&mut node, "binh", right, t0).unwrap();
    assert_eq!(
        node.store
            .read(|r| r.account("binh"))
            .unwrap()
            .unwrap()
            .failed_attempts,
        0
    );

    for i in 1..MAX_FAILURES {
        let e = accounts::sign_in(&mut node, "binh", "sai", t0 + Duration::seconds(i.into()))
            .unwrap_err();
        assert!(
            matches!(e, AccountError::BadCredentials),
            "attempt {i}: {e}"
        );
    }
    let e = accounts::sign_in(&mut node, "binh", "sai", t0 + Duration::minutes(1)).unwrap_err();
    let AccountError::Locked { until } = e else {
        panic!("the {MAX_FAILURES}th failure locks: {e}")
    };
    assert_eq!(until, t0 + Duration::minutes(16));
    // Locked: even the right password is refused until then.
    let e = accounts::sign_in(&mut node, "binh", right, t0 + Duration::minutes(10)).unwrap_err();
    assert!(matches!(e, AccountError::Locked { .. }), "{e}");
    // After the lock, the right password works and clears it.
    let ok = accounts::sign_in(&mut node, "binh", right, t0 + Duration::minutes(17)).unwrap();
    assert_eq!(ok.role, Role::Leader);
    let row = node.store.read(|r| r.account("binh")).unwrap().unwrap();
    assert_eq!((row.failed_attempts, row.locked_until), (0, None));
}
