//! The office tree and the procedure catalogue as replicated documents.
//!
//! The province (the root of the tree) publishes its `network.toml` and
//! `catalogue.toml` into two well-known documents; every node receives them
//! from above and, when the text parses, writes it over its own copy. A
//! corrected holiday or a new procedure reaches every commune without
//! anyone touching the commune's machine.

use std::path::Path;

use automerge::transaction::Transactable;
use automerge::{Automerge, ROOT, ReadDoc, ScalarValue, Value};
use lienthong_shared::catalogue::Catalogue;
use lienthong_shared::offices::NetworkConfig;
use sha2::{Digest, Sha256};

use crate::node::Node;
use crate::store::documents::{DocKey, DocKind};
use crate::store::feed::EVERY_NODE;
use crate::store::{StoreError, Writer};

pub const CONFIG_SCHEMA: &str = "lienthong.config/1";

/// A configuration file carried by a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigFile {
    Network,
    Catalogue,
}

impl ConfigFile {
    pub const ALL: [ConfigFile; 2] = [ConfigFile::Network, ConfigFile::Catalogue];

    pub fn name(self) -> &'static str {
        match self {
            ConfigFile::Network => "network",
            ConfigFile::Catalogue => "catalogue",
        }
    }

    /// The document's well-known id.
    pub fn key(self) -> DocKey {
        let digest = Sha256::digest(format!("lienthong/config/{}", self.name()).as_bytes());
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        key
    }

    pub fn from_key(key: &DocKey) -> Option<Self> {
        Self::ALL.into_iter().find(|f| &f.key() == key)
    }

    fn path(self, node: &Node) -> std::path::PathBuf {
        match self {
            ConfigFile::Network => node.dir.resolve(&node.config.network),
            ConfigFile::Catalogue => node.dir.resolve(&node.config.catalogue),
        }
    }

    /// Does `text` parse as this kind of file?
    pub fn validate(self, text: &str) -> Result<(), String> {
        let label = Path::new(self.name());
        match self {
            ConfigFile::Network => NetworkConfig::parse(label, text).map(|_| ()),
            ConfigFile::Catalogue => Catalogue::parse(label, text).map(|_| ()),
        }
        .map_err(|e| e.to_string())
    }
}

/// The text a config document carries, if it is one.
pub fn text_of(doc: &Automerge) -> Option<String> {
    match doc.get(ROOT, "text") {
        Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
            ScalarValue::Str(s) => Some(s.to_string()),
            _ => None,
        },
        _ => None,
    }
}

/// At the root node: put the current files into their documents when they
/// changed. Returns how many were (re)published.
pub fn publish(node: &mut Node) -> Result<usize, PublishError> {
    if node.network.offices.root().id != *node.office() {
        return Ok(0);
    }
    let actor = node.actor();
    let mut published = 0;
    for file in ConfigFile::ALL {
        let path = file.path(node);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| PublishError::Read(path.display().to_string(), e))?;
        let key = file.key();
        if let Err(e) = node.store.read(|r| r.load_document(&key)) {
            // A damaged configuration document must not keep the province
            // from starting: set it aside (kept) and publish no update of it.
            node.store.quarantine_on_corruption(&key, e)?;
            tracing::warn!(
                file = file.name(),
                "the stored {} configuration document is damaged and quarantined; it is not published",
                file.name()
            );
            continue;
        }
        let changed = node.store.write(|w| -> Result<bool, PublishError> {
            let existing = w.reader().load_document(&key)?;
            let (mut doc, before) = match existing {
                Some((_, doc)) => {
                    let heads = doc.get_heads();
                    (doc, heads)
                }
                None => (Automerge::new(), Vec::new()),
            };
            if text_of(&doc).as_deref() == Some(text.as_str()) {
                return Ok(false);
            }
            doc.set_actor(actor.clone());
            let mut tx = doc.transaction();
            tx.put(ROOT, "schema", CONFIG_SCHEMA)?;
            tx.put(ROOT, "name", file.name())?;
            tx.put(ROOT, "text", text.as_str())?;
            crate::store::documents::commit_now(tx);
            w.save_document(&key, DocKind::Config, &doc, &before)?;
            w.set_scope(&key, &[EVERY_NODE.to_string()].into_iter().collect())?;
            Ok(true)
        })?;
        published += usize::from(changed);
    }
    Ok(published)
}

/// Store a config document received from a peer (scope: every node).
pub fn save_received(
    w: &Writer<'_>,
    key: &DocKey,
    doc: &Automerge,
    before: &[automerge::ChangeHash],
) -> Result<(), StoreError> {
    w.save_document(key, DocKind::Config, doc, before)?;
    w.set_scope(key, &[EVERY_NODE.to_string()].into_iter().collect())?;
    Ok(())
}

/// Write received configuration over the node's files where it differs
/// (not at the root, which authors it). Returns the files replaced.
pub fn apply_received(node: &mut Node) -> Result<Vec<ConfigFile>, PublishError> {
    if node.network.offices.root().id == *node.office() {
        return Ok(Vec::new());
    }
    let mut replaced = Vec::new();
    for file in ConfigFile::ALL {
        let key = file.key();
        let doc = match node.store.read(|r| r.load_document(&key)) {
            Ok(Some((_, doc))) => doc,
            Ok(None) => continue,
            Err(e) => {
                // Damaged: keep it aside and keep the node's own files.
                node.store.quarantine_on_corruption(&key, e)?;
                continue;
            }
        };
        let Some(text) = text_of(&doc) else {
            continue;
        };
        let path = file.path(node);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
            continue;
        }
        if file.validate(&text).is_err() {
            continue;
        }
        let tmp = path.with_extension("toml.received");
        std::fs::write(&tmp, &text)
            .map_err(|e| PublishError::Read(tmp.display().to_string(), e))?;
        std::fs::rename(&tmp, &path)
            .map_err(|e| PublishError::Read(path.display().to_string(), e))?;
        replaced.push(file);
    }
    Ok(replaced)
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("cannot read or write {0}: {1}")]
    Read(String, #[source] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("automerge: {0}")]
    Automerge(#[from] automerge::AutomergeError),
}
