//! Dialling a parent or extra peer, and redialling with backoff and jitter
//! when the link drops — for hours if it must.

use std::net::SocketAddr;
use std::sync::Arc;

use lienthong_sync::transport::driver::Role;
use rand::Rng;

use super::{Shared, link};
use crate::config::PeerConfig;

/// Dial `peer` at `addr` until shutdown, or until node.toml no longer
/// wants this loop (`generation`, see `peers.rs`).
pub(crate) async fn dial_loop(
    shared: Arc<Shared>,
    peer: PeerConfig,
    addr: SocketAddr,
    generation: u64,
) {
    let (first, longest) = shared.options.backoff;
    let mut delay = first;
    let mut shutdown = shared.shutdown.clone();
    let key = *peer.node_id.as_bytes();
    loop {
        if *shutdown.borrow() {
            return;
        }
        if !shared.dials(&key, generation) {
            tracing::info!("no longer dialled (node.toml changed)");
            return;
        }
        let mut synced = false;
        if shared.claim(&key) {
            let connecting = shared.endpoint.connect(addr, &peer.node_id);
            let connection = tokio::select! {
                c = connecting => Some(c),
                _ = shutdown.changed() => None,
            };
            match connection {
                None => {
                    shared.release(&key);
                    return;
                }
                Some(Ok(connection)) => {
                    let outcome = link::serve(shared.clone(), connection, Role::Dialer, key).await;
                    synced = outcome.synced;
                }
                Some(Err(e)) => {
                    tracing::info!(error = %e, retry_in = ?delay, "cannot reach peer");
                    record_failure(&shared, key, e.to_string()).await;
                }
            }
            shared.release(&key);
        }
        if synced {
            delay = first;
        }
        // Jitter: between half and the full delay, so offices that lost the
        // same link do not all redial at the same instant.
        let jittered = {
            let mut rng = rand::rng();
            delay.mul_f64(rng.random_range(0.5..=1.0))
        };
        tokio::select! {
            _ = tokio::time::sleep(jittered) => {}
            _ = shared.peers_changed.notified() => {}
            _ = shutdown.changed() => return,
        }
        delay = (delay * 2).min(longest);
    }
}

async fn record_failure(shared: &Shared, peer: [u8; 32], error: String) {
    let path = shared.dir.store_file();
    let _ = tokio::task::spawn_blocking(move || {
        if let Ok(mut store) = crate::store::Store::open(&path) {
            let _ = store
                .write(|w| w.set_peer_link(&peer, false, chrono::Utc::now(), false, Some(&error)));
        }
    })
    .await;
}
