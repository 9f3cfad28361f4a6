//! The service layer's workflow defaults (one place for the CLI, the
//! console and the JSON API), against RULES.md: a commune deciding a
//! procedure itself, a plain forward on a two-tier route, a late apology,
//! the consultation answered by default.

#[path = "support/desk.rs"]
mod desk;

use std::path::Path;

use lienthong::node::{InitSources, Node};
use lienthong::officer::plan::{self, Desk};
use lienthong::officer::{self, ActionError, Intent, NewDue};
use lienthong_shared::builtin;
use lienthong_shared::dossier::fold;
use lienthong_shared::dossier::{Action, ActionKind, Status};

use desk::{applicant, at, id};

const HAI_CHAU: &str = "commune:hai-chau";
const THUE: &str = "province:da-nang/thue";
const SO_NNMT: &str = "province:da-nang/so-nong-nghiep-moi-truong";
/// Household business registration: the commune receives, the district
/// decided it; in two tiers the commune decides it.
const HOUSEHOLD_BUSINESS: &str = "1.001612";
/// Land certificate: the commune confirms, (district), tax, the department.
const LAND: &str = "1.004227";

fn two_tier_node(root: &Path, office: &str) -> Node {
    Node::init(
        &root.join(office.replace([':', '/'], "_")),
        &id(office),
        InitSources {
            network: (builtin::DA_NANG_2TIER, Path::new("network.toml")),
            catalogue: (builtin::CATALOGUE, Path::new("catalogue.toml")),
        },
    )
    .unwrap()
}

fn forward() -> Intent {
    Intent::Forward {
        to: None,
        task: None,
        days: None,
    }
}

fn receive(node: &mut Node, procedure: &str, submitted_only: bool) -> officer::Recorded {
    let new = officer::NewDossier {
        submitted_only,
        ..officer::NewDossier::at_the_desk(procedure, applicant("Phan Văn Khải"))
    };
    officer::receive(node, &id(HAI_CHAU), "Hoa", at(2, 9, 0), &new).unwrap()
}

#[test]
fn a_commune_deciding_a_procedure_itself_goes_straight_into_processing() {
    let root = tempfile::tempdir().unwrap();
    let mut node = two_tier_node(root.path(), HAI_CHAU);
    let recorded = receive(&mut node, HOUSEHOLD_BUSINESS, false);
    // Precondition: in two tiers the route is the commune alone.
    let (_, dossier) = officer::load(&mut node, &recorded.key).unwrap();
    let offices: Vec<&str> = dossier
        .facts
        .route
        .iter()
        .map(|s| s.office.as_str())
        .collect();
    assert_eq!(offices, [HAI_CHAU]);

    assert_eq!(recorded.state.status, Some(Status::Processing));
    assert_eq!(recorded.state.holder, Some(id(HAI_CHAU)));
    let kinds: Vec<ActionKind> = std::iter::once(&recorded.event)
        .chain(&recorded.follow_up)
        .map(|e| e.action.kind())
        .collect();
    assert_eq!(
        kinds,
        [
            ActionKind::Received,
            ActionKind::Forwarded,
            ActionKind::Accepted
        ]
    );
    // Its own step's allowance is the whole processing time (3 days).
    assert!(matches!(
        recorded.follow_up[0].action,
        Action::Forwarded { days: 3, .. }
    ));
    // The commune decides: no step after it, and a plain forward says so.
    let e = officer::act(
        &mut node,
        &recorded.code,
        None,
        "Hoa",
        at(2, 10, 0),
        &forward(),
    )
    .unwrap_err();
    assert!(
        matches!(&e, ActionError::NoNextStep { holder: Some(h), .. } if h.as_str() == HAI_CHAU),
        "{e}"
    );
    assert!(e.to_string().contains("--to OFFICE"), "{e}");
    // And it can decide at once.
    officer::record(
        &mut node,
        &recorded.code,
        None,
        "Bình",
        at(2, 10, 0),
        Action::Approved {
            note: String::new(),
        },
    )
    .unwrap();
}

