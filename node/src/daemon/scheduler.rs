//! The deadline scheduler: every few minutes, queue the notices that are
//! due (D4 due soon, overdue, D5 consultations past their deadline, results
//! ready) in the outbox; and the delivery loop that hands the outbox to the
//! configured gateway (`crate::gateway`).

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

/// How often the outbox is looked at for notices to deliver (issue 10).
/// The query is one index range; a notice waits at most this long.
pub const DELIVERY_INTERVAL: Duration = Duration::from_secs(5);

/// Deliver the outbox through the `[gateway]` of node.toml, read again on
/// every pass so a changed gateway applies without a restart. Without a
/// `[gateway]` the outbox is kept for `lienthong notices` to show.
pub(crate) async fn delivery_loop(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    loop {
        let shared_for_run = shared.clone();
        let outcome = tokio::task::spawn_blocking(move || -> Result<_, String> {
            let mut node = shared_for_run.open_node().map_err(|e| e.to_string())?;
            if let Some(portal) = node.config.portal.clone() {
                // A failing portal never holds the citizens' notices back.
                let now = shared_for_run.options.clock.now();
                let tree = node.network.offices.clone();
                let tz = node.calendar.timezone();
                let ran = crate::gateway::webhook::Webhook::new(
                    &portal.endpoint,
                    Duration::from_secs(portal.timeout_seconds),
                    portal.ca_file.as_deref(),
                )
                .map_err(|e| format!("[portal] endpoint: {e}"))
                .and_then(|endpoint| {
                    crate::portal::queue_changes(&mut node.store, &tree, tz, now)
                        .and_then(|_| {
                            crate::portal::deliver_due(
                                &mut node.store,
                                &endpoint,
                                Duration::from_secs(portal.max_backoff_seconds),
                                now,
                            )
                        })
                        .map_err(|e| e.to_string())
                });
                match ran {
                    Ok(pass) if pass.delivered + pass.failed > 0 => tracing::info!(
                        delivered = pass.delivered,
                        failed = pass.failed,
                        "portal records delivered"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "the portal export could not run"),
                }
            }
            let Some(config) = node.config.gateway.clone() else {
                return Ok(None);
            };
            let gateway = crate::gateway::Gateway::from_config(&config)?;
            let now = shared_for_run.options.clock.now();
            crate::gateway::deliver_due(
                &mut node.store,
                &gateway,
                Duration::from_secs(config.max_backoff_seconds),
                now,
            )
            .map(Some)
            .map_err(|e| e.to_string())
        })
        .await;
        match outcome {
            Ok(Ok(None)) => {}
            Ok(Ok(Some(pass))) if pass.delivered + pass.failed == 0 => {}
            Ok(Ok(Some(pass))) => {
                tracing::info!(
                    delivered = pass.delivered,
                    failed = pass.failed,
                    "notices delivered through the gateway"
                )
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "the notice gateway could not run"),
            Err(e) => tracing::warn!(error = %e, "the notice gateway stopped unexpectedly"),
        }
        tokio::select! {
            _ = tokio::time::sleep(DELIVERY_INTERVAL) => {}
            _ = shutdown.changed() => return,
        }
    }
}
