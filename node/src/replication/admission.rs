//! What this node accepts from a peer (Principle 5 and 9): a dossier only if
//! its scope includes this node, configuration only from above, and only
//! documents that read as what they claim to be.

use std::collections::HashMap;

use automerge::Automerge;
use chrono::Utc;
use lienthong_shared::calendar::WorkingCalendar;
use lienthong_shared::dossier::fold::{self, FoldContext};
use lienthong_shared::dossier::schema;
use lienthong_shared::offices::NetworkConfig;
use lienthong_shared::{OfficeId, scope};
use lienthong_sync::DocumentId;
use lienthong_sync::protocol::{Admission, PeerId};

use super::config_docs::{self, ConfigFile};
use super::{DocumentSchema, schema_of};

pub struct NodeAdmission {
    network: NetworkConfig,
    calendar: WorkingCalendar,
    office: OfficeId,
    peers: HashMap<PeerId, OfficeId>,
}

impl NodeAdmission {
    pub fn new(
        network: NetworkConfig,
        calendar: WorkingCalendar,
        office: OfficeId,
        peers: HashMap<PeerId, OfficeId>,
    ) -> Self {
        NodeAdmission {
            network,
            calendar,
            office,
            peers,
        }
    }
}

impl Admission for NodeAdmission {
    fn admit(
        &mut self,
        peer: &PeerId,
        doc: &DocumentId,
        document: &Automerge,
        _existed: bool,
    ) -> Result<(), String> {
        match schema_of(document) {
            DocumentSchema::Dossier => {
                let dossier =
                    schema::read(document).map_err(|e| format!("not a readable dossier: {e}"))?;
                let ctx = FoldContext {
                    calendar: &self.calendar,
                    rule_sets: &self.network.rule_sets,
                    now: Utc::now(),
                };
                let state = fold::fold(&dossier, &ctx);
                let nodes = scope::nodes_in_scope(&dossier, &state, &self.network.offices);
                if nodes.contains(&self.office) {
                    Ok(())
                } else {
                    Err(format!(
                        "dossier {} (received at {}) is not in the scope of {}: a dossier goes only to its origin, the offices on its route and their ancestors",
                        dossier.facts.code, dossier.facts.origin, self.office
                    ))
                }
            }
            DocumentSchema::Config => {
                let file = ConfigFile::from_key(&doc.0).ok_or("unknown configuration document")?;
                let from_above = self.peers.get(peer).is_some_and(|office| {
                    self.network.offices.is_ancestor_of(office, &self.office)
                });
                if !from_above {
                    return Err(format!(
                        "the {} configuration flows down from the province; {} is not above this node",
                        file.name(),
                        self.peers
                            .get(peer)
                            .map_or("this peer".to_string(), |o| o.to_string())
                    ));
                }
                let text =
                    config_docs::text_of(document).ok_or("configuration document without text")?;
                file.validate(&text)
                    .map_err(|e| format!("the {} configuration does not parse: {e}", file.name()))
            }
            DocumentSchema::Unknown => Err("not a Liên Thông document (unknown schema)".into()),
        }
    }
}
