//! Status tells the truth: a link shows "connected" only while traffic can
//! flow. A cut (every datagram dropped both ways by the link emulator) is
//! noticed within the daemon's idle timeout on both sides; the link comes
//! back on its own when the cut heals. Prints what it measured.

use std::time::{Duration, Instant};

use lienthong::daemon::IDLE_TIMEOUT;
use lienthong::node::Node;
use lienthong_shared::OfficeId;
use lienthong_tests::chaos::cluster::Cluster;
use lienthong_tests::linkemu::LinkConfig;

const DISTRICT: &str = "district:dien-ban";
const COMMUNE: &str = "commune:dien-ban/dien-phuong";

fn office(id: &str) -> OfficeId {
    id.parse().unwrap()
}

fn connected(node: &mut Node, peer: &lienthong_sync::transport::identity::NodeId) -> bool {
    node.store
        .read(|r| r.peer(peer.as_bytes()))
        .unwrap()
        .connected
}

async fn wait(
    cluster: &Cluster,
    at: &OfficeId,
    peer: &lienthong_sync::transport::identity::NodeId,
    want: bool,
    limit: Duration,
) -> Duration {
    let start = Instant::now();
    loop {
        if connected(&mut cluster.open(at), peer) == want {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{at}: link not {} after {limit:?}",
            if want { "up" } else { "down" }
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_link_shows_disconnected_within_the_idle_timeout_on_both_sides() {
    let mut cluster = Cluster::start(&[DISTRICT, COMMUNE], 7, |_| {
        let link = LinkConfig::default().with_delay(Duration::from_millis(20));
        (link.clone(), link)
    })
    .await;
    let (district, commune) = (office(DISTRICT), office(COMMUNE));
    let district_id = cluster.open(&district).node_id();
    let commune_id = cluster.open(&commune).node_id();
    wait(
        &cluster,
        &commune,
        &district_id,
        true,
        Duration::from_secs(30),
    )
    .await;
    wait(
        &cluster,
        &district,
        &commune_id,
        true,
        Duration::from_secs(30),
    )
    .await;

    cluster.set_cut(&commune, true);
    let cut = Instant::now();
    let limit = IDLE_TIMEOUT + Duration::from_secs(3);
    wait(&cluster, &commune, &district_id, false, limit).await;
    let commune_saw = cut.elapsed();
    wait(&cluster, &district, &commune_id, false, limit).await;
    let district_saw = cut.elapsed();
    eprintln!(
        "cut noticed after {commune_saw:?} at the commune, {district_saw:?} at the district (idle timeout {IDLE_TIMEOUT:?})"
    );
    assert!(
        commune_saw >= IDLE_TIMEOUT / 2,
        "precondition: the link was up when cut ({commune_saw:?})"
    );

    cluster.set_cut(&commune, false);
    let healed = Instant::now();
    wait(
        &cluster,
        &commune,
        &district_id,
        true,
        Duration::from_secs(30),
    )
    .await;
    eprintln!("link up again {:?} after the heal", healed.elapsed());
    cluster.stop_node(&commune).await;
    cluster.stop_node(&district).await;
}
