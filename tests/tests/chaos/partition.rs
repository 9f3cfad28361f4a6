//! A district cut off for a long (story) day while everyone keeps working,
//! then the heal.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use lienthong_shared::dossier::Action;
use lienthong_shared::dossier::Status;
use lienthong_tests::chaos::cluster::Cluster;
use lienthong_tests::chaos::desk::{Ledger, new_dossier, note};
use lienthong_tests::chaos::view::{self, assert_agree};
use lienthong_tests::chaos::*;
use lienthong_tests::linkemu::LinkConfig;

const WAIT: Duration = Duration::from_secs(60);

/// Six nodes: the province, two districts, a commune under Duy Xuyên and two
/// under Điện Bàn. At 09:30 on a working day Điện Bàn's district node loses
/// every link — to the province and to both its communes — until 17:00.
/// Everyone keeps working through the day:
/// - Điện Bàn accepts dossier X that Điện Phương had forwarded, while the
///   commune, seeing no reaction, cancels that forward;
/// - Điện Bàn cancels its forward of Y to the provincial tax office, while
///   the tax office accepts Y;
/// - the communes receive new dossiers (codes assigned offline) and forward
///   them; the province and the Duy Xuyên side carry dossier Z through to
///   its return, syncing normally.
///
/// During the partition nothing crosses the cut. After the heal every
/// node converges; the two pairs of concurrent, rule-breaking events are
/// each reported as exactly one conflict (whichever the merge ordered
/// second), identically on every node; every acknowledged write — the
/// conflicting ones included — is kept; codes are unique.
#[test]
fn a_district_partitioned_for_a_day_converges_and_reports_its_conflicts() {
    run(async {
        let link = |_: &lienthong_shared::OfficeId| {
            let l = LinkConfig::default()
                .with_delay(Duration::from_millis(20))
                .with_loss(0.02);
            (l.clone(), l)
        };
        let nodes = [
            PROVINCE,
            DIEN_BAN,
            DIEN_PHUONG,
            DIEN_MINH,
            DUY_XUYEN,
            DUY_SON,
        ];
        let cluster = Cluster::start(&nodes, 404, link).await;
        let [province, dien_ban, phuong, minh, duy_xuyen, duy_son] = nodes.map(office);
        let (tax, land) = (office(TAX), office(LAND_OFFICE));
        let dir = |o: &lienthong_shared::OfficeId| cluster.dir(o);
        let mut ledger = Ledger::default();
        let receive = |ledger: &mut Ledger, o: &lienthong_shared::OfficeId, h, m, who: &str| {
            ledger
                .receive(&dir(o), o, story(3, h, m), &new_dossier(LAND, who))
                .code
        };

        // Before the partition: X and Y forwarded to Điện Bàn, Y on to tax;
        // Z from Duy Sơn to Duy Xuyên and on to tax.
        let x = receive(&mut ledger, &phuong, 8, 0, "Hồ Văn Xuân");
        let y = receive(&mut ledger, &phuong, 8, 5, "Đặng Thị Yến");
        let z = receive(&mut ledger, &duy_son, 8, 0, "Phan Văn Z");
        ledger.forward(&dir(&phuong), &x, story(3, 8, 10));
        ledger.forward(&dir(&phuong), &y, story(3, 8, 15));
        ledger.forward(&dir(&duy_son), &z, story(3, 8, 10));
        for (o, code) in [(&dien_ban, &x), (&dien_ban, &y), (&duy_xuyen, &z)] {
            cluster
                .wait_row(o, code, "the transfer", WAIT, |r| {
                    r.transfer_to.as_deref() == Some(o.as_str())
                })
                .await;
        }
        ledger.record(&dir(&dien_ban), &y, None, story(3, 8, 30), Action::Accepted);
        ledger.forward(&dir(&dien_ban), &y, story(3, 9, 0));
        ledger.record(
            &dir(&duy_xuyen),
            &z,
            None,
            story(3, 8, 30),
            Action::Accepted,
        );
        ledger.forward(&dir(&duy_xuyen), &z, story(3, 9, 0));
        cluster
            .wait_all_converged(WAIT)
            .await
            .unwrap_or_else(|e| panic!("{e}"));

        // 09:30: Điện Bàn is cut off.
        let cut = [&dien_ban, &phuong, &minh];
        for child in cut {
            cluster.set_cut(child, true);
        }
        let partitioned = Instant::now();
        // Inside: the district accepts X, the commune cancels it.
        ledger.record(&dir(&dien_ban), &x, None, story(3, 10, 0), Action::Accepted);
        ledger.record(
            &dir(&phuong),
            &x,
            None,
            story(3, 10, 5),
            Action::ForwardCancelled {
                reason: "Chuyển nhầm, bổ sung hồ sơ".into(),
            },
        );
        ledger.record(
            &dir(&dien_ban),
            &x,
            None,
            story(3, 10, 30),
            note("Đang thẩm tra hồ sơ"),
        );
        // Across the cut: the district calls Y back, the tax office takes it.
        ledger.record(
            &dir(&dien_ban),
            &y,
            None,
            story(3, 11, 0),
            Action::ForwardCancelled {
                reason: "Thiếu tờ khai lệ phí".into(),
            },
        );
        ledger.record(
            &dir(&province),
            &y,
            Some(&tax),
            story(3, 11, 30),
            Action::Accepted,
        );
        // New dossiers at the desks, codes given offline.
        let v1 = receive(&mut ledger, &minh, 9, 45, "Lý Văn V");
        ledger.forward(&dir(&minh), &v1, story(3, 10, 15));
        let w1 = receive(&mut ledger, &phuong, 13, 0, "Mai Thị W");
        let w2 = receive(&mut ledger, &phuong, 13, 30, "Cao Văn W");
        ledger.forward(&dir(&phuong), &w1, story(3, 14, 0));
        // Outside: Z goes through tax and the land office and back to Duy Sơn.
        let p = dir(&province);
        ledger.record(&p, &z, Some(&tax), story(3, 10, 0), Action::Accepted);
        ledger.forward(&p, &z, story(3, 11, 0));
        ledger.record(&p, &z, Some(&land), story(3, 11, 30), Action::Accepted);
        ledger.record(
            &p,
            &z,
            Some(&land),
            story(3, 14, 0),
            Action::Approved {
                note: String::new(),
            },
        );
        ledger.issue_result(&p, &z, &land, story(3, 15, 0));
        cluster
            .wait_row(&duy_son, &z, "the result", WAIT, |r| {
                r.status == Some(Status::Resolved)
            })
            .await;
        ledger.record(
            &dir(&duy_son),
            &z,
            None,
            story(3, 16, 30),
            Action::Returned {
                channel: lienthong_shared::dossier::Channel::Direct,
            },
        );
        cluster
            .wait_row(&province, &z, "the return", WAIT, |r| {
                r.status == Some(Status::Returned)
            })
            .await;

        // Nothing crossed the cut.
        let quick = |o: &lienthong_shared::OfficeId| view::quick(&dir(o)).unwrap();
        let codes_at = |o| {
            quick(o)
                .into_values()
                .map(|q| q.code)
                .collect::<BTreeSet<_>>()
        };
        for code in [&v1, &w1, &w2] {
            assert!(
                !codes_at(&province).contains(code),
                "{code} reached the province across the cut"
            );
            assert!(
                !codes_at(&dien_ban).contains(code),
                "{code} reached the district across the cut"
            );
        }
        assert!(!codes_at(&dien_ban).contains(&z));
        let y_at = |o| quick(o).into_values().find(|q| q.code == y).unwrap();
        assert_ne!(y_at(&province).heads, y_at(&dien_ban).heads);
        assert_eq!(y_at(&province).holder.as_deref(), Some(TAX));
        assert_eq!(y_at(&dien_ban).holder.as_deref(), Some(DIEN_BAN));

        // 17:00: the links come back.
        for child in cut {
            cluster.set_cut(child, false);
        }
        let healed = Instant::now();
        cluster
            .wait_all_converged(WAIT)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        eprintln!(
            "partition held {:?} of real time; converged {:?} after the heal",
            healed - partitioned,
            healed.elapsed()
        );
        let views = cluster.full_views();
        let agreement = assert_agree(&views);
        ledger.assert_kept(&views);
        let conflicted: BTreeSet<&String> = agreement.conflicts.keys().collect();
        assert_eq!(
            conflicted,
            BTreeSet::from([&x, &y]),
            "conflicts: {:?}",
            agreement.conflicts
        );
        for code in [&x, &y] {
            assert_eq!(
                agreement.conflicts[code].len(),
                1,
                "{code}: {:?}",
                agreement.conflicts[code]
            );
        }
        // Every node's index shows them too (what `lienthong list` and the
        // console read).
        for o in &cluster.members {
            for q in quick(o).values() {
                let expected = i64::from(q.code == x || q.code == y);
                assert_eq!(q.conflicts, expected, "{} at {o}", q.code);
            }
        }
        let state_of = |code: &String| {
            views[&province]
                .values()
                .find(|f| &f.code == code)
                .map(|f| {
                    (
                        f.status.clone().unwrap_or_default(),
                        f.holder.clone().unwrap_or_default(),
                    )
                })
                .unwrap()
        };
        let (x_status, x_holder) = state_of(&x);
        let (y_status, y_holder) = state_of(&y);
        eprintln!(
            "X ended {x_status} at {x_holder} ({}); Y ended {y_status} at {y_holder} ({})",
            agreement.conflicts[&x][0], agreement.conflicts[&y][0]
        );
        assert!(
            // The commune is the land route's first step: its receipt took
            // the dossier into its own processing, where a cancel leaves it.
            x_status == "processing" && (x_holder == DIEN_BAN || x_holder == DIEN_PHUONG),
            "X: either the accept or the cancel took effect"
        );
        assert!(
            y_status == "processing" && (y_holder == TAX || y_holder == DIEN_BAN),
            "Y: either the tax office's accept or the district's cancel took effect"
        );
        // The dossiers received during the partition, at every node in scope.
        for code in [&v1, &w1, &w2, &z] {
            assert!(
                views[&province].values().any(|f| &f.code == code),
                "{code} at the province"
            );
        }
        cluster.shutdown().await;
    });
}