#[test]
fn a_plain_forward_on_a_two_tier_route_does_not_skip_the_communes_step() {
    let root = tempfile::tempdir().unwrap();
    let mut node = two_tier_node(root.path(), HAI_CHAU);
    let recorded = receive(&mut node, LAND, false);
    let (_, dossier) = officer::load(&mut node, &recorded.key).unwrap();
    let offices: Vec<&str> = dossier
        .facts
        .route
        .iter()
        .map(|s| s.office.as_str())
        .collect();
    assert_eq!(
        offices,
        [HAI_CHAU, THUE, SO_NNMT],
        "the district's step falls to the commune"
    );
    // The receipt took it into the commune's own step (its task and the
    // district's days it absorbed: 10 + 8).
    assert_eq!(recorded.state.status, Some(Status::Processing));
    let Action::Forwarded { to, days, .. } = &recorded.follow_up[0].action else {
        panic!("{:?}", recorded.follow_up);
    };
    assert_eq!((to.as_str(), *days), (HAI_CHAU, 18));
    // Then a plain forward goes on to the tax office.
    let forwarded = officer::act(
        &mut node,
        &recorded.code,
        None,
        "Hoa",
        at(3, 9, 0),
        &forward(),
    )
    .unwrap();
    let Action::Forwarded { to, days, .. } = &forwarded.event.action else {
        panic!("{:?}", forwarded.event);
    };
    assert_eq!((to.as_str(), *days), (THUE, 5));
}

#[test]
fn a_submission_taken_in_at_the_desk_goes_into_processing_too() {
    let root = tempfile::tempdir().unwrap();
    let mut node = two_tier_node(root.path(), HAI_CHAU);
    let submitted = receive(&mut node, HOUSEHOLD_BUSINESS, true);
    assert_eq!(submitted.state.status, Some(Status::Submitted));
    assert!(submitted.follow_up.is_empty());
    let taken = officer::act(
        &mut node,
        &submitted.code,
        None,
        "Hoa",
        at(2, 10, 0),
        &Intent::AcceptSubmission,
    )
    .unwrap();
    assert_eq!(taken.event.action, Action::Received);
    assert_eq!(taken.follow_up.len(), 2);
    assert_eq!(taken.state.status, Some(Status::Processing));
}

#[test]
fn a_dossier_left_at_the_desk_of_its_first_step_is_forwarded_to_that_step() {
    // A dossier received before receipts went straight into processing (or
    // by an older node): status 2 at the commune that is its first step.
    let root = tempfile::tempdir().unwrap();
    let mut node = two_tier_node(root.path(), HAI_CHAU);
    let submitted = receive(&mut node, LAND, true);
    officer::record(
        &mut node,
        &submitted.code,
        None,
        "Hoa",
        at(2, 10, 0),
        Action::Received,
    )
    .unwrap();
    let (_, dossier) = officer::load(&mut node, &submitted.key).unwrap();
    let state = fold::fold(&dossier, &node.fold_context(at(2, 11, 0)));
    assert_eq!(state.status, Some(Status::Received));
    let step = plan::next_step(&dossier.facts.route, &state).unwrap();
    assert_eq!(step.office.as_str(), HAI_CHAU, "its own step first");
    let forwarded = officer::act(
        &mut node,
        &submitted.code,
        None,
        "Hoa",
        at(2, 11, 0),
        &forward(),
    )
    .unwrap();
    assert_eq!(forwarded.state.transfer.unwrap().to.as_str(), HAI_CHAU);
}

#[test]
fn a_late_apology_is_refused_and_not_offered() {
    let root = tempfile::tempdir().unwrap();
    let mut node = two_tier_node(root.path(), HAI_CHAU);
    let recorded = receive(&mut node, HOUSEHOLD_BUSINESS, false);
    let due = recorded.state.due_at.unwrap();
    // Three working days from Mon 2 March 09:00: Thu 5 March 09:00.
    assert_eq!(due, at(5, 9, 0));
    let apologize = Intent::Apologize {
        reason: "Chờ xác minh".into(),
        new_due: NewDue::ExtraWorkingDays(2),
    };
    let e = officer::act(
        &mut node,
        &recorded.code,
        None,
        "Bình",
        at(6, 9, 0),
        &apologize,
    )
    .unwrap_err();
    let ActionError::NotAllowed(refusal) = &e else {
        panic!("{e}");
    };
    assert_eq!(refusal.action, ActionKind::Apologized);
    assert!(
        !refusal.allowed.contains(&ActionKind::Apologized),
        "{:?}",
        refusal.allowed
    );
    assert!(refusal.allowed.contains(&ActionKind::Approved));
    assert!(!e.to_string().contains("`apologize`,"), "{e}");
    // Before the due time it is offered, and the default new due time is
    // counted from the current one.
    let ok = officer::act(
        &mut node,
        &recorded.code,
        None,
        "Bình",
        at(3, 9, 0),
        &apologize,
    )
    .unwrap();
    assert_eq!(ok.state.due_at, Some(at(9, 9, 0)), "Thu 5 + 2 working days");
}

