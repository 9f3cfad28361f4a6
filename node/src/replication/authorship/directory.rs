//! The node directory as admission uses it (danh bạ nút, issue 8): which
//! node served which office when.
//!
//! Built from the network file the province publishes (its `[[node]]`
//! entries with `from`/`until`, and each office's `node_id` shorthand valid
//! always), with this node and its pinned peers:
//!
//! - **A network that names no node** (every network set up before issue
//!   8): the directory is this node and its pinned peers, valid always.
//! - **A network that names nodes** is the directory: a signer outside it is
//!   refused. This node is a fallback for itself, and a pinned peer the file
//!   does not name yet is vouched for by the pin here only, and only as the
//!   author of the changes it sends itself (a commune that enrolled at its
//!   district works with the district before the province adds it; every
//!   other node refuses its changes until then, saying so).
//!
//! A node whose every entry has ended is not a fallback anywhere: its pin
//! does not revive it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use lienthong_shared::OfficeId;
use lienthong_shared::offices::NetworkConfig;
use lienthong_sync::protocol::PeerId;
use lienthong_sync::transport::identity::NodeId;

/// One entry: the office a node served, from when until when.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    office: OfficeId,
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
}

impl Entry {
    fn covers(&self, at: DateTime<Utc>) -> bool {
        self.from.is_none_or(|from| at >= from) && self.until.is_none_or(|until| at < until)
    }
}

/// Where a node stood in the directory at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing<'a> {
    /// An entry covered the moment: the node served this office.
    Serves(&'a OfficeId),
    /// The directory does not know the node (and the network names none:
    /// its office cannot be judged; see the module's doc).
    Unjudged,
    /// The network names nodes and not this one.
    Unknown,
    /// Every entry of the node that started by then had ended by then.
    Ended {
        office: &'a OfficeId,
        until: DateTime<Utc>,
    },
    /// The node's entries start after the moment.
    NotYet {
        office: &'a OfficeId,
        from: DateTime<Utc>,
    },
}

/// Which node may author for which office, and when.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    entries: HashMap<PeerId, Vec<Entry>>,
    /// Pinned peers a naming network does not name: vouched for only as
    /// senders of their own changes.
    pinned: HashMap<PeerId, OfficeId>,
    root_office: Option<OfficeId>,
    /// The province's node in force (the latest entry of the root office).
    root: Option<PeerId>,
    /// The network file names node ids.
    complete: bool,
}

fn parse(text: &str, office: &OfficeId) -> Option<PeerId> {
    match text.parse::<NodeId>() {
        Ok(id) => Some(*id.as_bytes()),
        Err(e) => {
            tracing::warn!(
                %office,
                error = %e,
                "the network file gives office {office} a node id that does not parse; that entry is not in the directory"
            );
            None
        }
    }
}

impl Directory {
    /// The directory of `network`, with this node (`own`) and its pinned
    /// `peers`.
    pub fn new(
        network: &NetworkConfig,
        own: (PeerId, OfficeId),
        peers: &HashMap<PeerId, OfficeId>,
    ) -> Self {
        let mut entries: HashMap<PeerId, Vec<Entry>> = HashMap::new();
        let named = network.directory_entries();
        let complete = !named.is_empty();
        for entry in named {
            if let Some(id) = parse(&entry.node_id, &entry.office) {
                entries.entry(id).or_default().push(Entry {
                    office: entry.office,
                    from: entry.from,
                    until: entry.until,
                });
            }
        }
        let always = |office: OfficeId| {
            vec![Entry {
                office,
                from: None,
                until: None,
            }]
        };
        let mut pinned = HashMap::new();
        for (peer, office) in peers {
            if entries.contains_key(peer) {
                continue;
            }
            if complete {
                pinned.insert(*peer, office.clone());
            } else {
                entries.insert(*peer, always(office.clone()));
            }
        }
        entries.entry(own.0).or_insert_with(|| always(own.1));
        let root_office = network.offices.root().id.clone();
        let root = entries
            .iter()
            .flat_map(|(id, list)| list.iter().map(move |e| (id, e)))
            .filter(|(_, e)| e.office == root_office)
            // The entry in force now, else the one that ended last; of two
            // in force (the province's key mid-rotation: both sign
            // configuration) the one that started later, then by id, so
            // every node names the same one.
            .max_by_key(|(id, e)| (e.until.is_none(), e.until, e.from, **id))
            .map(|(id, _)| *id);
        Directory {
            entries,
            pinned,
            root_office: Some(root_office),
            root,
            complete,
        }
    }

