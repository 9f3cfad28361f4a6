//! The hostile peer: a real pinned identity on a real QUIC connection with
//! the node's own TLS and framing, writing whatever frames it likes.
//!
//! It dials like a node's dialer (`Endpoint::connect`, then `open_bi`) and
//! frames like `transport/driver.rs` (one zstd stream per direction), so
//! everything it sends reaches the victim's session exactly as a
//! compromised commune's would. [`HostilePeer::send_wire`] skips the
//! framing for byte-level garbage.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use lienthong_sync::protocol::{Frame, PROTOCOL_VERSION};
use lienthong_sync::transport::endpoint::Endpoint;
use lienthong_sync::transport::framing::{FrameDecoder, FrameEncoder};
use lienthong_sync::transport::identity::{NodeId, NodeIdentity};
use lienthong_sync::transport::tls::{PinnedPeers, default_transport_config};
use tokio::sync::mpsc;

/// How long one write may wait for the victim's flow control before the
/// attacker stops pushing (a victim that stopped reading is not an error).
const WRITE_PATIENCE: Duration = Duration::from_secs(20);

pub struct HostilePeer {
    endpoint: Endpoint,
    connection: quinn::Connection,
    send: quinn::SendStream,
    recv: Option<quinn::RecvStream>,
    encoder: FrameEncoder,
    /// Bytes written on the stream (after compression): what the attack
    /// cost on the wire.
    pub wire_bytes: u64,
    /// Frames the victim sent, once [`Self::read_in_background`] runs.
    frames: Option<mpsc::UnboundedReceiver<Frame>>,
}

impl HostilePeer {
    /// Dial `victim` at `addr` as `identity` (a key the victim pins) and
    /// open the session's stream. Nothing is sent yet.
    pub async fn connect(
        identity: &NodeIdentity,
        victim: NodeId,
        addr: SocketAddr,
    ) -> Result<HostilePeer, String> {
        let endpoint = Endpoint::bind(
            "127.0.0.1:0".parse().expect("an address"),
            identity,
            PinnedPeers::new([victim]),
            Arc::new(default_transport_config()),
        )
        .map_err(|e| format!("attacker endpoint: {e}"))?;
        let connection =
            tokio::time::timeout(Duration::from_secs(10), endpoint.connect(addr, &victim))
                .await
                .map_err(|_| format!("no handshake with {addr} within 10 s"))?
                .map_err(|e| format!("dial {addr}: {e}"))?;
        let (send, recv) = connection
            .open_bi()
            .await
            .map_err(|e| format!("open the sync stream: {e}"))?;
        Ok(HostilePeer {
            endpoint,
            connection,
            send,
            recv: Some(recv),
            encoder: FrameEncoder::new().map_err(|e| e.to_string())?,
            wire_bytes: 0,
            frames: None,
        })
    }

    /// A Hello as an honest commune sends it: `since` is the checkpoint of
    /// the victim's feed it claims to hold, `last_seq` its own feed head.
    pub fn hello(since: u64, last_seq: u64) -> Frame {
        Frame::Hello {
            version: PROTOCOL_VERSION,
            since,
            last_seq,
            window_docs: 1024,
            window_bytes: 8 << 20,
        }
    }

    /// Queue one frame's bytes (a `Frame::encode`, or anything else) with
    /// the real length prefix and compression; nothing is written until
    /// [`Self::flush`].
    pub fn push_raw(&mut self, frame: &[u8]) {
        self.encoder.push(frame).expect("compress a frame");
    }

    pub fn push(&mut self, frame: &Frame) {
        self.push_raw(&frame.encode());
    }

    /// Write what is queued. Returns false if the victim did not take it
    /// within the patience (it stopped reading) or the stream is gone.
    pub async fn flush(&mut self) -> bool {
        self.encoder.flush().expect("flush the compressor");
        let bytes = self.encoder.take();
        self.send_wire(&bytes).await
    }

    /// Push and flush frames.
    pub async fn send(&mut self, frames: impl IntoIterator<Item = Frame>) -> bool {
        for frame in frames {
            self.push(&frame);
        }
        self.flush().await
    }

    /// Bytes straight onto the stream, past the framing and compression.
    pub async fn send_wire(&mut self, bytes: &[u8]) -> bool {
        self.wire_bytes += bytes.len() as u64;
        matches!(
            tokio::time::timeout(WRITE_PATIENCE, self.send.write_all(bytes)).await,
            Ok(Ok(()))
        )
    }

    /// End our side of the stream (FIN) without closing the connection.
    pub fn finish(&mut self) {
        let _ = self.send.finish();
    }

    /// Read and decode what the victim sends, in a task, so its writer is
    /// never held up by us (except in the attacks that mean to).
    pub fn read_in_background(&mut self) {
        let Some(mut recv) = self.recv.take() else {
            return;
        };
        let (tx, rx) = mpsc::unbounded_channel();
        self.frames = Some(rx);
        tokio::spawn(async move {
            let Ok(mut decoder) = FrameDecoder::new(17 << 20) else {
                return;
            };
            while let Ok(Some(chunk)) = recv.read_chunk(64 * 1024, true).await {
                decoder.push(&chunk.bytes);
                while let Ok(Some(bytes)) = decoder.next_frame() {
                    if let Ok(frame) = Frame::decode(&bytes, 17 << 20) {
                        let _ = tx.send(frame);
                    }
                }
            }
        });
    }

    /// The next frame from the victim that `pick` selects, within `timeout`
    /// (needs [`Self::read_in_background`]).
    pub async fn next_frame<T>(
        &mut self,
        timeout: Duration,
        mut pick: impl FnMut(&Frame) -> Option<T>,
    ) -> Option<T> {
        let frames = self.frames.as_mut()?;
        tokio::time::timeout(timeout, async {
            while let Some(frame) = frames.recv().await {
                if let Some(value) = pick(&frame) {
                    return Some(value);
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
    }

    /// Why the connection ended, if the victim ended it (an application
    /// close or a reset: not our own close, not a timeout).
    pub fn closed_by_victim(&self) -> Option<String> {
        match self.connection.close_reason()? {
            quinn::ConnectionError::LocallyClosed => None,
            quinn::ConnectionError::TimedOut => None,
            other => Some(other.to_string()),
        }
    }

    /// Hang up (what a peer that gives up does).
    pub async fn close(self) {
        self.connection.close(0u32.into(), b"hostile peer done");
        let _ = tokio::time::timeout(Duration::from_secs(2), self.endpoint.wait_idle()).await;
    }
}

/// A fresh session answers: the victim completes a handshake with `identity`
/// and sends its Hello back in reply to ours.
pub async fn answers(
    identity: &NodeIdentity,
    victim: NodeId,
    addr: SocketAddr,
) -> Result<(), String> {
    let mut peer = HostilePeer::connect(identity, victim, addr).await?;
    peer.read_in_background();
    if !peer.send([HostilePeer::hello(0, 0)]).await {
        return Err("the node took no Hello".into());
    }
    let hello = peer
        .next_frame(Duration::from_secs(15), |f| {
            matches!(f, Frame::Hello { .. }).then_some(())
        })
        .await;
    peer.close().await;
    hello.ok_or_else(|| "no Hello back within 15 s".to_string())
}
