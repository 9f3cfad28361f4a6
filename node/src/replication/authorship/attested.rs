//! Changes bound to their authors (issue 8): what admission requires of
//! every change a peer's message adds, before anything is stored.
//!
//! - **Signed by a known node, while its entry was in force.** Each new
//!   change carries an attestation whose Ed25519 signature verifies (checked
//!   by the sync crate), by a node in the [`Directory`] (`directory.rs`)
//!   whose entry covered the moment the change was written: the change's
//!   own time (inside its hash, so under the signature), and never earlier
//!   than the changes it builds on (a change cannot be written before its
//!   dependencies: a back-dated change can only extend history that existed
//!   before the date it claims).
//! - **Under its author's actor.** A node writes with the first 16 bytes of
//!   its node id as its Automerge actor; a change whose actor is not its
//!   signer's is a change written in another node's name.
//! - **Events by offices the author serves.** Every operation that writes a
//!   new event (the event object and everything in it) is by a node serving
//!   the office the event names (`served_by` in the network file).
//! - **Configuration from the province only.** Every new change of the
//!   network or catalogue document is attested by the province's node.
//!
//! Changes held from before attestations existed are not in the message's
//! new changes (the node already holds them) and stay as they are; a change
//! with no attestation is never admitted from a peer.

use std::collections::HashMap;

use automerge::iter::DocItem;
use automerge::{ActorId, Automerge, ChangeHash, ObjId, ROOT, ReadDoc, ScalarValue, Value};
use chrono::{DateTime, TimeZone, Utc};
use lienthong_shared::OfficeId;
use lienthong_shared::offices::NetworkConfig;
use lienthong_sync::protocol::attest::actor_of;
use lienthong_sync::protocol::{NewChange, PeerId};
use lienthong_sync::transport::identity::NodeId;

pub use super::directory::{Directory, Standing};

fn short(node: &PeerId) -> String {
    NodeId::from_bytes(*node).short().to_string()
}

fn hash8(hash: &ChangeHash) -> String {
    hash.0.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// How a peer's message breaks authorship.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorshipViolation {
    #[error(
        "change {change} carries no valid attestation of its author; unsigned changes are not accepted from peers. Nothing of this message was stored"
    )]
    Unsigned { change: String },
    #[error(
        "change {change} is signed by node {author}, which is not in the province's node directory. Nothing of this message was stored; if {author} is a new node (a commune enrolled at its district), the province must add it: `lienthong directory add --node {author_id} --office OFFICE` at the province's node, and the changes pass at the next session"
    )]
    UnknownAuthor {
        change: String,
        author: String,
        author_id: String,
    },
    #[error(
        "change {change} was written at {written} by node {author}, whose directory entry for {office} ended at {until}: a node whose entry ended writes nothing others accept (its changes from before stay valid). Nothing of this message was stored; if {author}'s key was replaced, its new key writes from now on (`lienthong directory list` at the province shows the entries)"
    )]
    Ended {
        change: String,
        author: String,
        office: String,
        written: String,
        until: String,
    },
    #[error(
        "change {change} was written at {written} by node {author}, whose directory entry for {office} starts only at {from}. Nothing of this message was stored; the writing node's clock may be wrong (check it), or the province dated its entry too late (`lienthong directory add --from`)"
    )]
    NotYet {
        change: String,
        author: String,
        office: String,
        written: String,
        from: String,
    },
    #[error(
        "change {change} is written under actor {actor} but signed by node {author}: a node writes only under its own actor. Nothing of this message was stored; the sending node's operator must check what wrote these changes"
    )]
    ActorMismatch {
        change: String,
        actor: String,
        author: String,
    },
    #[error(
        "an event of {office} was written by node {author}, which serves {author_office}: a node writes events only for the offices it serves. Nothing of this message was stored; the sending node's operator must check what wrote these changes"
    )]
    NotServed {
        office: String,
        author: String,
        author_office: String,
    },
    #[error(
        "the {file} configuration is changed by node {author}; configuration is accepted only from the province's node{expected}. Nothing of this message was stored"
    )]
    NotProvince {
        file: &'static str,
        author: String,
        expected: String,
    },
}

/// The new changes by actor: the counters of their operations, their
/// author's node id and, if in the directory, its office.
pub type Authors = HashMap<ActorId, Vec<(std::ops::RangeInclusive<u64>, PeerId, Option<OfficeId>)>>;

