//! Accepting peers: the TLS layer already refused anyone not pinned; here a
//! second session with a peer that already has one is turned away.

use std::sync::Arc;

use lienthong_sync::transport::driver::Role;
use lienthong_sync::transport::tls::peer_node_id;

use super::{link, Shared};

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
                    if !shared.peers.contains_key(&key) {
                        tracing::warn!(%remote, peer = %peer, "refused: not a configured peer");
                        connection.close(1u32.into(), b"not a configured peer");
                        return;
                    }
                    if !shared.claim(&key) {
                        tracing::info!(%remote, peer = %peer.short(), "already in session with this peer; closing the second connection");
                        connection.close(2u32.into(), b"already connected");
                        return;
                    }
                    link::serve(shared.clone(), connection, Role::Listener, key).await;
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
