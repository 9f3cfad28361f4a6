//! The daemon's heartbeat in the store, so `lienthong status` (another
//! process) can tell whether a daemon is running on this data directory.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;

use super::Shared;
use crate::store::Store;

pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);

pub(crate) async fn heartbeat_loop(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    let path = shared.dir.store_file();
    loop {
        let path = path.clone();
        let beat = tokio::task::spawn_blocking(move || -> Result<(), crate::store::StoreError> {
            let store = Store::open(&path)?;
            store.connection().execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('daemon_heartbeat', ?1), ('daemon_pid', ?2)",
                rusqlite::params![Utc::now().timestamp_millis(), i64::from(std::process::id())],
            )?;
            Ok(())
        })
        .await;
        if let Ok(Err(e)) = beat {
            tracing::warn!(error = %e, "could not record the daemon heartbeat");
        }
        tokio::select! {
            _ = tokio::time::sleep(HEARTBEAT_INTERVAL) => {}
            _ = shutdown.changed() => {
                let path = shared.dir.store_file();
                let _ = tokio::task::spawn_blocking(move || {
                    if let Ok(store) = Store::open(&path) {
                        let _ = store.connection().execute("DELETE FROM meta WHERE key IN ('daemon_heartbeat', 'daemon_pid')", []);
                        let _ = store.connection().execute("UPDATE peers SET connected = 0", []);
                    }
                })
                .await;
                return;
            }
        }
    }
}

/// When the daemon last beat, and its pid.
pub fn daemon_heartbeat(store: &Store) -> Option<(DateTime<Utc>, i64)> {
    let beat: Option<i64> = store
        .connection()
        .query_row(
            "SELECT value FROM meta WHERE key = 'daemon_heartbeat'",
            [],
            |row| row.get(0),
        )
        .optional()
        .ok()
        .flatten();
    let pid: Option<i64> = store
        .connection()
        .query_row(
            "SELECT value FROM meta WHERE key = 'daemon_pid'",
            [],
            |row| row.get(0),
        )
        .optional()
        .ok()
        .flatten();
    Some((DateTime::from_timestamp_millis(beat?)?, pid.unwrap_or(0)))
}
