//! Accepting peers: the TLS layer already refused anyone not pinned; here a
//! second session with a peer that already has one is turned away — unless
//! the peer dialled the first one too: then it has given up on it, and the
//! new connection replaces it.

use std::sync::Arc;
use std::time::Duration;

use lienthong_sync::transport::driver::Role;
use lienthong_sync::transport::tls::{ENROL_ALPN, negotiated_alpn, peer_node_id};

use super::{Shared, link};

/// How long a reconnecting peer waits for its stale session to wind down.
const REPLACE_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) async fn accept_loop(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    let mut sessions = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            incoming = shared.endpoint.accept() => {
                let Some(incoming) = incoming else { break };
                let shared = shared.clone();
                sessions.spawn(async move {
                    let remote = incoming.remote_address();
                    let connection = match incoming.await {
                        Ok(connection) => connection,
                        Err(e) => {
                            tracing::warn!(%remote, error = %e, "refused an incoming connection");
                            return;
                        }
                    };
                    let peer = match peer_node_id(&connection) {
                        Ok(id) => id,
                        Err(e) => {
                            tracing::warn!(%remote, error = %e, "no usable peer identity");
                            connection.close(1u32.into(), b"no identity");
                            return;
                        }
                    };
                    let key = *peer.as_bytes();
                    // An unpinned client admitted for enrolment gets that
                    // exchange and nothing else (`enrol`).
                    if negotiated_alpn(&connection).as_deref() == Some(ENROL_ALPN) {
                        crate::enrol::serve(shared.clone(), connection, peer).await;
                        return;
                    }
                    if shared.peer_office(&key).is_none() {
                        tracing::warn!(%remote, peer = %peer, "refused: not a configured peer");
                        connection.close(1u32.into(), b"not a configured peer");
                        return;
                    }
                    if !shared.claim(&key) {
                        // A session it dialled earlier is still open here:
                        // the peer has given up on it (restarted, or lost the
                        // link), so the new connection replaces it. A session
                        // we dialled ourselves stays; the newcomer is refused.
                        let stale = shared
                            .listened
                            .lock()
                            .ok()
                            .and_then(|listened| listened.get(&key).cloned());
                        let replaced = match stale {
                            Some(stale) => {
                                tracing::info!(%remote, peer = %peer.short(), "peer dialled again; closing its previous connection");
                                stale.close(3u32.into(), b"replaced by a new connection from the same peer");
                                shared.claim_when_released(&key, REPLACE_TIMEOUT).await
                            }
                            None => false,
                        };
                        if !replaced {
                            tracing::info!(%remote, peer = %peer.short(), "already in session with this peer; closing the second connection");
                            connection.close(2u32.into(), b"already connected");
                            return;
                        }
                    }
                    if let Ok(mut listened) = shared.listened.lock() {
                        listened.insert(key, connection.clone());
                    }
                    link::serve(shared.clone(), connection.clone(), Role::Listener, key).await;
                    if let Ok(mut listened) = shared.listened.lock()
                        && listened
                            .get(&key)
                            .is_some_and(|c| c.stable_id() == connection.stable_id())
                    {
                        listened.remove(&key);
                    }
                    shared.release(&key);
                });
            }
            _ = shutdown.changed() => break,
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
    // Sessions see the shutdown signal themselves; wait for them to finish.
    while sessions.join_next().await.is_some() {}
}
