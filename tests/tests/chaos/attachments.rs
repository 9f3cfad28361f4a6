//! Attachments over bad links: a transfer cut in the middle resumes from
//! the chunks already stored; every blob is verified by hash before use; a
//! corrupt chunk is fetched again.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lienthong::node::Node;
use lienthong::officer::{self, NewAttachment};
use lienthong_shared::OfficeId;
use lienthong_shared::dossier::AttachmentRef;
use lienthong_tests::chaos::cluster::Cluster;
use lienthong_tests::chaos::desk::{Ledger, new_dossier};
use lienthong_tests::chaos::process::cli;
use lienthong_tests::chaos::view::assert_agree;
use lienthong_tests::chaos::*;
use lienthong_tests::linkemu::LinkConfig;
use rand::{RngCore, SeedableRng};
use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha256};

const WAIT: Duration = Duration::from_secs(90);
const CHUNK: u64 = 64 * 1024;

fn read_only(dir: &Path) -> Connection {
    let conn = Connection::open_with_flags(dir.join("store.db"), OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn
}

fn hash_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// (chunks stored, complete) of a blob at a node.
fn blob_progress(dir: &Path, hash: &str) -> (u64, bool) {
    let conn = read_only(dir);
    let hash = hash_bytes(hash);
    let chunks: i64 = conn
        .query_row(
            "SELECT count(*) FROM blob_chunks WHERE hash = ?1",
            [&hash],
            |r| r.get(0),
        )
        .unwrap();
    let complete: i64 = conn
        .query_row(
            "SELECT coalesce(max(complete), 0) FROM blobs WHERE hash = ?1",
            [&hash],
            |r| r.get(0),
        )
        .unwrap();
    (chunks as u64, complete == 1)
}

/// A file of `size` seeded random (incompressible) bytes.
fn scan(dir: &Path, name: &str, size: usize, seed: u64) -> (PathBuf, String) {
    let mut bytes = vec![0u8; size];
    rand_chacha::ChaCha8Rng::seed_from_u64(seed).fill_bytes(&mut bytes);
    let path = dir.join(name);
    std::fs::write(&path, &bytes).unwrap();
    let hex = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (path, hex)
}

/// Receive a dossier at the commune and attach `file` to it.
fn attach(cluster: &Cluster, ledger: &mut Ledger, file: &Path) -> (String, AttachmentRef) {
    let commune = office(DIEN_PHUONG);
    let dir = cluster.dir(&commune);
    let code = ledger
        .receive(
            &dir,
            &commune,
            story(3, 9, 0),
            &new_dossier(LAND, "Phạm Thị Lan"),
        )
        .code;
    let mut node = Node::open(&dir).unwrap();
    let (recorded, attachment) = officer::attach(
        &mut node,
        &code,
        None,
        "Trần Thị Hoa",
        story(3, 9, 5),
        &NewAttachment {
            file: file.to_path_buf(),
            component: "Đơn đăng ký".into(),
            name: None,
            media_type: None,
        },
    )
    .unwrap();
    ledger.note(&commune, &recorded);
    (code, attachment)
}

/// `lienthong get-attachment` at a node: the bytes it hands out, which it
/// checks against the hash first.
fn fetch(dir: &Path, code: &str, out: &Path) -> Result<String, String> {
    let output = cli(&[
        "get-attachment",
        "--data",
        dir.to_str().unwrap(),
        code,
        "--out",
        out.to_str().unwrap(),
    ]);
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    let bytes = std::fs::read(out).unwrap();
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

async fn wait_chunks(dir: &Path, hash: &str, at_least: u64) -> u64 {
    wait_for("chunks to arrive", WAIT, Duration::from_millis(2), || {
        let (n, complete) = blob_progress(dir, hash);
        if n >= at_least || complete {
            Ok(n)
        } else {
            Err(format!("{n} chunks"))
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A 3 MiB scan attached at a commune travels to its district over a
/// 8 Mbit/s link, and on to the province. In the middle the link is cut
/// for a while, and later the district's daemon restarts (a new session):
/// - after the cut, the chunks already stored stay, and the bytes that
///   cross the link until the end are those of the missing chunks, not the
///   whole scan again (plus one window of chunks in flight when the session
///   broke);
/// - every node ends with the blob complete, and `get-attachment` hands out
///   exactly the original bytes (it checks the hash before use).
#[test]
fn an_attachment_cut_in_the_middle_resumes_from_the_chunks_stored() {
    run(async {
        let link = |child: &OfficeId| {
            let base = LinkConfig::default().with_delay(Duration::from_millis(10));
            if child.as_str() == DIEN_PHUONG {
                (base.clone().with_bandwidth(8_000_000), base)
            } else {
                (base.clone(), base)
            }
        };
        let mut cluster = Cluster::start(&[PROVINCE, DIEN_BAN, DIEN_PHUONG], 31, link).await;
        let (district, commune) = (office(DIEN_BAN), office(DIEN_PHUONG));
        let scratch = tempfile::tempdir().unwrap();
        let (file, content_hash) = scan(scratch.path(), "so-do-thua-dat.tif", 3 << 20, 31);
        let total = (3u64 << 20).div_ceil(CHUNK);
        let mut ledger = Ledger::default();
        let (code, attachment) = attach(&cluster, &mut ledger, &file);
        assert_eq!(attachment.hash, content_hash);
        let district_dir = cluster.dir(&district);

        // 1. The link is cut with a third of the chunks stored.
        let stored = wait_chunks(&district_dir, &attachment.hash, total / 3).await;
        cluster.set_cut(&commune, true);
        let cut_at = blob_progress(&district_dir, &attachment.hash).0;
        let bytes_at_cut = cluster.link(&commune).stats().up.bytes_in;
        // Nothing crosses a cut link: wait for the flight to land, then check.
        let during = wait_for("the link to go quiet", WAIT, Duration::from_millis(200), {
            let mut last = None;
            let (dir, hash) = (district_dir.clone(), attachment.hash.clone());
            move || {
                let now = blob_progress(&dir, &hash).0;
                if last == Some(now) {
                    Ok(now)
                } else {
                    last = Some(now);
                    Err("still landing".into())
                }
            }
        })
        .await
        .unwrap();
        assert!(during < total, "the whole scan arrived over a cut link");
        eprintln!("cut with {stored}..{cut_at} of {total} chunks stored; {during} once quiet");
        cluster.set_cut(&commune, false);

        // 2. With two thirds stored, the district's daemon restarts: the new
        // session asks only for the missing chunks.
        wait_chunks(&district_dir, &attachment.hash, total * 2 / 3).await;
        cluster.stop_node(&district).await;
        let (kept, complete) = blob_progress(&district_dir, &attachment.hash);
        assert!(!complete, "the restart came too late");
        let bytes_at_restart = cluster.link(&commune).stats().up.bytes_in;
        let restarted = Instant::now();
        cluster.start_node(&district).await;
        wait_for(
            "the scan at every node",
            WAIT,
            Duration::from_millis(50),
            || {
                for o in [&district, &office(PROVINCE)] {
                    let (n, complete) = blob_progress(&cluster.dir(o), &attachment.hash);
                    if !complete {
                        return Err(format!("{o}: {n} of {total} chunks"));
                    }
                }
                Ok(())
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let after_restart = cluster.link(&commune).stats().up.bytes_in - bytes_at_restart;
        let after_cut = cluster.link(&commune).stats().up.bytes_in - bytes_at_cut;
        eprintln!(
            "restarted with {kept} of {total} chunks: complete {:?} later; {after_restart} B sent after the restart, {after_cut} B after the cut",
            restarted.elapsed()
        );
        // Bytes that had to cross after each event, plus a window of chunks
        // requested ahead and 15% of QUIC and framing overhead.
        let window = lienthong_sync::protocol::BLOB_WINDOW_CHUNKS as u64;
        let bound = |missing: u64| ((missing + window) * CHUNK) as f64 * 1.15;
        assert!(
            (after_restart as f64) < bound(total - kept),
            "{after_restart} B crossed after the restart for {} missing chunks",
            total - kept
        );
        assert!(
            (after_cut as f64) < bound(total - cut_at) + bound(0),
            "{after_cut} B crossed after the cut for {} missing chunks",
            total - cut_at
        );

        cluster.wait_all_converged(WAIT).await.unwrap();
        for o in &cluster.members {
            let out = scratch
                .path()
                .join(format!("{}.tif", o.as_str().replace([':', '/'], "_")));
            assert_eq!(
                fetch(&cluster.dir(o), &code, &out),
                Ok(content_hash.clone()),
                "at {o}"
            );
        }
        let views = cluster.full_views();
        assert_agree(&views);
        ledger.assert_kept(&views);
        cluster.shutdown().await;
    });
}

/// Disk rot at a relay: the district holds a complete scan, then one of its
/// stored chunks is overwritten with garbage, before the province fetches
/// it. The province checks every chunk against the chunk list the dossier
/// vouches for, so the bad chunk is never stored nor used; the district,
/// asked for it, finds its own copy damaged, fetches that chunk again from
/// the commune, and serves it; the province ends with the verified scan.
#[test]
fn a_corrupt_chunk_is_fetched_again() {
    run(async {
        let link = |child: &OfficeId| {
            let base = LinkConfig::default().with_delay(Duration::from_millis(10));
            // The district starts cut off from the province.
            let cut = child.as_str() == DIEN_BAN;
            (base.clone().with_cut(cut), base.with_cut(cut))
        };
        let cluster = Cluster::start(&[PROVINCE, DIEN_BAN, DIEN_PHUONG], 41, link).await;
        let (province, district) = (office(PROVINCE), office(DIEN_BAN));
        let scratch = tempfile::tempdir().unwrap();
        let (file, content_hash) = scan(scratch.path(), "giay-to.pdf", 1 << 20, 41);
        let mut ledger = Ledger::default();
        let (code, attachment) = attach(&cluster, &mut ledger, &file);
        let district_dir = cluster.dir(&district);
        wait_for(
            "the scan at the district",
            WAIT,
            Duration::from_millis(50),
            || {
                let (n, complete) = blob_progress(&district_dir, &attachment.hash);
                if complete {
                    Ok(())
                } else {
                    Err(format!("{n} chunks"))
                }
            },
        )
        .await
        .unwrap();
        // Rot one chunk in the district's store.
        {
            let conn = Connection::open(district_dir.join("store.db")).unwrap();
            conn.busy_timeout(Duration::from_secs(10)).unwrap();
            let changed = conn
                .execute(
                    "UPDATE blob_chunks SET data = zeroblob(length(data)) WHERE hash = ?1 AND idx = 5",
                    [hash_bytes(&attachment.hash)],
                )
                .unwrap();
            assert_eq!(changed, 1);
        }
        cluster.set_cut(&district, false);
        wait_for(
            "the scan at the province",
            WAIT,
            Duration::from_millis(50),
            || {
                let (n, complete) = blob_progress(&cluster.dir(&province), &attachment.hash);
                if complete {
                    Ok(())
                } else {
                    Err(format!(
                        "{n} chunks; district {:?}",
                        blob_progress(&district_dir, &attachment.hash)
                    ))
                }
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        cluster.wait_all_converged(WAIT).await.unwrap();
        for o in &cluster.members {
            let out = scratch
                .path()
                .join(format!("{}.pdf", o.as_str().replace([':', '/'], "_")));
            assert_eq!(
                fetch(&cluster.dir(o), &code, &out),
                Ok(content_hash.clone()),
                "at {o}"
            );
        }
        assert_agree(&cluster.full_views());
        cluster.shutdown().await;
    });
}
