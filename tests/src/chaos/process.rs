//! `lienthong` child processes: the daemon (`lienthong run`) to `kill -9`,
//! and officer commands.
//!
//! The binary belongs to the `lienthong` package, so Cargo does not hand it
//! to this crate's tests; [`lienthong_bin`] finds it next to the test
//! executable (`target/<profile>/lienthong`) and builds it only if it is
//! missing or older than the node's sources.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use super::wait_for;

/// Environment variables of the binary that must not leak in from whoever
/// runs the tests.
const SCRUBBED: [&str; 4] = [
    "LIENTHONG_DATA",
    "LIENTHONG_OFFICER",
    "LIENTHONG_LOG",
    lienthong::store::CRASH_AT_ENV,
];

/// The `lienthong` binary: `$LIENTHONG_BIN` if set, else the one Cargo
/// built into this test's target directory, built first if needed.
pub fn lienthong_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(path) = std::env::var_os("LIENTHONG_BIN") {
            return PathBuf::from(path);
        }
        let exe = std::env::current_exe().expect("the test executable's path");
        // target/<profile>/deps/<test> → target/<profile>; a binary of this
        // crate (syncbench) is in target/<profile> itself.
        let parent = exe.parent().expect("the executable is in a directory");
        let profile_dir = if parent.file_name().is_some_and(|n| n == "deps") {
            parent
                .parent()
                .expect("target/<profile>/deps")
                .to_path_buf()
        } else {
            parent.to_path_buf()
        };
        let bin = profile_dir.join(format!("lienthong{}", std::env::consts::EXE_SUFFIX));
        if !is_fresh(&bin) {
            build(&profile_dir);
        }
        assert!(bin.exists(), "no lienthong binary at {}", bin.display());
        bin
    })
    .clone()
}

fn modified(path: &Path) -> Option<SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

fn newest_under(dir: &Path, newest: &mut Option<SystemTime>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            newest_under(&path, newest);
        } else if let Some(time) = modified(&path) {
            *newest = (*newest).max(Some(time));
        }
    }
}

/// The binary exists and is newer than every source it is built from.
fn is_fresh(bin: &Path) -> bool {
    let Some(built) = modified(bin) else {
        return false;
    };
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut newest = None;
    for dir in ["node/src", "sync/src", "shared/src", "configs"] {
        newest_under(&workspace.join(dir), &mut newest);
    }
    for file in [
        "Cargo.lock",
        "node/Cargo.toml",
        "sync/Cargo.toml",
        "shared/Cargo.toml",
    ] {
        if let Some(time) = modified(&workspace.join(file)) {
            newest = newest.max(Some(time));
        }
    }
    newest.is_none_or(|n| n <= built)
}

fn build(profile_dir: &Path) {
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("debug")
        .to_string();
    let target_dir = profile_dir.parent().expect("a target directory");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "-p", "lienthong", "--bin", "lienthong"])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .env("CARGO_TARGET_DIR", target_dir);
    match profile.as_str() {
        // `cargo test` builds into target/debug with the test profile:
        // build the binary with it too, reusing what is compiled.
        "debug" => {
            command.args(["--profile", "test"]);
        }
        "release" => {
            command.arg("--release");
        }
        other => {
            command.args(["--profile", other]);
        }
    }
    eprintln!("chaos: building the lienthong binary ({profile})");
    let status = command.status().expect("run cargo build");
    assert!(status.success(), "cargo build -p lienthong failed");
}

/// The binary with a clean environment.
pub fn command() -> Command {
    let mut command = Command::new(lienthong_bin());
    for var in SCRUBBED {
        command.env_remove(var);
    }
    command.stdin(Stdio::null());
    command
}

/// Run an officer (or any) command to completion.
pub fn cli(args: &[&str]) -> Output {
    command().args(args).output().expect("run lienthong")
}

/// A `lienthong run` child process.
pub struct NodeProcess {
    child: Option<Child>,
    log: PathBuf,
    /// Where this incarnation's output starts in the log.
    log_start: u64,
    pub addr: SocketAddr,
}

impl NodeProcess {
    /// Start the daemon on `dir`, listening on `listen` (port 0: any), with
    /// its stderr appended to `log`; returns once it listens.
    pub async fn spawn(dir: &Path, listen: SocketAddr, log: &Path) -> NodeProcess {
        Self::spawn_with(dir, listen, log, |_| {}).await
    }

    /// [`Self::spawn`], with `configure` applied to the command first (an
    /// environment variable, a resource limit in `pre_exec`).
    pub async fn spawn_with(
        dir: &Path,
        listen: SocketAddr,
        log: &Path,
        configure: impl FnOnce(&mut Command),
    ) -> NodeProcess {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("open the daemon's log");
        let log_start = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut command = command();
        command
            .args(["run", "--data"])
            .arg(dir)
            .arg("--listen")
            .arg(listen.to_string())
            // Many nodes on one machine: each console on a port of its own.
            .args(["--console", "127.0.0.1:0"])
            .env("LIENTHONG_LOG", "info,quinn=warn,rustls=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::from(file));
        configure(&mut command);
        let child = command.spawn().expect("spawn lienthong run");
        let mut process = NodeProcess {
            child: Some(child),
            log: log.to_path_buf(),
            log_start,
            addr: listen,
        };
        let addr = wait_for(
            "the daemon to listen",
            Duration::from_secs(30),
            Duration::from_millis(20),
            || {
                if let Some(status) = process
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten())
                {
                    panic!("lienthong run exited with {status}: {}", process.log());
                }
                process
                    .log()
                    .lines()
                    .find_map(|line| {
                        let (_, rest) = line.split_once(" listening on ")?;
                        rest.split_whitespace()
                            .next()?
                            .trim_end_matches(';')
                            .parse::<SocketAddr>()
                            .ok()
                    })
                    .ok_or_else(|| "not yet".to_string())
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        process.addr = addr;
        process
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// How the process ended, if it has (None while it runs).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// `kill -9`, and reap it.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id() as libc::pid_t;
            // SAFETY: kill(2) on our own child's pid, which has not been
            // reaped yet (so the pid cannot have been reused).
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
            let status = child.wait().expect("reap the killed daemon");
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(
                status.signal(),
                Some(libc::SIGKILL),
                "the daemon died of SIGKILL"
            );
        }
    }

    /// Stop it cleanly (SIGTERM) and wait.
    pub fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: as in `kill9`.
            unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
            }
            let _ = child.wait();
        }
    }

    /// This incarnation's stderr so far.
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = File::open(&self.log) {
            let _ = file.seek(SeekFrom::Start(self.log_start));
            let _ = file.read_to_string(&mut text);
        }
        text
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill9_quietly();
    }
}

impl NodeProcess {
    fn kill9_quietly(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Sum of `key=N` over the log lines containing `marker`: e.g. the
/// documents a daemon stored from a peer (`stored changes from peer …
/// documents=N`).
pub fn sum_field(log: &str, marker: &str, key: &str) -> u64 {
    let needle = format!("{key}=");
    log.lines()
        .filter(|line| line.contains(marker))
        .filter_map(|line| {
            let rest = &line[line.find(&needle)? + needle.len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u64>().ok()
        })
        .sum()
}
