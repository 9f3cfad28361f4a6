//! The node's SQLite store (WAL, `synchronous=FULL`).
//!
//! - `documents` + `doc_chunks`: per Automerge document a compacted snapshot
//!   plus the incremental change chunks appended since; compacted when the
//!   chunks outgrow the snapshot ([`documents`]).
//! - `feed`: a node-local sequence bumped whenever a document changes, one
//!   row per document with its latest sequence ([`feed`]).
//! - `doc_scope`: which nodes each document goes to ([`feed`]).
//! - `dossiers`: the index of derived fields for lists and reports ([`index`]).
//! - `code_counters`: dossier code sequences per office per day ([`codes`]).
//! - `quarantine`: documents that fail to load or carry unsafe references,
//!   kept but never sent on ([`quarantine`]).
//! - `peer_days`, `peer_limits`: what each peer sent per day, and the limit
//!   it last ran into ([`limits`]).
//!
//! Every officer action and every received batch is one transaction
//! ([`Store::write`]): nothing is half-written, whatever kills the process.
//! Documents are loaded on demand, one at a time.

pub mod accounts;
pub mod api_tokens;
pub mod attestations;
pub mod backup;
pub mod blobs;
pub mod cache;
pub mod codes;
pub mod console_sessions;
pub mod daemon_state;
pub mod desk;
pub mod documents;
pub mod dossier_pages;
pub mod feed;
pub mod identities;
pub mod index;
pub mod invitations;
pub mod limits;
pub mod metrics;
mod migrations;
pub mod observed;
pub mod outbox;
pub mod peers;
pub mod portal;
pub mod portal_queue;
pub mod quarantine;
pub mod register;
pub mod reports;
pub mod snapshot;
pub mod write_lock;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "no node store at {0}: run `lienthong init --data DIR --office OFFICE --network FILE` first, or check --data"
    )]
    Missing(PathBuf),
    #[error(
        "database {path} was written by a newer Liên Thông (schema {found}, this build knows up to {known}); upgrade this binary"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored document {doc} is corrupt: {problem}")]
    CorruptDocument { doc: String, problem: String },
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Busy handler: `true` = try again; `attempt` counts from 0. Short steps
/// first (a commit takes well under a millisecond), then longer ones, and
/// give up after about 30 s. Only the fallback: writers of this codebase
/// wait for each other's turn first, woken when it is given back
/// ([`write_lock`]); this meets writers that do not take turns.
fn wait_for_lock(attempt: i32) -> bool {
    let step = if attempt < 500 {
        Duration::from_micros(200)
    } else if attempt < 500 + 15_000 {
        Duration::from_millis(2)
    } else {
        return false;
    };
    std::thread::sleep(step);
    true
}

/// The environment variable naming a [`crash_point`] (tests only).
pub const CRASH_AT_ENV: &str = "LIENTHONG_TEST_CRASH_AT";

/// Test hook, inert unless `LIENTHONG_TEST_CRASH_AT` names this point: then
/// the process kills itself here with SIGKILL, as `kill -9` would
/// (`node/tests/crash.rs` uses it to stop a command between two statements
/// of one transaction, deterministically). Points:
/// `after_code` (a dossier code taken), `after_chunk` (a document's first
/// statement written, the rest of its save not), `before_commit`,
/// `after_commit` (durable, not yet acknowledged).
#[inline]
pub fn crash_point(point: &str) {
    static AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if AT
        .get_or_init(|| std::env::var(CRASH_AT_ENV).ok())
        .as_deref()
        == Some(point)
    {
        #[cfg(unix)]
        // SAFETY: kill(2) on our own pid; nothing is shared or borrowed.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
        std::process::abort();
    }
}

/// An open store. One per process; SQLite serialises writers across
/// processes (the daemon and officer commands share a data dir).
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// The dossiers this process wrote last (`cache.rs`).
    pub dossiers: cache::DossierCache,
    /// Signs the changes this node writes (issue 8); set by `Node::open`.
    signer: Option<std::sync::Arc<lienthong_sync::protocol::attest::Signer>>,
    /// The writers' turn (`write_lock/`), taken around every write.
    write_lock: write_lock::WriteLock,
    /// How long this connection's writes waited ([`Self::lock_waits`]).
    waits: Arc<write_lock::Counters>,
}

