//! The node directory (danh bạ nút, issue 8): which node (by its id
//! `lt1-…`) serves which office, and from when until when.
//!
//! It lives in the network file the province publishes (and attests):
//!
//! ```toml
//! [[node]]
//! id     = "lt1-…"
//! office = "commune:dien-ban/dien-phuong"
//! from   = "2026-01-05T08:00:00+07:00"   # optional: valid since ever
//! until  = "2026-12-07T10:30:00+07:00"   # optional: still valid
//! ```
//!
//! An office's `node_id = "lt1-…"` is the shorthand for an entry valid
//! always. Several entries may name one office over time (a key rotated: the
//! old entry ended, the new one added). Times are RFC 3339 with an offset.

use std::ops::Range;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::config_error::ConfigError;
use crate::office_id::OfficeId;
use crate::offices::OfficeTree;

/// One directory entry: `node_id` serves `office` from `from` until `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectoryEntry {
    /// The node id as written (`lt1-…`); the node parses it.
    pub node_id: String,
    pub office: OfficeId,
    /// Valid from this moment on (`None`: since ever).
    pub from: Option<DateTime<Utc>>,
    /// Valid until just before this moment (`None`: not ended).
    pub until: Option<DateTime<Utc>>,
}

impl DirectoryEntry {
    /// Was the entry in force at `at`? `from` is inside, `until` outside.
    pub fn covers(&self, at: DateTime<Utc>) -> bool {
        self.from.is_none_or(|from| at >= from) && self.until.is_none_or(|until| at < until)
    }

    /// Has the entry ended by `now`?
    pub fn has_ended(&self, now: DateTime<Utc>) -> bool {
        self.until.is_some_and(|until| until <= now)
    }
}

/// A `[[node]]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNode {
    id: Spanned<String>,
    office: Spanned<OfficeId>,
    #[serde(default)]
    from: Option<Spanned<String>>,
    #[serde(default)]
    until: Option<Spanned<String>>,
}

/// Base32 characters of a node id after `lt1-` (without the dashes).
const NODE_ID_CHARS: usize = 52;

/// Does `text` look like a node id (`lt1-` and 52 base32 characters)? The
/// node parses it fully; this catches typos at the line that holds them.
pub fn looks_like_node_id(text: &str) -> bool {
    let text = text.trim();
    let Some(rest) = text
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("lt1-"))
        .map(|_| &text[4..])
    else {
        return false;
    };
    let chars: Vec<char> = rest.chars().filter(|&c| c != '-').collect();
    chars.len() == NODE_ID_CHARS
        && chars
            .iter()
            .all(|c| c.is_ascii_alphabetic() || ('2'..='7').contains(c))
}

/// Parse a directory time: RFC 3339 with an offset.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            format!(
                "`{text}` is not a time ({e}); write it as RFC 3339 with its offset, e.g. \"2026-12-07T08:00:00+07:00\""
            )
        })
}

