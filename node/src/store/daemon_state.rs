//! The daemon's presence in the store: its heartbeat and pid in `meta`, so
//! `lienthong status` (another process) can tell whether a daemon runs on
//! this data directory; cleared, with every peer marked disconnected, when
//! it stops.

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;

use super::{Result, Store};

impl Store {
    /// Record that the daemon (process `pid`) is alive at `at`.
    pub fn record_heartbeat(&self, at: DateTime<Utc>, pid: u32) -> Result<()> {
        self.with_turn(|conn| {
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('daemon_heartbeat', ?1), ('daemon_pid', ?2)",
                rusqlite::params![at.timestamp_millis(), i64::from(pid)],
            )
        })?;
        Ok(())
    }

    /// The daemon stopped: no heartbeat, no peer connected.
    pub fn clear_heartbeat(&self) -> Result<()> {
        self.with_turn(|conn| {
            conn.execute(
                "DELETE FROM meta WHERE key IN ('daemon_heartbeat', 'daemon_pid')",
                [],
            )?;
            conn.execute("UPDATE peers SET connected = 0", [])
        })?;
        Ok(())
    }

    /// When the daemon last beat, and its pid (0 if unknown); `None` if no
    /// daemon has beaten since the last stop.
    pub fn daemon_heartbeat(&self) -> Option<(DateTime<Utc>, i64)> {
        let value = |key: &str| -> Option<i64> {
            self.connection()
                .query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
                    row.get(0)
                })
                .optional()
                .ok()
                .flatten()
        };
        let beat = value("daemon_heartbeat")?;
        Some((
            DateTime::from_timestamp_millis(beat)?,
            value("daemon_pid").unwrap_or(0),
        ))
    }
}