/// The page cache of a store opened by an officer's process or the
/// daemon's own tasks, in KiB (SQLite's negative `cache_size`).
const PROCESS_CACHE_KIB: i64 = 16_000;

/// The page cache of one sync session's connection, in KiB
/// ([`Store::open_for_session`]).
pub const SESSION_CACHE_KIB: i64 = 4_000;

impl Store {
    /// Create a new, empty store (fails if one exists).
    pub fn create(path: &Path) -> Result<Self> {
        if path.exists() {
            return Err(StoreError::Invalid(format!(
                "{} already exists; refusing to overwrite a node store",
                path.display()
            )));
        }
        // Created owner-only before SQLite sees it: the store holds
        // applicants' ID numbers. SQLite gives the `-wal` and `-shm` files
        // the database file's mode, so they are owner-only from the start too.
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options
            .open(path)
            .map_err(|e| StoreError::Invalid(format!("cannot create {}: {e}", path.display())))?;
        Self::open_with(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )
    }

    /// Open an existing store.
    pub fn open(path: &Path) -> Result<Self> {
        if !path.exists() {
            return Err(StoreError::Missing(path.to_path_buf()));
        }
        Self::open_with(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
    }

    /// Open an existing store for one peer's sync session, with a page
    /// cache of [`SESSION_CACHE_KIB`] instead of the 16 MB an officer's
    /// process keeps: a province holds a session (two connections) per
    /// linked node, and ten communes' first syncs at once filled ten
    /// 16 MB caches (313 MB at a million dossiers, `docs/benchmarks.md`,
    /// "A province under load"). A session reads documents once each and
    /// appends at the ends of its B-trees, so the interior pages it
    /// reuses fit in the smaller cache.
    pub fn open_for_session(path: &Path) -> Result<Self> {
        let store = Self::open(path)?;
        store
            .conn
            .pragma_update(None, "cache_size", -SESSION_CACHE_KIB)
            .map_err(|source| StoreError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(store)
    }

    fn open_with(path: &Path, flags: OpenFlags) -> Result<Self> {
        let open_error = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(open_error)?;
        let write_lock = write_lock::WriteLock::open(path)?;
        // Writers (officer commands in other processes, the daemon's
        // sessions) wait for each other's turn (`write_lock/`); a writer
        // that takes no turn meets SQLite's lock instead. SQLite's default
        // wait sleeps in steps of up to 100 ms, far longer than a write here
        // takes (a commit is under a millisecond); wait in short steps
        // instead, up to 30 s.
        let waits = Arc::new(write_lock::Counters::default());
        let counted = Arc::clone(&waits);
        conn.busy_handler(Some(move |attempt| {
            let started = Instant::now();
            let again = wait_for_lock(attempt);
            counted.busy(started.elapsed());
            again
        }))
        .map_err(open_error)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_error)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_error)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_error)?;
        // Keep the page cache modest: documents are loaded on demand.
        conn.pragma_update(None, "cache_size", -PROCESS_CACHE_KIB)
            .map_err(open_error)?;
        // One officer command runs about twenty distinct statements; with
        // rusqlite's default of 16 cached statements they evict each other
        // and every command parses its SQL again.
        conn.set_prepared_statement_cache_capacity(64);
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            dossiers: cache::DossierCache::default(),
            signer: None,
            write_lock,
            waits,
        };
        migrations::migrate(&mut store.conn, path, || {
            store.write_lock.take(&store.waits)
        })?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sign every change of this node's own actor that a write saves
    /// (`Writer::save_document`), in the same transaction.
    pub fn set_signer(&mut self, signer: std::sync::Arc<lienthong_sync::protocol::attest::Signer>) {
        self.signer = Some(signer);
    }

    /// Stop signing (the benchmarks' "signing off" runs).
    pub fn clear_signer(&mut self) {
        self.signer = None;
    }

    /// How long this connection's writes waited for other writers, since
    /// it was opened.
    pub fn lock_waits(&self) -> write_lock::LockWaits {
        self.waits.snapshot()
    }

    /// Write without taking turns (`false`), as binaries before
    /// `write_lock/` did: only SQLite's lock and its busy handler. For the
    /// benchmark's comparison and tests; every writer of the node takes
    /// turns.
    pub fn set_take_turns(&mut self, take: bool) {
        self.write_lock.set_enabled(take);
    }

    /// Run `f` with this store's writers' turn held, for a statement that
    /// writes outside [`Self::write`] (autocommit).
    fn with_turn<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let _turn = self.write_lock.take(&self.waits)?;
        Ok(f(&self.conn)?)
    }

    /// Run `f` in one write transaction (`BEGIN IMMEDIATE`), committed only
    /// if `f` succeeds: a refused or failed command writes nothing. The
    /// writers' turn is taken first and given back after the commit or the
    /// rollback (`write_lock/`).
    pub fn write<T, E>(&mut self, f: impl FnOnce(&Writer<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        // Declared before the transaction, so dropped after it.
        let _turn = self.write_lock.take(&self.waits)?;
        let tx = Open::begin(&self.conn, "BEGIN IMMEDIATE")?;
        let writer = Writer {
            conn: &self.conn,
            signer: self.signer.clone(),
        };
        let value = f(&writer)?;
        crash_point("before_commit");
        tx.end("COMMIT")?;
        crash_point("after_commit");
        Ok(value)
    }

    /// Read in one snapshot-consistent transaction.
    pub fn read<T, E>(&mut self, f: impl FnOnce(&Reader<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let tx = Open::begin(&self.conn, "BEGIN DEFERRED")?;
        let value = f(&Reader { conn: &self.conn })?;
        // Ended as rusqlite's `Transaction::finish` ended it: a read
        // transaction is rolled back (nothing a read did is ever kept).
        tx.end("ROLLBACK")?;
        Ok(value)
    }

    /// Read with single statements, outside any transaction (each statement
    /// sees the latest committed state). For hot paths that issue one
    /// query at a time; use [`Self::read`] when several must agree.
    pub fn read_now<T, E>(&mut self, f: impl FnOnce(&Reader<'_>) -> Result<T, E>) -> Result<T, E> {
        f(&Reader { conn: &self.conn })
    }

    /// Raw connection, for the few statements that do not need a transaction.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// SQLite's own consistency check; `Ok(())` when the file is sound.
    pub fn integrity_check(&self) -> Result<()> {
        let result: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
        if result == "ok" {
            Ok(())
        } else {
            Err(StoreError::Invalid(format!(
                "integrity check failed: {result}"
            )))
        }
    }
}

/// An open transaction of [`Store::write`] or [`Store::read`], rolled back
/// when dropped unless [`Open::end`] committed it. Begun and ended with
/// cached statements: rusqlite's `Transaction` parses `BEGIN` and `COMMIT`
/// anew every time (two `sqlite3_prepare` a transaction, about 2% of an
/// officer's operation).
struct Open<'c> {
    conn: &'c Connection,
}

impl<'c> Open<'c> {
    fn begin(conn: &'c Connection, sql: &str) -> Result<Self> {
        conn.prepare_cached(sql)?.execute([])?;
        Ok(Open { conn })
    }

    /// Run `sql` (`COMMIT`, or `ROLLBACK` for a read); if it fails, the
    /// drop rolls back.
    fn end(self, sql: &str) -> Result<()> {
        self.conn.prepare_cached(sql)?.execute([])?;
        Ok(())
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        // Committed, or already rolled back by SQLite (some errors end the
        // transaction themselves): nothing to do.
        if self.conn.is_autocommit() {
            return;
        }
        if let Err(e) = self
            .conn
            .prepare_cached("ROLLBACK")
            .and_then(|mut rollback| rollback.execute([]))
        {
            tracing::warn!(error = %e, "rolling back a transaction failed");
        }
    }
}

/// A write transaction. Derefs to a [`Reader`] for reads inside it.
pub struct Writer<'c> {
    conn: &'c Connection,
    signer: Option<std::sync::Arc<lienthong_sync::protocol::attest::Signer>>,
}

impl Writer<'_> {
    pub fn conn(&self) -> &Connection {
        self.conn
    }

    pub fn reader(&self) -> Reader<'_> {
        Reader { conn: self.conn }
    }
}

/// Reads, inside a transaction or a write.
pub struct Reader<'c> {
    conn: &'c Connection,
}

impl Reader<'_> {
    pub fn conn(&self) -> &Connection {
        self.conn
    }
}
