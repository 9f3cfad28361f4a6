//! Officer actions as the tests perform them (in process, on a node's data
//! directory, at a story time), and the ledger of every write a node
//! acknowledged — which must all be found on every node in scope at the end.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use lienthong::node::Node;
use lienthong::officer::{self, ActionError, NewDossier, Recorded};
use lienthong::store::documents::{DocKey, hex};
use lienthong_shared::OfficeId;
use lienthong_shared::dossier::fold::{self, DossierState};
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

    /// Forward a dossier to the next office on its route.
    pub fn forward(&mut self, dir: &Path, code: &str, at: DateTime<Utc>) -> Recorded {
        let mut node = Node::open(dir).expect("open a node");
        let key = officer::resolve(&mut node, code).expect("the dossier").key;
        let (_, dossier) = officer::load(&mut node, &key).expect("load the dossier");
        let state = fold::fold(&dossier, &node.fold_context(at));
        let action = forward_next(&dossier, &state)
            .unwrap_or_else(|| panic!("{code} has no next step after {:?}", state.holder));
        self.record(dir, code, None, at, action)
    }

    /// Issue the result as `issuer`, to the return desk the rules name.
    pub fn issue_result(
        &mut self,
        dir: &Path,
        code: &str,
        issuer: &OfficeId,
        at: DateTime<Utc>,
    ) -> Recorded {
        let mut node = Node::open(dir).expect("open a node");
        let key = officer::resolve(&mut node, code).expect("the dossier").key;
        let (_, dossier) = officer::load(&mut node, &key).expect("load the dossier");
        let return_office = officer::return_office(&node, &dossier, issuer);
        self.record(
            dir,
            code,
            Some(issuer),
            at,
            Action::ResultIssued {
                result: "Kết quả giải quyết".into(),
                attachment: None,
                return_office,
            },
        )
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

/// A forward to the next office on the dossier's route after its holder
/// (what `lienthong forward` does without `--to`).
pub fn forward_next(dossier: &Dossier, state: &DossierState) -> Option<Action> {
    let route = &dossier.facts.route;
    let holder = state.holder.as_ref()?;
    let next = match route.iter().position(|s| &s.office == holder) {
        Some(i) => route.get(i + 1),
        None => route.iter().find(|s| &s.office != holder),
    }?;
    Some(Action::Forwarded {
        to: next.office.clone(),
        task: next.task.clone(),
        days: next.days as u32,
    })
}

pub fn forward_to(to: &str, days: u32) -> Action {
    Action::Forwarded {
        to: super::office(to),
        task: "Xử lý hồ sơ".into(),
        days,
    }
}

/// The actions `node` may take on a dossier now, each with the office it
/// acts as, built as an officer would (forward to the next step, issue the
/// result to the right desk).
pub fn possible_actions(
    node: &Node,
    dossier: &Dossier,
    at: DateTime<Utc>,
) -> Vec<(OfficeId, Action)> {
    let ctx = node.fold_context(at);
    let state = fold::fold(dossier, &ctx);
    let mut out = Vec::new();
    for served in node.served_offices() {
        let office = served.id.clone();
        for kind in fold::allowed_actions(dossier, &office, &ctx) {
            let action = match kind {
                ActionKind::Accepted => Some(Action::Accepted),
                ActionKind::Forwarded => forward_next(dossier, &state),
                ActionKind::ForwardCancelled => Some(Action::ForwardCancelled {
                    reason: "Chuyển nhầm".into(),
                }),
                ActionKind::Appraised => Some(Action::Appraised {
                    outcome: AppraisalOutcome::Ok,
                    note: "Hồ sơ hợp lệ".into(),
                }),
                ActionKind::Approved => Some(Action::Approved {
                    note: String::new(),
                }),
                ActionKind::ResultIssued => Some(Action::ResultIssued {
                    result: "Kết quả giải quyết".into(),
                    attachment: None,
                    return_office: officer::return_office(node, dossier, &office),
                }),
                ActionKind::Returned => Some(Action::Returned {
                    channel: Channel::Direct,
                }),
                _ => None,
            };
            if let Some(action) = action {
                out.push((office.clone(), action));
            }
        }
    }
    out
}

pub fn note(text: &str) -> Action {
    Action::Note { text: text.into() }
}
