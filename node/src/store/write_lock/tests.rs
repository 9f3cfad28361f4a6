//! The writers' turn, tested with real connections, threads and child
//! processes.

use std::io::BufRead;
use std::sync::mpsc;

use super::*;
use crate::store::Store;

/// The row every test writes: `key` in `meta`.
fn put(conn: &rusqlite::Connection, key: &str) -> rusqlite::Result<usize> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, 1)",
        rusqlite::params![key],
    )
}

fn try_insert(store: &mut Store, key: &str) -> Result<usize> {
    store.write(|w| put(w.conn(), key).map_err(StoreError::from))
}

/// A new store and two connections to it in this process (they share its
/// lock file descriptor); the directory lives as long as the first.
fn two_connections() -> (tempfile::TempDir, Store, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let first = Store::create(&path).unwrap();
    let second = Store::open(&path).unwrap();
    (dir, first, second)
}

fn insert(store: &mut Store, key: &str) {
    try_insert(store, key).unwrap();
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

/// In a thread, `store` writes `key` and holds its transaction (and its
/// turn) until `release` returns; this returns once the write is inside
/// its transaction. The thread gives back when it committed, and the store.
fn hold_in_thread(
    mut store: Store,
    key: &'static str,
    release: impl FnOnce() + Send + 'static,
) -> std::thread::JoinHandle<(Instant, Store)> {
    let (inside_tx, inside) = mpsc::channel();
    let holder = std::thread::spawn(move || {
        store
            .write(|w| {
                put(w.conn(), key)?;
                inside_tx.send(()).unwrap();
                release();
                Ok::<_, StoreError>(())
            })
            .unwrap();
        (Instant::now(), store)
    });
    inside.recv_timeout(Duration::from_secs(10)).unwrap();
    holder
}

/// Two connections in two threads: the second writer waits for the
/// first's turn and is woken when it commits — not a busy-handler poll
/// — and both writes are kept.
#[test]
fn a_waiting_writer_is_woken_as_soon_as_the_first_commits() {
    let (_dir, first, mut second) = two_connections();
    assert!(
        Arc::ptr_eq(&first.write_lock.gate, &second.write_lock.gate),
        "one lock file descriptor per process and store"
    );
    let holder = hold_in_thread(first, "first", || {
        std::thread::sleep(Duration::from_millis(300))
    });
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
    let holder = hold_in_thread(old, "old", || {
        std::thread::sleep(Duration::from_millis(100))
    });
    insert(&mut new, "new");
    let (_, mut old) = holder.join().unwrap();
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
        put(w.conn(), "failed")?;
        Err::<(), _>(StoreError::Invalid("refused".into()))
    });
    assert!(failed.is_err());
    assert!(store.connection().is_autocommit(), "transaction left open");
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store
            .write(|w| {
                put(w.conn(), "panicked")?;
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

/// A child process (this test binary, running
/// `a_killed_holder_does_not_block_the_others` as the holder) that has
/// the store's turn and SQLite's lock, in the middle of a write it
/// never ends.
fn child_holding_the_turn(path: &Path) -> Child {
    let mut child = Child(
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "store::write_lock::tests::a_killed_holder_does_not_block_the_others",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(HOLD_ENV, path)
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
    child
}

/// Write `parent` on `store` in a thread while `child` holds the turn;
/// check that the write waits; kill the child; return the store once the
/// write is done, and how long after the kill it was.
fn write_while_killing(mut store: Store, mut child: Child) -> (Store, Duration) {
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
        .expect("the write never went on after the holder was killed");
    let waited = killed.elapsed();
    (writer.join().unwrap(), waited)
}

/// Insert `key`, which must fail as a writer that gave up on its turn:
/// the error says nothing was written, and how to find the holder.
fn refused_insert(store: &mut Store, key: &str) {
    let refused = try_insert(store, key)
        .expect_err("wrote while another writer held the turn")
        .to_string();
    assert!(refused.contains("nothing was written"), "{refused}");
    assert!(refused.contains("fuser -v"), "{refused}");
    assert!(refused.contains("store.db-lock"), "{refused}");
}

/// A writer behind a holder in this process gives up after its limit
/// with an error that says nothing was written and how to find the
/// holder; the turn is not left taken, and both writes that did happen
/// are kept.
#[test]
fn a_writer_behind_a_hung_one_gives_up_after_the_limit() {
    let (_dir, first, mut second) = two_connections();
    second.write_lock.limit = Duration::from_millis(200);
    let (release_tx, release) = mpsc::channel::<()>();
    let holder = hold_in_thread(first, "first", move || {
        let _ = release.recv_timeout(Duration::from_secs(30));
    });
    let started = Instant::now();
    refused_insert(&mut second, "second");
    assert!(started.elapsed() >= Duration::from_millis(200));
    release_tx.send(()).unwrap();
    let (_, mut first) = holder.join().unwrap();
    insert(&mut second, "again");
    assert!(has(&mut first, "first") && has(&mut first, "again"));
    assert!(!has(&mut first, "second"));
}

/// The same across processes: a writer behind a hung process gives up
/// after its limit, a second one adopts the first one's waiting thread
/// instead of starting another, and when the holder dies the next
/// write goes on at once.
#[test]
fn a_writer_behind_a_hung_process_gives_up_and_leaves_one_waiter() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let mut store = Store::create(&path).unwrap();
    let child = child_holding_the_turn(&path);
    store.write_lock.limit = Duration::from_millis(300);
    let waiter = |store: &Store| {
        lock(&store.write_lock.gate.waiter)
            .as_ref()
            .map(Arc::as_ptr)
            .expect("no thread left waiting for the lock file")
    };
    refused_insert(&mut store, "one");
    let left = waiter(&store);
    refused_insert(&mut store, "two");
    assert_eq!(waiter(&store), left, "a second waiting thread was started");
    // A third writer, with time to wait, adopts the same thread and is
    // handed the lock when the holder dies.
    store.write_lock.limit = TURN_LIMIT;
    let (mut store, waited) = write_while_killing(store, child);
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    assert!(
        lock(&store.write_lock.gate.waiter).is_none(),
        "the lock was not handed over by the adopted thread"
    );
    assert_eq!(
        store.lock_waits().turns_waited,
        1,
        "{:?}",
        store.lock_waits()
    );
    assert!(has(&mut store, "parent") && !has(&mut store, "one") && !has(&mut store, "two"));
    // The waiting thread left by the writers that gave up either handed
    // its lock over or released it: no lock is left behind, and
    // another process can take its turn.
    let other = File::open(lock_path(&path)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while other.try_lock().is_err() {
        assert!(Instant::now() < deadline, "a lock was left behind");
        std::thread::sleep(Duration::from_millis(10));
    }
    store.integrity_check().unwrap();
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
                put(w.conn(), "child")?;
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
    let store = Store::create(&path).unwrap();
    let child = child_holding_the_turn(&path);
    let (mut store, waited) = write_while_killing(store, child);
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
