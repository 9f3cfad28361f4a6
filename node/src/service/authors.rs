//! Who wrote each event of a dossier (issue 8: "nút ghi"), for every face —
//! `lienthong show`, the console's dossier page and the JSON API: the node
//! whose verified attestation the change creating the event carries, and
//! the office that node serves. The judging is
//! [`crate::replication::authorship::authors::event_authors`]'s; this only
//! gives it the stored document and the node's directory (the network
//! file's node ids, this node, its pinned peers).

use crate::i18n::Locale;
use crate::node::Node;
use crate::replication::authorship::attested::Directory;
use crate::replication::authorship::authors;
use crate::replication::authorship::messages::AuthorshipMsg;
use crate::store::StoreError;
use crate::store::documents::DocKey;

pub use crate::replication::authorship::authors::EventAuthor;

/// Hex digits of a node id shown beside its office (the whole id in JSON).
pub const SHORT_NODE_ID: usize = 12;

/// The author of each event of the dossier `key`, in log order (empty when
/// the document is not stored).
pub fn event_authors(node: &mut Node, key: &DocKey) -> Result<Vec<EventAuthor>, StoreError> {
    let directory = Directory::new(
        &node.network,
        (*node.node_id().as_bytes(), node.office().clone()),
        &crate::replication::peer_offices(&node.config),
    );
    let Some((_, doc)) = node.store.read(|r| r.load_document(key))? else {
        return Ok(Vec::new());
    };
    node.store
        .read(|r| authors::event_authors(r, key, &doc, &directory))
}

/// The first [`SHORT_NODE_ID`] characters of a node id.
pub fn short_node_id(node: &str) -> &str {
    node.get(..SHORT_NODE_ID).unwrap_or(node)
}

/// One line for a person: "Ủy ban nhân dân phường Điện Phương (1a2b3c4d5e6f…)",
/// the short id alone when the directory does not know the node, "chưa ký …"
/// for an event written before changes were signed.
pub fn describe(l: &Locale<'_>, author: Option<&EventAuthor>) -> String {
    match author {
        Some(EventAuthor::Signed { node, office }) => {
            let short = short_node_id(node);
            match office {
                Some(office) => format!("{} ({short}…)", l.office(office)),
                None => format!("{short}…"),
            }
        }
        Some(EventAuthor::Unsigned) | None => l.t(AuthorshipMsg::AuthorUnsigned).into(),
        Some(EventAuthor::Invalid) => l.t(AuthorshipMsg::AuthorInvalid).into(),
    }
}
