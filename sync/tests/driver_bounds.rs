//! The driver's byte bounds over real QUIC on loopback: a peer pushing
//! frames at a session that does not take them gets stopped by flow
//! control once the reader queue is full, instead of filling our memory.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use lienthong_sync::DocumentId;
use lienthong_sync::protocol::memory::MemoryStore;
use lienthong_sync::protocol::{AdmitAll, Frame, SessionConfig};
use lienthong_sync::transport::driver::{DriveError, DriverConfig, Role, drive};
use lienthong_sync::transport::endpoint::Endpoint;
use lienthong_sync::transport::framing::FrameEncoder;
use lienthong_sync::transport::identity::NodeIdentity;
use lienthong_sync::transport::tls::{
    PinnedPeers, QUIC_STREAM_RECEIVE_WINDOW, default_transport_config,
};
use tokio::sync::{Notify, watch};

/// Incompressible bytes, so what crosses the wire is what the frames weigh.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u8
        })
        .collect()
}

/// Push frames of `frame_len` bytes at a victim whose session takes no
/// input, until a write blocks for a second; returns the frame bytes pushed.
async fn pushed_before_blocking(reader_queue_bytes: usize, frame_len: usize, cap: usize) -> usize {
    let hostile_id = NodeIdentity::generate("commune:a/b").unwrap();
    let victim_id = NodeIdentity::generate("district:a").unwrap();
    let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let transport = Arc::new(default_transport_config());
    let hostile = Endpoint::bind(
        loopback,
        &hostile_id,
        PinnedPeers::new([victim_id.node_id()]),
        transport.clone(),
    )
    .unwrap();
    let victim = Endpoint::bind(
        loopback,
        &victim_id,
        PinnedPeers::new([hostile_id.node_id()]),
        transport,
    )
    .unwrap();
    let config = DriverConfig {
        reader_queue_bytes,
        session: SessionConfig {
            // The session never takes input: everything read waits in the
            // reader queue.
            send_queue_limit: 0,
            ..SessionConfig::default()
        },
        ..DriverConfig::default()
    };
    let (_keep, shutdown) = watch::channel(false);
    let victim_addr = victim.local_addr().unwrap();
    let peer = *hostile_id.node_id().as_bytes();
    let listener = tokio::spawn(async move {
        let connection = victim.accept().await.unwrap().await.unwrap();
        drive(
            connection,
            Role::Listener,
            peer,
            MemoryStore::new(),
            AdmitAll,
            config,
            Arc::new(Notify::new()),
            shutdown,
            None,
        )
        .await
    });
    let connection = hostile
        .connect(victim_addr, &victim_id.node_id())
        .await
        .unwrap();
    let (mut send, _recv) = connection.open_bi().await.unwrap();
    let mut encoder = FrameEncoder::new().unwrap();
    let mut pushed = 0;
    let mut seq = 1;
    while pushed < cap {
        let frame = Frame::Offer {
            seq,
            doc: DocumentId([seq as u8; 16]),
            message: noise(frame_len, seq),
        }
        .encode();
        encoder.push(&frame).unwrap();
        encoder.flush().unwrap();
        let wire = encoder.take();
        match tokio::time::timeout(Duration::from_secs(1), send.write_all(&wire)).await {
            Ok(Ok(())) => pushed += frame.len(),
            Ok(Err(e)) => panic!("the victim closed the stream: {e}"),
            Err(_) => break,
        }
        seq += 1;
    }
    connection.close(0u32.into(), b"done");
    let driven = tokio::time::timeout(Duration::from_secs(10), listener)
        .await
        .expect("the victim's session ends when the connection does")
        .unwrap();
    assert!(
        matches!(driven.result, Err(DriveError::Lost(_))),
        "{:?}",
        driven.result.err()
    );
    pushed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reader_queue_holds_at_most_its_bytes() {
    let queue = 512 * 1024;
    let frame = 128 * 1024;
    let cap = 32 << 20;
    let pushed = pushed_before_blocking(queue, frame, cap).await;
    eprintln!("pushed {pushed} bytes before the victim stopped reading");
    // The reader queue, one frame waiting for it and one in the decoder,
    // QUIC's stream window and a write's worth of slack.
    let bound = queue + 2 * frame + QUIC_STREAM_RECEIVE_WINDOW + 2 * frame;
    assert!(pushed < cap, "the peer was never stopped");
    assert!(pushed <= bound, "{pushed} bytes pushed, bound {bound}");
    assert!(pushed >= queue, "precondition: the queue itself filled");
}