/// The `[[node]]` entries, checked against the office tree.
pub(crate) fn parse(
    raw: &[Spanned<RawNode>],
    tree: &OfficeTree,
    at: &impl Fn(Range<usize>, String) -> ConfigError,
) -> Result<Vec<DirectoryEntry>, ConfigError> {
    let mut entries = Vec::with_capacity(raw.len());
    for node in raw {
        let node = node.get_ref();
        let id = node.id.get_ref().trim();
        if !looks_like_node_id(id) {
            return Err(at(
                node.id.span(),
                format!(
                    "`{id}` is not a node id; copy the id `lienthong id --data DIR` prints on that node (lt1- and 13 groups of 4)"
                ),
            ));
        }
        let office_id = node.office.get_ref();
        let Some(office) = tree.get(office_id) else {
            return Err(at(
                node.office.span(),
                format!(
                    "office {office_id} is not in this network file; name an office of the [[office]] list (`lienthong offices` lists them)"
                ),
            ));
        };
        if !office.serves_itself() {
            return Err(at(
                node.office.span(),
                format!(
                    "office {office_id} has no node of its own (it is served by {}); name the node of {} instead",
                    office.served_by, office.served_by
                ),
            ));
        }
        let time = |field: &Option<Spanned<String>>| -> Result<_, ConfigError> {
            field
                .as_ref()
                .map(|t| parse_time(t.get_ref()).map_err(|message| at(t.span(), message)))
                .transpose()
        };
        let from = time(&node.from)?;
        let until = time(&node.until)?;
        if let (Some(from), Some(until), Some(span)) = (from, until, node.until.as_ref())
            && until <= from
        {
            return Err(at(
                span.span(),
                format!(
                    "this entry ends ({until}) before it starts ({from}); `until` must be later than `from`"
                ),
            ));
        }
        entries.push(DirectoryEntry {
            node_id: id.to_string(),
            office: office.id.clone(),
            from,
            until,
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn entry(from: Option<i64>, until: Option<i64>) -> DirectoryEntry {
        let t = |s| Utc.timestamp_opt(s, 0).unwrap();
        DirectoryEntry {
            node_id: String::new(),
            office: "province:quang-nam".parse().unwrap(),
            from: from.map(t),
            until: until.map(t),
        }
    }

    #[test]
    fn an_entry_covers_from_its_start_to_just_before_its_end() {
        let t = |s| Utc.timestamp_opt(s, 0).unwrap();
        let always = entry(None, None);
        assert!(always.covers(t(0)) && always.covers(t(4_000_000_000)));
        assert!(!always.has_ended(t(4_000_000_000)));
        let bounded = entry(Some(100), Some(200));
        assert!(!bounded.covers(t(99)));
        assert!(bounded.covers(t(100)));
        assert!(bounded.covers(t(199)));
        assert!(!bounded.covers(t(200)), "until is outside the entry");
        assert!(!bounded.has_ended(t(199)));
        assert!(bounded.has_ended(t(200)));
        let ended = entry(None, Some(200));
        assert!(
            ended.covers(t(0)),
            "an entry without `from` covers the past"
        );
    }

    #[test]
    fn node_ids_and_times_are_checked_for_shape() {
        let id = format!("lt1-{}", ["abcd"; 13].join("-"));
        assert!(looks_like_node_id(&id));
        assert!(looks_like_node_id(&id.to_uppercase()));
        assert!(!looks_like_node_id(&id[..id.len() - 1]));
        assert!(!looks_like_node_id("lt2-abcd"));
        assert!(!looks_like_node_id(&id.replace('a', "1")));
        assert_eq!(
            parse_time("2026-12-07T08:00:00+07:00").unwrap(),
            Utc.with_ymd_and_hms(2026, 12, 7, 1, 0, 0).unwrap()
        );
        assert!(parse_time("07/12/2026").unwrap_err().contains("RFC 3339"));
    }

    fn network(extra: &str) -> Result<crate::offices::NetworkConfig, ConfigError> {
        let text = format!("{}\n{extra}", crate::builtin::QUANG_NAM_3TIER);
        crate::offices::NetworkConfig::parse(std::path::Path::new("network.toml"), &text)
    }

    fn line_of(extra: &str, needle: &str) -> usize {
        let text = format!("{}\n{extra}", crate::builtin::QUANG_NAM_3TIER);
        text.lines().position(|l| l.contains(needle)).unwrap() + 1
    }

    #[test]
    fn node_entries_parse_with_their_validity_and_join_the_shorthand() {
        let id = format!("lt1-{}", ["abcd"; 13].join("-"));
        let extra = format!(
            "[[node]]\nid = \"{id}\"\noffice = \"district:dien-ban\"\nfrom = \"2026-01-01T00:00:00+07:00\"\nuntil = \"2026-12-07T10:00:00+07:00\"\n\n[[node]]\nid = \"{id}\"\noffice = \"commune:dien-ban/dien-phuong\"\n"
        );
        let net = network(&extra).unwrap();
        assert_eq!(net.directory.len(), 2);
        let first = &net.directory[0];
        assert_eq!(first.office.as_str(), "district:dien-ban");
        assert_eq!(
            first.until,
            Some(Utc.with_ymd_and_hms(2026, 12, 7, 3, 0, 0).unwrap())
        );
        assert_eq!(net.directory[1].from, None);
        assert_eq!(
            net.directory_entries().len(),
            2,
            "the shipped file names no node_id"
        );
    }

    #[test]
    fn a_bad_entry_is_refused_at_its_line_with_what_to_do() {
        let id = format!("lt1-{}", ["abcd"; 13].join("-"));
        let cases = [
            (
                "[[node]]\nid = \"lt1-oops\"\noffice = \"district:dien-ban\"\n".to_string(),
                "lt1-oops",
                "lienthong id",
            ),
            (
                format!("[[node]]\nid = \"{id}\"\noffice = \"district:nowhere\"\n"),
                "district:nowhere",
                "lienthong offices",
            ),
            (
                format!(
                    "[[node]]\nid = \"{id}\"\noffice = \"district:dien-ban\"\nfrom = \"tomorrow\"\n"
                ),
                "tomorrow",
                "RFC 3339",
            ),
            (
                format!(
                    "[[node]]\nid = \"{id}\"\noffice = \"district:dien-ban\"\nfrom = \"2026-12-07T00:00:00Z\"\nuntil = \"2026-12-01T00:00:00Z\"\n"
                ),
                "until =",
                "later than `from`",
            ),
            (
                format!("[[node]]\nid = \"{id}\"\noffice = \"district:dien-ban\"\nsince = \"x\"\n"),
                "since",
                "since",
            ),
        ];
        for (extra, needle, advice) in cases {
            let error = network(&extra).unwrap_err();
            assert_eq!(error.line, Some(line_of(&extra, needle)), "{error}");
            assert!(error.message.contains(advice), "{error}");
        }
    }
}
