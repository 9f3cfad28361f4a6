//! The writers' turn: writers of one store wait for each other on an OS
//! file lock beside it, and are woken when it is released (issue 11).
//!
//! SQLite lets one connection write at a time; a second one that finds the
//! write lock taken is told "busy" and can only retry. Its busy handler
//! ([`super::wait_for_lock`]) polls, so a waiting writer learns that the lock
//! is free up to a step later — and meanwhile the writer that just
//! committed, back after its next command's CPU work, often takes the lock
//! again. With two desks on one store most of the time went to that
//! (`docs/benchmarks.md`, "Two desks: woken, not polling").
//!
//! So every writer of this codebase takes its turn first: within a process
//! on a mutex (threads woken when it is released), across processes with
//! `flock(2)` on `<store>-lock` (one open file per process and store, held
//! only by the thread whose turn it is; the kernel wakes a waiting process
//! when it is released, and releases it when its holder dies, `kill -9`
//! included). Only then does the writer `BEGIN IMMEDIATE`, and it gives its
//! turn back after `COMMIT` or `ROLLBACK`. SQLite's own lock stays the
//! authority: a writer that does not take turns (an older binary, the
//! `sqlite3` shell, a test's raw statement) still meets the busy handler,
//! which stays as the fallback, and so does a taker of a turn that meets
//! one of those.
//!
//! - Readers never take a turn (WAL: they read a snapshot), so no reader
//!   waits for it, and a writer holding it never waits for a reader.
//! - The turn is always taken before SQLite's lock and given back after
//!   it, so turn-takers cannot deadlock on the pair; a thread that already
//!   has the turn for a store (a write nested in another store's write on
//!   the same file) does not take it again but goes straight to SQLite,
//!   whose busy handler gives up after 30 s as before, instead of waiting
//!   for itself for ever.
//! - Checkpoints: SQLite's automatic checkpoint runs in the committing
//!   connection just after its commit, inside the turn; it is passive and
//!   holds no lock a writer needs, so only turn-takers wait for it.
//! - Windows is not a target (`File::lock` would work there too, with
//!   mandatory locks).

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

use super::{Result, StoreError};

/// The lock file of the store at `store`: `<store>-lock`, beside it.
pub fn lock_path(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push("-lock");
    PathBuf::from(name)
}

/// One store file's turn in this process: the lock file, opened once, and
/// the mutex that decides which thread holds its `flock`.
struct Gate {
    file: File,
    turn: Mutex<()>,
}

/// The gates of this process by (device, inode) of their lock file.
type Gates = Mutex<HashMap<(u64, u64), Weak<Gate>>>;

/// The gates of this process, so every connection to one store shares one
/// open file (one descriptor per store and process, however many
/// connections a daemon opens).
fn gates() -> &'static Gates {
    static GATES: OnceLock<Gates> = OnceLock::new();
    GATES.get_or_init(Default::default)
}

thread_local! {
    /// The gates whose turn this thread holds (at most a few).
    static HELD: std::cell::RefCell<Vec<*const Gate>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// How long a store's writers waited, since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockWaits {
    /// Writes that found the turn taken (by a thread of this process or
    /// another process) and waited to be woken.
    pub turns_waited: u64,
    /// Time spent waiting for those turns.
    pub turn_wait: Duration,
    /// Calls of SQLite's busy handler: SQLite's lock was taken by a writer
    /// that does not take turns, or (without turns) by any writer.
    pub busy_calls: u64,
    /// Time spent in the busy handler (its sleeps).
    pub busy_wait: Duration,
}

/// The counters behind [`LockWaits`], shared with the busy handler.
#[derive(Debug, Default)]
pub(super) struct Counters {
    turns_waited: AtomicU64,
    turn_wait_ns: AtomicU64,
    busy_calls: AtomicU64,
    busy_wait_ns: AtomicU64,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Counters {
    pub(super) fn busy(&self, waited: Duration) {
        self.busy_calls.fetch_add(1, Ordering::Relaxed);
        self.busy_wait_ns
            .fetch_add(nanos(waited), Ordering::Relaxed);
    }

    fn turn(&self, waited: Duration) {
        self.turns_waited.fetch_add(1, Ordering::Relaxed);
        self.turn_wait_ns
            .fetch_add(nanos(waited), Ordering::Relaxed);
    }

    pub(super) fn snapshot(&self) -> LockWaits {
        LockWaits {
            turns_waited: self.turns_waited.load(Ordering::Relaxed),
            turn_wait: Duration::from_nanos(self.turn_wait_ns.load(Ordering::Relaxed)),
            busy_calls: self.busy_calls.load(Ordering::Relaxed),
            busy_wait: Duration::from_nanos(self.busy_wait_ns.load(Ordering::Relaxed)),
        }
    }
}

/// A store connection's access to its store's turn.
pub(super) struct WriteLock {
    gate: Arc<Gate>,
    /// `false`: this connection writes without taking turns, as a binary
    /// before this one did (the benchmark's comparison).
    enabled: bool,
}

/// A held turn; given back when dropped (after the transaction ended).
pub(super) struct Turn<'a> {
    gate: &'a Gate,
    _guard: MutexGuard<'a, ()>,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        // Cannot fail for a lock this open file holds; if it did, closing
        // the file at exit would release it.
        let _ = self.gate.file.unlock();
        let ptr: *const Gate = self.gate;
        HELD.with(|held| held.borrow_mut().retain(|p| *p != ptr));
    }
}

