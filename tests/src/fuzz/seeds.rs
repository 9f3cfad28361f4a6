//! The seeds of the checked-in corpus, made from the project itself:
//! frames and wire bytes recorded from a real session between the two
//! fixture stores, real Automerge sync messages of real dossiers, and the
//! attacks of issue 7 built on them (a Bloom filter claiming 2³²−1
//! probes, one with zero bits per entry, a hash listed twice in `need`, a
//! deflated document). `cargo run -p lienthong-tests --bin fuzzcorpus`
//! writes them into `tests/fuzz/corpus/`.

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ChangeHash, ObjType, ROOT};
use lienthong_sync::protocol::memory::RefuseList;
use lienthong_sync::protocol::{Frame, Session, SessionConfig, SyncStore};
use lienthong_sync::transport::framing::FrameEncoder;

use super::fixture::{self, PEER};
use super::session::{self, flags};
use super::steps::{self, OwnedStep, put_varint};

/// One corpus file.
#[derive(Debug, Clone)]
pub struct Seed {
    pub target: &'static str,
    pub name: String,
    pub bytes: Vec<u8>,
    /// One of the attacks (kept apart while it still crashes).
    pub attack: bool,
}

fn seed(target: &'static str, name: impl Into<String>, bytes: Vec<u8>) -> Seed {
    Seed {
        target,
        name: name.into(),
        bytes,
        attack: false,
    }
}

fn attack(target: &'static str, name: impl Into<String>, bytes: Vec<u8>) -> Seed {
    Seed {
        attack: true,
        ..seed(target, name, bytes)
    }
}

/// A recorded session: what each side received, step by step, and the
/// compressed bytes the sender put on the wire, read by read.
pub struct Recording {
    /// What the receiver-store session got (from the sender store).
    pub to_receiver: Vec<OwnedStep>,
    /// What the sender-store session got (from the receiver store).
    pub to_sender: Vec<OwnedStep>,
    /// The sender's stream, one `Vec` per flush.
    pub wire_to_receiver: Vec<Vec<u8>>,
}

/// Run a real session between [`fixture::receiver_store`] and
/// [`fixture::sender_store`] until both go quiet, recording everything.
/// With `stale_belief`, the sender believes the receiver holds more of
/// dossier 1 than it does (a receiver restored from an old backup): its
/// offer cannot complete, and Automerge's sync goes on in replies and
/// continues.
pub fn record(
    config: SessionConfig,
    receiver_admission: &mut RefuseList,
    stale_belief: bool,
) -> Recording {
    let mut r = fixture::receiver_store();
    let mut s = fixture::sender_store();
    if stale_belief {
        let d1 = &fixture::fixture().dossiers[1];
        s.commit_acknowledged(&PEER, vec![(d1.id, d1.versions[3].get_heads())], 0)
            .expect("memory store");
    }
    let mut sr = Session::new(PEER, config.clone(), &mut r).expect("memory store");
    let mut ss = Session::new(PEER, config, &mut s).expect("memory store");
    let mut rec = Recording {
        to_receiver: Vec::new(),
        to_sender: Vec::new(),
        wire_to_receiver: Vec::new(),
    };
    let mut encoder = FrameEncoder::new().expect("zstd");
    let mut admit_all = RefuseList::default();
    for _round in 0..10_000 {
        sr.flush(&mut r).expect("flush");
        ss.flush(&mut s).expect("flush");
        sr.pump(&mut r).expect("pump");
        ss.pump(&mut s).expect("pump");
        let r_to_s: Vec<Vec<u8>> = std::iter::from_fn(|| sr.poll_transmit()).collect();
        let s_to_r: Vec<Vec<u8>> = std::iter::from_fn(|| ss.poll_transmit()).collect();
        if r_to_s.is_empty() && s_to_r.is_empty() {
            return rec;
        }
        rec.to_receiver.push(OwnedStep::Flush);
        rec.to_receiver.push(OwnedStep::Pump);
        rec.to_sender.push(OwnedStep::Flush);
        rec.to_sender.push(OwnedStep::Pump);
        for frame in &s_to_r {
            encoder.push(frame).expect("encode");
            rec.to_receiver.push(OwnedStep::Frame(frame.clone()));
            sr.handle(frame, &mut r, receiver_admission)
                .expect("the recorded session runs");
        }
        encoder.flush().expect("flush");
        let wire = encoder.take();
        if !wire.is_empty() {
            rec.wire_to_receiver.push(wire);
        }
        for frame in &r_to_s {
            rec.to_sender.push(OwnedStep::Frame(frame.clone()));
            ss.handle(frame, &mut s, &mut admit_all)
                .expect("the recorded session runs");
        }
    }
    panic!("the recorded session never went quiet");
}

