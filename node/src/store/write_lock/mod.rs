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
//! - A writer waits for its turn at most [`TURN_LIMIT`] (30 s, as long
//!   as the busy handler waited before), then gives up with an error that
//!   says nothing was written and how to find the holder. Waiting for
//!   another process happens on a thread blocked in `flock` on a
//!   descriptor of its own, so a writer that gives up leaves no lock
//!   behind: if that thread gets the lock later, it releases it at once,
//!   unless the next writer adopted it meanwhile.
//! - Windows is not a target (`File::lock` would work there too, with
//!   mandatory locks).

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

use super::{Result, StoreError};

/// The lock file of the store at `store`: `<store>-lock`, beside it.
pub fn lock_path(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push("-lock");
    PathBuf::from(name)
}

/// How long a writer waits for its turn before it gives up: as long as
/// SQLite's busy handler waited before turns existed
/// ([`super::wait_for_lock`]), so a hung holder costs the others a clear
/// error after half a minute, not a wait for ever.
pub const TURN_LIMIT: Duration = Duration::from_secs(30);

/// One store file's turn in this process: the lock file, opened once, and
/// whether a thread of this process has the turn (waiters woken through
/// `free`).
struct Gate {
    file: File,
    path: PathBuf,
    taken: Mutex<bool>,
    free: Condvar,
    /// The thread waiting for another process to release the lock file
    /// after its writer gave up, kept for the next writer: a hung holder
    /// costs one waiting thread, however many writers give up.
    waiter: Mutex<Option<Arc<Handoff>>>,
}

/// Between a writer and the thread that waits in `flock` for it.
struct Handoff {
    state: Mutex<Waiting>,
    changed: Condvar,
}

/// Where a [`Handoff`] stands.
enum Waiting {
    /// A writer wants the lock.
    Wanted,
    /// The lock was taken, through this descriptor: the writer's now.
    Granted(File),
    /// Taking the lock failed.
    Failed(std::io::Error),
    /// The writer gave up; the thread still waits, and releases the lock
    /// at once if it gets it before another writer adopts it.
    Abandoned,
    /// The thread got the lock after its writer gave up, and released it.
    Released,
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
    /// How long to wait for the turn ([`TURN_LIMIT`]; tests shorten it).
    limit: Duration,
}

/// How a held turn holds the lock file.
enum FileLock {
    /// Not yet (the turn is being taken).
    None,
    /// Through the process's shared descriptor.
    Shared,
    /// Through a descriptor of its own, which a waiting thread locked.
    Own(File),
}

/// A held turn; given back when dropped (after the transaction ended).
pub(super) struct Turn<'a> {
    gate: &'a Gate,
    file: FileLock,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        // Unlocking cannot fail for a lock this descriptor holds; if it
        // did, closing the descriptor (at exit for the shared one) would
        // release it.
        match std::mem::replace(&mut self.file, FileLock::None) {
            FileLock::None => {}
            FileLock::Shared => {
                let _ = self.gate.file.unlock();
            }
            FileLock::Own(file) => {
                let _ = file.unlock();
            }
        }
        *lock(&self.gate.taken) = false;
        self.gate.free.notify_one();
        let ptr: *const Gate = self.gate;
        HELD.with(|held| held.borrow_mut().retain(|p| *p != ptr));
    }
}