impl WriteLock {
    /// Open (creating it if need be, owner-only) the lock file of the store
    /// at `store`, or share this process's open one.
    pub(super) fn open(store: &Path) -> Result<Self> {
        let path = lock_path(store);
        let file = open_lock_file(&path)?;
        let id = {
            use std::os::unix::fs::MetadataExt;
            let meta = file.metadata().map_err(|e| cannot_open(&path, e))?;
            (meta.dev(), meta.ino())
        };
        let mut gates = gates().lock().unwrap_or_else(|e| e.into_inner());
        gates.retain(|_, gate| gate.strong_count() > 0);
        let gate = match gates.get(&id).and_then(Weak::upgrade) {
            // Drop the new descriptor: every connection of this process
            // must lock through the same open file, or they would exclude
            // each other's flock as separate processes do.
            Some(gate) => gate,
            None => {
                let gate = Arc::new(Gate {
                    file,
                    turn: Mutex::new(()),
                });
                gates.insert(id, Arc::downgrade(&gate));
                gate
            }
        };
        Ok(WriteLock {
            gate,
            enabled: true,
        })
    }

    pub(super) fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    /// Take this store's turn, waiting (woken, not polling) while another
    /// writer has it. `None` when no turn is taken: turns are off for this
    /// connection, or this thread already holds the turn (a nested write on
    /// another connection to the same store: SQLite's busy handler decides).
    pub(super) fn take(&self, counters: &Counters) -> Result<Option<Turn<'_>>> {
        if !self.enabled {
            return Ok(None);
        }
        let ptr: *const Gate = &*self.gate;
        if HELD.with(|held| held.borrow().contains(&ptr)) {
            return Ok(None);
        }
        let mut waited = None;
        let guard = match self.gate.turn.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                let started = Instant::now();
                waited = Some(started);
                // Poisoned: a writer panicked with the turn; its
                // transaction was rolled back, nothing is guarded here.
                self.gate.turn.lock().unwrap_or_else(|e| e.into_inner())
            }
        };
        match self.gate.file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                waited.get_or_insert_with(Instant::now);
                loop {
                    match self.gate.file.lock() {
                        Ok(()) => break,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(lock_failed(e)),
                    }
                }
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(lock_failed(e)),
        }
        if let Some(started) = waited {
            counters.turn(started.elapsed());
        }
        HELD.with(|held| held.borrow_mut().push(ptr));
        Ok(Some(Turn {
            gate: &self.gate,
            _guard: guard,
        }))
    }
}

fn lock_failed(e: std::io::Error) -> StoreError {
    StoreError::Invalid(format!(
        "cannot lock the store's writers' lock file: {e}; nothing was written. \
         Its file system must support flock(2) (a local disk does; some network mounts do not)"
    ))
}

fn cannot_open(path: &Path, e: std::io::Error) -> StoreError {
    let dir = path
        .parent()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|| ".".into());
    StoreError::Invalid(format!(
        "cannot open {}, the lock file writers of this store take turns on: {e}. \
         It is created beside the store, owner-only; the store's directory {dir} must be \
         writable by the user running the node (SQLite creates its -wal and -shm files there too) \
         — check its owner and mode, or run as the store's owner",
        path.display()
    ))
}

