//! One story — dossiers from two sibling communes up to the district and
//! the province and their results back down — over links that lose, delay,
//! duplicate and reorder datagrams, and with commune clocks hours off.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use lienthong_shared::OfficeId;
use lienthong_shared::dossier::Status;
use lienthong_shared::dossier::{Action, Channel};
use lienthong_tests::chaos::cluster::{Cluster, LinkSpec};
use lienthong_tests::chaos::desk::{Ledger, new_dossier};
use lienthong_tests::chaos::view::{Agreement, assert_agree};
use lienthong_tests::chaos::*;
use lienthong_tests::linkemu::LinkConfig;

const NODES: [&str; 4] = [PROVINCE, DIEN_BAN, DIEN_PHUONG, DIEN_MINH];

/// How far each node's clock is off (what its officers' commands record).
type Clocks = BTreeMap<&'static str, chrono::Duration>;

struct Story {
    /// Dossier codes by name: L1 (land, Điện Phương), M1 (marriage, Điện
    /// Phương), L2 (land, Điện Minh), S2 (social allowance, Điện Minh).
    codes: BTreeMap<&'static str, String>,
    ledger: Ledger,
    agreement: Agreement,
}

/// Play the story on `cluster`, waiting at each hand-over (up to `wait`)
/// for the next office to see the dossier, then check that every node
/// agrees. `backlog` more dossiers per commune, received first, make the
/// links carry more.
async fn play(cluster: &Cluster, clocks: &Clocks, wait: Duration, backlog: usize) -> Story {
    let at = |office: &str, day: u32, hour: u32, minute: u32| -> DateTime<Utc> {
        story(day, hour, minute) + clocks.get(office).copied().unwrap_or_default()
    };
    let (province, district) = (office(PROVINCE), office(DIEN_BAN));
    let (phuong, minh) = (office(DIEN_PHUONG), office(DIEN_MINH));
    let dir = |o: &OfficeId| cluster.dir(o);
    let mut ledger = Ledger::default();
    let mut codes = BTreeMap::new();

    // Day 2, the commune desks.
    for o in [&phuong, &minh] {
        for i in 0..backlog {
            let time = at(o.as_str(), 2, 7, (i % 60) as u32);
            ledger.receive(
                &dir(o),
                o,
                time,
                &new_dossier(MARRIAGE, &format!("Người nộp {i}")),
            );
        }
    }
    let mut receive = |name, o: &OfficeId, procedure, applicant, time| {
        let code = ledger
            .receive(&dir(o), o, time, &new_dossier(procedure, applicant))
            .code;
        codes.insert(name, code);
    };
    receive(
        "L1",
        &phuong,
        LAND,
        "Nguyễn Văn An",
        at(DIEN_PHUONG, 2, 8, 30),
    );
    receive(
        "M1",
        &phuong,
        MARRIAGE,
        "Lê Thị Mai",
        at(DIEN_PHUONG, 2, 8, 40),
    );
    receive("L2", &minh, LAND, "Trần Văn Bảo", at(DIEN_MINH, 2, 8, 35));
    receive(
        "S2",
        &minh,
        SOCIAL_ALLOWANCE,
        "Võ Thị Cúc",
        at(DIEN_MINH, 2, 8, 45),
    );
    ledger.forward(&dir(&phuong), &codes["L1"], at(DIEN_PHUONG, 2, 9, 0));
    ledger.forward(&dir(&minh), &codes["L2"], at(DIEN_MINH, 2, 9, 10));
    ledger.forward(&dir(&minh), &codes["S2"], at(DIEN_MINH, 2, 9, 15));

    // The district (and its labour office) takes them.
    for name in ["L1", "L2", "S2"] {
        cluster
            .wait_row(
                &district,
                &codes[name],
                "the transfer to the district",
                wait,
                |row| {
                    row.transfer_to
                        .as_deref()
                        .is_some_and(|t| t.starts_with(DIEN_BAN))
                },
            )
            .await;
        ledger.record(
            &dir(&district),
            &codes[name],
            None,
            at(DIEN_BAN, 2, 14, 0),
            Action::Accepted,
        );
    }
    ledger.forward(&dir(&district), &codes["L1"], at(DIEN_BAN, 3, 9, 0));
    ledger.forward(&dir(&district), &codes["L2"], at(DIEN_BAN, 3, 9, 5));
    let labour = office("district:dien-ban/phong-ldtbxh");
    ledger.record(
        &dir(&district),
        &codes["S2"],
        Some(&labour),
        at(DIEN_BAN, 3, 10, 0),
        Action::Approved {
            note: String::new(),
        },
    );
    ledger.issue_result(
        &dir(&district),
        &codes["S2"],
        &labour,
        at(DIEN_BAN, 3, 11, 0),
    );

    // The province: tax, then the land office, which issues the certificate.
    let (tax, land) = (office(TAX), office(LAND_OFFICE));
    for name in ["L1", "L2"] {
        cluster
            .wait_row(
                &province,
                &codes[name],
                "the transfer to tax",
                wait,
                |row| row.transfer_to.as_deref() == Some(TAX),
            )
            .await;
        let p = dir(&province);
        let code = &codes[name];
        ledger.record(
            &p,
            code,
            Some(&tax),
            at(PROVINCE, 3, 14, 0),
            Action::Accepted,
        );
        ledger.forward(&p, code, at(PROVINCE, 4, 9, 0));
        ledger.record(
            &p,
            code,
            Some(&land),
            at(PROVINCE, 4, 10, 0),
            Action::Accepted,
        );
        ledger.record(
            &p,
            code,
            Some(&land),
            at(PROVINCE, 5, 9, 0),
            Action::Approved {
                note: String::new(),
            },
        );
        ledger.issue_result(&p, code, &land, at(PROVINCE, 5, 10, 0));
    }

    // Back at the commune desks: the citizens collect their results.
    for (name, o) in [("L1", &phuong), ("L2", &minh), ("S2", &minh)] {
        cluster
            .wait_row(o, &codes[name], "the result at the desk", wait, |row| {
                row.status == Some(Status::Resolved)
            })
            .await;
        ledger.record(
            &dir(o),
            &codes[name],
            None,
            at(o.as_str(), 6, 8, 0),
            Action::Returned {
                channel: Channel::Direct,
            },
        );
    }
    cluster
        .wait_all_converged(wait)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let views = cluster.full_views();
    let agreement = assert_agree(&views);
    ledger.assert_kept(&views);
    for o in &cluster.members {
        for (name, status) in [
            ("L1", "returned"),
            ("L2", "returned"),
            ("S2", "returned"),
            // Untouched since its receipt, which took it straight into the
            // commune's processing (the commune decides marriages).
            ("M1", "processing"),
        ] {
            if let Some(full) = views[o].values().find(|f| f.code == codes[name]) {
                assert_eq!(full.status.as_deref(), Some(status), "{name} at {o}");
            }
        }
    }
    assert!(
        agreement.conflicts.is_empty(),
        "conflicts: {:?}",
        agreement.conflicts
    );
    // Each commune holds its own four or two, never its sibling's.
    assert_eq!(views[&phuong].len(), 2 + backlog);
    assert_eq!(views[&minh].len(), 2 + backlog);
    assert_eq!(views[&province].len(), 4 + 2 * backlog);
    Story {
        codes,
        ledger,
        agreement,
    }
}

