//! What the node leaves on the local disk: a data directory only its owner
//! can read (the store holds applicants' ID numbers), and `get-attachment`,
//! which writes where an officer asks without ever panicking on what a peer
//! wrote into a dossier or clobbering a file it was not told to replace.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use lienthong::node::Node;
use lienthong::officer;
use lienthong_shared::dossier::schema;
use lienthong_shared::dossier::{AttachmentRef, fold};
use support::*;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn with_suffix(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

#[test]
fn the_data_directory_and_store_are_owner_only_from_init_and_tightened_on_open() {
    let root = tempfile::tempdir().unwrap();
    let dir = init(root.path(), "commune", COMMUNE);
    let store = dir.join("store.db");
    assert_eq!(mode(&dir), 0o700, "data directory");
    assert_eq!(mode(&store), 0o600, "store.db");
    assert_eq!(mode(&dir.join("node.toml")), 0o600, "node.toml");
    assert_eq!(mode(&dir.join("identity")), 0o700, "identity directory");
    for entry in std::fs::read_dir(dir.join("identity")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "key") {
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
    }
    // The WAL files SQLite makes while the store is open take its mode.
    let conn = rusqlite::Connection::open(&store).unwrap();
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('probe', 1)",
        [],
    )
    .unwrap();
    for suffix in ["-wal", "-shm"] {
        let file = with_suffix(&store, suffix);
        assert!(file.exists(), "precondition: {} exists", file.display());
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }

    // A directory made by an older version: world-readable.
    set_mode(&dir, 0o755);
    for file in [
        store.clone(),
        with_suffix(&store, "-wal"),
        with_suffix(&store, "-shm"),
    ] {
        set_mode(&file, 0o644);
    }
    assert_eq!(mode(&store), 0o644, "precondition");
    ok(&["status", "--data", dir.to_str().unwrap()]);
    assert_eq!(mode(&dir), 0o700, "tightened on open");
    assert_eq!(mode(&store), 0o600, "tightened on open");
    for suffix in ["-wal", "-shm"] {
        assert_eq!(mode(&with_suffix(&store, suffix)), 0o600, "{suffix}");
    }
    drop(conn);
}

/// Write a reference into a stored dossier as a broken peer would have.
fn inject_reference(dir: &Path, code: &str, reference: &AttachmentRef) {
    let mut node = Node::open(dir).unwrap();
    let key = officer::resolve(&mut node, code).unwrap().key;
    let now = chrono::Utc::now();
    let (store, ctx, tree) = node.split(now);
    store
        .write(|w| -> Result<(), officer::ActionError> {
            let (_, mut doc) = w.reader().load_document(&key)?.unwrap();
            let heads = doc.get_heads();
            let mut tx = doc.transaction();
            schema::add_attachment(&mut tx, "Tờ khai", reference)?;
            tx.commit();
            let dossier = schema::read(&doc)?;
            let state = fold::fold(&dossier, &ctx);
            officer::save_dossier(w, &key, &doc, &heads, &dossier, &state, tree)?;
            Ok(())
        })
        .unwrap();
}

/// Fails cleanly: an error message, not a panic (exit 101).
fn fails_cleanly(args: &[&str]) -> String {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn get_attachment_never_panics_on_a_peer_written_hash() {
    let root = tempfile::tempdir().unwrap();
    let dir = init(root.path(), "commune", COMMUNE);
    let d = dir.to_str().unwrap();
    let code = receive(&dir, LAND, "2026-03-02 09:00");
    let out = root.path().join("out.pdf");
    let out_s = out.to_str().unwrap();
    // One reference with a two-character hash…
    inject_reference(
        &dir,
        &code,
        &AttachmentRef {
            hash: "ab".into(),
            size: 10,
            media_type: "application/pdf".into(),
            name: "ngắn.pdf".into(),
            chunks_root: "cd".into(),
        },
    );
    let e = fails_cleanly(&["get-attachment", "--data", d, &code, "--out", out_s]);
    assert!(e.contains("malformed hash"), "{e}");
    // …and one whose hash is not even ASCII: listing both must not slice them.
    inject_reference(
        &dir,
        &code,
        &AttachmentRef {
            hash: "aằằằằằằằằằằằ".into(),
            size: 10,
            media_type: "application/pdf".into(),
            name: "lạ.pdf".into(),
            chunks_root: "cd".into(),
        },
    );
    let e = fails_cleanly(&["get-attachment", "--data", d, &code, "--out", out_s]);
    assert!(e.contains("several attachments"), "{e}");
    let e = fails_cleanly(&[
        "get-attachment",
        "--data",
        d,
        &code,
        "--hash",
        "aằ",
        "--out",
        out_s,
    ]);
    assert!(e.contains("malformed hash"), "{e}");
    assert!(!out.exists(), "nothing written");
    ok(&["show", "--data", d, &code]);
}

#[test]
fn get_attachment_refuses_to_overwrite_unless_forced_and_then_replaces_atomically() {
    let root = tempfile::tempdir().unwrap();
    let dir = init(root.path(), "commune", COMMUNE);
    let d = dir.to_str().unwrap();
    let code = receive(&dir, LAND, "2026-03-02 09:00");
    let content = attach_scan(root.path(), &dir, &code, 150_000);
    let outdir = root.path().join("out");
    std::fs::create_dir(&outdir).unwrap();
    let out = outdir.join("result.pdf");
    let out_s = out.to_str().unwrap();
    std::fs::write(&out, b"an officer's own file").unwrap();
    // A stale temp name from an earlier version must not be touched either.
    let part = outdir.join("result.part");
    std::fs::write(&part, b"someone else's file").unwrap();

    let e = fails_cleanly(&["get-attachment", "--data", d, &code, "--out", out_s]);
    assert!(e.contains("already exists") && e.contains("--force"), "{e}");
    assert_eq!(std::fs::read(&out).unwrap(), b"an officer's own file");

    ok(&[
        "get-attachment",
        "--data",
        d,
        &code,
        "--out",
        out_s,
        "--force",
    ]);
    assert_eq!(std::fs::read(&out).unwrap(), content, "replaced");
    assert_eq!(std::fs::read(&part).unwrap(), b"someone else's file");
    let names: Vec<String> = std::fs::read_dir(&outdir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "no temporary file left: {names:?}");

    // A new path is created, never through a temp name.
    let fresh = outdir.join("fresh.pdf");
    ok(&[
        "get-attachment",
        "--data",
        d,
        &code,
        "--out",
        fresh.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(&fresh).unwrap(), content);
    assert_eq!(mode(&fresh), 0o600);
}