/// A sync message in Automerge's V1 layout, written byte by byte so a
/// hostile field (a Bloom filter's header) can be anything.
pub fn sync_message(
    heads: &[ChangeHash],
    need: &[ChangeHash],
    bloom: Option<&[u8]>,
    changes: &[&[u8]],
) -> Vec<u8> {
    let mut out = vec![0x42];
    for list in [heads, need] {
        put_varint(&mut out, list.len() as u64);
        for h in list {
            out.extend_from_slice(&h.0);
        }
    }
    match bloom {
        Some(bloom) => {
            put_varint(&mut out, 1);
            put_varint(&mut out, 0); // last_sync
            put_varint(&mut out, bloom.len() as u64);
            out.extend_from_slice(bloom);
        }
        None => put_varint(&mut out, 0),
    }
    put_varint(&mut out, changes.len() as u64);
    for c in changes {
        put_varint(&mut out, c.len() as u64);
        out.extend_from_slice(c);
    }
    out
}

/// A Bloom filter claiming 2³²−1 probes per lookup (issue 7, attack 1):
/// Automerge reserves a `Vec<u32>` of that many, 16 GiB.
pub fn bloom_huge_probes() -> Vec<u8> {
    let mut b = Vec::new();
    put_varint(&mut b, 1); // entries
    put_varint(&mut b, 10); // bits per entry
    put_varint(&mut b, u64::from(u32::MAX)); // probes
    b.extend_from_slice(&[0xff, 0xff]);
    b
}

/// A Bloom filter with zero bits per entry (attack 2): no bits, and a
/// lookup takes a remainder modulo zero.
pub fn bloom_zero_bits() -> Vec<u8> {
    vec![1, 0, 7]
}

/// A head nobody has.
const UNKNOWN: ChangeHash = ChangeHash([0x5a; 32]);

/// A document whose columns Automerge stores deflated: a long text of one
/// letter, saved with compression (attack 3 in small: peers never need
/// compressed chunks, and inflating them is unbounded).
pub fn deflated_document(letters: usize) -> Vec<u8> {
    let mut doc = Automerge::new().with_actor(ActorId::from(&[0xDE, 0xF1][..]));
    let mut tx = doc.transaction();
    tx.put(ROOT, "schema", "lienthong.dossier/1").expect("put");
    let text = tx.put_object(ROOT, "note", ObjType::Text).expect("put");
    tx.splice_text(&text, 0, 0, &"a".repeat(letters))
        .expect("splice");
    tx.commit();
    doc.save()
}

fn frames_input(flags: u8, frames: &[Frame]) -> Vec<u8> {
    let encoded: Vec<Vec<u8>> = frames.iter().map(Frame::encode).collect();
    let steps: Vec<steps::Step<'_>> = encoded.iter().map(|f| steps::Step::Frame(f)).collect();
    steps::encode(flags, &steps)
}

