//! `syncbench province` (issue 11, "a province under load"): a province
//! node holding N real dossiers (default 1,000,000: index, search and scope
//! rows, as a sync batch stores them) and P communes syncing with it
//! (default 100), measured for
//!
//! 1. the reconnect storm: every peer in sync, the province killed (kill -9)
//!    and started again on the same port; from its listening again until
//!    every peer has finished a session in sync (idle: nothing to send
//!    either way), per peer and the slowest;
//! 2. a new commune's initial sync (an empty store) of a scope of ~1% and
//!    ~0.1% of the province, against the same scope (the same number of
//!    dossiers) synced from a province a tenth the size: time, bytes and
//!    the province's CPU;
//! 3. the province's peak RSS (its own process: the peers run in another);
//! 4. the consolidated report (`report::build` over the index, what
//!    `lienthong report` runs) at the province.
//!
//! The stores are built once into `--cache DIR` (`province_nodes.rs`) and
//! reused while they hold what is asked for; the first run also brings
//! every peer in sync, ten at a time (reported as "first sync").

use std::io::{BufRead, BufReader, Lines, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use lienthong::node::Node;
use lienthong::report::{self, GroupBy, ReportOptions};

use crate::measure::{load_average, machine};
use crate::province_nodes::{NEW_COMMUNES, Shape, now, open_or_build, scope_size};
use crate::province_sides::PeerRun;
use crate::report::{kb, write_section};

pub(crate) struct Options {
    pub(crate) cache: PathBuf,
    pub(crate) n: usize,
    pub(crate) peers: usize,
    pub(crate) storms: usize,
    pub(crate) out: Option<PathBuf>,
    /// How long a peer may take to get in sync before the run fails.
    pub(crate) deadline: Duration,
}

/// The province process (`province-serve`).
struct Province {
    child: Child,
    stdin: Option<ChildStdin>,
    addr: SocketAddr,
    /// Unix ms when it was listening.
    listen_ms: u64,
    /// From spawning the process to its listening (store opened).
    start_seconds: f64,
}

impl Province {
    fn start(node_dir: &Path, cache: &Path, listen: SocketAddr) -> Result<Province> {
        let started = Instant::now();
        let mut child = Command::new(std::env::current_exe()?)
            .args(["province-serve", "--dir"])
            .arg(node_dir)
            .arg("--cache")
            .arg(cache)
            .args(["--listen", &listen.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the province")?;
        let stdout = child.stdout.take().context("province stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let mut words = line.split_whitespace();
        if words.next() != Some("LISTEN") {
            let _ = child.kill();
            bail!("the province did not start listening (it printed {line:?})");
        }
        let addr = words.next().context("LISTEN without an address")?.parse()?;
        let listen_ms = words.next().context("LISTEN without a time")?.parse()?;
        Ok(Province {
            stdin: child.stdin.take(),
            child,
            addr,
            listen_ms,
            start_seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// User + system CPU seconds of the process so far.
    fn cpu_seconds(&self) -> f64 {
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .ok()
            .and_then(|s| {
                // Fields after the command name (which may hold spaces).
                let rest = s.rsplit_once(')')?.1.split_whitespace().collect::<Vec<_>>();
                let utime: f64 = rest.get(11)?.parse().ok()?;
                let stime: f64 = rest.get(12)?.parse().ok()?;
                Some((utime + stime) / ticks)
            })
            .unwrap_or(0.0)
    }

    /// Peak resident set (VmHWM) of the process, MB.
    fn peak_rss_mb(&self) -> f64 {
        lienthong_tests::syncbench::peak_rss_mb_of(&self.child.id().to_string())
    }

    /// kill -9.
    fn kill(mut self) -> Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// Close its stdin: it stops listening and exits.
    fn stop(mut self) -> Result<()> {
        drop(self.stdin.take());
        self.child.wait()?;
        Ok(())
    }
}

/// The peers process (`province-peers`).
struct Peers {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Peers {
    fn start(cache: &Path, stores: &Path, peers: &[usize], deadline: Duration) -> Result<Peers> {
        let list = peers
            .iter()
            .map(|k| k.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let mut child = Command::new(std::env::current_exe()?)
            .args(["province-peers", "--cache"])
            .arg(cache)
            .arg("--stores")
            .arg(stores)
            .args([
                "--peers",
                &list,
                "--deadline",
                &deadline.as_secs().to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the peers")?;
        let stdin = child.stdin.take().context("peers stdin")?;
        let mut lines = BufReader::new(child.stdout.take().context("peers stdout")?).lines();
        match lines.next() {
            Some(Ok(line)) if line == "READY" => Ok(Peers {
                child,
                stdin,
                lines,
            }),
            other => {
                let _ = child.kill();
                bail!("the peers did not start (they printed {other:?})")
            }
        }
    }

    /// Run `which` (every peer of the process when empty) to in sync at once.
    fn go(&mut self, addr: SocketAddr, which: &[usize]) -> Result<Vec<PeerRun>> {
        let list: Vec<String> = which.iter().map(|k| k.to_string()).collect();
        writeln!(self.stdin, "GO {addr} {}", list.join(" "))?;
        self.stdin.flush()?;
        let line = self.lines.next().context("the peers process ended")??;
        Ok(serde_json::from_str(&line)?)
    }

    fn stop(mut self) -> Result<()> {
        drop(self.stdin);
        self.child.wait()?;
        Ok(())
    }
}

fn loopback_any() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Seconds from `from_ms` to each peer's in-sync moment, sorted.
fn seconds_since(runs: &[PeerRun], from_ms: u64) -> Vec<f64> {
    let mut s: Vec<f64> = runs
        .iter()
        .map(|r| r.synced_ms.saturating_sub(from_ms) as f64 / 1000.0)
        .collect();
    s.sort_by(f64::total_cmp);
    s
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

struct Storm {
    start_seconds: f64,
    /// Per peer, seconds from the province's listening to in sync, sorted.
    seconds: Vec<f64>,
    attempts: u64,
    bytes: u64,
    province_cpu: f64,
}

struct Fresh {
    province_n: usize,
    office: &'static str,
    scope: u64,
    seconds: f64,
    bytes: u64,
    province_cpu: f64,
}

struct FirstSync {
    seconds: f64,
    documents: u64,
    province_cpu: f64,
    province_rss: f64,
}

pub(crate) fn province(o: Options) -> Result<()> {
    let load_before = load_average();
    let shape = Shape::province(o.n, o.peers);
    let mut cache = open_or_build(&o.cache, shape)?;
    let all: Vec<usize> = (0..o.peers).collect();
    let mut peak_rss: f64 = 0.0;

    // The first sync of every peer (once per cache), ten at a time.
    let mut first = None;
    if !cache.manifest.peers_synced {
        eprintln!("first sync of the {} peers, ten at a time…", o.peers);
        let province = Province::start(&cache.province(), &cache.dir, loopback_any())?;
        let mut peers = Peers::start(&cache.dir, &cache.peer_stores(), &all, o.deadline)?;
        let started = Instant::now();
        let mut documents = 0;
        for group in all.chunks(10) {
            for run in peers.go(province.addr, group)? {
                let expected = scope_size(&cache.province(), &run.office)?;
                if !run.synced || run.received != expected {
                    bail!(
                        "peer {} ({}) got {} of its {expected} dossiers (in sync: {})",
                        run.peer,
                        run.office,
                        run.received,
                        run.synced
                    );
                }
                documents += run.received;
            }
        }
        first = Some(FirstSync {
            seconds: started.elapsed().as_secs_f64(),
            documents,
            province_cpu: province.cpu_seconds(),
            province_rss: province.peak_rss_mb(),
        });
        peers.stop()?;
        province.stop()?;
        cache.manifest.peers_synced = true;
        cache.save()?;
    }

    // The reconnect storm.
    eprintln!("reconnect storm: {} peers, {} restarts…", o.peers, o.storms);
    let mut province = Province::start(&cache.province(), &cache.dir, loopback_any())?;
    let addr = province.addr;
    let mut peers = Peers::start(&cache.dir, &cache.peer_stores(), &all, o.deadline)?;
    for run in peers.go(addr, &[])? {
        if !run.synced || run.received + run.offered != 0 {
            bail!(
                "peer {} was not in sync before the storm (received {}, offered {})",
                run.peer,
                run.received,
                run.offered
            );
        }
    }
    let mut storms = Vec::new();
    for s in 0..o.storms {
        province.kill()?;
        province = Province::start(&cache.province(), &cache.dir, addr)?;
        let cpu = province.cpu_seconds();
        let runs = peers.go(addr, &[])?;
        if let Some(run) = runs
            .iter()
            .find(|r| !r.synced || r.received + r.offered != 0)
        {
            bail!(
                "storm {s}: peer {} did not end idle (in sync {}, received {}, offered {})",
                run.peer,
                run.synced,
                run.received,
                run.offered
            );
        }
        storms.push(Storm {
            start_seconds: province.start_seconds,
            seconds: seconds_since(&runs, province.listen_ms),
            attempts: runs.iter().map(|r| r.attempts).sum(),
            bytes: runs.iter().map(|r| r.udp_tx + r.udp_rx).sum(),
            province_cpu: province.cpu_seconds() - cpu,
        });
        peak_rss = peak_rss.max(province.peak_rss_mb());
    }
    province.kill()?;
    peers.stop()?;

    // New communes, from the province and from one a tenth its size.
    let scratch = cache.dir.join("scratch");
    let mut fresh = Vec::new();
    for (dir, at) in [
        (cache.province(), shape),
        (cache.compare(), shape.compare()),
    ] {
        let province_n = at.n;
        eprintln!("new communes from a province of {province_n}…");
        let province = Province::start(&dir, &cache.dir, loopback_any())?;
        for (c, office) in NEW_COMMUNES.iter().enumerate() {
            let _ = std::fs::remove_dir_all(&scratch);
            let k = o.peers + c;
            let mut peers = Peers::start(&cache.dir, &scratch, &[k], o.deadline)?;
            let cpu = province.cpu_seconds();
            let run = peers.go(province.addr, &[k])?.pop().context("no run")?;
            let province_cpu = province.cpu_seconds() - cpu;
            peers.stop()?;
            let scope = scope_size(&dir, office)?;
            if scope != at.new_commune_dossiers(c) as u64 {
                bail!(
                    "{office}'s scope at the province of {province_n} is {scope} dossiers, not the {} generated",
                    at.new_commune_dossiers(c)
                );
            }
            if !run.synced || run.received != scope {
                bail!(
                    "new commune {office} got {} of its {scope} dossiers (in sync: {})",
                    run.received,
                    run.synced
                );
            }
            fresh.push(Fresh {
                province_n,
                office,
                scope,
                seconds: run.synced_ms.saturating_sub(run.dialled_ms) as f64 / 1000.0,
                bytes: run.udp_tx + run.udp_rx,
                province_cpu,
            });
        }
        peak_rss = peak_rss.max(province.peak_rss_mb());
        province.stop()?;
    }
    let _ = std::fs::remove_dir_all(&scratch);

    // The consolidated report at the province.
    eprintln!("the consolidated report…");
    let opened = Instant::now();
    let mut node = Node::open(&cache.province())?;
    let open_seconds = opened.elapsed().as_secs_f64();
    let tree = node.network.offices.clone();
    let mut reports = Vec::new();
    for group_by in [GroupBy::Origin, GroupBy::Origin, GroupBy::Holder] {
        let options = ReportOptions {
            group_by,
            now: now(),
            from: None,
            to: None,
        };
        let t = Instant::now();
        let built = node
            .store
            .read(|r| report::build(r, &tree, &options, false))?;
        reports.push(t.elapsed().as_secs_f64());
        if built.total.received != shape.n as u64 {
            bail!(
                "the report counts {} received dossiers, the province holds {}",
                built.total.received,
                shape.n
            );
        }
    }
    drop(node);

    let body = markdown(
        &o,
        &cache.manifest,
        first.as_ref(),
        &storms,
        &fresh,
        &reports,
        open_seconds,
        peak_rss,
        &load_before,
    );
    println!("{body}");
    if let Some(out) = &o.out {
        write_section(out, "syncbench-province", &body)?;
    }
    let storm_max = storms
        .iter()
        .filter_map(|s| s.seconds.last().copied())
        .fold(0.0, f64::max);
    println!(
        "{}",
        serde_json::json!({
            "n": shape.n,
            "peers": o.peers,
            "storm_max_seconds": storm_max,
            "province_peak_rss_mb": peak_rss,
            "report_seconds": reports,
            "new_communes": fresh.iter().map(|f| serde_json::json!({
                "province": f.province_n, "office": f.office, "scope": f.scope,
                "seconds": f.seconds, "bytes": f.bytes, "province_cpu": f.province_cpu,
            })).collect::<Vec<_>>(),
        })
    );
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn markdown(
    o: &Options,
    manifest: &crate::province_nodes::Manifest,
    first: Option<&FirstSync>,
    storms: &[Storm],
    fresh: &[Fresh],
    reports: &[f64],
    open_seconds: f64,
    peak_rss: f64,
    load_before: &str,
) -> String {
    let n = manifest.shape.n;
    let mut s = format!(
        "Machine: {}; load average (1 min) {load_before} when the run started, {} when it ended. Release build. \
         The province ({n} dossiers, built in {:.0} s; the comparison province of {} in {:.0} s) is one process \
         (`syncbench province-serve`: one QUIC listener, one session and one store connection per peer, as the daemon's links); \
         the {} peer communes are another (`province-peers`: one endpoint each, real QUIC over loopback, pinned identities). \
         Dossiers are real (index, search and scope rows: `index_dossier`); each goes to its commune, the commune's district and the province.\n\n",
        machine(),
        load_average(),
        manifest.build_seconds,
        manifest.shape.compare().n,
        manifest.compare_build_seconds,
        o.peers,
    );
    if let Some(f) = first {
        s.push_str(&format!(
            "First sync of the peers (empty stores, ten at a time, this cache's first run): {} dossiers in {:.0} s; province CPU {:.0} s, peak RSS {:.0} MB.\n\n",
            f.documents, f.seconds, f.province_cpu, f.province_rss
        ));
    }
    s.push_str(
        "**Reconnect storm.** Every peer in sync (checked by one idle round first), the province killed (kill -9) and started again \
         on the same port; as soon as it listens every peer dials at once (the peers' own detection of the dead link is not counted: \
         `syncbench recovery` measures that). Seconds from the province's listening to each peer knowing it is in sync; \
         every session must end with nothing sent either way.\n\n\
         | restart | province start to listening | median | 90th percentile | slowest peer | dial attempts | UDP bytes, all peers | province CPU |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (i, storm) in storms.iter().enumerate() {
        s.push_str(&format!(
            "| {} | {:.2} s | {:.2} s | {:.2} s | {:.2} s | {} | {} | {:.2} s |\n",
            i + 1,
            storm.start_seconds,
            percentile(&storm.seconds, 0.5),
            percentile(&storm.seconds, 0.9),
            storm.seconds.last().copied().unwrap_or(0.0),
            storm.attempts,
            kb(storm.bytes),
            storm.province_cpu,
        ));
    }
    s.push_str(
        "\n**A new commune's initial sync** (an empty store) of its scope, from this province and from one a tenth its size \
         holding the same number of that commune's dossiers: \"in proportion to its scope\" means the two rows of a commune nearly equal.\n\n\
         | commune | its dossiers | province holds | seconds | UDP bytes | province CPU |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for f in fresh {
        s.push_str(&format!(
            "| `{}` | {} | {} | {:.2} s | {} | {:.2} s |\n",
            f.office,
            f.scope,
            f.province_n,
            f.seconds,
            kb(f.bytes),
            f.province_cpu
        ));
    }
    s.push_str(&format!(
        "\n**Province memory**: peak RSS (VmHWM) of the province process {peak_rss:.0} MB (the largest over the storms and the new communes).\n\n\
         **Consolidated report** at the province (`report::build` over the index, what `lienthong report` runs; node opened in {:.2} s): \
         by origin {:.0} ms, again {:.0} ms; by holder {:.0} ms.\n\n",
        open_seconds,
        reports.first().copied().unwrap_or(0.0) * 1000.0,
        reports.get(1).copied().unwrap_or(0.0) * 1000.0,
        reports.get(2).copied().unwrap_or(0.0) * 1000.0,
    ));
    let storm_max = storms
        .iter()
        .filter_map(|s| s.seconds.last().copied())
        .fold(0.0, f64::max);
    let pairs: Vec<String> = NEW_COMMUNES
        .iter()
        .filter_map(|office| {
            let big = fresh
                .iter()
                .find(|f| f.office == *office && f.province_n == n)?;
            let small = fresh
                .iter()
                .find(|f| f.office == *office && f.province_n != n)?;
            Some(format!(
                "`{office}` {:.2}× the time and {:.2}× the province CPU",
                big.seconds / small.seconds.max(1e-3),
                big.province_cpu / small.province_cpu.max(1e-3)
            ))
        })
        .collect();
    let verdict = |met: bool| if met { "met" } else { "missed" };
    s.push_str(&format!(
        "Against the targets:\n\n| target | measured | |\n|---|---|---|\n\
         | every peer idle within 10 s of the restart | slowest {storm_max:.2} s | {} |\n\
         | a new commune's sync in proportion to its scope | at {n} against {}: {} | see the ratios |\n\
         | province memory under 300 MB | {peak_rss:.0} MB | {} |\n\
         | consolidated report under 1 s | {:.0} ms | {} |\n",
        verdict(storm_max < 10.0),
        manifest.shape.compare().n,
        pairs.join("; "),
        verdict(peak_rss < 300.0),
        reports.iter().copied().fold(0.0, f64::max) * 1000.0,
        verdict(reports.iter().all(|r| *r < 1.0)),
    ));
    s
}
