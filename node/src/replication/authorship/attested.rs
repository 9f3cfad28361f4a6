//! Changes bound to their authors (issue 8): what admission requires of
//! every change a peer's message adds, before anything is stored.
//!
//! - **Signed by a known node.** Each new change carries an attestation
//!   whose Ed25519 signature verifies (checked by the sync crate), by a node
//!   in the [`Directory`]: this node, its pinned peers, and the nodes the
//!   network document (published and attested by the province) names.
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
use lienthong_shared::OfficeId;
use lienthong_shared::offices::NetworkConfig;
use lienthong_sync::protocol::attest::actor_of;
use lienthong_sync::protocol::{NewChange, PeerId};
use lienthong_sync::transport::identity::NodeId;

/// Which node may author for which office: node id → the office whose node
/// it is.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    nodes: HashMap<PeerId, OfficeId>,
    /// The province's node: the only author of configuration documents.
    root: Option<PeerId>,
    /// The network file names node ids: an author outside the directory is
    /// refused. Without any (a network file from before issue 8), authors
    /// that are neither this node nor a pinned peer cannot be judged by
    /// office; they are admitted with a valid signature under their own
    /// actor, and logged.
    complete: bool,
}

impl Directory {
    /// The directory of `network` (its offices' `node_id`s), with this node
    /// and its pinned `peers`.
    pub fn new(
        network: &NetworkConfig,
        own: (PeerId, OfficeId),
        peers: &HashMap<PeerId, OfficeId>,
    ) -> Self {
        let mut nodes = HashMap::new();
        let mut complete = false;
        for office in network.offices.iter() {
            let Some(text) = &office.node_id else {
                continue;
            };
            match text.parse::<NodeId>() {
                Ok(id) => {
                    complete = true;
                    nodes.insert(*id.as_bytes(), office.id.clone());
                }
                Err(e) => tracing::warn!(
                    office = %office.id,
                    error = %e,
                    "the network file gives office {} a node id that does not parse; its node is not in the directory",
                    office.id
                ),
            }
        }
        for (peer, office) in peers {
            nodes.entry(*peer).or_insert_with(|| office.clone());
        }
        nodes.entry(own.0).or_insert(own.1);
        let root_office = &network.offices.root().id;
        let root = network
            .offices
            .root()
            .node_id
            .as_deref()
            .and_then(|t| t.parse::<NodeId>().ok())
            .map(|id| *id.as_bytes())
            .or_else(|| {
                nodes
                    .iter()
                    .find(|(_, office)| *office == root_office)
                    .map(|(id, _)| *id)
            });
        Directory {
            nodes,
            root,
            complete,
        }
    }

    pub fn office_of(&self, node: &PeerId) -> Option<&OfficeId> {
        self.nodes.get(node)
    }

    pub fn root(&self) -> Option<&PeerId> {
        self.root.as_ref()
    }

    pub fn is_complete(&self) -> bool {
        self.complete
    }
}

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
        "change {change} is signed by node {author}, which is not in this node's directory (its pinned peers and the nodes the network file names). Nothing of this message was stored; if {author} is a new node, the province must add it to the network file"
    )]
    UnknownAuthor { change: String, author: String },
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

/// Every new change attested, by a known node, under that node's actor.
pub fn check_changes(
    directory: &Directory,
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
        let office = directory.office_of(&author).cloned();
        if office.is_none() && directory.complete {
            return Err(AuthorshipViolation::UnknownAuthor {
                change: hash8(&change.hash),
                author: short(&author),
            });
        }
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
        let by_root = match directory.root() {
            Some(root) => root == author,
            // No province node id known here (a network file from before
            // issue 8, the province not pinned): an author known to serve
            // the province, or one outside the directory (see `Directory`).
            None => office.as_ref().is_none_or(|o| o == root_office),
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
            check_changes(&directory, &[unknown]),
            Err(AuthorshipViolation::UnknownAuthor { .. })
        ));
        let by_district =
            check_changes(&directory, &[change(&district, district.actor_bytes(), 2)]).unwrap();
        let root = &net.offices.root().id;
        assert!(matches!(
            check_config(&directory, "network", &by_district, root),
            Err(AuthorshipViolation::NotProvince { .. })
        ));
        let by_province =
            check_changes(&directory, &[change(&province, province.actor_bytes(), 3)]).unwrap();
        assert_eq!(
            check_config(&directory, "network", &by_province, root),
            Ok(())
        );
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
            check_changes(&directory, &[unsigned]),
            Err(AuthorshipViolation::Unsigned { .. })
        ));
        // The district signing a change under the commune's actor.
        assert!(matches!(
            check_changes(&directory, &[change(&district, commune.actor_bytes(), 2)]),
            Err(AuthorshipViolation::ActorMismatch { .. })
        ));
        // Without names in the file, an author outside the pinned peers is
        // admitted on its signature alone, its office unknown.
        let stranger = signer(COMMUNE);
        let authors =
            check_changes(&directory, &[change(&stranger, stranger.actor_bytes(), 3)]).unwrap();
        assert_eq!(authors.values().flatten().next().unwrap().2, None);
    }
}
