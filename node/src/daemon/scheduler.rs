//! The deadline scheduler: every few minutes, queue the notices that are
//! due (D4 due soon, overdue, D5 consultations past their deadline, results
//! ready) in the outbox a gateway sends from. Nothing is sent from here.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::Shared;

/// How often deadlines are looked at. Working-day deadlines move slowly;
/// five minutes keeps notices timely without working the store.
pub const SCHEDULER_INTERVAL: Duration = Duration::from_secs(300);

pub(crate) async fn scheduler_loop(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    loop {
        let shared_for_run = shared.clone();
        let outcome = tokio::task::spawn_blocking(move || -> Result<usize, String> {
            let mut node = shared_for_run.open_node().map_err(|e| e.to_string())?;
            crate::notices::queue(&mut node, Utc::now())
                .map(|queued| queued.queued.len())
                .map_err(|e| e.to_string())
        })
        .await;
        match outcome {
            Ok(Ok(0)) => {}
            Ok(Ok(queued)) => tracing::info!(queued, "deadline notices queued in the outbox"),
            Ok(Err(e)) => tracing::warn!(error = %e, "the deadline scheduler could not run"),
            Err(e) => tracing::warn!(error = %e, "the deadline scheduler stopped unexpectedly"),
        }
        tokio::select! {
            _ = tokio::time::sleep(SCHEDULER_INTERVAL) => {}
            _ = shutdown.changed() => return,
        }
    }
}