fn same_both_ways(config: LinkConfig) -> impl Fn(&OfficeId) -> LinkSpec {
    move |_| (config.clone(), config.clone())
}

/// 20% of datagrams lost each way and 150 ms each way (300 ms round trip)
/// on every link of a three-tier network (province, district, two
/// communes): the whole story goes through — each office sees what it must
/// act on, results come back to the desks — and at the end every node in a
/// dossier's scope holds the same changes and derives the same state, and
/// no commune holds its sibling's dossiers.
#[test]
fn a_three_tier_network_converges_over_lossy_slow_links() {
    run(async {
        let link = LinkConfig::default()
            .with_loss(0.2)
            .with_delay(Duration::from_millis(150));
        let started = Instant::now();
        let cluster = Cluster::start(&NODES, 101, same_both_ways(link)).await;
        let story = play(&cluster, &Clocks::new(), Duration::from_secs(120), 40).await;
        let stats = cluster.link_stats();
        let lost: u64 = stats
            .values()
            .map(|s| s.up.dropped_loss + s.down.dropped_loss)
            .sum();
        let sent: u64 = stats
            .values()
            .map(|s| s.up.datagrams_in + s.down.datagrams_in)
            .sum();
        eprintln!(
            "converged in {:?}: {} dossiers, {} copies, {} acknowledged writes; {lost} of {sent} datagrams lost",
            started.elapsed(),
            story.agreement.dossiers,
            story.agreement.copies,
            story.ledger.acks.len()
        );
        assert!(
            sent > 150 && lost * 100 > sent * 10,
            "the links lost only {lost} of {sent} datagrams"
        );
        cluster.shutdown().await;
    });
}

