//! Bytes that are not frames. The framing and frame decoder were already
//! bounded before issue 7; these keep them so.

use lienthong_tests::hostile::peer::HostilePeer;
use lienthong_tests::hostile::{Ending, Trial, run, unchanged};
use rand::{RngCore, SeedableRng};

/// 64 KiB of seeded random bytes on the stream instead of a zstd stream.
#[test]
fn a_stream_of_garbage_bytes() {
    run(async {
        let trial = Trial::start("garbage").await;
        let mut peer = trial.attacker().await;
        peer.read_in_background();
        let mut garbage = vec![0u8; 64 * 1024];
        rand_chacha::ChaCha8Rng::seed_from_u64(77).fill_bytes(&mut garbage);
        peer.send_wire(&garbage).await;
        trial.verdict(peer, Ending::Closed, unchanged).await;
    })
}

/// A well-framed frame whose body stops short: an offer cut after its
/// sequence number, inside the document id.
#[test]
fn a_truncated_frame() {
    run(async {
        let trial = Trial::start("truncated-frame").await;
        let mut peer = trial.attacker_after_hello().await;
        let offer = trial.offer_seeded(vec![0x42, 0, 0, 0, 0]);
        let encoded = lienthong_sync::protocol::Frame::encode(&offer);
        // type byte, a 2-byte varint sequence, 5 of the 16 id bytes
        peer.push_raw(&encoded[..8]);
        peer.flush().await;
        trial.verdict(peer, Ending::Closed, unchanged).await;
    })
}

/// A stream that ends (FIN) inside a frame: the length prefix promises
/// 1,000 bytes and 10 follow. The victim must not take this for a clean
/// end of the session.
#[test]
fn a_stream_cut_inside_a_frame() {
    run(async {
        let trial = Trial::start("stream-cut-mid-frame").await;
        let mut peer = trial.attacker().await;
        peer.read_in_background();
        // Hello, then a length prefix and a partial body: the stream's
        // content, compressed as one zstd frame (the victim's decoder reads
        // it like the encoder's output).
        let hello = HostilePeer::hello(0, 1_000_000).encode();
        let mut content = Vec::new();
        content.extend_from_slice(&(hello.len() as u32).to_le_bytes());
        content.extend_from_slice(&hello);
        content.extend_from_slice(&1000u32.to_le_bytes());
        content.extend_from_slice(&[2u8; 10]);
        let wire = zstd::bulk::compress(&content, 3).expect("compress");
        peer.send_wire(&wire).await;
        peer.finish();
        trial.verdict(peer, Ending::Closed, unchanged).await;
    })
}
