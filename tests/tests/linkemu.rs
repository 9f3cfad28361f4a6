//! The link emulator with real UDP sockets on 127.0.0.1.
//!
//! No sleeps as synchronisation: tests wait for datagrams (or counters) with
//! timeouts. Deterministic assertions are only made on seeded decisions and
//! counts; timings are only checked as lower bounds. Clients send in paced
//! batches (waiting until the emulator has taken in each batch) so that the
//! kernel never drops a datagram before the emulator sees it, which would
//! shift the seeded fates of the following ones.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lienthong_tests::linkemu::{
    Direction, Fate, LinkConfig, LinkEmulator, MAX_DATAGRAM, Shaper, serialisation_time,
};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};

/// Upper bound on any wait; only reached when a test fails.
const PATIENCE: Duration = Duration::from_secs(5);
const BATCH: u32 = 50;

async fn socket() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.expect("bind")
}

async fn emulator(
    up: LinkConfig,
    down: LinkConfig,
    seed: u64,
    upstream: SocketAddr,
) -> LinkEmulator {
    LinkEmulator::start("127.0.0.1:0".parse().unwrap(), upstream, up, down, seed)
        .await
        .expect("start emulator")
}

/// A datagram `size` bytes long (at least 4) starting with `id`.
fn payload(id: u32, size: usize) -> Vec<u8> {
    let mut data = vec![0xa5; size.max(4)];
    data[..4].copy_from_slice(&id.to_be_bytes());
    data
}

fn id_of(data: &[u8]) -> u32 {
    u32::from_be_bytes(data[..4].try_into().expect("payload has an id"))
}

async fn recv(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = vec![0; 65536];
    let (n, from) = timeout(PATIENCE, socket.recv_from(&mut buf))
        .await
        .expect("timed out waiting for a datagram")
        .expect("recv");
    buf.truncate(n);
    (buf, from)
}

/// Polls `condition` until it holds (a wait on a condition, not a sleep as
/// synchronisation); panics after [`PATIENCE`].
async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// What a sink server received: (id, arrival time), in arrival order.
type Log = Arc<Mutex<Vec<(u32, Instant)>>>;

/// A server that records every datagram it receives and, if `echo`, sends
/// it back to where it came from.
async fn server(echo: bool) -> (SocketAddr, Log, JoinHandle<()>) {
    let socket = socket().await;
    let addr = socket.local_addr().unwrap();
    let log: Log = Arc::default();
    let task_log = log.clone();
    let task = tokio::spawn(async move {
        let mut buf = vec![0; 65536];
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                continue;
            };
            task_log
                .lock()
                .unwrap()
                .push((id_of(&buf[..n]), Instant::now()));
            if echo {
                let _ = socket.send_to(&buf[..n], from).await;
            }
        }
    });
    (addr, log, task)
}

fn ids(log: &Log) -> Vec<u32> {
    log.lock().unwrap().iter().map(|(id, _)| *id).collect()
}

/// Sends `ids` to the emulator in batches of [`BATCH`], waiting after each
/// batch until the emulator has taken it in.
async fn send_paced(
    client: &UdpSocket,
    emu: &LinkEmulator,
    ids: impl IntoIterator<Item = u32>,
    size: usize,
) {
    let base = emu.stats().up.datagrams_in;
    let mut sent = 0;
    for id in ids {
        client
            .send_to(&payload(id, size), emu.local_addr())
            .await
            .expect("send");
        sent += 1;
        if sent % BATCH as u64 == 0 {
            wait_until("the emulator took the batch in", || {
                emu.stats().up.datagrams_in >= base + sent
            })
            .await;
        }
    }
    wait_until("the emulator took everything in", || {
        emu.stats().up.datagrams_in >= base + sent
    })
    .await;
}