/// The author of the operation `id`, if a new change wrote it.
fn author_of<'a>(authors: &'a Authors, id: &ObjId) -> Option<(&'a PeerId, Option<&'a OfficeId>)> {
    let ObjId::Id(counter, actor, _) = id else {
        return None;
    };
    authors
        .get(actor)?
        .iter()
        .find(|(ops, _, _)| ops.contains(counter))
        .map(|(_, author, office)| (author, office.as_ref()))
}

/// When a change was written, as far as a peer can tell: its own time
/// (milliseconds, inside its hash), and no earlier than any change it
/// depends on. `None` if `document` does not hold it.
pub fn written_at(document: &Automerge, hash: &ChangeHash) -> Option<DateTime<Utc>> {
    let meta = document.get_change_meta_by_hash(hash)?;
    let mut millis = meta.timestamp;
    for dep in &meta.deps {
        if let Some(dep) = document.get_change_meta_by_hash(dep) {
            millis = millis.max(dep.timestamp);
        }
    }
    Utc.timestamp_millis_opt(millis).single()
}

fn when(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Every new change attested, by a node in the directory whose entry
/// covered the moment it was written, under that node's actor. `sender`:
/// the peer the changes came from.
pub fn check_changes(
    directory: &Directory,
    document: &Automerge,
    sender: &PeerId,
    changes: &[NewChange],
) -> Result<Authors, AuthorshipViolation> {
    let mut authors = Authors::new();
    for change in changes {
        let Some(attestation) = &change.attestation else {
            return Err(AuthorshipViolation::Unsigned {
                change: hash8(&change.hash),
            });
        };
        let author = attestation.author();
        if !actor_of(&author, change.actor.to_bytes()) {
            return Err(AuthorshipViolation::ActorMismatch {
                change: hash8(&change.hash),
                actor: change.actor.to_hex_string(),
                author: short(&author),
            });
        }
        // A change the document does not hold cannot be dated: judged as
        // written at the epoch, which only an entry without `from` covers.
        let written = written_at(document, &change.hash).unwrap_or_default();
        let office = match directory.standing(&author, written, sender) {
            Standing::Serves(office) => Some(office.clone()),
            Standing::Unjudged => None,
            Standing::Unknown => {
                return Err(AuthorshipViolation::UnknownAuthor {
                    change: hash8(&change.hash),
                    author: short(&author),
                    author_id: NodeId::from_bytes(author).to_string(),
                });
            }
            Standing::Ended { office, until } => {
                return Err(AuthorshipViolation::Ended {
                    change: hash8(&change.hash),
                    author: short(&author),
                    office: office.to_string(),
                    written: when(written),
                    until: when(until),
                });
            }
            Standing::NotYet { office, from } => {
                return Err(AuthorshipViolation::NotYet {
                    change: hash8(&change.hash),
                    author: short(&author),
                    office: office.to_string(),
                    written: when(written),
                    from: when(from),
                });
            }
        };
        authors.entry(change.actor.clone()).or_default().push((
            change.start_op..=change.max_op,
            author,
            office,
        ));
    }
    Ok(authors)
}

/// A configuration document's new changes: every one by the province.
pub fn check_config(
    directory: &Directory,
    file: &'static str,
    authors: &Authors,
    root_office: &OfficeId,
) -> Result<(), AuthorshipViolation> {
    for (_, author, office) in authors.values().flatten() {
        let by_root = match office {
            // Its entry in force when it wrote the change (a rotated
            // province key signs until its end).
            Some(office) => office == root_office,
            // Unjudged (a network file naming no node, an author not
            // pinned): only if no province node is known here either.
            None => directory.root().is_none_or(|root| root == author),
        };
        if !by_root {
            return Err(AuthorshipViolation::NotProvince {
                file,
                author: short(author),
                expected: directory
                    .root()
                    .map_or(String::new(), |r| format!(" ({})", short(r))),
            });
        }
    }
    Ok(())
}

/// The list of events of a dossier document.
fn events_list(doc: &Automerge) -> Option<ObjId> {
    match doc.get(ROOT, "events") {
        Ok(Some((Value::Object(_), id))) => Some(id),
        _ => None,
    }
}

/// Every operation of the new changes that writes an event (the event
/// object, and anything inside it) is by a node serving the office the
/// event names. Events and values written before (held here already) are
/// the history check's business.
pub fn check_events(
    network: &NetworkConfig,
    document: &Automerge,
    authors: &Authors,
) -> Result<(), AuthorshipViolation> {
    let Some(events) = events_list(document) else {
        return Ok(());
    };
    if authors.is_empty() {
        return Ok(());
    }
    for item in document.list_range(&events, ..) {
        let event = item.id();
        let office = match document.get(&event, "office") {
            Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
                ScalarValue::Str(s) => s.to_string(),
                _ => continue,
            },
            // Not a readable event: the fold keeps it aside; its writer
            // was still checked as a known node.
            _ => continue,
        };
        let Ok(office) = office.parse::<OfficeId>() else {
            continue;
        };
        let serving = network.offices.served_by(&office);
        let mut writes = vec![event.clone()];
        for inner in document.iter_at(&event, None) {
            writes.push(match inner.item {
                DocItem::Map(m) => m.id(),
                DocItem::List(l) => l.id(),
                DocItem::Text(_) => continue,
            });
        }
        for id in &writes {
            let Some((author, author_office)) = author_of(authors, id) else {
                continue;
            };
            let Some(author_office) = author_office else {
                // Outside a directory-less network's pinned peers: see `Directory`.
                continue;
            };
            if serving != Some(author_office) {
                return Err(AuthorshipViolation::NotServed {
                    office: office.to_string(),
                    author: short(author),
                    author_office: author_office.to_string(),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use lienthong_sync::DocumentId;
    use lienthong_sync::protocol::attest::Signer;
    use lienthong_sync::transport::identity::NodeIdentity;

    fn signer(office: &str) -> Signer {
        Signer::new(
            NodeIdentity::generate(office)
                .unwrap()
                .attestation_key_pair()
                .unwrap(),
        )
    }

    fn change(by: &Signer, actor: &[u8], n: u8) -> NewChange {
        let hash = ChangeHash([n; 32]);
        NewChange {
            hash,
            actor: ActorId::from(actor),
            start_op: 1,
            max_op: 1,
            attestation: Some(by.sign(&DocumentId([1; 16]), &hash.0)),
        }
    }

    /// The shipped network, with `named` offices' node ids in the file.
    fn network(named: &[(&str, &Signer)]) -> NetworkConfig {
        let mut text = String::new();
        for line in lienthong_shared::builtin::QUANG_NAM_3TIER.lines() {
            text.push_str(line);
            text.push('\n');
            for (office, signer) in named {
                if line == format!("id = \"{office}\"") {
                    let id = NodeId::from_bytes(*signer.node_id());
                    text.push_str(&format!("node_id = \"{id}\"\n"));
                }
            }
        }
        NetworkConfig::parse(std::path::Path::new("network.toml"), &text).unwrap()
    }

    const PROVINCE: &str = "province:quang-nam";
    const DISTRICT: &str = "district:dien-ban";
    const COMMUNE: &str = "commune:dien-ban/dien-phuong";

    #[test]
    fn a_named_directory_refuses_unknown_authors_and_knows_the_province() {
        let (province, district, stranger) = (signer(PROVINCE), signer(DISTRICT), signer(COMMUNE));
        let net = network(&[(PROVINCE, &province), (DISTRICT, &district)]);
        let own = (*district.node_id(), DISTRICT.parse().unwrap());
        let directory = Directory::new(&net, own, &HashMap::new());
        assert!(directory.is_complete());
        assert_eq!(directory.root(), Some(province.node_id()));
        let unknown = change(&stranger, stranger.actor_bytes(), 1);
        assert!(matches!(
            check_changes(&directory, &Automerge::new(), &[0; 32], &[unknown]),
            Err(AuthorshipViolation::UnknownAuthor { .. })
        ));
        let by_district = check_changes(
            &directory,
            &Automerge::new(),
            &[0; 32],
            &[change(&district, district.actor_bytes(), 2)],
        )
        .unwrap();
        let root = &net.offices.root().id;
        assert!(matches!(
            check_config(&directory, "network", &by_district, root),
            Err(AuthorshipViolation::NotProvince { .. })
        ));
        let by_province = check_changes(
            &directory,
            &Automerge::new(),
            &[0; 32],
            &[change(&province, province.actor_bytes(), 3)],
        )
        .unwrap();
        assert_eq!(
            check_config(&directory, "network", &by_province, root),
            Ok(())
        );
    }

    /// A change written at `at` under `by`'s actor, attested by `by`, and
    /// the document holding it (so admission can date it).
    fn dated_change(by: &Signer, at: DateTime<Utc>) -> (Automerge, NewChange) {
        let mut doc = Automerge::new();
        doc.set_actor(ActorId::from(by.actor_bytes()));
        let mut tx = doc.transaction();
        tx.put(ROOT, "text", "network").unwrap();
        tx.commit_with(
            automerge::transaction::CommitOptions::default().with_time(at.timestamp_millis()),
        );
        let meta = doc.get_changes_meta(&[]).pop().unwrap();
        let change = NewChange {
            hash: meta.hash,
            actor: meta.actor.clone().into_owned(),
            start_op: meta.start_op,
            max_op: meta.max_op,
            attestation: Some(by.sign(&DocumentId([1; 16]), &meta.hash.0)),
        };
        (doc, change)
    }

    #[test]
    fn two_province_keys_in_force_both_sign_configuration_and_after_the_end_only_the_new() {
        let t = |h| Utc.with_ymd_and_hms(2026, 12, 7, h, 0, 0).unwrap();
        let (old, new, district) = (signer(PROVINCE), signer(PROVINCE), signer(DISTRICT));
        let own = (*district.node_id(), DISTRICT.parse().unwrap());
        let entry = |s: &Signer, until: Option<u32>| {
            let mut text = format!(
                "[[node]]\nid = \"{}\"\noffice = \"{PROVINCE}\"\n",
                NodeId::from_bytes(*s.node_id())
            );
            if let Some(h) = until {
                text.push_str(&format!("until = \"{}\"\n", t(h).to_rfc3339()));
            }
            text
        };
        let with = |entries: String| {
            let text = format!("{}\n{entries}", lienthong_shared::builtin::QUANG_NAM_3TIER);
            NetworkConfig::parse(std::path::Path::new("network.toml"), &text).unwrap()
        };
        let root: OfficeId = PROVINCE.parse().unwrap();
        let judge = |net: &NetworkConfig, by: &Signer, at: DateTime<Utc>| {
            let directory = Directory::new(net, own.clone(), &HashMap::new());
            let (doc, change) = dated_change(by, at);
            let authors = check_changes(&directory, &doc, &[0; 32], &[change])?;
            check_config(&directory, "network", &authors, &root)
        };
        // Step 1 done: the directory names both keys for the root office.
        let both = with(format!("{}{}", entry(&old, None), entry(&new, None)));
        assert_eq!(
            judge(&both, &old, t(10)),
            Ok(()),
            "the old key, mid-rotation"
        );
        assert_eq!(
            judge(&both, &new, t(10)),
            Ok(()),
            "the new key, mid-rotation"
        );
        // Step 2: the old entry ended at 11:00.
        let ended = with(format!("{}{}", entry(&old, Some(11)), entry(&new, None)));
        assert_eq!(judge(&ended, &old, t(10)), Ok(()), "before its end");
        assert!(matches!(
            judge(&ended, &old, t(12)),
            Err(AuthorshipViolation::Ended { .. })
        ));
        assert_eq!(judge(&ended, &new, t(12)), Ok(()));
        let directory = Directory::new(&ended, own.clone(), &HashMap::new());
        assert_eq!(directory.root(), Some(new.node_id()));
        // Without step 1 the new key is nobody's.
        let only_old = with(entry(&old, None));
        assert!(matches!(
            judge(&only_old, &new, t(12)),
            Err(AuthorshipViolation::UnknownAuthor { .. })
        ));
    }

    #[test]
    fn unsigned_and_misattributed_changes_are_refused_in_any_directory() {
        let (district, commune) = (signer(DISTRICT), signer(COMMUNE));
        let peers = HashMap::from([(*commune.node_id(), COMMUNE.parse().unwrap())]);
        let directory = Directory::new(
            &network(&[]),
            (*district.node_id(), DISTRICT.parse().unwrap()),
            &peers,
        );
        assert!(!directory.is_complete(), "no node ids in the shipped file");
        let mut unsigned = change(&commune, commune.actor_bytes(), 1);
        unsigned.attestation = None;
        assert!(matches!(
            check_changes(&directory, &Automerge::new(), &[0; 32], &[unsigned]),
            Err(AuthorshipViolation::Unsigned { .. })
        ));
        // The district signing a change under the commune's actor.
        assert!(matches!(
            check_changes(
                &directory,
                &Automerge::new(),
                &[0; 32],
                &[change(&district, commune.actor_bytes(), 2)]
            ),
            Err(AuthorshipViolation::ActorMismatch { .. })
        ));
        // Without names in the file, an author outside the pinned peers is
        // admitted on its signature alone, its office unknown.
        let stranger = signer(COMMUNE);
        let authors = check_changes(
            &directory,
            &Automerge::new(),
            &[0; 32],
            &[change(&stranger, stranger.actor_bytes(), 3)],
        )
        .unwrap();
        assert_eq!(authors.values().flatten().next().unwrap().2, None);
    }

    #[test]
    fn a_change_is_dated_no_earlier_than_what_it_builds_on() {
        use automerge::transaction::{CommitOptions, Transactable};
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        tx.put(ROOT, "a", 1).unwrap();
        tx.commit_with(CommitOptions::default().with_time(5_000));
        let first = doc.get_heads()[0];
        // Back-dated on top of it: judged at its dependency's time.
        let mut tx = doc.transaction();
        tx.put(ROOT, "b", 2).unwrap();
        tx.commit_with(CommitOptions::default().with_time(1_000));
        let second = doc.get_heads()[0];
        let ms = |t: DateTime<Utc>| t.timestamp_millis();
        assert_eq!(written_at(&doc, &first).map(ms), Some(5_000));
        assert_eq!(written_at(&doc, &second).map(ms), Some(5_000));
        let mut tx = doc.transaction();
        tx.put(ROOT, "c", 3).unwrap();
        tx.commit_with(CommitOptions::default().with_time(9_000));
        assert_eq!(written_at(&doc, &doc.get_heads()[0]).map(ms), Some(9_000));
        assert_eq!(written_at(&doc, &ChangeHash([7; 32])), None);
    }

    #[test]
    fn a_change_counts_only_while_its_signers_entry_was_in_force() {
        use automerge::transaction::{CommitOptions, Transactable};
        let (province, commune) = (signer(PROVINCE), signer(COMMUNE));
        let end = DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut net = network(&[(PROVINCE, &province)]);
        net.directory
            .push(lienthong_shared::directory::DirectoryEntry {
                node_id: NodeId::from_bytes(*commune.node_id()).to_string(),
                office: COMMUNE.parse().unwrap(),
                from: None,
                until: Some(end),
            });
        let own = (*province.node_id(), PROVINCE.parse().unwrap());
        let directory = Directory::new(&net, own, &HashMap::new());
        let doc_id = DocumentId([1; 16]);
        let mut doc = Automerge::new().with_actor(ActorId::from(commune.actor_bytes()));
        let written = |doc: &mut Automerge, millis: i64| {
            let mut tx = doc.transaction();
            tx.put(ROOT, "n", millis).unwrap();
            tx.commit_with(CommitOptions::default().with_time(millis));
            let meta = doc.get_change_meta_by_hash(&doc.get_heads()[0]).unwrap();
            NewChange {
                hash: meta.hash,
                actor: meta.actor.into_owned(),
                start_op: meta.start_op,
                max_op: meta.max_op,
                attestation: Some(commune.sign(&doc_id, &meta.hash.0)),
            }
        };
        let before = written(&mut doc, end.timestamp_millis() - 1);
        let after = written(&mut doc, end.timestamp_millis());
        let sender = [0; 32];
        let authors =
            check_changes(&directory, &doc, &sender, std::slice::from_ref(&before)).unwrap();
        assert_eq!(
            authors.values().flatten().next().unwrap().2,
            Some(COMMUNE.parse().unwrap())
        );
        let refused = check_changes(&directory, &doc, &sender, &[before, after]).unwrap_err();
        assert!(
            matches!(refused, AuthorshipViolation::Ended { .. }),
            "{refused}"
        );
        assert!(refused.to_string().contains("stay valid"), "{refused}");
        // Back-dated on top of the late change: judged at the late one's date.
        let backdated = written(&mut doc, 1_000);
        assert!(matches!(
            check_changes(&directory, &doc, &sender, &[backdated]),
            Err(AuthorshipViolation::Ended { .. })
        ));
    }
}