/// Links that duplicate a fifth of the datagrams and hold back another
/// fifth so later ones overtake them (plus jitter): QUIC and the sync
/// protocol above it see each change once and in order; the story ends
/// with every node agreeing.
#[test]
fn duplicated_and_reordered_datagrams_change_nothing() {
    run(async {
        let link = LinkConfig::default()
            .with_delay(Duration::from_millis(25))
            .with_jitter(Duration::from_millis(10))
            .with_duplicate(0.2)
            .with_reorder(0.2, Duration::from_millis(30));
        let cluster = Cluster::start(&NODES, 202, same_both_ways(link)).await;
        let story = play(&cluster, &Clocks::new(), Duration::from_secs(60), 10).await;
        for (child, stats) in cluster.link_stats() {
            for (direction, s) in [("up", &stats.up), ("down", &stats.down)] {
                assert!(
                    s.duplicated > 0 && s.reordered > 0,
                    "{child} {direction}: {s}"
                );
            }
        }
        eprintln!("{} dossiers agree", story.agreement.dossiers);
        cluster.shutdown().await;
    });
}

/// One commune's clock runs 7 hours fast and its sibling's 5 hours slow:
/// the district accepts a dossier at a time *before* the moment the
/// commune's clock wrote on the forward. Log order is causal order, not
/// clock order, so nothing is refused or reported as a conflict; the times
/// the communes recorded stay as they wrote them (and the due dates derived
/// from them); sync and the fold agree on every node.
#[test]
fn communes_with_clocks_hours_off_still_agree() {
    run(async {
        let link = LinkConfig::default().with_delay(Duration::from_millis(20));
        let cluster = Cluster::start(&NODES, 303, same_both_ways(link)).await;
        let clocks: Clocks = [
            (DIEN_PHUONG, chrono::Duration::hours(7)),
            (DIEN_MINH, chrono::Duration::hours(-5)),
        ]
        .into();
        let played = play(&cluster, &clocks, Duration::from_secs(60), 0).await;
        let views = cluster.full_views();
        let l1 = views[&office(PROVINCE)]
            .values()
            .find(|f| f.code == played.codes["L1"])
            .unwrap();
        let received: serde_json::Value = serde_json::from_str(&l1.state).unwrap();
        assert_eq!(
            received["received_at"].as_str(),
            Some(
                (story(2, 8, 30) + chrono::Duration::hours(7))
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    .as_str()
            ),
            "the commune's own (fast) receipt time is what everyone holds"
        );
        // The code carries the commune's local date (the fast clock's 15:30).
        assert!(
            played.codes["L1"].contains("-260302-"),
            "{}",
            played.codes["L1"]
        );
        cluster.shutdown().await;
    });
}
