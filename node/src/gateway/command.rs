//! The command hook: a program (an SMS modem's sender, a messaging
//! account's script) run once per try with the notice as JSON on stdin and
//! its key in `LIENTHONG_IDEMPOTENCY_KEY`. Exit status 0 means delivered;
//! anything else, or running past the timeout (the program is killed), is a
//! failed try whose error holds the start of its stderr.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{MAX_ERROR_BYTES, clip};

/// The environment variable carrying the notice's stable key.
pub const KEY_VARIABLE: &str = "LIENTHONG_IDEMPOTENCY_KEY";

#[derive(Debug, Clone)]
pub struct CommandHook {
    argv: Vec<String>,
    timeout: Duration,
}

impl CommandHook {
    /// `argv[0]` is the program; it may run at most `timeout`.
    pub fn new(argv: Vec<String>, timeout: Duration) -> Self {
        CommandHook { argv, timeout }
    }

    /// Run the program once for a notice.
    pub fn deliver(&self, body: &[u8], key: &str) -> Result<(), String> {
        let (program, args) = self
            .argv
            .split_first()
            .ok_or_else(|| "[gateway] command is empty".to_string())?;
        let mut child = Command::new(program)
            .args(args)
            .env(KEY_VARIABLE, key)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {program}: {e}"))?;
        // Write stdin and read stderr on threads, so a program that does not
        // read its input or writes a lot cannot block us past the timeout.
        let mut stdin = child.stdin.take();
        let body = body.to_vec();
        // Not joined: a grandchild keeping the pipe open must not hold us.
        std::thread::spawn(move || {
            if let Some(stdin) = stdin.as_mut() {
                // A program that exits without reading closes the pipe: not our error.
                let _ = stdin.write_all(&body);
            }
        });
        let stderr = child.stderr.take();
        let (kept_tx, kept_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            if let Some(mut stderr) = stderr {
                let _ = (&mut stderr)
                    .take(MAX_ERROR_BYTES as u64)
                    .read_to_end(&mut kept);
                let _ = kept_tx.send(kept);
                // Drain the rest so the program never blocks on a full pipe.
                let _ = std::io::copy(&mut stderr, &mut std::io::sink());
            }
        });
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(format!("waiting for {program}: {e}")),
            }
        };
        // The pipe closes when the program exits (unless a child of its own
        // keeps it open: then wait a moment, not forever).
        let stderr = kept_rx
            .recv_timeout(Duration::from_secs(1))
            .unwrap_or_default();
        let stderr = String::from_utf8_lossy(&stderr).trim().to_string();
        match status {
            Some(status) if status.success() => Ok(()),
            Some(status) => Err(clip(format!("{program} failed ({status}): {stderr}"))),
            None => Err(clip(format!(
                "{program} ran longer than {} s and was stopped: {stderr}",
                self.timeout.as_secs()
            ))),
        }
    }
}
