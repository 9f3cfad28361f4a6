//! The seeded random schedule: rounds of officer actions at random nodes,
//! then link cuts, heals, impairments (loss, delay, duplication,
//! reordering), crashes and restarts — applied while the actions' changes
//! are still in flight — then a wait until every group of nodes that can
//! reach each other has converged. At the end every link heals, every node
//! restarts, and all must hold identical dossiers in scope, derive the same
//! states, have kept every acknowledged write and issued no code twice.
//!
//! The schedule (which node does what, which link fails when) is drawn from
//! the seed before anything runs, so a seed always plays the same schedule;
//! an action picks among what its node may do at that moment.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::{Duration, Instant};

use lienthong::node::Node;
use lienthong::officer;
use lienthong_shared::OfficeId;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::cluster::{Cluster, LinkSpec};
use super::desk::{Ledger, new_dossier, possible_actions};
use super::view::{self, Agreement};
use super::*;
use crate::linkemu::LinkConfig;

/// What happens in a round, besides officer actions.
#[derive(Debug, Clone)]
pub enum Event {
    Cut(OfficeId),
    Heal(OfficeId),
    Impair(OfficeId, Box<LinkSpec>),
    Crash(OfficeId),
    Restart(OfficeId),
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Cut(o) => write!(f, "cut {o}'s uplink"),
            Event::Heal(o) => write!(f, "heal {o}'s uplink"),
            Event::Impair(o, spec) => write!(f, "impair {o}'s uplink: {}", spec.0),
            Event::Crash(o) => write!(f, "crash {o}"),
            Event::Restart(o) => write!(f, "restart {o}"),
        }
    }
}

/// One round: officer actions (node, and a number that picks what it
/// does), then events.
#[derive(Debug, Clone)]
pub struct Round {
    pub actions: Vec<(OfficeId, u64)>,
    pub events: Vec<Event>,
}

#[derive(Debug, Clone)]
pub struct Schedule {
    pub seed: u64,
    pub rounds: Vec<Round>,
}

fn random_link(rng: &mut ChaCha8Rng) -> LinkSpec {
    let one = |rng: &mut ChaCha8Rng| {
        let mut link = LinkConfig::default()
            .with_delay(Duration::from_millis(rng.random_range(2..80)))
            .with_jitter(Duration::from_millis(rng.random_range(0..20)))
            .with_loss(rng.random_range(0.0..0.25));
        if rng.random_bool(0.3) {
            link = link.with_duplicate(rng.random_range(0.0..0.2));
        }
        if rng.random_bool(0.3) {
            link = link.with_reorder(rng.random_range(0.0..0.2), Duration::from_millis(25));
        }
        link
    };
    (one(rng), one(rng))
}

impl Schedule {
    /// Draw `rounds` rounds for a cluster with these members and parents.
    pub fn generate(
        seed: u64,
        rounds: usize,
        members: &[OfficeId],
        parents: &BTreeMap<OfficeId, OfficeId>,
    ) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let children: Vec<&OfficeId> = parents.keys().collect();
        let mut cut: BTreeSet<OfficeId> = BTreeSet::new();
        let mut down: BTreeSet<OfficeId> = BTreeSet::new();
        let mut out = Vec::new();
        for _ in 0..rounds {
            let actions = (0..rng.random_range(2..=5))
                .map(|_| {
                    (
                        members[rng.random_range(0..members.len())].clone(),
                        rng.random(),
                    )
                })
                .collect();
            let mut events = Vec::new();
            for _ in 0..rng.random_range(0..=2) {
                let link = children[rng.random_range(0..children.len())].clone();
                let node = members[rng.random_range(0..members.len())].clone();
                let event = match rng.random_range(0..100) {
                    0..30 if cut.contains(&link) => Event::Heal(link),
                    0..30 => Event::Cut(link),
                    30..55 => Event::Impair(link, Box::new(random_link(&mut rng))),
                    55..75 if down.contains(&node) => Event::Restart(node),
                    55..75 => Event::Crash(node),
                    _ => match cut.iter().next().cloned() {
                        Some(link) => Event::Heal(link),
                        None => match down.iter().next().cloned() {
                            Some(node) => Event::Restart(node),
                            None => Event::Impair(link, Box::new(random_link(&mut rng))),
                        },
                    },
                };
                match &event {
                    Event::Cut(l) => {
                        cut.insert(l.clone());
                    }
                    Event::Heal(l) => {
                        cut.remove(l);
                    }
                    Event::Crash(n) => {
                        down.insert(n.clone());
                    }
                    Event::Restart(n) => {
                        down.remove(n);
                    }
                    Event::Impair(..) => {}
                }
                events.push(event);
            }
            out.push(Round { actions, events });
        }
        Schedule { seed, rounds: out }
    }
}

/// Story time for round `r`: eight rounds a working day (08:00 to 15:00),
/// Monday to Friday from Monday 2 March 2026.
fn round_time(r: usize) -> chrono::DateTime<chrono::Utc> {
    let working_day = (r / 8) as u32;
    let week = working_day / 5;
    let day = 2 + week * 7 + working_day % 5;
    let hour = 8 + (r % 8) as u32;
    // The month has 31 days; long schedules continue into April.
    if day <= 31 {
        story(day, hour, 0)
    } else {
        story(31, hour, 0) + chrono::Duration::days(i64::from(day - 31))
    }
}

/// The clock of each node, off by this much (one commune runs 3 h fast).
fn skew(node: &OfficeId) -> chrono::Duration {
    if node.as_str() == DUY_TRINH {
        chrono::Duration::hours(3)
    } else {
        chrono::Duration::zero()
    }
}

