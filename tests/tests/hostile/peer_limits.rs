//! What one peer may cost: the receive window, outstanding blob requests,
//! the send queue of a peer that never reads, the reader's queue (guards
//! in `sync/src/protocol` and `sync/src/transport/driver.rs`).

use lienthong_sync::DocumentId;
use lienthong_sync::protocol::Frame;
use lienthong_sync::protocol::frame::MAX_WANT_CHUNKS;
use lienthong_tests::hostile::peer::HostilePeer;
use lienthong_tests::hostile::wire::{SyncMessage, unknown_hash};
use lienthong_tests::hostile::{Ending, Trial, run, unchanged};

fn doc_id(i: u32) -> DocumentId {
    let mut id = [0xd0u8; 16];
    id[..4].copy_from_slice(&i.to_le_bytes());
    DocumentId(id)
}

/// Issue 7, attack 5a: 2,000 offers of new documents, each naming a head
/// it never delivers, so none ever completes — twice the 1,024 documents
/// the district holds unfinished (`held_docs`; its window allows 7,168 in
/// flight since issue 11).
#[test]
fn two_thousand_offers_that_never_complete() {
    run(async {
        let trial = Trial::start("offers-never-complete").await;
        let mut peer = trial.attacker_after_hello().await;
        let base = trial.world.seed.commune_feed + 1_000;
        let message = SyncMessage {
            heads: vec![unknown_hash(5)],
            ..SyncMessage::default()
        }
        .encode();
        for batch in 0..20u32 {
            for i in batch * 100..(batch + 1) * 100 {
                peer.push(&Frame::Offer {
                    seq: base + u64::from(i),
                    doc: doc_id(i),
                    message: message.clone(),
                });
            }
            if !peer.flush().await {
                break;
            }
        }
        trial.verdict(peer, Ending::Closed, unchanged).await;
    })
}

/// Issue 7, attack 5b: 1,000 requests for all of the seeded attachment
/// (64 chunks each, 4 MiB of answers per 100-byte request) from a peer
/// that never reads a byte of the answers.
#[test]
fn blob_want_flood_from_a_peer_that_never_reads() {
    run(async {
        let trial = Trial::start("blob-want-flood").await;
        let seed = trial.world.seed.clone();
        assert!(
            seed.blob_chunks >= 2,
            "precondition: a multi-chunk attachment"
        );
        let mut peer = trial.attacker().await;
        // No reader: the victim's answers pile up on its side.
        peer.send([HostilePeer::hello(0, 0)]).await;
        let chunks: Vec<u32> = (0..MAX_WANT_CHUNKS as u32)
            .map(|i| i % seed.blob_chunks)
            .collect();
        for _ in 0..10 {
            for _ in 0..100 {
                peer.push(&Frame::BlobWant {
                    hash: seed.blob,
                    manifest: true,
                    chunks: chunks.clone(),
                });
            }
            if !peer.flush().await {
                break;
            }
        }
        // More chunks asked than may be outstanding is a protocol error:
        // the victim closes the session (and until it does, it must not
        // buffer the answers a peer does not read).
        trial.verdict(peer, Ending::Closed, unchanged).await;
    })
}

/// Issue 7, attack 5c: offers of 16 MiB (the largest message allowed),
/// zeros that the stream's zstd shrinks to ~550 bytes each — twice the
/// district's 8 MiB byte window per offer, 200 of them.
#[test]
fn sixteen_mib_frames_of_compressed_zeros() {
    run(async {
        let trial = Trial::start("zstd-16mib-frames").await;
        let mut peer = trial.attacker_after_hello().await;
        let base = trial.world.seed.commune_feed + 1_000;
        let zeros = vec![0u8; (16 << 20) - 64];
        for batch in 0..20u32 {
            for i in batch * 10..(batch + 1) * 10 {
                peer.push(&Frame::Offer {
                    seq: base + u64::from(i),
                    doc: doc_id(i),
                    message: zeros.clone(),
                });
            }
            if !peer.flush().await {
                break;
            }
        }
        trial.verdict(peer, Ending::Closed, unchanged).await;
    })
}
