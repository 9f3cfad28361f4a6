//! Support for the hostile-peer tests (`tests/tests/hostile/`, issue 7's
//! "Show"): a compromised commune — it holds the commune's real pinned key
//! — attacks its district's `lienthong run` process over real QUIC and TLS.
//!
//! - [`world`]: the district and commune, set up with the CLI and synced
//!   once honestly (a template copied per test); valid dossiers built in
//!   scratch copies of the commune for the attacks that need them;
//! - [`peer`]: the attacker's connection and its hand-written frames;
//! - [`wire`]: hand-made Automerge bytes (sync messages, Bloom filters, a
//!   DEFLATE bomb);
//! - [`victim`]: the district daemon under an address-space limit, its
//!   peak memory, its store's fingerprint, its `status`;
//! - [`Trial`]: one attack from start to verdict, with every check the
//!   issue asks for.

pub mod peer;
pub mod victim;
pub mod wire;
pub mod world;

use std::time::{Duration, Instant};

use lienthong_sync::DocumentId;
use lienthong_sync::protocol::Frame;

use self::peer::HostilePeer;
use self::victim::{Fingerprint, MAX_GROWTH, Victim, tail};
use self::world::{COMMUNE, World};

/// How the victim must end the attack's session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The victim closes the connection (a peer that broke the protocol is
    /// disconnected).
    Closed,
    /// The victim refuses the offending document (a refusal naming it in
    /// its log) or closes the session: what a guard may choose for input
    /// over a limit rather than plainly hostile, and admission policy.
    RefusedOrClosed(DocumentId),
}

/// One attack on a fresh world: start, attack, verdict.
pub struct Trial {
    pub name: &'static str,
    pub world: World,
    pub victim: Victim,
    /// Peak memory once up and idle, before the attack.
    pub baseline: u64,
    pub before: Fingerprint,
    started: Instant,
    /// Check that the honest commune still syncs (false when the attack
    /// rightly leaves it refused, as a quota does: then a fresh session
    /// must still be answered).
    pub honest_sync_expected: bool,
    /// Wall-clock start (whole seconds: `status` rounds), for "recorded
    /// after the attack began".
    started_at: chrono::DateTime<chrono::Utc>,
}

/// How long the victim has to end an offending session.
pub const CLOSE_DEADLINE: Duration = Duration::from_secs(20);

impl Trial {
    /// A fresh copy of the world and its district running under the limit.
    pub async fn start(name: &'static str) -> Trial {
        Self::start_with_config(name, "").await
    }

    /// [`Self::start`], with `extra` appended to the district's node.toml.
    pub async fn start_with_config(name: &'static str, extra: &str) -> Trial {
        Self::start_prepared(name, extra, |_| {}).await
    }

    /// [`Self::start_with_config`], with `prepare` run on the world before
    /// the district starts (an officer's action at the district, say).
    pub async fn start_prepared(
        name: &'static str,
        extra: &str,
        prepare: impl FnOnce(&World),
    ) -> Trial {
        let world = World::fresh();
        prepare(&world);
        if !extra.is_empty() {
            let path = world.district.join("node.toml");
            let mut config = std::fs::read_to_string(&path).expect("the district's node.toml");
            config.push_str(extra);
            std::fs::write(&path, config).expect("write node.toml");
        }
        let victim = Victim::start(&world.district, &world.log()).await;
        let baseline = victim
            .peak_memory()
            .expect("the victim's VmHWM in /proc (Linux only)");
        let before = victim.fingerprint();
        assert_eq!(
            before.documents, 1,
            "precondition: the district holds the seeded dossier"
        );
        Trial {
            name,
            world,
            victim,
            baseline,
            before,
            honest_sync_expected: true,
            started: Instant::now(),
            started_at: chrono::Utc::now() - chrono::Duration::seconds(1),
        }
    }

    /// The attacker: the commune's key, dialling the district.
    pub async fn attacker(&self) -> HostilePeer {
        HostilePeer::connect(
            &self.world.commune_identity,
            self.world.district_id,
            self.victim.process.addr,
        )
        .await
        .unwrap_or_else(|e| panic!("{}: the attacker could not connect: {e}", self.name))
    }

    /// The attacker, connected, reading in the background, its Hello sent
    /// (claiming to hold all of the victim's feed, so the victim offers
    /// nothing unasked).
    pub async fn attacker_after_hello(&self) -> HostilePeer {
        let mut peer = self.attacker().await;
        peer.read_in_background();
        assert!(
            peer.send([HostilePeer::hello(0, 1_000_000)]).await,
            "{}: the victim took no Hello",
            self.name
        );
        peer
    }

    /// An offer of the seeded dossier (which the victim holds) carrying
    /// `message`, at a sequence past the victim's checkpoint.
    pub fn offer_seeded(&self, message: Vec<u8>) -> Frame {
        Frame::Offer {
            seq: self.world.seed.commune_feed + 1_000,
            doc: DocumentId(self.world.seed.dossier),
            message,
        }
    }

