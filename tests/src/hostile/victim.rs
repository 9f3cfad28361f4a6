//! The victim: a district's `lienthong run` child process under an
//! address-space limit, and what the tests read from it (peak memory, the
//! store's fingerprint, the reason `status` shows for a peer's last link).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha256};

use crate::chaos::process::{NodeProcess, cli};

/// The victim's address-space limit (`RLIMIT_AS`). Without a guard, one
/// attack makes the daemon ask for 16 GiB at once and others for several
/// GiB over a few seconds: on a CI machine the first is refused anyway,
/// but the second would really eat the machine's memory (and other jobs')
/// before the kernel's OOM killer picked someone. Under this limit any such
/// allocation fails at once inside the victim — Rust aborts it with
/// "memory allocation of N bytes failed" — and the test sees a dead node.
/// 1.5 GiB is far above what a node needs (a healthy district peaks near
/// 30 MB) and leaves room for its mapped binary and thread stacks.
pub const ADDRESS_SPACE_LIMIT: u64 = 1536 << 20;

/// The peak memory growth an attack may cost (the bound).
pub const MAX_GROWTH: u64 = 100 << 20;

pub struct Victim {
    pub dir: PathBuf,
    pub log: PathBuf,
    pub process: NodeProcess,
}

impl Victim {
    /// Start `lienthong run` on `dir` (any loopback port) under the limit.
    pub async fn start(dir: &Path, log: &Path) -> Victim {
        let process = NodeProcess::spawn_with(
            dir,
            "127.0.0.1:0".parse().expect("an address"),
            log,
            limit_memory,
        )
        .await;
        Victim {
            dir: dir.to_path_buf(),
            log: log.to_path_buf(),
            process,
        }
    }

    /// `kill -9` and start again on the same data directory. Panics (with
    /// the log) if it does not come up listening: a poison pill.
    pub async fn restart(&mut self) {
        self.process.kill9();
        self.process = NodeProcess::spawn_with(
            &self.dir,
            "127.0.0.1:0".parse().expect("an address"),
            &self.log,
            limit_memory,
        )
        .await;
    }

    /// Err (with how it died and the end of its log) if the daemon exited.
    pub fn alive(&mut self) -> Result<(), String> {
        match self.process.exited() {
            None => Ok(()),
            Some(status) => {
                let log = self.process.log();
                let cause = log
                    .lines()
                    .find(|l| l.contains("memory allocation of") || l.contains("panicked at"))
                    .unwrap_or("(no cause in the log)");
                Err(format!(
                    "the node died ({}): {cause}; the end of its log:\n{}",
                    describe(status),
                    tail(&log, 8)
                ))
            }
        }
    }

    /// The daemon's peak resident memory so far (`VmHWM`), in bytes.
    pub fn peak_memory(&self) -> Option<u64> {
        let pid = self.process.pid()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }

    /// This incarnation's log so far.
    pub fn log_text(&self) -> String {
        self.process.log()
    }