    /// The office `node` serves (its latest entry), for display.
    pub fn office_of(&self, node: &PeerId) -> Option<&OfficeId> {
        self.entries
            .get(node)
            .and_then(|list| {
                list.iter()
                    .max_by_key(|e| (e.until.is_none(), e.until, e.from))
            })
            .map(|e| &e.office)
            .or_else(|| self.pinned.get(node))
    }

    /// Where `node` stood at `at`. `sender`: the node sending it here (a
    /// pin vouches only for the pinned node's own changes).
    pub fn standing(&self, node: &PeerId, at: DateTime<Utc>, sender: &PeerId) -> Standing<'_> {
        let Some(list) = self.entries.get(node) else {
            return match self.pinned.get(node) {
                Some(office) if node == sender => Standing::Serves(office),
                _ if self.complete => Standing::Unknown,
                _ => Standing::Unjudged,
            };
        };
        if let Some(entry) = list.iter().find(|e| e.covers(at)) {
            return Standing::Serves(&entry.office);
        }
        // Not covered: ended before `at`, or starting after it.
        let ended = list
            .iter()
            .filter_map(|e| Some((e.until?, &e.office)))
            .filter(|(until, _)| *until <= at)
            .max_by_key(|(until, _)| *until);
        match ended {
            Some((until, office)) => Standing::Ended { office, until },
            None => {
                let (from, office) = list
                    .iter()
                    .filter_map(|e| Some((e.from?, &e.office)))
                    .min_by_key(|(from, _)| *from)
                    .unwrap_or((at, &list[0].office));
                Standing::NotYet { office, from }
            }
        }
    }

    /// If every entry of `node` has ended by `now`: the office of the last
    /// one and when it ended. A node without entries has not ended.
    pub fn ended(&self, node: &PeerId, now: DateTime<Utc>) -> Option<(&OfficeId, DateTime<Utc>)> {
        let list = self.entries.get(node)?;
        let mut last: Option<(&OfficeId, DateTime<Utc>)> = None;
        for entry in list {
            let until = entry.until.filter(|u| *u <= now)?;
            if last.is_none_or(|(_, t)| until > t) {
                last = Some((&entry.office, until));
            }
        }
        last
    }

    /// The province's node in force.
    pub fn root(&self) -> Option<&PeerId> {
        self.root.as_ref()
    }

    /// The root office, when built from a network.
    pub fn root_office(&self) -> Option<&OfficeId> {
        self.root_office.as_ref()
    }

    /// Does the network file name nodes (so a signer outside is refused)?
    pub fn is_complete(&self) -> bool {
        self.complete
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn id(n: u8) -> PeerId {
        [n; 32]
    }

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, h, 0, 0).unwrap()
    }

    const PROVINCE: &str = "province:quang-nam";
    const DISTRICT: &str = "district:dien-ban";
    const COMMUNE: &str = "commune:dien-ban/dien-phuong";

    fn network(entries: &str) -> NetworkConfig {
        let text = format!("{}\n{entries}", lienthong_shared::builtin::QUANG_NAM_3TIER);
        NetworkConfig::parse(std::path::Path::new("network.toml"), &text).unwrap()
    }

    fn entry(node: u8, office: &str, from: Option<u32>, until: Option<u32>) -> String {
        let mut text = format!(
            "[[node]]\nid = \"{}\"\noffice = \"{office}\"\n",
            NodeId::from_bytes(id(node))
        );
        if let Some(h) = from {
            text.push_str(&format!("from = \"{}\"\n", t(h).to_rfc3339()));
        }
        if let Some(h) = until {
            text.push_str(&format!("until = \"{}\"\n", t(h).to_rfc3339()));
        }
        text
    }

    #[test]
    fn a_rotated_key_serves_until_its_end_and_the_new_one_from_its_start() {
        // Commune key 3 ended at 10:00, key 4 from 10:00; province 1.
        let net = network(&format!(
            "{}{}{}",
            entry(1, PROVINCE, None, None),
            entry(3, COMMUNE, None, Some(10)),
            entry(4, COMMUNE, Some(10), None)
        ));
        let own = (id(1), PROVINCE.parse().unwrap());
        let dir = Directory::new(&net, own, &HashMap::new());
        assert!(dir.is_complete());
        assert_eq!(dir.root(), Some(&id(1)));
        let commune: OfficeId = COMMUNE.parse().unwrap();
        let sender = id(2);
        assert_eq!(
            dir.standing(&id(3), t(9), &sender),
            Standing::Serves(&commune)
        );
        assert_eq!(
            dir.standing(&id(3), t(10), &sender),
            Standing::Ended {
                office: &commune,
                until: t(10)
            }
        );
        assert_eq!(
            dir.standing(&id(4), t(9), &sender),
            Standing::NotYet {
                office: &commune,
                from: t(10)
            }
        );
        assert_eq!(
            dir.standing(&id(4), t(11), &sender),
            Standing::Serves(&commune)
        );
        assert_eq!(dir.ended(&id(3), t(9)), None, "not ended yet at 9:00");
        assert_eq!(dir.ended(&id(3), t(11)), Some((&commune, t(10))));
        assert_eq!(dir.ended(&id(4), t(11)), None);
        assert_eq!(
            dir.office_of(&id(3)),
            Some(&commune),
            "shown after it ended"
        );
    }

    #[test]
    fn pins_vouch_only_where_the_network_names_no_one_or_for_the_senders_own_changes() {
        let district: OfficeId = DISTRICT.parse().unwrap();
        let commune: OfficeId = COMMUNE.parse().unwrap();
        let peers = HashMap::from([(id(5), commune.clone())]);
        let own = (id(2), district.clone());
        // No names: the pin is the directory.
        let dir = Directory::new(&network(""), own.clone(), &peers);
        assert!(!dir.is_complete());
        assert_eq!(
            dir.standing(&id(5), t(9), &id(2)),
            Standing::Serves(&commune)
        );
        assert_eq!(dir.standing(&id(9), t(9), &id(5)), Standing::Unjudged);
        // Names: the unnamed pinned commune only for what it sends itself.
        let named = network(&entry(1, PROVINCE, None, None));
        let dir = Directory::new(&named, own.clone(), &peers);
        assert_eq!(
            dir.standing(&id(5), t(9), &id(5)),
            Standing::Serves(&commune)
        );
        assert_eq!(dir.standing(&id(5), t(9), &id(7)), Standing::Unknown);
        assert_eq!(dir.standing(&id(9), t(9), &id(9)), Standing::Unknown);
        assert_eq!(
            dir.standing(&id(2), t(9), &id(5)),
            Standing::Serves(&district),
            "itself"
        );
        // An ended entry is not revived by the pin.
        let ended = network(&format!(
            "{}{}",
            entry(1, PROVINCE, None, None),
            entry(5, COMMUNE, None, Some(8))
        ));
        let dir = Directory::new(&ended, own, &peers);
        assert!(matches!(
            dir.standing(&id(5), t(9), &id(5)),
            Standing::Ended { .. }
        ));
        assert!(dir.ended(&id(5), t(9)).is_some());
    }
}
