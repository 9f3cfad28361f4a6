//! Replication glue: the node's SQLite store seen through the sync crate's
//! traits, the admission rules (scope, validity), and the configuration
//! documents that flow down from the province.

pub mod admission;
pub mod authorship;
pub mod config_docs;
pub mod directory_file;
pub mod sync_store;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use lienthong_shared::OfficeId;
use lienthong_sync::protocol::PeerId;

use crate::config::NodeConfig;

/// Which office each pinned peer serves.
pub fn peer_offices(config: &NodeConfig) -> HashMap<PeerId, OfficeId> {
    config
        .peers
        .iter()
        .map(|p| (*p.node_id.as_bytes(), p.office.clone()))
        .collect()
}

/// What a stored document is, from its `schema` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentSchema {
    Dossier,
    Config,
    Unknown,
}

pub fn schema_of(doc: &automerge::Automerge) -> DocumentSchema {
    use automerge::{ROOT, ReadDoc, ScalarValue, Value};
    match doc.get(ROOT, "schema") {
        Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
            ScalarValue::Str(s)
                if s.as_str() == lienthong_shared::dossier::schema::DOSSIER_SCHEMA =>
            {
                DocumentSchema::Dossier
            }
            ScalarValue::Str(s) if s.as_str() == config_docs::CONFIG_SCHEMA => {
                DocumentSchema::Config
            }
            _ => DocumentSchema::Unknown,
        },
        _ => DocumentSchema::Unknown,
    }
}

/// Where the replication side reads the time: the system clock, or a test's.
/// Quotas count per local day, so tests move this clock rather than wait.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    pub fn system() -> Self {
        Clock(Arc::new(Utc::now))
    }

    pub fn new(now: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        Clock(Arc::new(now))
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}
