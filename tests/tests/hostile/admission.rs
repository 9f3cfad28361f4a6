//! Valid documents the node must still not take: admission policy (size
//! limits, quotas) in `node/src/replication`, and no poison pills.

use lienthong_sync::DocumentId;
use lienthong_sync::protocol::Frame;
use lienthong_tests::hostile::world::{COMMUNE, whole_document_message};
use lienthong_tests::hostile::{Ending, Trial, run, unchanged};

/// Issue 7, attack 4: a valid dossier in the district's scope whose
/// attachment reference claims 2⁶² bytes. Stored, it makes the node build
/// a chunk list as long as the claim — at once and at every restart.
#[test]
fn an_attachment_reference_of_two_to_the_62_bytes() {
    run(async {
        let trial = Trial::start("attachment-2^62").await;
        let (key, doc) = trial.world.dossier_with_attachment_size(1 << 62);
        let doc_id = DocumentId(key);
        let mut peer = trial.attacker_after_hello().await;
        let seq = trial.world.seed.commune_feed + 1_000;
        peer.send([
            trial.world.commune_attest(&key, &doc),
            Frame::Offer {
                seq,
                doc: doc_id,
                message: whole_document_message(&doc),
            },
            Frame::Through { seq },
        ])
        .await;
        trial
            .verdict(peer, Ending::RefusedOrClosed(doc_id), |t, after| {
                if t.victim.holds(&key) {
                    return Err("the poisoned dossier was stored".into());
                }
                unchanged(t, after)
            })
            .await;
    })
}

/// ASSUMED CONFIGURATION (the "policy" change adds it; this branch has no
/// such keys, so here the daemon refuses its node.toml and the test fails
/// at start): a per-peer daily quota of new documents, appended to the
/// victim's node.toml. Rename to the merged key names if they differ.
const QUOTA: u64 = 5;
const QUOTA_CONFIG: &str = "\n[limits]\npeer_new_documents_per_day = 5\n";

/// Issue 7, attack 6: a quota. The commune sends 12 new dossiers, each
/// valid and in scope, against a quota of 5 new documents a day: the
/// first 5 are stored, the rest refused (or the session closed), and
/// `status` says which limit was hit.
#[test]
fn new_documents_beyond_the_daily_quota() {
    run(async {
        let mut trial = Trial::start_with_config("quota", QUOTA_CONFIG).await;
        // The honest commune is the same peer: over its quota, its next
        // dossier is refused too. Answering a fresh session is checked.
        trial.honest_sync_expected = false;
        let dossiers = trial.world.valid_dossiers("quota", 12);
        let before = trial.victim.dossiers_from(COMMUNE);
        let mut peer = trial.attacker_after_hello().await;
        let base = trial.world.seed.commune_feed + 1_000;
        for (i, (key, doc)) in dossiers.iter().enumerate() {
            peer.push(&trial.world.commune_attest(key, doc));
            peer.push(&Frame::Offer {
                seq: base + i as u64,
                doc: DocumentId(*key),
                message: whole_document_message(doc),
            });
        }
        peer.push(&Frame::Through {
            seq: base + dossiers.len() as u64 - 1,
        });
        peer.flush().await;
        let over = DocumentId(dossiers[QUOTA as usize].0);
        trial
            .verdict(peer, Ending::RefusedOrClosed(over), move |t, after| {
                let stored = t.victim.dossiers_from(COMMUNE) - before;
                if stored == 0 {
                    return Err("none of the valid dossiers within the quota was stored".into());
                }
                if stored > QUOTA {
                    return Err(format!("{stored} new dossiers stored, quota {QUOTA}"));
                }
                if after.documents != t.before.documents + stored {
                    return Err("documents other than the admitted dossiers were stored".into());
                }
                Ok(())
            })
            .await;
    })
}