/// Every seed of every target.
pub fn all() -> Vec<Seed> {
    let mut seeds = Vec::new();
    let f = fixture::fixture();
    let d0 = f.dossiers[0].id;

    // Real sessions: default limits, small windows, a refusing receiver.
    let mut refuse_one = RefuseList::default();
    refuse_one.0.insert(f.dossiers[1].id);
    let recordings = [
        (
            "default",
            0u8,
            record(SessionConfig::default(), &mut RefuseList::default(), false),
        ),
        (
            "stale-belief",
            0u8,
            record(SessionConfig::default(), &mut RefuseList::default(), true),
        ),
        (
            "small-windows",
            flags::SMALL,
            record(
                session::config(flags::SMALL),
                &mut RefuseList::default(),
                false,
            ),
        ),
        (
            "refusing",
            flags::REFUSE_ONE,
            record(SessionConfig::default(), &mut refuse_one, false),
        ),
    ];
    let mut frame_kinds = std::collections::BTreeSet::new();
    for (name, input_flags, rec) in &recordings {
        seeds.push(seed(
            "session_receive",
            format!("recorded-{name}"),
            steps::encode_owned(*input_flags, &rec.to_receiver),
        ));
        seeds.push(seed(
            "session_send",
            format!("recorded-{name}"),
            steps::encode_owned(*input_flags & !flags::REFUSE_ONE, &rec.to_sender),
        ));
        if *name == "stale-belief" {
            // A peer that does not read, and one that stops mid-exchange
            // until the exchange timeout passes.
            seeds.push(seed(
                "session_receive",
                "recorded-stale-belief-slow-peer",
                steps::encode_owned(flags::SLOW_PEER | flags::SMALL, &rec.to_receiver),
            ));
            seeds.push(seed(
                "session_send",
                "recorded-stale-belief-slow-peer",
                steps::encode_owned(flags::SLOW_PEER | flags::SMALL, &rec.to_sender),
            ));
            for (target, steps_of) in [
                ("session_receive", &rec.to_receiver),
                ("session_send", &rec.to_sender),
            ] {
                let cut = steps_of.len() / 3;
                let mut stalled = steps_of[..cut].to_vec();
                stalled.push(OwnedStep::Time);
                stalled.extend_from_slice(&steps_of[cut..]);
                seeds.push(seed(
                    target,
                    "recorded-stale-belief-timeout",
                    steps::encode_owned(0, &stalled),
                ));
            }
        }
        // The wire, read by read (raw framing, a 16 MiB limit) …
        let reads: Vec<OwnedStep> = rec
            .wire_to_receiver
            .iter()
            .map(|w| OwnedStep::Frame(w.clone()))
            .collect();
        seeds.push(seed(
            "framing",
            format!("wire-{name}"),
            steps::encode_owned(14 << 1, &reads),
        ));
        // … and the frames again through an encoder (round trip).
        seeds.push(seed(
            "framing",
            format!("round-trip-{name}"),
            steps::encode_owned(
                super::framing_flags::ROUND_TRIP | (3 << 1),
                &rec.to_receiver,
            ),
        ));
        // One decode seed per kind of frame seen.
        for step in rec.to_receiver.iter().chain(&rec.to_sender) {
            if let OwnedStep::Frame(bytes) = step
                && let Ok(frame) = Frame::decode(bytes, usize::MAX)
                && frame_kinds.insert(frame.name())
            {
                seeds.push(seed(
                    "frame_decode",
                    format!("recorded-{}", frame.name()),
                    bytes.clone(),
                ));
            }
        }
    }
    for frame in [
        Frame::Error {
            code: 1,
            reason: "peer broke the protocol: Đã hủy".into(),
        },
        Frame::BlobManifest {
            hash: [3; 32],
            chunks: vec![[4; 32]; 3],
        },
        Frame::BlobMissing { hash: [5; 32] },
        Frame::BlobWant {
            hash: [6; 32],
            manifest: true,
            chunks: (0..64).collect(),
        },
    ] {
        if frame_kinds.insert(frame.name()) {
            seeds.push(seed(
                "frame_decode",
                format!("made-{}", frame.name()),
                frame.encode(),
            ));
        }
    }
    // A length claiming far more than is there.
    let mut claim = vec![2u8];
    put_varint(&mut claim, 1);
    claim.extend_from_slice(&[0; 16]);
    put_varint(&mut claim, u64::from(u32::MAX));
    seeds.push(seed("frame_decode", "offer-claiming-4GiB", claim));

    // The attacks on the stream: a frame header claiming 16 MiB
    // in a few hundred bytes of zstd, and 64 MiB of zeros.
    let mut encoder = FrameEncoder::new().expect("zstd");
    encoder.push(&vec![0u8; 16 << 20]).expect("encode");
    encoder.flush().expect("flush");
    seeds.push(seed(
        "framing",
        "sixteen-mib-of-zeros",
        steps::encode_owned(14 << 1, &[OwnedStep::Frame(encoder.take())]),
    ));

    // Attacks through sync messages, as offers (receiver) and replies (sender).
    let received: Vec<ChangeHash> = f.dossiers[0].versions[0].get_heads();
    let messages: Vec<(&str, Vec<u8>)> = vec![
        (
            "bloom-4294967295-probes",
            sync_message(&[UNKNOWN], &[], Some(&bloom_huge_probes()), &[]),
        ),
        (
            "bloom-zero-bits-per-entry",
            sync_message(&[UNKNOWN], &[], Some(&bloom_zero_bits()), &[]),
        ),
        (
            "need-listed-twice",
            sync_message(&[UNKNOWN], &[received[0], received[0]], None, &[]),
        ),
        (
            "deflated-document",
            sync_message(&[UNKNOWN], &[], None, &[&deflated_document(1 << 20)]),
        ),
    ];
    for (name, message) in &messages {
        seeds.push(attack(
            "guard",
            format!("attack-{name}"),
            [&[0u8][..], message].concat(),
        ));
        seeds.push(attack(
            "session_receive",
            format!("attack-{name}"),
            frames_input(
                flags::HELLO_FIRST,
                &[Frame::Offer {
                    seq: 1,
                    doc: d0,
                    message: message.clone(),
                }],
            ),
        ));
        seeds.push(attack(
            "session_send",
            format!("attack-{name}"),
            frames_input(
                flags::HELLO_FIRST,
                &[Frame::Reply {
                    doc: d0,
                    message: message.clone(),
                }],
            ),
        ));
    }

    seeds.push(attack(
        "guard",
        "attack-deflated-document-whole",
        [&[1u8][..], &deflated_document(1 << 20)].concat(),
    ));

    // The guard on real traffic: the sync messages of the recorded
    // sessions, and real documents as saved.
    let mut messages_seen = 0;
    for (name, _, rec) in &recordings {
        for step in rec.to_receiver.iter().chain(&rec.to_sender) {
            let OwnedStep::Frame(bytes) = step else {
                continue;
            };
            let message = match Frame::decode(bytes, usize::MAX) {
                Ok(Frame::Offer { message, .. })
                | Ok(Frame::Reply { message, .. })
                | Ok(Frame::Continue { message, .. }) => message,
                _ => continue,
            };
            if messages_seen < 12 && message.len() < 64 * 1024 {
                messages_seen += 1;
                seeds.push(seed(
                    "guard",
                    format!("message-{name}-{messages_seen}"),
                    [&[0u8][..], &message].concat(),
                ));
            }
        }
    }
    for (i, d) in f.dossiers.iter().enumerate() {
        seeds.push(seed(
            "guard",
            format!("document-dossier-{i}"),
            [&[1u8][..], &d.latest().save_nocompress()].concat(),
        ));
    }
    seeds.push(seed(
        "guard",
        "document-dossier-0-deflated",
        [&[1u8][..], &f.dossiers[0].latest().save()].concat(),
    ));
    seeds.push(seed(
        "guard",
        "document-network-config",
        [&[1u8][..], &f.config.1.save_nocompress()].concat(),
    ));

    // Admission: every base document from every peer, then random edits.
    for base in 0..6u8 {
        for peer in 0..4u8 {
            seeds.push(seed(
                "admission",
                format!("base-{base}-peer-{peer}"),
                vec![base, peer],
            ));
        }
        let mut state = 0x9e37_79b9_u32 ^ u32::from(base);
        for n in 0..3 {
            let mut bytes = vec![base, n];
            for _ in 0..48 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                bytes.push(state as u8);
            }
            seeds.push(seed("admission", format!("edits-{base}-{n}"), bytes));
        }
    }
    seeds
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::sync::{Message, MessageVersion};

    #[test]
    fn hand_written_messages_decode_as_automerge_reads_them() {
        let bloom = bloom_huge_probes();
        let bytes = sync_message(&[UNKNOWN], &[UNKNOWN], Some(&bloom), &[b"xyz"]);
        let message = Message::decode(&bytes).expect("a well-formed V1 message");
        assert_eq!(message.heads, vec![UNKNOWN]);
        assert_eq!(message.need, vec![UNKNOWN]);
        assert_eq!(message.have.len(), 1);
        assert_eq!(message.changes.len(), 1);
        assert_eq!(message.version, MessageVersion::V1);
    }
}

