//! Sync messages that reach Automerge: the guard in front of it
//! (`sync/src/protocol/guard.rs`) must refuse them before Automerge sees
//! them.

use lienthong_shared::dossier::Action;
use lienthong_sync::DocumentId;
use lienthong_sync::protocol::Frame;
use lienthong_tests::chaos::desk::Ledger;
use lienthong_tests::chaos::story;
use lienthong_tests::hostile::peer::HostilePeer;
use lienthong_tests::hostile::wire::{
    FLAG_SUPPORTS_SYNC_RESET, Have, SYNC_V2, SyncMessage, bloom, compressed_chunk, deflate_zeros,
    unknown_hash,
};
use lienthong_tests::hostile::{CLOSE_DEADLINE, Ending, Trial, run, unchanged};

/// An offer of a document the district holds, naming a head it lacks (so
/// it answers, consulting the peer's `have`) with a Bloom filter whose
/// parameters are `(entries, bits per entry, probes)`.
fn bloom_offer(trial: &Trial, entries: u32, bits: u32, probes: u32) -> Frame {
    trial.offer_seeded(
        SyncMessage {
            heads: vec![unknown_hash(1)],
            have: vec![Have {
                last_sync: vec![],
                bloom: bloom(entries, bits, probes),
            }],
            ..SyncMessage::default()
        }
        .encode(),
    )
}

/// Issue 7, attack 1: a Bloom filter claiming 2³²−1 probes. Probing one
/// change allocates `num_probes` u32s: 16 GiB, and the daemon aborts.
#[test]
fn bloom_filter_claiming_four_billion_probes() {
    run(async {
        let trial = Trial::start("bloom-probes").await;
        let mut peer = trial.attacker_after_hello().await;
        peer.send([bloom_offer(&trial, 1, 8, u32::MAX)]).await;
        let ending = Ending::RefusedOrClosed(DocumentId(trial.world.seed.dossier));
        trial.verdict(peer, ending, unchanged).await;
    })
}

/// Issue 7, attack 1 by the other road: the district offers the commune
/// its new change (an officer accepted the dossier), and the attacker's
/// reply carries the 2³²−1-probe filter into the district's sending side.
#[test]
fn bloom_filter_in_a_reply_to_the_districts_offer() {
    run(async {
        let trial = Trial::start_prepared("bloom-probes-reply", "", |world| {
            let id = lienthong::store::documents::hex(&world.seed.dossier);
            Ledger::default().record(
                &world.district,
                &id,
                None,
                story(3, 14, 0),
                Action::Accepted,
            );
        })
        .await;
        let doc = DocumentId(trial.world.seed.dossier);
        let mut peer = trial.attacker().await;
        peer.read_in_background();
        // Claims none of the district's feed: the accepted dossier is offered.
        peer.send([HostilePeer::hello(0, trial.world.seed.commune_feed)])
            .await;
        let offered = peer
            .next_frame(CLOSE_DEADLINE, |f| {
                matches!(f, Frame::Offer { doc: d, .. } if *d == doc).then_some(())
            })
            .await;
        assert!(
            offered.is_some(),
            "precondition: the district offers its new change"
        );
        let message = SyncMessage {
            heads: vec![unknown_hash(4)],
            have: vec![Have {
                last_sync: vec![],
                bloom: bloom(1, 8, u32::MAX),
            }],
            ..SyncMessage::default()
        };
        peer.send([Frame::Reply {
            doc,
            message: message.encode(),
        }])
        .await;
        trial
            .verdict(peer, Ending::RefusedOrClosed(doc), unchanged)
            .await;
    })
}

/// Issue 7, attack 2a: a Bloom filter with zero bits per entry: no bits at
/// all, and every probe is taken modulo zero.
#[test]
fn bloom_filter_with_zero_bits_per_entry() {
    run(async {
        let trial = Trial::start("bloom-zero-bits").await;
        let mut peer = trial.attacker_after_hello().await;
        peer.send([bloom_offer(&trial, 1, 0, 7)]).await;
        let ending = Ending::RefusedOrClosed(DocumentId(trial.world.seed.dossier));
        trial.verdict(peer, ending, unchanged).await;
    })
}

/// Issue 7, attack 2b: a change hash listed twice in `need`. The district
/// holds the change; a v1 peer (no flags) gets changes one by one, and
/// Automerge's change collector unwraps on the second copy.
#[test]
fn a_hash_listed_twice_in_need() {
    run(async {
        let trial = Trial::start("need-twice").await;
        let wanted = *trial
            .world
            .seed
            .changes
            .first()
            .expect("precondition: the seeded dossier has changes");
        let mut peer = trial.attacker_after_hello().await;
        let message = SyncMessage {
            heads: vec![unknown_hash(2)],
            need: vec![wanted.0, wanted.0],
            ..SyncMessage::default()
        };
        peer.send([trial.offer_seeded(message.encode())]).await;
        let ending = Ending::RefusedOrClosed(DocumentId(trial.world.seed.dossier));
        trial.verdict(peer, ending, unchanged).await;
    })
}

/// Issue 7, attack 3: a DEFLATE bomb. A new document arrives "whole" as a
/// compressed change chunk whose body inflates to 150 MiB of zeros;
/// Automerge inflates it all (and copies it once more) before checking
/// anything. The DEFLATE is 0.95 MiB, so the frame passes even a 1 MiB
/// frame limit: only a guard in front of Automerge stops it. On the wire,
/// after the stream's zstd, about a hundred bytes per MiB of it.
#[test]
fn a_deflate_bomb_in_a_compressed_chunk() {
    run(async {
        let trial = Trial::start("deflate-bomb").await;
        let deflated = deflate_zeros(150 << 20);
        assert!(
            deflated.len() < 1000 * 1024,
            "precondition: the bomb fits in a 1 MiB frame ({} bytes)",
            deflated.len()
        );
        let bomb = compressed_chunk(&deflated);
        let doc = DocumentId([0xb0; 16]);
        let message = SyncMessage {
            version: SYNC_V2,
            heads: vec![unknown_hash(3)],
            changes: vec![bomb],
            flags: Some(FLAG_SUPPORTS_SYNC_RESET),
            ..SyncMessage::default()
        };
        let mut peer = trial.attacker_after_hello().await;
        peer.send([Frame::Offer {
            seq: trial.world.seed.commune_feed + 1_000,
            doc,
            message: message.encode(),
        }])
        .await;
        trial
            .verdict(peer, Ending::RefusedOrClosed(doc), |t, after| {
                assert!(!t.victim.holds(&doc.0), "the bomb's document was stored");
                unchanged(t, after)
            })
            .await;
    })
}