#[test]
fn the_open_consultation_for_this_node_is_answered_by_default() {
    let root = tempfile::tempdir().unwrap();
    let mut node = two_tier_node(root.path(), HAI_CHAU);
    let recorded = receive(&mut node, HOUSEHOLD_BUSINESS, false);
    let answer = Intent::Answer {
        consultation: None,
        answer: "Đồng ý".into(),
    };
    let e = officer::act(
        &mut node,
        &recorded.code,
        None,
        "Bình",
        at(2, 10, 0),
        &answer,
    )
    .unwrap_err();
    assert!(matches!(e, ActionError::NoOpenConsultation { .. }), "{e}");
    // The commune consults itself (its civil-status section), twice.
    let consult = Intent::Consult {
        to: id(HAI_CHAU),
        question: "Ý kiến về địa điểm kinh doanh?".into(),
        days: 2,
    };
    let asked = officer::act(
        &mut node,
        &recorded.code,
        None,
        "Bình",
        at(2, 10, 0),
        &consult,
    )
    .unwrap();
    let Action::Consulted { deadline, .. } = asked.event.action else {
        panic!()
    };
    assert_eq!(deadline, at(4, 10, 0), "two working days");
    let answered = officer::act(
        &mut node,
        &recorded.code,
        None,
        "Bình",
        at(2, 11, 0),
        &answer,
    )
    .unwrap();
    assert_eq!(
        answered.event.action,
        Action::ConsultationAnswered {
            consultation: asked.event.id.clone(),
            answer: "Đồng ý".into()
        }
    );
    officer::act(
        &mut node,
        &recorded.code,
        None,
        "Bình",
        at(2, 13, 30),
        &consult,
    )
    .unwrap();
    officer::act(
        &mut node,
        &recorded.code,
        None,
        "Bình",
        at(2, 13, 31),
        &consult,
    )
    .unwrap();
    let e = officer::act(
        &mut node,
        &recorded.code,
        None,
        "Bình",
        at(2, 14, 0),
        &answer,
    )
    .unwrap_err();
    assert!(
        matches!(&e, ActionError::SeveralConsultations { ids, .. } if ids.len() == 2),
        "{e}"
    );
}

#[test]
fn the_return_desk_and_the_issuer_default_from_the_fold() {
    let root = tempfile::tempdir().unwrap();
    let mut node = two_tier_node(root.path(), HAI_CHAU);
    let recorded = receive(&mut node, HOUSEHOLD_BUSINESS, false);
    officer::record(
        &mut node,
        &recorded.code,
        None,
        "Bình",
        at(2, 10, 0),
        Action::Approved {
            note: String::new(),
        },
    )
    .unwrap();
    let issue = Intent::IssueResult {
        result: "Giấy chứng nhận đăng ký hộ kinh doanh".into(),
        attachment: Some("abc123".into()),
    };
    let e = officer::act(
        &mut node,
        &recorded.code,
        None,
        "Bình",
        at(2, 11, 0),
        &issue,
    )
    .unwrap_err();
    assert!(matches!(e, ActionError::UnknownAttachment { .. }), "{e}");
    let issue = Intent::IssueResult {
        result: "Giấy chứng nhận đăng ký hộ kinh doanh".into(),
        attachment: None,
    };
    let issued = officer::act(
        &mut node,
        &recorded.code,
        None,
        "Bình",
        at(2, 11, 0),
        &issue,
    )
    .unwrap();
    let result = issued.state.result.unwrap();
    assert_eq!(result.issued_by.as_str(), HAI_CHAU);
    assert_eq!(result.return_office.as_str(), HAI_CHAU);
    // The pure planner picks the return desk for `return`.
    let (_, dossier) = officer::load(&mut node, &recorded.key).unwrap();
    let state = fold::fold(&dossier, &node.fold_context(at(2, 12, 0)));
    let served = node.served_ids();
    let desk = Desk {
        tree: &node.network.offices,
        calendar: &node.calendar,
        served: &served,
        own: node.office(),
    };
    assert_eq!(
        plan::choose_office(&desk, &dossier, &state, ActionKind::Returned).as_str(),
        HAI_CHAU
    );
}
