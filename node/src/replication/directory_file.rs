//! The province keeps the node directory (issue 8) in its network file:
//! adding an entry, ending one, and publishing the file as the network
//! document (attested by the province's key, as every local write).
//!
//! The file is edited with `toml_edit`, so the operator's comments and
//! layout stay; the result is parsed again before it is written, and the
//! file is replaced whole (written beside it, then renamed).

use chrono::{DateTime, Utc};
use lienthong_shared::OfficeId;
use lienthong_shared::directory::DirectoryEntry;
use lienthong_shared::offices::NetworkConfig;
use lienthong_sync::transport::identity::NodeId;
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, value};

use super::config_docs;
use crate::node::Node;

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error(
        "the node directory is kept at the province's node ({root}); this node serves {office}. Ask the province's operator to run this there"
    )]
    NotProvince { root: OfficeId, office: OfficeId },
    #[error("office {0} is not in the network file (`lienthong offices` lists them)")]
    UnknownOffice(OfficeId),
    #[error(
        "office {office} has no node of its own (it is served by {served_by}); add the node of {served_by}"
    )]
    NoNodeOfItsOwn {
        office: OfficeId,
        served_by: OfficeId,
    },
    #[error(
        "node {node} already has an entry for {office} in force from {from}; nothing was changed (`lienthong directory list` shows the entries)"
    )]
    AlreadyIn {
        node: String,
        office: OfficeId,
        from: String,
    },
    #[error(
        "node {node} has no directory entry in force at {at}; nothing was changed (`lienthong directory list` shows the entries)"
    )]
    NothingToEnd { node: String, at: String },
    #[error("the network file {path} cannot be edited: {reason}; nothing was changed")]
    Edit { path: String, reason: String },
    #[error("cannot write {0}: {1}; nothing was changed")]
    Write(String, #[source] std::io::Error),
    #[error("the network file was written but not published: {0}; run the command again")]
    Publish(#[from] config_docs::PublishError),
}

/// A time as written into the file: to the second, or finer when given
/// finer (an end must not move before a change written in its second).
fn when(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn same_node(text: &str, node: &NodeId) -> bool {
    text.parse::<NodeId>().is_ok_and(|id| id == *node)
}

/// `text` with a `[[node]]` entry for `node` serving `office` from `from`
/// (`None`: since ever).
pub fn add(
    text: &str,
    node: &NodeId,
    office: &OfficeId,
    from: Option<DateTime<Utc>>,
) -> Result<String, String> {
    let mut doc: DocumentMut = text.parse().map_err(|e| format!("{e}"))?;
    let mut table = Table::new();
    table.insert("id", value(node.to_string()));
    table.insert("office", value(office.to_string()));
    if let Some(from) = from {
        table.insert("from", value(when(from)));
    }
    let nodes = doc
        .entry("node")
        .or_insert(Item::ArrayOfTables(ArrayOfTables::new()));
    match nodes.as_array_of_tables_mut() {
        Some(array) => array.push(table),
        None => return Err("`node` is not a list of [[node]] tables".into()),
    }
    Ok(doc.to_string())
}

/// `text` with every entry of `node` in force at `at` (or starting later)
/// ended at `at`. An office's `node_id` shorthand becomes a `[[node]]`
/// entry with the same meaning and an end. Returns the new text and how
/// many entries were ended.
pub fn end(text: &str, node: &NodeId, at: DateTime<Utc>) -> Result<(String, usize), String> {
    let mut doc: DocumentMut = text.parse().map_err(|e| format!("{e}"))?;
    let mut ended = 0;
    let mut moved = Vec::new();
    if let Some(offices) = doc.get_mut("office").and_then(Item::as_array_of_tables_mut) {
        for office in offices.iter_mut() {
            let named = office
                .get("node_id")
                .and_then(Item::as_str)
                .is_some_and(|t| same_node(t, node));
            if named {
                office.remove("node_id");
                let id = office.get("id").and_then(Item::as_str).unwrap_or_default();
                moved.push(id.to_string());
            }
        }
    }
    for office in moved {
        let mut table = Table::new();
        table.insert("id", value(node.to_string()));
        table.insert("office", value(office));
        table.insert("until", value(when(at)));
        let nodes = doc
            .entry("node")
            .or_insert(Item::ArrayOfTables(ArrayOfTables::new()));
        nodes
            .as_array_of_tables_mut()
            .ok_or("`node` is not a list of [[node]] tables")?
            .push(table);
        ended += 1;
    }
    if let Some(nodes) = doc.get_mut("node").and_then(Item::as_array_of_tables_mut) {
        let count = nodes.len();
        for entry in nodes.iter_mut().take(count - ended) {
            let ours = entry
                .get("id")
                .and_then(Item::as_str)
                .is_some_and(|t| same_node(t, node));
            if !ours {
                continue;
            }
            let until = entry
                .get("until")
                .and_then(Item::as_str)
                .and_then(|t| lienthong_shared::directory::parse_time(t).ok());
            if until.is_none_or(|until| until > at) {
                entry.insert("until", value(when(at)));
                ended += 1;
            }
        }
    }
    Ok((doc.to_string(), ended))
}

/// The node's own directory work: only at the province.
fn require_province(node: &Node) -> Result<(), DirectoryError> {
    let root = &node.network.offices.root().id;
    if root != node.office() {
        return Err(DirectoryError::NotProvince {
            root: root.clone(),
            office: node.office().clone(),
        });
    }
    Ok(())
}

/// Check `text` parses as a network file, write it over the node's, and
/// publish it.
fn write_and_publish(node: &mut Node, text: &str) -> Result<NetworkConfig, DirectoryError> {
    let path = node.dir.resolve(&node.config.network);
    let network = NetworkConfig::parse(&path, text).map_err(|e| DirectoryError::Edit {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let tmp = path.with_extension("toml.directory");
    std::fs::write(&tmp, text).map_err(|e| DirectoryError::Write(tmp.display().to_string(), e))?;
    std::fs::rename(&tmp, &path)
        .map_err(|e| DirectoryError::Write(path.display().to_string(), e))?;
    node.network = network.clone();
    config_docs::publish(node)?;
    Ok(network)
}

fn read(node: &Node) -> Result<String, DirectoryError> {
    let path = node.dir.resolve(&node.config.network);
    std::fs::read_to_string(&path).map_err(|e| DirectoryError::Write(path.display().to_string(), e))
}

/// At the province: `node` serves `office` from `from` (default: since
/// ever). Written to the network file and published.
pub fn add_entry(
    node: &mut Node,
    id: &NodeId,
    office: &OfficeId,
    from: Option<DateTime<Utc>>,
) -> Result<DirectoryEntry, DirectoryError> {
    require_province(node)?;
    let Some(known) = node.network.offices.get(office) else {
        return Err(DirectoryError::UnknownOffice(office.clone()));
    };
    if !known.serves_itself() {
        return Err(DirectoryError::NoNodeOfItsOwn {
            office: office.clone(),
            served_by: known.served_by.clone(),
        });
    }
    let office = known.id.clone();
    let since = from.unwrap_or(DateTime::<Utc>::MIN_UTC);
    let existing = node.network.directory_entries().into_iter().find(|e| {
        same_node(&e.node_id, id) && e.office == office && e.until.is_none_or(|until| until > since)
    });
    if let Some(e) = existing {
        return Err(DirectoryError::AlreadyIn {
            node: id.to_string(),
            office,
            from: e.from.map_or("ever".to_string(), when),
        });
    }
    let path = node.dir.resolve(&node.config.network);
    let text = add(&read(node)?, id, &office, from).map_err(|reason| DirectoryError::Edit {
        path: path.display().to_string(),
        reason,
    })?;
    write_and_publish(node, &text)?;
    Ok(DirectoryEntry {
        node_id: id.to_string(),
        office,
        from,
        until: None,
    })
}

/// At the province: every entry of `id` in force at `at` ends then.
/// Returns how many entries ended.
pub fn end_entry(node: &mut Node, id: &NodeId, at: DateTime<Utc>) -> Result<usize, DirectoryError> {
    require_province(node)?;
    let path = node.dir.resolve(&node.config.network);
    let (text, ended) = end(&read(node)?, id, at).map_err(|reason| DirectoryError::Edit {
        path: path.display().to_string(),
        reason,
    })?;
    if ended == 0 {
        return Err(DirectoryError::NothingToEnd {
            node: id.to_string(),
            at: when(at),
        });
    }
    write_and_publish(node, &text)?;
    Ok(ended)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::path::Path;

    fn id(n: u8) -> NodeId {
        NodeId::from_bytes([n; 32])
    }

    fn parse(text: &str) -> NetworkConfig {
        NetworkConfig::parse(Path::new("network.toml"), text).unwrap()
    }

    #[test]
    fn entries_are_added_and_ended_keeping_the_file_and_the_shorthand_meaning() {
        let t = |h| Utc.with_ymd_and_hms(2026, 12, 7, h, 0, 0).unwrap();
        let shipped = lienthong_shared::builtin::QUANG_NAM_3TIER.replacen(
            "id = \"province:quang-nam\"\n",
            &format!("id = \"province:quang-nam\"\nnode_id = \"{}\"\n", id(1)),
            1,
        );
        assert_eq!(parse(&shipped).directory_entries().len(), 1, "precondition");
        let commune: OfficeId = "commune:dien-ban/dien-phuong".parse().unwrap();
        let text = add(&shipped, &id(3), &commune, None).unwrap();
        let text = add(&text, &id(4), &commune, Some(t(10))).unwrap();
        // The operator's comments stay.
        let first_comment = shipped.lines().find(|l| l.starts_with('#')).unwrap();
        assert!(text.contains(first_comment));
        let (text, ended) = end(&text, &id(3), t(10)).unwrap();
        assert_eq!(ended, 1);
        let (text, ended) = end(&text, &id(1), t(9)).unwrap();
        assert_eq!(ended, 1, "the shorthand ends too");
        let entries = parse(&text).directory_entries();
        let of = |n: u8| {
            entries
                .iter()
                .filter(|e| e.node_id.parse::<NodeId>().unwrap() == id(n))
                .collect::<Vec<_>>()
        };
        assert_eq!(of(3)[0].until, Some(t(10)));
        assert_eq!((of(4)[0].from, of(4)[0].until), (Some(t(10)), None));
        assert_eq!(
            (of(1)[0].office.as_str(), of(1)[0].from, of(1)[0].until),
            ("province:quang-nam", None, Some(t(9)))
        );
        // Ended already before: nothing more to end at a later time.
        assert_eq!(end(&text, &id(3), t(11)).unwrap().1, 0);
        // An earlier end moves it back.
        assert_eq!(end(&text, &id(3), t(8)).unwrap().1, 1);
    }
}
