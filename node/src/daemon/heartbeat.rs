//! The daemon's heartbeat in the store, so `lienthong status` (another
//! process) can tell whether a daemon is running on this data directory.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Shared;
use crate::store::Store;

pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);

pub(crate) async fn heartbeat_loop(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    let path = shared.dir.store_file();
    loop {
        let path = path.clone();
        let beat = tokio::task::spawn_blocking(move || -> Result<(), crate::store::StoreError> {
            Store::open(&path)?.record_heartbeat(Utc::now(), std::process::id())
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
                        let _ = store.clear_heartbeat();
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
    store.daemon_heartbeat()
}