const PROCEDURES: [&str; 4] = [LAND, HOUSEHOLD_BUSINESS, SOCIAL_ALLOWANCE, MARRIAGE];

/// What one seed did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub seed: u64,
    pub received: usize,
    pub actions: usize,
    pub events: usize,
    pub agreement: Agreement,
    pub elapsed: Duration,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seed {}: {} dossiers received, {} other actions, {} link/node events; {} dossiers ({} copies) agree, {} with conflicts; {:.1?}",
            self.seed,
            self.received,
            self.actions,
            self.events,
            self.agreement.dossiers,
            self.agreement.copies,
            self.agreement.conflicts.len(),
            self.elapsed
        )
    }
}

/// Carry out one officer action at `node`, picked by `pick` among what the
/// node may do now (or a new dossier at a commune desk).
fn act(
    cluster: &Cluster,
    ledger: &mut Ledger,
    node: &OfficeId,
    pick: u64,
    round: usize,
) -> Option<&'static str> {
    let dir = cluster.dir(node);
    let at = round_time(round) + skew(node);
    let is_commune = node.as_str().starts_with("commune:");
    let mut candidates = Vec::new();
    {
        let mut open = Node::open(&dir).expect("open a node");
        let held = view::quick(&dir).expect("read a node");
        let mut by_code: Vec<_> = held.into_iter().collect();
        by_code.sort_by(|a, b| a.1.code.cmp(&b.1.code));
        for (key, quick) in by_code {
            let (_, dossier) = officer::load(&mut open, &key).expect("load a dossier");
            for (office, action) in possible_actions(&open, &dossier, at) {
                candidates.push((quick.code.clone(), office, action));
            }
        }
    }
    if is_commune && (pick.is_multiple_of(4) || candidates.is_empty()) {
        let procedure = PROCEDURES[(pick / 4 % PROCEDURES.len() as u64) as usize];
        let applicant = format!("Công dân {}-{round}", pick % 1000);
        ledger.receive(&dir, node, at, &new_dossier(procedure, &applicant));
        return Some("received");
    }
    if candidates.is_empty() {
        return None;
    }
    let (code, office, action) = candidates.swap_remove((pick / 4) as usize % candidates.len());
    let kind = action.kind().as_str();
    if let Err(e) = ledger.try_record(&dir, &code, Some(&office), at, action) {
        panic!("{node} may {kind} {code} as {office}, but the command was refused: {e}");
    }
    Some(kind)
}

/// Links as they are between events: short and clean.
pub fn calm_link(_: &OfficeId) -> LinkSpec {
    let link = LinkConfig::default().with_delay(Duration::from_millis(5));
    (link.clone(), link)
}

/// Play one seed's schedule of `rounds` rounds on the seven-node network.
pub async fn play(seed: u64, rounds: usize, settle: Duration) -> Outcome {
    let started = Instant::now();
    let mut cluster = Cluster::start(&ALL_NODES, seed, calm_link).await;
    let schedule = Schedule::generate(seed, rounds, &cluster.members, &cluster.parents);
    let mut ledger = Ledger::default();
    let mut outcome = Outcome {
        seed,
        ..Outcome::default()
    };
    let mut log: Vec<String> = Vec::new();
    for (r, round) in schedule.rounds.iter().enumerate() {
        for (node, pick) in &round.actions {
            match act(&cluster, &mut ledger, node, *pick, r) {
                Some("received") => outcome.received += 1,
                Some(kind) => {
                    outcome.actions += 1;
                    log.push(format!("round {r}: {node} {kind}"));
                }
                None => {}
            }
        }
        for event in &round.events {
            let t = Instant::now();
            outcome.events += 1;
            match event {
                Event::Cut(link) => cluster.set_cut(link, true),
                Event::Heal(link) => cluster.set_cut(link, false),
                Event::Impair(link, spec) => cluster.set_link(link, (**spec).clone()),
                Event::Crash(node) => cluster.stop_node(node).await,
                Event::Restart(node) => cluster.start_node(node).await,
            }
            log.push(format!("round {r}: {event} ({:.1?})", t.elapsed()));
        }
        let groups = cluster.components();
        let t = Instant::now();
        if let Err(why) = cluster.wait_converged(&groups, settle).await {
            panic!(
                "seed {seed}, round {r}: the connected groups {groups:?} did not converge: {why}\nschedule so far:\n{}\nreplay with CHAOS_SEED={seed}",
                log.join("\n")
            );
        }
        log.push(format!("round {r}: settled in {:.1?}", t.elapsed()));
    }
    if std::env::var_os("CHAOS_VERBOSE").is_some() {
        eprintln!("{}", log.join("\n"));
    }
    // The end: every link heals and calms down, every node comes back.
    for child in cluster.parents.keys().cloned().collect::<Vec<_>>() {
        cluster.set_link(&child, calm_link(&child));
        cluster.set_cut(&child, false);
    }
    for member in cluster.members.clone() {
        if !cluster.is_running(&member) {
            cluster.start_node(&member).await;
        }
    }
    if let Err(why) = cluster.wait_all_converged(settle).await {
        panic!(
            "seed {seed}: the healed network did not converge: {why}\nschedule:\n{}\nreplay with CHAOS_SEED={seed}",
            log.join("\n")
        );
    }
    let views = cluster.full_views();
    outcome.agreement = view::assert_agree(&views);
    ledger.assert_kept(&views);
    cluster.shutdown().await;
    outcome.elapsed = started.elapsed();
    outcome
}