/// A mutex guarding only flags and handles: a panic elsewhere cannot leave
/// them half-changed, so a poisoned one is used as is.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
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
        let mut gates = lock(gates());
        gates.retain(|_, gate| gate.strong_count() > 0);
        let gate = match gates.get(&id).and_then(Weak::upgrade) {
            // Drop the new descriptor: every connection of this process
            // must lock through the same open file, or they would exclude
            // each other's flock as separate processes do.
            Some(gate) => gate,
            None => {
                let gate = Arc::new(Gate {
                    file,
                    path: path.clone(),
                    taken: Mutex::new(false),
                    free: Condvar::new(),
                    waiter: Mutex::new(None),
                });
                gates.insert(id, Arc::downgrade(&gate));
                gate
            }
        };
        Ok(WriteLock {
            gate,
            enabled: true,
            limit: TURN_LIMIT,
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
        let started = Instant::now();
        let mut waited;
        {
            let taken = lock(&self.gate.taken);
            waited = *taken;
            // Returns at once when the turn is free.
            let (mut taken, _) = self
                .gate
                .free
                .wait_timeout_while(taken, self.limit, |taken| *taken)
                .unwrap_or_else(|e| e.into_inner());
            if *taken {
                return Err(self.gave_up());
            }
            *taken = true;
        }
        // From here the turn is given back however this ends.
        let mut turn = Turn {
            gate: &self.gate,
            file: FileLock::None,
        };
        turn.file = match self.gate.file.try_lock() {
            Ok(()) => FileLock::Shared,
            Err(std::fs::TryLockError::WouldBlock) => {
                waited = true;
                let left = self.limit.saturating_sub(started.elapsed());
                FileLock::Own(self.wait_for_file(left)?)
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(lock_failed(e)),
        };
        if waited {
            counters.turn(started.elapsed());
        }
        HELD.with(|held| held.borrow_mut().push(ptr));
        Ok(Some(turn))
    }

    /// Another process has the lock file: wait up to `left` for it on a
    /// thread of its own, blocked in `flock` on a descriptor of its own (so
    /// that the lock it may get after this writer gave up is released by
    /// closing it, and never taken from whoever holds the turn then). A
    /// thread left waiting by a writer that gave up is adopted rather than
    /// joined by another.
    fn wait_for_file(&self, left: Duration) -> Result<File> {
        let mut slot = lock(&self.gate.waiter);
        let adopted = slot.as_ref().is_some_and(|handoff| {
            let mut state = lock(&handoff.state);
            let abandoned = matches!(*state, Waiting::Abandoned);
            if abandoned {
                *state = Waiting::Wanted;
            }
            abandoned
        });
        if !adopted {
            *slot = Some(self.spawn_waiter()?);
        }
        let handoff = slot.clone().expect("a waiter was just adopted or spawned");
        let mut state = lock(&handoff.state);
        if matches!(*state, Waiting::Wanted) {
            state = handoff
                .changed
                .wait_timeout_while(state, left, |s| matches!(s, Waiting::Wanted))
                .map(|(state, _)| state)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        match std::mem::replace(&mut *state, Waiting::Abandoned) {
            Waiting::Granted(file) => {
                *slot = None;
                Ok(file)
            }
            Waiting::Failed(e) => {
                *slot = None;
                Err(lock_failed(e))
            }
            // Still waiting (left as abandoned, for the next writer to
            // adopt), or — not reachable — already given up.
            Waiting::Wanted | Waiting::Abandoned | Waiting::Released => Err(self.gave_up()),
        }
    }

    /// Start a thread that takes the lock file for a waiting writer.
    fn spawn_waiter(&self) -> Result<Arc<Handoff>> {
        let file = open_lock_file(&self.gate.path)?;
        let handoff = Arc::new(Handoff {
            state: Mutex::new(Waiting::Wanted),
            changed: Condvar::new(),
        });
        let theirs = Arc::clone(&handoff);
        std::thread::Builder::new()
            .name("store-turn".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                let locked = loop {
                    match file.lock() {
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        other => break other,
                    }
                };
                let mut state = lock(&theirs.state);
                *state = match (std::mem::replace(&mut *state, Waiting::Released), locked) {
                    (Waiting::Wanted, Ok(())) => Waiting::Granted(file),
                    (Waiting::Wanted, Err(e)) => Waiting::Failed(e),
                    // Nobody wants it any more: closing the descriptor
                    // releases the lock.
                    _ => Waiting::Released,
                };
                theirs.changed.notify_all();
            })
            .map_err(|e| {
                StoreError::Invalid(format!(
                    "cannot start a thread to wait for the store's writers' turn: {e}; nothing was written. \
                     The machine is out of threads or memory: try again, and tell the operator if it persists"
                ))
            })?;
        Ok(handoff)
    }

    /// The error of a writer that waited [`Self::limit`] for its turn.
    fn gave_up(&self) -> StoreError {
        let lock = self.gate.path.display();
        StoreError::Invalid(format!(
            "another writer has held this store for over {} s, so nothing was written: a long \
             operation (a restore, a large import) or a process that hangs in the middle of a write. \
             Try again in a moment; if it persists, `fuser -v {lock}` names the process holding \
             the store's writers' lock: stop it (its unfinished write is rolled back)",
            self.limit.as_secs_f32().round()
        ))
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
mod tests;