    /// Every check of the "Show", in order; panics on the first
    /// that fails, saying what happened.
    /// 1. the node stays up;
    /// 2. its peak memory grew by less than 100 MiB;
    /// 3. it ended the session as `ending` says, with a reason recorded
    ///    (`status` shows the link's last error) and no panic in its log;
    /// 4. nothing of the attack is stored (`stored` checks the store:
    ///    by default, unchanged);
    /// 5. it still syncs with the honest commune;
    /// 6. killed and started again, it comes up and answers a session.
    pub async fn verdict(
        mut self,
        mut peer: HostilePeer,
        ending: Ending,
        stored: impl FnOnce(&Trial, &Fingerprint) -> Result<(), String>,
    ) {
        let name = self.name;
        eprintln!("{name}: attack sent, {} bytes on the wire", peer.wire_bytes);
        let closed = self.await_ending(&mut peer, ending).await;
        let log = self.victim.log_text();
        let peak = self.victim.peak_memory().unwrap_or(0);
        let growth = peak.saturating_sub(self.baseline);
        eprintln!(
            "{name}: peak memory {} MiB → {} MiB (+{} MiB); session: {}",
            self.baseline >> 20,
            peak >> 20,
            growth >> 20,
            closed.as_deref().unwrap_or("left open by the victim")
        );
        assert!(
            !log.contains("panicked at"),
            "{name}: input from a peer panicked the node: {}",
            log.lines()
                .find(|l| l.contains("panicked at"))
                .unwrap_or_default()
        );
        assert!(
            growth < MAX_GROWTH,
            "{name}: the node's peak memory grew by {} MiB (limit {} MiB)",
            growth >> 20,
            MAX_GROWTH >> 20
        );
        match ending {
            Ending::Closed => assert!(
                closed.is_some(),
                "{name}: the victim did not close the offending session within {CLOSE_DEADLINE:?}; \
                 the end of its log:\n{}",
                tail(&log, 10)
            ),
            Ending::RefusedOrClosed(doc) => assert!(
                closed.is_some() || self.refusal_logged(ending),
                "{name}: the victim neither refused document {doc} nor closed the session \
                 within {CLOSE_DEADLINE:?}; the end of its log:\n{}",
                tail(&log, 10)
            ),
        }
        peer.close().await;
        self.assert_reason_recorded(ending).await;
        let log = self.victim.log_text();
        assert!(
            !log.contains("panicked at"),
            "{name}: the node panicked after the session: {}",
            log.lines()
                .find(|l| l.contains("panicked at"))
                .unwrap_or_default()
        );
        let after = self.victim.fingerprint();
        if let Err(e) = stored(&self, &after) {
            panic!("{name}: {e}\nbefore: {:?}\nafter:  {after:?}", self.before);
        }
        self.alive_or_panic();
        if self.honest_sync_expected {
            self.world
                .honest_sync(&self.victim)
                .await
                .unwrap_or_else(|e| {
                    panic!("{name}: the node no longer syncs with an honest peer: {e}")
                });
        } else {
            peer::answers(
                &self.world.commune_identity,
                self.world.district_id,
                self.victim.process.addr,
            )
            .await
            .unwrap_or_else(|e| panic!("{name}: the node no longer answers a session: {e}"));
        }
        self.victim.restart().await;
        peer::answers(
            &self.world.commune_identity,
            self.world.district_id,
            self.victim.process.addr,
        )
        .await
        .unwrap_or_else(|e| panic!("{name}: after a restart the node does not answer: {e}"));
        self.alive_or_panic();
        eprintln!("{name}: survived in {:?}", self.started.elapsed());
    }

    fn alive_or_panic(&mut self) {
        if let Err(e) = self.victim.alive() {
            panic!("{}: {e}", self.name);
        }
    }

    /// Wait until the session ends as expected (or the node dies): the
    /// victim's close reason, if it closed.
    async fn await_ending(&mut self, peer: &mut HostilePeer, ending: Ending) -> Option<String> {
        let deadline = Instant::now() + CLOSE_DEADLINE;
        loop {
            self.alive_or_panic();
            if let Some(reason) = peer.closed_by_victim() {
                return Some(reason);
            }
            if self.refusal_logged(ending) {
                return None;
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The ending allows a refusal, and the victim's log has one naming
    /// the offending document.
    fn refusal_logged(&self, ending: Ending) -> bool {
        let Ending::RefusedOrClosed(doc) = ending else {
            return false;
        };
        let id = doc.to_string();
        self.victim
            .log_text()
            .lines()
            .any(|l| l.to_ascii_lowercase().contains("refus") && l.contains(&id))
    }

    async fn assert_reason_recorded(&mut self, ending: Ending) {
        let name = self.name;
        if self.refusal_logged(ending) {
            return;
        }
        // `status` shows why the link with the commune last ended (since
        // the attack began: the template's honest sync left one too).
        let victim = &self.victim;
        let since = self.started_at;
        let reason = crate::chaos::wait_for(
            "the session's end recorded in status",
            Duration::from_secs(15),
            Duration::from_millis(100),
            || {
                let link = victim.peer_status(COMMUNE)?;
                match (&link.error, link.error_at) {
                    (Some(error), Some(at))
                        if !link.connected && at >= since && !error.trim().is_empty() =>
                    {
                        Ok(error.clone())
                    }
                    _ => Err(format!("{link:?}")),
                }
            },
        )
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{name}: {e}; the end of its log:\n{}",
                tail(&self.victim.log_text(), 10)
            )
        });
        eprintln!("{name}: status shows: {reason}");
    }
}

/// The default for [`Trial::verdict`]: the store is exactly as before.
pub fn unchanged(trial: &Trial, after: &Fingerprint) -> Result<(), String> {
    if after == &trial.before {
        Ok(())
    } else {
        Err("the attack changed the store".into())
    }
}

/// Run a test body on its own runtime (as the chaos tests do).
pub fn run<F: std::future::Future<Output = ()>>(body: F) {
    crate::chaos::run(body)
}
