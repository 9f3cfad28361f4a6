//! Upgrades: a data directory made by an earlier release opens with this
//! build — the store migrates forward — and every dossier in it reads.
//!
//! `tests/fixtures/node-v0.1/` was written by the build of 2026-12-07
//! (schema 7) with `tests/fixtures/make-node-v0.1.sh`, and is never
//! regenerated. Each later release that changes the layout adds its own
//! fixture next to it and a line to `FIXTURES`.

use std::path::{Path, PathBuf};
use std::process::Command;

use lienthong::node::Node;
use lienthong::officer;
use lienthong_shared::dossier::Status;
use lienthong_shared::dossier::fold;

/// A fixture, the schema it was written with, and its dossiers: code and status.
type Fixture = (&'static str, i64, &'static [(&'static str, Status)]);

/// The four dossiers both fixtures hold (the same story, `make-node-*.sh`).
const STORY: &[(&str, Status)] = &[
    ("000.01.36.H49-260302-0001", Status::Processing),
    ("000.01.36.H49-260302-0002", Status::Processing),
    ("000.01.36.H49-260303-0001", Status::Processing),
    ("000.01.36.H49-260303-0002", Status::Submitted),
];

const FIXTURES: &[Fixture] = &[("node-v0.1", 7, STORY), ("node-v0.2", 13, STORY)];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
}

/// Copy the fixture (never open it in place: opening migrates). Git keeps
/// no file modes, so the key is made owner-only again as `init` made it.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for path in [to.to_path_buf(), to.join("identity")] {
            if path.is_dir() {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
            }
        }
        let key = to.join("identity/node.key");
        if key.exists() {
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }
}

fn user_version(store: &Path) -> i64 {
    rusqlite::Connection::open(store)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn every_released_data_directory_opens_and_every_dossier_reads() {
    for (name, schema, expected) in FIXTURES {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join(name);
        copy_dir(&fixture(name), &data);
        let store = data.join("store.db");
        assert_eq!(
            user_version(&store),
            *schema,
            "precondition: {name} is as its release wrote it"
        );

        let mut node = Node::open(&data).unwrap_or_else(|e| panic!("{name} does not open: {e}"));
        let now = node.store.schema_version().unwrap();
        assert!(now >= *schema, "{name}: schema went from {schema} to {now}");
        node.store.integrity_check().unwrap();

        let mut rows = Vec::new();
        node.store
            .read(|r| r.for_each_indexed(|row| rows.push(row)))
            .unwrap();
        rows.sort_by(|a, b| a.code.cmp(&b.code));
        let codes: Vec<&str> = rows.iter().map(|r| r.code.as_str()).collect();
        let expected_codes: Vec<&str> = expected.iter().map(|(c, _)| *c).collect();
        assert_eq!(codes, expected_codes, "{name}: the dossiers");
        for (row, (code, status)) in rows.iter().zip(expected.iter()) {
            let (_, dossier) = officer::load(&mut node, &row.key)
                .unwrap_or_else(|e| panic!("{name}: {code} does not load: {e}"));
            assert_eq!(dossier.facts.code, *code);
            let state = fold::fold(&dossier, &node.fold_context(chrono::Utc::now()));
            assert_eq!(state.status, Some(*status), "{name}: {code}");
            assert_eq!(row.status, Some(*status), "{name}: {code} in the index");
        }
        drop(node);

        // The binary reads it too, attachment included, verified by its hash.
        let out = dir.path().join("scan.txt");
        let status = Command::new(env!("CARGO_BIN_EXE_lienthong"))
            .args(["get-attachment", "--data"])
            .arg(&data)
            .arg("--out")
            .arg(&out)
            .arg("000.01.36.H49-260303-0001")
            .status()
            .unwrap();
        assert!(status.success(), "{name}: get-attachment failed");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "Bản scan giấy tờ\n");
    }
}
