//! Several desks of one office receiving at once, each with its own
//! connection to the node's store (as separate officer processes would).
//!
//! A receipt builds its document for the code it expects before taking the
//! write lock, and takes the code inside it: when another desk got that code
//! first, the document is built again for the code actually taken. Whatever
//! the interleaving, every dossier carries the code it was given, codes run
//! 1, 2, 3… without a gap or a repeat, and each document matches its index.

mod support;

use chrono::{TimeZone, Utc};
use lienthong::node::Node;
use lienthong::officer::{self, NewDossier};
use lienthong_shared::OfficeId;
use lienthong_shared::dossier::schema::Applicant;
use support::*;

const DESKS: usize = 3;
const EACH: usize = 30;

fn new_dossier(desk: usize, i: usize) -> NewDossier {
    let applicant = Applicant {
        name: format!("Công dân {desk}-{i}"),
        phone: "0905 123 456".into(),
        ..Applicant::default()
    };
    NewDossier::at_the_desk("1.001193", applicant)
}

#[test]
fn desks_receiving_at_once_never_share_a_code() {
    let root = tempfile::tempdir().unwrap();
    let dir = init(root.path(), "commune", COMMUNE);
    let office: OfficeId = COMMUNE.parse().unwrap();
    // Monday 2 March 2026, 09:00 in Hanoi time.
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap();

    let codes: Vec<String> = std::thread::scope(|scope| {
        let desks: Vec<_> = (0..DESKS)
            .map(|desk| {
                let (dir, office) = (&dir, &office);
                scope.spawn(move || {
                    let mut node = Node::open(dir).unwrap();
                    (0..EACH)
                        .map(|i| {
                            officer::receive(&mut node, office, "Hoa", at, &new_dossier(desk, i))
                                .unwrap()
                                .code
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        desks
            .into_iter()
            .flat_map(|desk| desk.join().unwrap())
            .collect()
    });

    // Sound store, unique codes, documents and index rows agree.
    let stored = check_store(&dir);
    assert_eq!(stored.len(), DESKS * EACH);
    for code in &codes {
        let dossier = stored
            .get(code)
            .unwrap_or_else(|| panic!("{code} was acknowledged but no document carries it"));
        assert_eq!(dossier.code(), code);
    }
    let mut sequences: Vec<usize> = codes
        .iter()
        .map(|code| code.rsplit('-').next().unwrap().parse().unwrap())
        .collect();
    sequences.sort_unstable();
    assert_eq!(sequences, (1..=DESKS * EACH).collect::<Vec<_>>());
}

/// A desk keeps the dossiers it wrote last in memory (`store/cache.rs`); a
/// step another desk recorded meanwhile must still be seen: the kept copy
/// is used only while the store holds exactly its heads.
#[test]
fn a_desk_sees_the_step_another_desk_took_on_the_dossier_it_kept() {
    use lienthong_shared::dossier::{Action, ActionKind};
    let root = tempfile::tempdir().unwrap();
    let dir = init(root.path(), "commune", COMMUNE);
    let office: OfficeId = COMMUNE.parse().unwrap();
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap();
    let mut hoa = Node::open(&dir).unwrap();
    let mut binh = Node::open(&dir).unwrap();
    let code = officer::receive(&mut hoa, &office, "Hoa", at, &new_dossier(0, 0))
        .unwrap()
        .code;
    // The commune processes births itself: received straight into processing.
    assert_eq!(
        hoa.store.dossiers.len(),
        1,
        "the desk kept the dossier it wrote"
    );
    // Another desk, another connection: the leader approves.
    let approve = Action::Approved {
        note: String::new(),
    };
    officer::record(&mut binh, &code, None, "Bình", at, approve).unwrap();
    // Issuing the result needs that approval: planned against the kept copy
    // alone it would be refused as not approved.
    let issue = Action::ResultIssued {
        result: "Giấy khai sinh".into(),
        attachment: None,
        return_office: office.clone(),
    };
    officer::record(&mut hoa, &code, None, "Hoa", at, issue).unwrap();
    let mut fresh = Node::open(&dir).unwrap();
    let key = officer::resolve(&mut fresh, &code).unwrap().key;
    let (_, dossier) = officer::load(&mut fresh, &key).unwrap();
    let kinds: Vec<_> = dossier.valid_events().map(|e| e.action.kind()).collect();
    assert!(
        kinds.ends_with(&[ActionKind::Approved, ActionKind::ResultIssued]),
        "{kinds:?}"
    );
}

/// Officers' commands take `now` with nanoseconds, the document keeps
/// milliseconds: the copy a desk keeps after a step must read as the
/// document does (before, it kept the nanoseconds, and a debug build
/// stopped on the cache's check after every command without `--at`).
#[test]
fn a_kept_dossier_reads_as_its_document_whatever_the_clock_s_precision() {
    use lienthong_shared::dossier::Action;
    let root = tempfile::tempdir().unwrap();
    let dir = init(root.path(), "commune", COMMUNE);
    let office: OfficeId = COMMUNE.parse().unwrap();
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap()
        + chrono::Duration::nanoseconds(123_456_789);
    let mut hoa = Node::open(&dir).unwrap();
    let code = officer::receive(&mut hoa, &office, "Hoa", at, &new_dossier(0, 0))
        .unwrap()
        .code;
    let later = at + chrono::Duration::nanoseconds(1_987_654_321);
    let note = Action::Note {
        text: "ghi chú".into(),
    };
    officer::record(&mut hoa, &code, None, "Hoa", later, note).unwrap();
    let mut fresh = Node::open(&dir).unwrap();
    let key = officer::resolve(&mut fresh, &code).unwrap().key;
    let (doc, stored) = officer::load(&mut fresh, &key).unwrap();
    let kept = hoa
        .store
        .dossiers
        .take(&key, &doc.get_heads())
        .expect("the desk kept the dossier it wrote, at the stored heads");
    assert_eq!(kept.dossier, stored);
    let last = stored.valid_events().last().unwrap();
    assert_eq!(last.at.timestamp_subsec_nanos(), 111_000_000, "{}", last.at);
}
