//! Officer actions as the tests perform them (in process, on a node's data
//! directory, at a story time), and the ledger of every write a node
//! acknowledged — which must all be found on every node in scope at the end.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use lienthong::node::Node;
use lienthong::officer::plan::{self, Desk};
use lienthong::officer::{self, ActionError, Intent, NewDossier, Recorded};
use lienthong::store::documents::{DocKey, hex};
use lienthong_shared::OfficeId;
use lienthong_shared::dossier::fold;
use lienthong_shared::dossier::schema::Applicant;
use lienthong_shared::dossier::{Action, ActionKind, AppraisalOutcome, Channel, Dossier};

use super::view::FullView;

pub fn new_dossier(procedure: &str, applicant: &str) -> NewDossier {
    let applicant = Applicant {
        name: applicant.into(),
        id_number: "049084001234".into(),
        ..Applicant::default()
    };
    NewDossier::at_the_desk(procedure, applicant)
}

/// One acknowledged write: what the officer was told was stored.
#[derive(Debug, Clone)]
pub struct Ack {
    pub node: OfficeId,
    pub key: DocKey,
    pub code: String,
    pub event: String,
    pub what: String,
}

/// Every acknowledged write of a test.
#[derive(Debug, Default)]
pub struct Ledger {
    pub acks: Vec<Ack>,
}

impl Ledger {
    pub fn note(&mut self, node: &OfficeId, recorded: &Recorded) {
        self.acks.push(Ack {
            node: node.clone(),
            key: recorded.key,
            code: recorded.code.clone(),
            event: recorded.event.id.0.clone(),
            what: recorded.event.action.kind().to_string(),
        });
    }

    /// Note what an officer command printed with `--json` (`lienthong
    /// receive`, `note`, `forward`…): the dossier, its code, the event.
    pub fn note_json(&mut self, node: &OfficeId, printed: &serde_json::Value) {
        let field = |path: &[&str]| {
            path.iter()
                .try_fold(printed, |v, k| v.get(k))
                .and_then(|v| v.as_str())
                .unwrap_or_else(|| panic!("no {path:?} in {printed}"))
                .to_string()
        };
        let id = field(&["dossier"]);
        let key: Vec<u8> = (0..id.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&id[i..i + 2], 16).expect("a hex dossier id"))
            .collect();
        self.acks.push(Ack {
            node: node.clone(),
            key: DocKey::try_from(key.as_slice()).expect("a 16-byte dossier id"),
            code: field(&["code"]),
            event: field(&["event", "id"]),
            what: field(&["event", "action", "kind"]),
        });
    }

    /// Receive a dossier at `office` (served by `node`'s data directory).
    pub fn receive(
        &mut self,
        dir: &Path,
        office: &OfficeId,
        at: DateTime<Utc>,
        new: &NewDossier,
    ) -> Recorded {
        let mut node = Node::open(dir).expect("open a node");
        let recorded = officer::receive(&mut node, office, "Cán bộ một cửa", at, new)
            .unwrap_or_else(|e| panic!("receive at {office}: {e}"));
        self.note(node.office(), &recorded);
        recorded
    }

    /// Record an action that must be allowed.
    pub fn record(
        &mut self,
        dir: &Path,
        code: &str,
        acting: Option<&OfficeId>,
        at: DateTime<Utc>,
        action: Action,
    ) -> Recorded {
        self.try_record(dir, code, acting, at, action.clone())
            .unwrap_or_else(|e| panic!("{} on {code}: {e}", action.kind()))
    }

    /// Record an action; a refusal is returned (nothing was written).
    pub fn try_record(
        &mut self,
        dir: &Path,
        code: &str,
        acting: Option<&OfficeId>,
        at: DateTime<Utc>,
        action: Action,
    ) -> Result<Recorded, ActionError> {
        let mut node = Node::open(dir).expect("open a node");
        let recorded = officer::record(&mut node, code, acting, "Cán bộ xử lý", at, action)?;
        self.note(node.office(), &recorded);
        Ok(recorded)
    }

    /// Forward a dossier to the next office on its route (the service
    /// layer's default, as `lienthong forward` without `--to`).
    pub fn forward(&mut self, dir: &Path, code: &str, at: DateTime<Utc>) -> Recorded {
        self.act(
            dir,
            code,
            None,
            at,
            &Intent::Forward {
                to: None,
                task: None,
                days: None,
            },
        )
    }

    /// Issue the result as `issuer`, to the return desk the rules name.
    pub fn issue_result(
        &mut self,
        dir: &Path,
        code: &str,
        issuer: &OfficeId,
        at: DateTime<Utc>,
    ) -> Recorded {
        self.act(
            dir,
            code,
            Some(issuer),
            at,
            &Intent::IssueResult {
                result: "Kết quả giải quyết".into(),
                attachment: None,
            },
        )
    }

    /// Carry out an officer's command that must be allowed, its defaults
    /// drawn by the service layer from the dossier's state.
    pub fn act(
        &mut self,
        dir: &Path,
        code: &str,
        acting: Option<&OfficeId>,
        at: DateTime<Utc>,
        intent: &Intent,
    ) -> Recorded {
        let mut node = Node::open(dir).expect("open a node");
        let recorded = officer::act(&mut node, code, acting, "Cán bộ xử lý", at, intent)
            .unwrap_or_else(|e| panic!("{} on {code}: {e}", intent.kind()));
        self.note(node.office(), &recorded);
        recorded
    }

    /// Every acknowledged write is in its dossier on every node holding the
    /// dossier, and at least on the node that acknowledged it.
    pub fn assert_kept(&self, views: &BTreeMap<OfficeId, FullView>) {
        for ack in &self.acks {
            let holders: Vec<&OfficeId> = views
                .iter()
                .filter(|(_, v)| v.contains_key(&ack.key))
                .map(|(o, _)| o)
                .collect();
            assert!(
                holders.contains(&&ack.node),
                "{} acknowledged `{}` on {} ({}) but no longer holds the dossier",
                ack.node,
                ack.what,
                ack.code,
                hex(&ack.key)
            );
            for office in holders {
                let full = &views[office][&ack.key];
                assert!(
                    full.events.contains(&ack.event),
                    "`{}` acknowledged by {} on {} is missing at {office}",
                    ack.what,
                    ack.node,
                    ack.code
                );
                assert_eq!(full.code, ack.code, "a dossier's code changed");
            }
        }
    }
}