#[cfg(test)]
mod recording_tests {
    use super::*;

    fn kinds(steps: &[OwnedStep]) -> std::collections::BTreeSet<&'static str> {
        steps
            .iter()
            .filter_map(|s| match s {
                OwnedStep::Frame(bytes) => Frame::decode(bytes, usize::MAX).ok(),
                _ => None,
            })
            .map(|f| f.name())
            .collect()
    }

    /// The recorded session walks every path the session targets fuzz:
    /// offers, acknowledgements, a refusal, and an attachment both ways.
    #[test]
    fn recordings_cover_the_protocol() {
        let mut refuse = RefuseList::default();
        refuse.0.insert(fixture::fixture().dossiers[1].id);
        let rec = record(SessionConfig::default(), &mut refuse, false);
        let to_receiver = kinds(&rec.to_receiver);
        for kind in [
            "hello",
            "offer",
            "through",
            "ack",
            "blob-manifest",
            "blob-chunk",
        ] {
            assert!(
                to_receiver.contains(kind),
                "no {kind} to the receiver: {to_receiver:?}"
            );
        }
        let to_sender = kinds(&rec.to_sender);
        for kind in [
            "hello",
            "offer",
            "through",
            "ack",
            "refuse",
            "blob-want",
            "blob-have",
        ] {
            assert!(
                to_sender.contains(kind),
                "no {kind} to the sender: {to_sender:?}"
            );
        }
        assert!(!rec.wire_to_receiver.is_empty());
    }

    #[test]
    fn a_stale_belief_takes_replies_and_continues() {
        let rec = record(SessionConfig::default(), &mut RefuseList::default(), true);
        assert!(kinds(&rec.to_sender).contains("reply"));
        assert!(kinds(&rec.to_receiver).contains("continue"));
    }
}