    /// What `lienthong status --json` says of the link with `office`.
    pub fn peer_status(&self, office: &str) -> Result<PeerLink, String> {
        let output = cli(&["status", "--json", "--data", &self.dir.to_string_lossy()]);
        if !output.status.success() {
            return Err(format!(
                "status failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let json: serde_json::Value = serde_json::from_slice(&output.stdout)
            .map_err(|e| format!("status --json is not JSON: {e}"))?;
        let peer = json
            .get("peers")
            .and_then(|p| p.as_array())
            .and_then(|peers| {
                peers
                    .iter()
                    .find(|p| p.get("office").and_then(|o| o.as_str()) == Some(office))
            })
            .ok_or_else(|| format!("no peer {office} in status: {json}"))?;
        let connected = peer
            .get("connected")
            .and_then(|c| c.as_bool())
            .unwrap_or(false);
        let error = peer
            .get("last_error")
            .and_then(|e| e.as_str())
            .map(str::to_string);
        let error_at = peer
            .get("last_error_at")
            .and_then(|e| e.as_str())
            .and_then(|e| e.parse().ok());
        Ok(PeerLink {
            connected,
            error,
            error_at,
        })
    }

    /// The store's content, summed up: every document with its heads, every
    /// attachment reference, blob and chunk, the feed's head.
    pub fn fingerprint(&self) -> Fingerprint {
        fingerprint(&self.dir)
    }

    /// Dossiers from `origin` held here.
    pub fn dossiers_from(&self, origin: &str) -> u64 {
        read_only(&self.dir)
            .query_row(
                "SELECT count(*) FROM dossiers WHERE origin = ?1",
                [origin],
                |r| r.get::<_, i64>(0),
            )
            .unwrap_or(0) as u64
    }

    /// Documents held here.
    pub fn documents(&self) -> u64 {
        read_only(&self.dir)
            .query_row("SELECT count(*) FROM documents", [], |r| r.get::<_, i64>(0))
            .unwrap_or(0) as u64
    }

    /// Is the document stored here?
    pub fn holds(&self, doc: &[u8; 16]) -> bool {
        read_only(&self.dir)
            .query_row(
                "SELECT count(*) FROM documents WHERE doc_id = ?1",
                [&doc[..]],
                |r| r.get::<_, i64>(0),
            )
            .unwrap_or(0)
            > 0
    }
}

/// A peer link as `status` shows it.
#[derive(Debug, Clone)]
pub struct PeerLink {
    pub connected: bool,
    pub error: Option<String>,
    pub error_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Runs in the child between fork and exec: only async-signal-safe calls.
fn limit_memory(command: &mut std::process::Command) {
    // A panic's backtrace, symbolised from a debug binary's debug info,
    // costs ~250 MB of peak memory: the peak must measure the attack.
    command.env_remove("RUST_BACKTRACE");
    command.env_remove("RUST_LIB_BACKTRACE");
    // glibc gives each thread that allocates its own arena, reserving
    // 64 MiB of address space each: keep that from eating the limit.
    command.env("MALLOC_ARENA_MAX", "2");
    // SAFETY: setrlimit(2) is async-signal-safe and touches only this
    // (child) process; the closure allocates nothing.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: ADDRESS_SPACE_LIMIT as libc::rlim_t,
                rlim_max: ADDRESS_SPACE_LIMIT as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        Some(libc::SIGABRT) => "aborted: SIGABRT".into(),
        Some(libc::SIGKILL) => "killed: SIGKILL".into(),
        Some(libc::SIGSEGV) => "crashed: SIGSEGV".into(),
        Some(signal) => format!("signal {signal}"),
        None => status.to_string(),
    }
}

/// The last `lines` lines of a log.
pub fn tail(log: &str, lines: usize) -> String {
    let all: Vec<&str> = log.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn read_only(dir: &Path) -> Connection {
    let conn = Connection::open_with_flags(dir.join("store.db"), OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open the victim's store read-only");
    conn.busy_timeout(Duration::from_secs(10))
        .expect("a busy timeout");
    conn
}

/// A summary of a store's content, equal exactly when the content is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub documents: u64,
    pub blob_refs: u64,
    pub blobs: u64,
    pub blob_chunks: u64,
    pub feed_head: i64,
    /// SHA-256 over every (document, heads) and (blob reference) row.
    pub digest: String,
}

pub fn fingerprint(dir: &Path) -> Fingerprint {
    let conn = read_only(dir);
    let count = |sql: &str| -> u64 {
        conn.query_row(sql, [], |r| r.get::<_, i64>(0))
            .expect("count rows") as u64
    };
    let mut hash = Sha256::new();
    let mut rows = conn
        .prepare("SELECT doc_id, heads FROM documents ORDER BY doc_id")
        .expect("query documents");
    let mut cursor = rows.query([]).expect("read documents");
    while let Some(row) = cursor.next().expect("a document row") {
        hash.update(row.get::<_, Vec<u8>>(0).expect("doc_id"));
        hash.update(row.get::<_, Vec<u8>>(1).expect("heads"));
    }
    let mut refs = conn
        .prepare("SELECT hash, doc_id, size FROM blob_refs ORDER BY hash, doc_id")
        .expect("query blob_refs");
    let mut cursor = refs.query([]).expect("read blob_refs");
    while let Some(row) = cursor.next().expect("a blob_refs row") {
        hash.update(row.get::<_, Vec<u8>>(0).expect("hash"));
        hash.update(row.get::<_, Vec<u8>>(1).expect("doc_id"));
        hash.update(row.get::<_, i64>(2).expect("size").to_le_bytes());
    }
    Fingerprint {
        documents: count("SELECT count(*) FROM documents"),
        blob_refs: count("SELECT count(*) FROM blob_refs"),
        blobs: count("SELECT count(*) FROM blobs"),
        blob_chunks: count("SELECT count(*) FROM blob_chunks"),
        feed_head: conn
            .query_row("SELECT coalesce(max(seq), 0) FROM feed", [], |r| r.get(0))
            .expect("the feed head"),
        digest: lienthong_shared::dossier::attachment::hex(&hash.finalize()),
    }
}