/// The lock file, read-write (created owner-only if missing); an existing
/// one this user may only read is enough, as `flock` needs no write access.
fn open_lock_file(path: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let created = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path);
    match created {
        Ok(file) => Ok(file),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            File::open(path).map_err(|_| cannot_open(path, e))
        }
        Err(e) => Err(cannot_open(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use std::io::BufRead;
    use std::sync::mpsc;

    use super::*;
    use crate::store::Store;

    fn insert(store: &mut Store, key: &str) {
        store
            .write(|w| {
                w.conn()
                    .execute(
                        "INSERT INTO meta (key, value) VALUES (?1, 1)",
                        rusqlite::params![key],
                    )
                    .map_err(StoreError::from)
            })
            .unwrap();
    }

    fn has(store: &mut Store, key: &str) -> bool {
        store
            .read_now(|r| {
                r.conn().query_row(
                    "SELECT count(*) FROM meta WHERE key = ?1",
                    rusqlite::params![key],
                    |row| row.get::<_, i64>(0),
                )
            })
            .unwrap()
            == 1
    }

    /// Two connections in two threads: the second writer waits for the
    /// first's turn and is woken when it commits — not a busy-handler poll
    /// — and both writes are kept.
    #[test]
    fn a_waiting_writer_is_woken_as_soon_as_the_first_commits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let mut first = Store::create(&path).unwrap();
        let mut second = Store::open(&path).unwrap();
        assert!(
            Arc::ptr_eq(&first.write_lock.gate, &second.write_lock.gate),
            "one lock file descriptor per process and store"
        );
        let (inside_tx, inside) = mpsc::channel();
        let holder = std::thread::spawn(move || {
            first
                .write(|w| {
                    w.conn()
                        .execute("INSERT INTO meta (key, value) VALUES ('first', 1)", [])?;
                    inside_tx.send(()).unwrap();
                    std::thread::sleep(Duration::from_millis(300));
                    Ok::<_, StoreError>(())
                })
                .unwrap();
            (Instant::now(), first)
        });
        inside.recv_timeout(Duration::from_secs(10)).unwrap();
        let before = second.lock_waits();
        insert(&mut second, "second");
        let done = Instant::now();
        let (committed, mut first) = holder.join().unwrap();
        let waits = second.lock_waits();
        assert!(
            done >= committed,
            "the second write ended before the first committed"
        );
        assert_eq!(waits.turns_waited - before.turns_waited, 1, "{waits:?}");
        assert!(waits.turn_wait >= Duration::from_millis(100), "{waits:?}");
        assert_eq!(waits.busy_calls, before.busy_calls, "polled: {waits:?}");
        // Woken, not polled, is what `busy_calls` proves; this bound only
        // catches a wait that outlived the holder by far (a loaded CI
        // machine can delay a woken thread by tens of milliseconds).
        assert!(
            done - committed < Duration::from_secs(1),
            "woken {:?} after the commit",
            done - committed
        );
        assert!(has(&mut first, "first") && has(&mut first, "second"));
        assert_eq!(first.lock_waits().turns_waited, 0);
    }

    /// A writer that takes no turn (an older binary, the sqlite3 shell)
    /// still excludes the others through SQLite's lock, and a turn-taker
    /// waits for it in the busy handler; the counters tell the two apart.
    #[test]
    fn a_writer_without_turns_is_still_waited_for_by_the_busy_handler() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let mut old = Store::create(&path).unwrap();
        old.set_take_turns(false);
        let mut new = Store::open(&path).unwrap();
        let (inside_tx, inside) = mpsc::channel();
        let holder = std::thread::spawn(move || {
            old.write(|w| {
                w.conn()
                    .execute("INSERT INTO meta (key, value) VALUES ('old', 1)", [])?;
                inside_tx.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(100));
                Ok::<_, StoreError>(())
            })
            .unwrap();
            old
        });
        inside.recv_timeout(Duration::from_secs(10)).unwrap();
        insert(&mut new, "new");
        let mut old = holder.join().unwrap();
        let waits = new.lock_waits();
        assert_eq!(waits.turns_waited, 0, "{waits:?}");
        assert!(waits.busy_calls > 0, "{waits:?}");
        assert!(has(&mut old, "old") && has(&mut old, "new"));
    }

    /// A write whose closure fails, or panics, writes nothing, ends its
    /// transaction and gives the turn back: the next writer, on this
    /// connection or another, goes on without waiting.
    #[test]
    fn a_failed_or_panicking_write_rolls_back_and_gives_the_turn_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let mut store = Store::create(&path).unwrap();
        let failed = store.write(|w| {
            w.conn()
                .execute("INSERT INTO meta (key, value) VALUES ('failed', 1)", [])?;
            Err::<(), _>(StoreError::Invalid("refused".into()))
        });
        assert!(failed.is_err());
        assert!(store.connection().is_autocommit(), "transaction left open");
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store
                .write(|w| {
                    w.conn()
                        .execute("INSERT INTO meta (key, value) VALUES ('panicked', 1)", [])?;
                    panic!("a bug in a write");
                    #[allow(unreachable_code)]
                    Ok::<_, StoreError>(())
                })
                .unwrap();
        }));
        assert!(panicked.is_err());
        assert!(store.connection().is_autocommit(), "transaction left open");
        let mut other = Store::open(&path).unwrap();
        insert(&mut other, "after");
        insert(&mut store, "again");
        assert_eq!(other.lock_waits(), LockWaits::default());
        assert_eq!(store.lock_waits(), LockWaits::default());
        assert!(!has(&mut store, "failed") && !has(&mut store, "panicked"));
        assert!(has(&mut store, "after") && has(&mut store, "again"));
    }

    /// A thread that holds the turn and writes through a second connection
    /// to the same store is not made to wait for itself: it takes no turn
    /// (SQLite decides, as before turns existed).
    #[test]
    fn a_thread_holding_the_turn_does_not_wait_for_itself() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let a = WriteLock::open(&path).unwrap();
        let b = WriteLock::open(&path).unwrap();
        let counters = Counters::default();
        let held = a.take(&counters).unwrap();
        assert!(held.is_some());
        assert!(b.take(&counters).unwrap().is_none());
        drop(held);
        assert!(b.take(&counters).unwrap().is_some());
        assert_eq!(counters.snapshot(), LockWaits::default());
    }

    /// The lock file cannot be opened (here a directory stands in its
    /// place): opening the store says which file, why, and what to do.
    #[test]
    fn an_unusable_lock_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        drop(Store::create(&path).unwrap());
        std::fs::remove_file(lock_path(&path)).unwrap();
        std::fs::create_dir(lock_path(&path)).unwrap();
        let error = Store::open(&path).err().expect("opened").to_string();
        assert!(error.contains("store.db-lock"), "{error}");
        assert!(error.contains("writable by the user"), "{error}");
    }

    const HOLD_ENV: &str = "LIENTHONG_TEST_HOLD_TURN";

    /// Kills the child when the test ends, whatever happened.
    struct Child(std::process::Child);

    impl Drop for Child {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// A process killed (SIGKILL) in the middle of a write, holding the
    /// turn and SQLite's lock, blocks nobody: the kernel releases its
    /// `flock`, and the waiting writer goes on at once. (This test runs
    /// itself as the child, holding the turn, when `HOLD_ENV` names a store.)
    #[test]
    fn a_killed_holder_does_not_block_the_others() {
        if let Some(path) = std::env::var_os(HOLD_ENV) {
            let mut store = Store::open(Path::new(&path)).unwrap();
            store
                .write(|w| {
                    w.conn()
                        .execute("INSERT INTO meta (key, value) VALUES ('child', 1)", [])?;
                    println!("HOLDING");
                    std::io::Write::flush(&mut std::io::stdout()).unwrap();
                    loop {
                        std::thread::sleep(Duration::from_secs(3600));
                    }
                    #[allow(unreachable_code)]
                    Ok::<_, StoreError>(())
                })
                .unwrap();
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let mut store = Store::create(&path).unwrap();
        let mut child = Child(
            std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "store::write_lock::tests::a_killed_holder_does_not_block_the_others",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(HOLD_ENV, &path)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let stdout = child.0.stdout.take().unwrap();
        let (holding_tx, holding) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                if line.is_ok_and(|l| l.trim_end().ends_with("HOLDING")) {
                    let _ = holding_tx.send(());
                }
            }
        });
        holding
            .recv_timeout(Duration::from_secs(30))
            .expect("the child never took the turn");
        let (done_tx, done) = mpsc::channel();
        let writer = std::thread::spawn(move || {
            insert(&mut store, "parent");
            done_tx.send(()).unwrap();
            store
        });
        assert!(
            done.recv_timeout(Duration::from_millis(300)).is_err(),
            "the write went on while the child held the turn"
        );
        let killed = Instant::now();
        child.0.kill().unwrap();
        child.0.wait().unwrap();
        done.recv_timeout(Duration::from_secs(10))
            .expect("the killed child's turn was never released");
        let waited = killed.elapsed();
        let mut store = writer.join().unwrap();
        assert!(waited < Duration::from_secs(2), "{waited:?}");
        let waits = store.lock_waits();
        // (A busy-handler call or two may follow: the kernel may release
        // the child's flock a moment before its SQLite locks.)
        assert_eq!(waits.turns_waited, 1, "{waits:?}");
        assert!(has(&mut store, "parent"));
        assert!(
            !has(&mut store, "child"),
            "the killed write was rolled back"
        );
        store.integrity_check().unwrap();
    }
}
