//! Recovery (issue 11): after a `kill -9` and restart of either daemon, and
//! after a cut link returns, sync flows again in both directions; a daemon
//! whose peer is unreachable stops promptly on SIGTERM. The scenario and
//! what it measures: `lienthong_tests::chaos::recovery`. The deadlines here
//! are generous (a loaded CI machine); the figures each run prints are what
//! `docs/benchmarks.md` ("Recovery", `syncbench recovery`) records.

use std::time::Duration;

use lienthong_tests::chaos::recovery::{self, DEADLINE};
use lienthong_tests::chaos::run;

/// Each daemon killed and restarted, the link cut for 20 s, 6 s and 45 s,
/// with both sides writing right before: everything written arrives on
/// the other side within the deadline, every time; a healthy idle link
/// carries keep-alives and is never taken for a silent one.
#[test]
fn sync_flows_again_after_a_kill_or_a_cut_whichever_side_sends() {
    run(async {
        let figures = recovery::measure().await.unwrap_or_else(|e| panic!("{e}"));
        eprintln!("{}", recovery::table(std::slice::from_ref(&figures), &[]));
        assert_eq!(figures.events.len(), 5, "{figures:?}");
        for (label, up, down) in &figures.events {
            assert!(
                *up < DEADLINE && *down < DEADLINE,
                "{label}: {up:?} / {down:?}"
            );
        }
        assert!(
            figures.idle_datagrams > 0,
            "no keep-alive crossed the idle link"
        );
        assert!(
            !figures.idle_probed,
            "a healthy idle link was taken for a silent one: {}",
            figures.commune_log
        );
    });
}

/// A commune whose district never answers stops within seconds of SIGTERM,
/// while it is dialling, and exits cleanly.
#[test]
fn a_daemon_with_an_unreachable_peer_stops_promptly() {
    run(async {
        let (took, status, log) = recovery::stop_time()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        eprintln!("stopped {took:?} after SIGTERM, {status}");
        assert!(status.success(), "{status}: {log}");
        assert!(log.contains("stopped"), "{log}");
        assert!(took < Duration::from_secs(10), "stopping took {took:?}");
    });
}