pub fn forward_to(to: &str, days: u32) -> Action {
    Action::Forwarded {
        to: super::office(to),
        task: "Xử lý hồ sơ".into(),
        days,
    }
}

/// The actions `node` may take on a dossier now, each with the office it
/// acts as, built as an officer would with the service layer's defaults
/// (forward to the next step, issue the result to the right desk) — from
/// one fold of the dossier.
pub fn possible_actions(
    node: &Node,
    dossier: &Dossier,
    at: DateTime<Utc>,
) -> Vec<(OfficeId, Action)> {
    let ctx = node.fold_context(at);
    let served = node.served_ids();
    let (state, allowed) = fold::fold_with_allowed(dossier, &ctx, &served);
    let desk = Desk {
        tree: &node.network.offices,
        calendar: &node.calendar,
        served: &served,
        own: node.office(),
    };
    let mut out = Vec::new();
    for (office, kinds) in allowed {
        for kind in kinds {
            let intent = match kind {
                ActionKind::Accepted => Intent::Exact(Action::Accepted),
                ActionKind::Forwarded => Intent::Forward {
                    to: None,
                    task: None,
                    days: None,
                },
                ActionKind::ForwardCancelled => Intent::Exact(Action::ForwardCancelled {
                    reason: "Chuyển nhầm".into(),
                }),
                ActionKind::Appraised => Intent::Exact(Action::Appraised {
                    outcome: AppraisalOutcome::Ok,
                    note: "Hồ sơ hợp lệ".into(),
                }),
                ActionKind::Approved => Intent::Exact(Action::Approved {
                    note: String::new(),
                }),
                ActionKind::ResultIssued => Intent::IssueResult {
                    result: "Kết quả giải quyết".into(),
                    attachment: None,
                },
                ActionKind::Returned => Intent::Exact(Action::Returned {
                    channel: Channel::Direct,
                }),
                _ => continue,
            };
            // A forward with no next step on the route has no default.
            if let Ok(action) = plan::build_action(&desk, dossier, &state, &office, at, &intent) {
                out.push((office.clone(), action));
            }
        }
    }
    out
}

pub fn note(text: &str) -> Action {
    Action::Note { text: text.into() }
}