/// The fates [`Shaper`] predicts for `n` datagrams of `size` bytes sent
/// upstream with `config` and `seed` (valid for decisions that do not
/// depend on time).
fn predict(config: &LinkConfig, seed: u64, n: usize, size: usize) -> Vec<Fate> {
    let mut shaper = Shaper::new(seed, Direction::Up);
    let now = Instant::now();
    (0..n)
        .map(|_| shaper.decide(config, size, now).fate)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passthrough_forwards_both_ways_even_huge_datagrams() {
    let (upstream, log, _server) = server(true).await;
    let emu = emulator(LinkConfig::default(), LinkConfig::default(), 1, upstream).await;
    let client = socket().await;
    for id in 0..10 {
        client
            .send_to(&payload(id, 100), emu.local_addr())
            .await
            .unwrap();
        let (data, from) = recv(&client).await;
        assert_eq!(
            (id_of(&data), data.len(), from),
            (id, 100, emu.local_addr())
        );
    }
    // The largest UDP payload over IPv4 (65535 - 20 - 8 bytes).
    let huge = payload(77, 65507);
    client.send_to(&huge, emu.local_addr()).await.unwrap();
    let (data, _) = recv(&client).await;
    assert_eq!(data, huge);
    assert_eq!(ids(&log).len(), 11);
    let stats = emu.stats();
    for s in [&stats.up, &stats.down] {
        assert_eq!((s.datagrams_in, s.datagrams_out), (11, 11), "{stats}");
        assert_eq!((s.bytes_in, s.bytes_out), (1000 + 65507, 1000 + 65507));
        assert_eq!(s.dropped(), 0);
    }
    assert_eq!(emu.mappings(), 1);
    const { assert!(MAX_DATAGRAM >= 65507) };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loss_one_drops_everything() {
    let (upstream, log, _server) = server(false).await;
    let emu = emulator(
        LinkConfig::default().with_loss(1.0),
        LinkConfig::default(),
        2,
        upstream,
    )
    .await;
    let client = socket().await;
    send_paced(&client, &emu, 0..50, 20).await;
    assert_eq!(emu.stats().up.dropped_loss, 50);
    // Heal the loss and send a marker: it must be the first thing through.
    emu.set_config(Direction::Up, LinkConfig::default());
    client
        .send_to(&payload(999, 20), emu.local_addr())
        .await
        .unwrap();
    wait_until("the marker arrives", || !ids(&log).is_empty()).await;
    assert_eq!(ids(&log), vec![999]);
    let up = emu.stats().up;
    assert_eq!(
        (up.datagrams_in, up.datagrams_out, up.dropped_loss),
        (51, 1, 50)
    );
}

/// Sends 1000 datagrams through 30% loss; returns the ids that arrived.
async fn lossy_run(seed: u64) -> BTreeSet<u32> {
    let (upstream, log, _server) = server(false).await;
    let config = LinkConfig::default().with_loss(0.3);
    let emu = emulator(config, LinkConfig::default(), seed, upstream).await;
    let client = socket().await;
    send_paced(&client, &emu, 0..1000, 16).await;
    wait_until("every datagram is lost or sent", || {
        let up = emu.stats().up;
        up.datagrams_out + up.dropped_loss == 1000
    })
    .await;
    let up = emu.stats().up;
    wait_until("every survivor arrives", || {
        ids(&log).len() as u64 == up.datagrams_out
    })
    .await;
    ids(&log).into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_loss_drops_the_same_datagrams_every_run() {
    let first = lossy_run(42).await;
    let second = lossy_run(42).await;
    assert_eq!(first, second);
    assert!(
        (630..=770).contains(&first.len()),
        "{} of 1000 arrived",
        first.len()
    );
    // Exactly what the model predicts for this seed.
    let config = LinkConfig::default().with_loss(0.3);
    let predicted: BTreeSet<u32> = predict(&config, 42, 1000, 16)
        .iter()
        .enumerate()
        .filter(|(_, fate)| matches!(fate, Fate::Deliver { .. }))
        .map(|(id, _)| id as u32)
        .collect();
    assert_eq!(first, predicted);
    assert_ne!(lossy_run(43).await, first, "another seed, other losses");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_then_heal() {
    let (upstream, log, _server) = server(true).await;
    let emu = emulator(LinkConfig::default(), LinkConfig::default(), 3, upstream).await;
    let client = socket().await;
    emu.set_cut(true);
    assert!(emu.config(Direction::Up).cut && emu.config(Direction::Down).cut);
    send_paced(&client, &emu, 0..10, 20).await;
    assert_eq!(emu.stats().up.dropped_cut, 10);
    emu.set_cut(false);
    client
        .send_to(&payload(100, 20), emu.local_addr())
        .await
        .unwrap();
    let (data, _) = recv(&client).await;
    assert_eq!(
        id_of(&data),
        100,
        "nothing sent during the cut came through"
    );
    assert_eq!(ids(&log), vec![100]);

    // Cut only the way back: the server still gets it, the reply is lost.
    emu.set_direction_cut(Direction::Down, true);
    client
        .send_to(&payload(101, 20), emu.local_addr())
        .await
        .unwrap();
    wait_until("the reply is cut", || emu.stats().down.dropped_cut == 1).await;
    assert_eq!(ids(&log), vec![100, 101]);
    emu.set_direction_cut(Direction::Down, false);
    client
        .send_to(&payload(102, 20), emu.local_addr())
        .await
        .unwrap();
    let (data, _) = recv(&client).await;
    assert_eq!(id_of(&data), 102);
    let stats = emu.stats();
    assert_eq!(
        (stats.up.dropped_cut, stats.up.datagrams_out),
        (10, 3),
        "{stats}"
    );
    assert_eq!(
        (stats.down.dropped_cut, stats.down.datagrams_out),
        (1, 2),
        "{stats}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplication_is_seeded_and_counted() {
    let (upstream, log, _server) = server(false).await;
    let config = LinkConfig::default().with_duplicate(0.25);
    let emu = emulator(config.clone(), LinkConfig::default(), 4, upstream).await;
    let client = socket().await;
    send_paced(&client, &emu, 0..200, 16).await;
    // Duplication is decided when a datagram comes in, so it is final now.
    let duplicated = emu.stats().up.duplicated;
    wait_until("every copy arrives", || {
        ids(&log).len() as u64 == 200 + duplicated
    })
    .await;
    let up = emu.stats().up;
    let predicted: BTreeSet<u32> = predict(&config, 4, 200, 16)
        .iter()
        .enumerate()
        .filter(|(_, fate)| {
            matches!(
                fate,
                Fate::Deliver {
                    duplicate: true,
                    ..
                }
            )
        })
        .map(|(id, _)| id as u32)
        .collect();
    assert!((25..=75).contains(&predicted.len()), "{}", predicted.len());
    assert_eq!(up.duplicated, predicted.len() as u64);
    assert_eq!(up.datagrams_out, 200 + up.duplicated);
    let mut copies: BTreeMap<u32, usize> = BTreeMap::new();
    for id in ids(&log) {
        *copies.entry(id).or_default() += 1;
    }
    assert_eq!(copies.len(), 200);
    let twice: BTreeSet<u32> = copies
        .iter()
        .filter(|(_, n)| **n == 2)
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(twice, predicted);
    assert!(copies.values().all(|n| *n <= 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_is_a_lower_bound() {
    let (upstream, log, _server) = server(true).await;
    let up = LinkConfig::default()
        .with_delay(Duration::from_millis(100))
        .with_jitter(Duration::from_millis(20));
    let down = LinkConfig::default().with_delay(Duration::from_millis(50));
    let emu = emulator(up, down, 5, upstream).await;
    let client = socket().await;
    let mut sent_at = BTreeMap::new();
    for id in 0..20 {
        sent_at.insert(id, Instant::now());
        client
            .send_to(&payload(id, 50), emu.local_addr())
            .await
            .unwrap();
    }
    for _ in 0..20 {
        let (data, _) = recv(&client).await;
        let id = id_of(&data);
        let rtt = sent_at[&id].elapsed();
        assert!(
            rtt >= Duration::from_millis(150),
            "datagram {id} came back after {rtt:?}"
        );
    }
    for (id, arrived) in log.lock().unwrap().iter() {
        let one_way = *arrived - sent_at[id];
        assert!(
            one_way >= Duration::from_millis(100),
            "datagram {id} arrived after {one_way:?}"
        );
    }
    // Jitter alone never reorders.
    assert_eq!(ids(&log), (0..20).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bandwidth_cap_serialises() {
    let (upstream, log, _server) = server(false).await;
    // 200 x 1200 bytes at 8 Mbit/s: 1.2 ms each, 240 ms in all.
    let config = LinkConfig::default().with_bandwidth(8_000_000);
    let emu = emulator(config, LinkConfig::default(), 6, upstream).await;
    let client = socket().await;
    let start = Instant::now();
    send_paced(&client, &emu, 0..200, 1200).await;
    wait_until("everything arrives", || ids(&log).len() == 200).await;
    let elapsed = log.lock().unwrap()[199].1 - start;
    let floor = serialisation_time(1200, 8_000_000) * 200;
    assert_eq!(floor, Duration::from_millis(240));
    assert!(elapsed >= floor, "200 datagrams took only {elapsed:?}");
    assert_eq!(ids(&log), (0..200).collect::<Vec<_>>());
    assert_eq!(emu.stats().up.dropped_queue, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_queue_tail_drops() {
    let (upstream, log, _server) = server(false).await;
    // 1000 bytes at 160 kbit/s: 50 ms each; 5000 bytes of queue.
    let config = LinkConfig::default()
        .with_bandwidth(160_000)
        .with_queue_limit(5000);
    let emu = emulator(config, LinkConfig::default(), 7, upstream).await;
    let client = socket().await;
    send_paced(&client, &emu, 0..60, 1000).await;
    let up = emu.stats().up;
    assert!(up.dropped_queue >= 20, "{up}");
    let admitted = up.datagrams_in - up.dropped_queue;
    wait_until("the queue drains", || ids(&log).len() as u64 == admitted).await;
    let up = emu.stats().up;
    assert_eq!(up.datagrams_out + up.dropped_queue, 60, "{up}");
    assert_eq!(up.dropped_loss + up.dropped_cut, 0);
    let arrived = ids(&log);
    assert_eq!(arrived[..5], [0, 1, 2, 3, 4], "the first 5000 bytes fit");
    assert!(arrived.is_sorted());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_reordering() {
    let (upstream, log, _server) = server(false).await;
    let config = LinkConfig::default().with_reorder(0.2, Duration::from_millis(300));
    let emu = emulator(config.clone(), LinkConfig::default(), 8, upstream).await;
    let client = socket().await;
    send_paced(&client, &emu, 0..100, 16).await;
    wait_until("everything arrives", || ids(&log).len() == 100).await;
    let held: BTreeSet<u32> = predict(&config, 8, 100, 16)
        .iter()
        .enumerate()
        .filter(|(_, fate)| {
            matches!(
                fate,
                Fate::Deliver {
                    reordered: true,
                    ..
                }
            )
        })
        .map(|(id, _)| id as u32)
        .collect();
    assert!(!held.is_empty() && held.len() < 50, "{held:?}");
    assert_eq!(emu.stats().up.reordered, held.len() as u64);
    let arrived = ids(&log);
    assert!(
        !arrived.is_sorted(),
        "later datagrams overtook the held ones"
    );
    // The datagrams that were not held back arrive in order.
    let in_order: Vec<u32> = arrived
        .iter()
        .copied()
        .filter(|id| !held.contains(id))
        .collect();
    assert!(in_order.is_sorted());
    assert_eq!(in_order.len(), 100 - held.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_client_gets_its_own_mapping() {
    let server_socket = socket().await;
    let upstream = server_socket.local_addr().unwrap();
    let emu = emulator(LinkConfig::default(), LinkConfig::default(), 9, upstream).await;
    let (a, b) = (socket().await, socket().await);
    a.send_to(&payload(1, 8), emu.local_addr()).await.unwrap();
    let (_, from_a) = recv(&server_socket).await;
    b.send_to(&payload(2, 8), emu.local_addr()).await.unwrap();
    let (_, from_b) = recv(&server_socket).await;
    a.send_to(&payload(3, 8), emu.local_addr()).await.unwrap();
    let (_, from_a_again) = recv(&server_socket).await;
    assert_ne!(from_a, from_b);
    assert_eq!(from_a, from_a_again);
    assert!(from_a != emu.local_addr() && from_b != emu.local_addr());
    assert_eq!(emu.mappings(), 2);
    // Replies go back to the right client.
    server_socket
        .send_to(&payload(20, 8), from_b)
        .await
        .unwrap();
    server_socket
        .send_to(&payload(10, 8), from_a)
        .await
        .unwrap();
    assert_eq!(recv(&a).await, (payload(10, 8), emu.local_addr()));
    assert_eq!(recv(&b).await, (payload(20, 8), emu.local_addr()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_config_is_refused_and_shutdown_frees_the_port() {
    let any: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let err = LinkEmulator::start(
        "127.0.0.1:0".parse().unwrap(),
        any,
        LinkConfig::default(),
        LinkConfig::default().with_loss(2.0),
        0,
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("down link: invalid loss"), "{err}");

    let (upstream, _log, _server) = server(true).await;
    let emu = emulator(LinkConfig::rural(), LinkConfig::rural(), 0, upstream).await;
    let client = socket().await;
    client
        .send_to(&payload(1, 8), emu.local_addr())
        .await
        .unwrap();
    wait_until("a mapping exists", || emu.mappings() == 1).await;
    // An invalid runtime change is clamped, not a panic.
    emu.set_config(Direction::Up, LinkConfig::default().with_loss(f64::NAN));
    assert_eq!(emu.config(Direction::Up).loss, 0.0);
    let addr = emu.local_addr();
    emu.shutdown().await;
    UdpSocket::bind(addr)
        .await
        .expect("the listen port is free again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_line() {
    use std::process::Stdio;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    use tokio::process::Command;

    let exe = env!("CARGO_BIN_EXE_linkemu");
    for bad in [
        ["--delay", "150"],
        ["--loss", "1.5"],
        ["--bandwidth", "fast"],
    ] {
        let out = Command::new(exe)
            .args(["--upstream", "127.0.0.1:9"])
            .args(bad)
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("invalid value '{}'", bad[1])),
            "{stderr}"
        );
    }

    let (upstream, _log, _server) = server(true).await;
    let mut child = Command::new(exe)
        .args([
            "--upstream",
            &upstream.to_string(),
            "--delay",
            "10ms",
            "--up-loss",
            "0",
        ])
        .args(["--seed", "42", "--bandwidth", "2mbit", "--queue", "64KiB"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    timeout(PATIENCE, stdout.read_line(&mut line))
        .await
        .unwrap()
        .unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words[0], "listening", "{line}");
    assert_eq!(words[5], "42", "{line}");
    let addr: SocketAddr = words[1].parse().unwrap();
    let client = socket().await;
    client.send_to(&payload(5, 30), addr).await.unwrap();
    assert_eq!(id_of(&recv(&client).await.0), 5);

    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"bogus\nloss up 0.2\ncut\nstats\nquit\n")
        .await
        .unwrap();
    let status = timeout(PATIENCE, child.wait()).await.unwrap().unwrap();
    assert!(status.success());
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).await.unwrap();
    assert!(
        rest.contains("unknown command \"bogus\"; known commands: cut, heal, stats"),
        "{rest}"
    );
    assert!(rest.contains("up: loss 0.2 delay 10ms"), "{rest}");
    assert!(
        rest.contains("final stats:\nup: in 1 (30 B) out 1 (30 B)"),
        "{rest}"
    );
    assert!(rest.contains("mappings: 1"), "{rest}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_datagrams_through_a_delayed_link() {
    let (upstream, log, _server) = server(false).await;
    let config = LinkConfig::default()
        .with_delay(Duration::from_millis(20))
        .with_jitter(Duration::from_millis(5));
    let emu = emulator(config, LinkConfig::default(), 10, upstream).await;
    let client = socket().await;
    let start = Instant::now();
    send_paced(&client, &emu, 0..10_000, 200).await;
    wait_until("everything is sent", || {
        emu.stats().up.datagrams_out == 10_000
    })
    .await;
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(20));
    assert_eq!(emu.stats().up.dropped(), 0);
    // The emulator sends due datagrams in bursts (timer ticks are about a
    // millisecond), and this test's sink shares the CPU with the other
    // tests: its socket buffer may overflow now and then. That is the
    // sink's kernel, not the emulator; what does arrive is in order.
    // A marker sent after the burst reaches the sink after everything else.
    client
        .send_to(&payload(10_000, 200), emu.local_addr())
        .await
        .unwrap();
    wait_until("the marker arrives", || ids(&log).last() == Some(&10_000)).await;
    let arrived = ids(&log);
    assert!(arrived.len() > 9_500, "{} arrived", arrived.len());
    assert!(arrived.is_sorted());
    eprintln!(
        "10k datagrams in {elapsed:?}, {} reached the sink",
        arrived.len() - 1
    );
}
