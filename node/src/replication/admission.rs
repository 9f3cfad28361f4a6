//! What this node accepts from a peer (Principle 5 and 9): a dossier only if
//! its scope includes this node, configuration only from above, only
//! documents that read as what they claim to be — and only as much as the
//! node's limits allow (`[limits]` in `node.toml`):
//!
//! - attachment references checked field by field (hash, chunk root, size,
//!   media type, names) and refused over a size per attachment and per
//!   dossier;
//! - per peer per local day, a number of new documents and of bytes;
//! - under a free-space floor on the data directory's file system, nothing.
//!
//! A document refused for a limit that lifts (a quota, the disk floor) is
//! not lost: the peer's incoming checkpoint is held where it was
//! (`store::limits`), so the peer offers it again in the first session
//! after the limit lifts. Officers' own commands never pass through here.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use automerge::{Automerge, ChangeHash};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use lienthong_shared::calendar::WorkingCalendar;
use lienthong_shared::dossier::fold::{self, FoldContext};
use lienthong_shared::dossier::{Dossier, schema};
use lienthong_shared::offices::NetworkConfig;
use lienthong_shared::{OfficeId, scope};
use lienthong_sync::DocumentId;
use lienthong_sync::protocol::{Admission, NewChange, PeerId, Reading};

use super::authorship;
use super::authorship::attested::{self, Authors, AuthorshipViolation, Directory};
use super::config_docs::{self, ConfigFile};
use super::{Clock, DocumentSchema, schema_of};
use crate::config::Limits;
use crate::store::limits::{LimitKind, PeerDay, PeerLimit};
use crate::store::quarantine::MAX_MEDIA_TYPE;
use crate::store::{Reader, Store, StoreError};

/// Longest name (attachment, document component) a peer's dossier may carry.
pub const MAX_NAME: usize = 1024;

pub struct NodeAdmission {
    network: NetworkConfig,
    calendar: WorkingCalendar,
    office: OfficeId,
    peers: HashMap<PeerId, OfficeId>,
    /// Who may author for which office (issue 8).
    directory: Directory,
    limits: Limits,
    clock: Clock,
    /// The store, for quotas, holds and quarantine; without it only the
    /// checks on the document itself apply.
    policy: Option<Policy>,
}

/// A dossier as admission read it, returned by `admit` and handed to the
/// commit with the document (`Received::reading`) so `sync_store::commit_received` does not read it
/// again: the heads it was read at, which the commit compares with the
/// document it stores (a document merged with a stored copy that moved is
/// read again).
#[derive(Debug)]
pub struct AdmittedDossier {
    pub heads: Vec<ChangeHash>,
    pub dossier: Dossier,
}

/// The store side of admission: quotas, the disk floor, quarantine.
struct Policy {
    store: Store,
    limits: Limits,
    data_dir: PathBuf,
    /// Admitted here and not yet seen committed: new documents, and the
    /// attachment bytes they newly reference. Cleared when the peer's
    /// day row moves (a commit) or the day changes.
    uncommitted: HashMap<DocumentId, u64>,
    uncommitted_new: HashSet<DocumentId>,
    seen: (NaiveDate, PeerDay),
    /// The limit recorded as in force for each peer in this session (one
    /// write when it starts, not one per refusal).
    recorded: HashMap<PeerId, LimitKind>,
}

impl NodeAdmission {
    /// `own`: this node's id. Its directory of authors is built from the
    /// network file, the pinned `peers` and itself.
    pub fn new(
        network: NetworkConfig,
        calendar: WorkingCalendar,
        office: OfficeId,
        own: PeerId,
        peers: HashMap<PeerId, OfficeId>,
    ) -> Self {
        let directory = Directory::new(&network, (own, office.clone()), &peers);
        NodeAdmission {
            network,
            calendar,
            directory,
            office,
            peers,
            limits: Limits::default(),
            clock: Clock::system(),
            policy: None,
        }
    }

    /// Judge authors by `directory` instead of the one built from the
    /// network given to [`Self::new`]: the daemon's, read from the network
    /// file in force when the session started (the province's directory
    /// changes without a restart).
    pub fn with_directory(mut self, directory: Directory) -> Self {
        self.directory = directory;
        self
    }

    /// Enforce `limits` with the store at hand (quotas, the disk floor of
    /// `data_dir`, quarantine), judging days by `clock`.
    pub fn with_policy(
        mut self,
        limits: Limits,
        clock: Clock,
        store: Store,
        data_dir: PathBuf,
    ) -> Self {
        self.limits = limits;
        self.clock = clock;
        self.policy = Some(Policy {
            store,
            limits,
            data_dir,
            uncommitted: HashMap::new(),
            uncommitted_new: HashSet::new(),
            seen: (NaiveDate::MIN, PeerDay::default()),
            recorded: HashMap::new(),
        });
        self
    }

    fn dossier(&self, document: &Automerge) -> Result<Dossier, String> {
        let dossier = schema::read(document).map_err(|e| format!("not a readable dossier: {e}"))?;
        let ctx = FoldContext {
            calendar: &self.calendar,
            rule_sets: &self.network.rule_sets,
            now: self.clock.now(),
        };
        let state = fold::fold(&dossier, &ctx);
        let nodes = scope::nodes_in_scope(&dossier, &state, &self.network.offices);
        if !nodes.contains(&self.office) {
            return Err(format!(
                "dossier {} (received at {}) is not in the scope of {}: a dossier goes only to its origin, the offices on its route and their ancestors",
                dossier.facts.code, dossier.facts.origin, self.office
            ));
        }
        check_attachments(&dossier, &self.limits)?;
        Ok(dossier)
    }

    /// The record only grows (issue 8): compared with the dossier as
    /// stored here (`before`), the peer's changes only append events and
    /// attachments. A violation is logged, and refuses the message whole.
    fn history(
        &self,
        peer: &PeerId,
        document: &Automerge,
        before: &[ChangeHash],
        after: &Dossier,
    ) -> Result<(), String> {
        let held = document.fork_at(before).map_err(|e| {
            format!("the dossier as stored here cannot be rebuilt from its heads ({e}); nothing was stored")
        })?;
        // A copy that does not read as a dossier was quarantined on load;
        // only a readable one has a record to keep.
        let Ok(held) = schema::read(&held) else {
            return Ok(());
        };
        authorship::history::check(&held, after).map_err(|violation| {
            let _span = tracing::warn_span!(
                "authorship",
                peer = %lienthong_sync::transport::identity::NodeId::from_bytes(*peer).short(),
                dossier = %after.facts.code,
            )
            .entered();
            tracing::warn!(%violation, "refused a peer's changes that rewrite a dossier's record");
            violation.to_string()
        })
    }

    /// A violation of authorship: logged in a span naming the peer, and the
    /// reason sent back.
    fn violation(&self, peer: &PeerId, what: &str, violation: AuthorshipViolation) -> String {
        let _span = tracing::warn_span!(
            "authorship",
            peer = %lienthong_sync::transport::identity::NodeId::from_bytes(*peer).short(),
            document = %what,
        )
        .entered();
        tracing::warn!(%violation, "refused a peer's changes not attested by their authors");
        violation.to_string()
    }

    fn config(
        &self,
        peer: &PeerId,
        doc: &DocumentId,
        document: &Automerge,
        authors: &Authors,
    ) -> Result<(), String> {
        let file = ConfigFile::from_key(&doc.0).ok_or("unknown configuration document")?;
        attested::check_config(
            &self.directory,
            file.name(),
            authors,
            &self.network.offices.root().id,
        )
        .map_err(|v| self.violation(peer, file.name(), v))?;
        let from_above = self
            .peers
            .get(peer)
            .is_some_and(|office| self.network.offices.is_ancestor_of(office, &self.office));
        if !from_above {
            return Err(format!(
                "the {} configuration flows down from the province; {} is not above this node",
                file.name(),
                self.peers
                    .get(peer)
                    .map_or("this peer".to_string(), |o| o.to_string())
            ));
        }
        let text = config_docs::text_of(document).ok_or("configuration document without text")?;
        file.validate(&text)
            .map_err(|e| format!("the {} configuration does not parse: {e}", file.name()))
    }
}

/// Every attachment reference of a dossier from a peer, field by field,
/// and the size limits. Nothing is allocated per byte or chunk claimed.
pub fn check_attachments(dossier: &Dossier, limits: &Limits) -> Result<(), String> {
    let code = &dossier.facts.code;
    for component in &dossier.facts.documents {
        if component.name.len() > MAX_NAME {
            return Err(format!(
                "dossier {code}: a document component's name is {} bytes long (at most {MAX_NAME})",
                component.name.len()
            ));
        }
    }
    let mut total = 0u64;
    let mut counted = HashSet::new();
    for a in crate::officer::attachments_of(dossier) {
        let what = format!("dossier {code}: attachment {:?}", short(&a.name));
        let hash = valid_hash(&a.hash).ok_or_else(|| {
            format!("{what} has a malformed hash (64 lowercase hex digits expected)")
        })?;
        valid_hash(&a.chunks_root).ok_or_else(|| {
            format!("{what} has a malformed chunk root (64 lowercase hex digits expected)")
        })?;
        if a.media_type.is_empty() || a.media_type.len() > MAX_MEDIA_TYPE {
            return Err(format!(
                "{what} has a media type of {} bytes (1 to {MAX_MEDIA_TYPE})",
                a.media_type.len()
            ));
        }
        if a.name.len() > MAX_NAME {
            return Err(format!(
                "{what}: name of {} bytes (at most {MAX_NAME})",
                a.name.len()
            ));
        }
        if a.size > limits.max_attachment_bytes {
            return Err(format!(
                "{what} is {} bytes, over this node's limit of {} bytes per attachment (max_attachment_bytes)",
                a.size, limits.max_attachment_bytes
            ));
        }
        if counted.insert(hash) {
            total = total.saturating_add(a.size);
        }
    }
    if total > limits.max_dossier_attachment_bytes {
        return Err(format!(
            "dossier {code}: its attachments total {total} bytes, over this node's limit of {} bytes per dossier (max_dossier_attachment_bytes)",
            limits.max_dossier_attachment_bytes
        ));
    }
    Ok(())
}

fn valid_hash(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    lienthong_shared::dossier::attachment::parse_hash(text)
}

fn short(text: &str) -> String {
    text.chars().take(40).collect()
}

/// Free bytes for an unprivileged user on the file system holding `path`.
pub fn free_disk_bytes(path: &std::path::Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
        let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
        // SAFETY: `c_path` is a valid NUL-terminated string and `stat` a
        // buffer of the right type; statvfs(3) writes it only on success.
        let result = unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) };
        if result != 0 {
            return None;
        }
        // SAFETY: statvfs returned 0, so it filled `stat`.
        let stat = unsafe { stat.assume_init() };
        #[allow(clippy::useless_conversion)]
        Some(u64::from(stat.f_bavail).saturating_mul(u64::from(stat.f_frsize)))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// The local day of `now` in `calendar`'s time zone, and when it ends.
pub fn local_day(calendar: &WorkingCalendar, now: DateTime<Utc>) -> (NaiveDate, DateTime<Utc>) {
    let tz = calendar.timezone();
    let day = now.with_timezone(&tz).date_naive();
    let next = day.succ_opt().unwrap_or(day);
    let end = tz
        .from_local_datetime(&next.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map_or(now + chrono::Duration::days(1), |t| t.with_timezone(&Utc));
    (day, end)
}

/// Has the reason for a limit in force gone: its day is over (quotas), or
/// disk space was freed (the floor; with no data directory to look at, it
/// counts as freed)?
pub fn limit_has_lifted(
    limit: &PeerLimit,
    now: DateTime<Utc>,
    limits: &Limits,
    data_dir: Option<&std::path::Path>,
) -> bool {
    if limit.kind == LimitKind::Directory {
        // Released only when the directory changes (`daemon/peers.rs`).
        return false;
    }
    match limit.until {
        Some(until) => now >= until,
        None => data_dir.is_none_or(|dir| under_disk_floor(limits, dir).is_none()),
    }
}

/// Under the free-space floor? `Some(reason)` if so.
pub fn under_disk_floor(limits: &Limits, data_dir: &std::path::Path) -> Option<String> {
    let free = free_disk_bytes(data_dir)?;
    (free < limits.min_free_disk_bytes).then(|| {
        format!(
            "this node's disk is nearly full ({free} bytes free, floor {} bytes: min_free_disk_bytes); it accepts nothing from peers until space is freed",
            limits.min_free_disk_bytes
        )
    })
}

impl Policy {
    fn store_err(e: StoreError) -> String {
        format!("this node cannot check its limits just now ({e}); try again later")
    }

    /// A limit that lifts refused `peer`'s document: record it (once per
    /// session and kind) and hold the checkpoint.
    fn refuse(
        &mut self,
        peer: &PeerId,
        kind: LimitKind,
        reason: String,
        now: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
    ) -> String {
        if self.recorded.get(peer) != Some(&kind) {
            let written = self
                .store
                .write(|w| w.hold_peer(peer, kind, &reason, now, until));
            match written {
                Ok(()) => {
                    self.recorded.insert(*peer, kind);
                    tracing::warn!(peer = %lienthong_sync::transport::identity::NodeId::from_bytes(*peer).short(), limit = kind.as_str(), %reason, "a peer ran into a limit");
                }
                Err(e) => tracing::warn!(error = %e, "could not record a peer's limit"),
            }
        }
        reason
    }

    fn check(
        &mut self,
        peer: &PeerId,
        doc: &DocumentId,
        existed: bool,
        new_attachment_bytes: u64,
        calendar: &WorkingCalendar,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let limits = self.limits;
        if let Some(reason) = under_disk_floor(&limits, &self.data_dir) {
            return Err(self.refuse(peer, LimitKind::DiskFloor, reason, now, None));
        }
        let (day, end) = local_day(calendar, now);
        let today = self
            .store
            .read_now(|r| r.peer_day(peer, day))
            .map_err(Self::store_err)?;
        if (day, today) != self.seen {
            // A commit (or a new day) since: what was pending is counted.
            self.seen = (day, today);
            self.uncommitted.clear();
            self.uncommitted_new.clear();
        }
        let until = end
            .with_timezone(&calendar.timezone())
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
        let is_new = !existed && !self.uncommitted_new.contains(doc);
        if is_new {
            let documents = today.documents + self.uncommitted_new.len() as u64;
            if documents >= limits.peer_new_documents_per_day {
                let reason = format!(
                    "this peer's quota of {} new documents per day (peer_new_documents_per_day) is used up until {until}; offer it again then",
                    limits.peer_new_documents_per_day
                );
                return Err(self.refuse(peer, LimitKind::DocumentsPerDay, reason, now, Some(end)));
            }
        }
        let pending: u64 = self.uncommitted.values().sum();
        // Used up: what was stored today and what is admitted, not yet
        // committed (one document may overshoot; the next is refused).
        if today.bytes.saturating_add(pending) >= limits.peer_bytes_per_day {
            let reason = format!(
                "this peer's quota of {} bytes per day (peer_bytes_per_day) is used up until {until}; offer it again then",
                limits.peer_bytes_per_day
            );
            return Err(self.refuse(peer, LimitKind::BytesPerDay, reason, now, Some(end)));
        }
        if !existed {
            self.uncommitted_new.insert(*doc);
        }
        self.uncommitted.insert(*doc, new_attachment_bytes);
        Ok(())
    }
}

impl Admission for NodeAdmission {
    fn admit(
        &mut self,
        peer: &PeerId,
        doc: &DocumentId,
        document: &Automerge,
        existed: bool,
        before: &[ChangeHash],
        changes: &[NewChange],
    ) -> Result<Option<Reading>, String> {
        // Who wrote each new change, before anything else is read.
        let authors = match attested::check_changes(&self.directory, document, peer, changes) {
            Ok(authors) => authors,
            Err(violation) => {
                // A node the directory does not name (yet) for that time:
                // once the province adds it, what was refused is offered
                // again (the peer is held here until the directory changes).
                let lifts = matches!(
                    violation,
                    AuthorshipViolation::UnknownAuthor { .. } | AuthorshipViolation::NotYet { .. }
                );
                let reason = self.violation(peer, &doc.to_string(), violation);
                let now = self.clock.now();
                return Err(match (&mut self.policy, lifts) {
                    (Some(policy), true) => {
                        policy.refuse(peer, LimitKind::Directory, reason, now, None)
                    }
                    _ => reason,
                });
            }
        };
        if let Some(policy) = &mut self.policy {
            let quarantined = policy
                .store
                .read_now(|r| r.quarantined(&doc.0))
                .map_err(Policy::store_err)?;
            if let Some(q) = quarantined {
                return Err(format!(
                    "this node's copy of {doc} is quarantined ({}); it takes no changes to it until an operator repairs it",
                    q.problem
                ));
            }
        }
        let mut read = None;
        let new_attachment_bytes = match schema_of(document) {
            DocumentSchema::Dossier => {
                let dossier = read.insert(self.dossier(document)?);
                if !before.is_empty() {
                    self.history(peer, document, before, dossier)?;
                }
                attested::check_events(&self.network, document, &authors)
                    .map_err(|v| self.violation(peer, &dossier.facts.code, v))?;
                match &mut self.policy {
                    Some(policy) => policy
                        .store
                        .read_now(|r| new_attachment_bytes(r, dossier))
                        .map_err(Policy::store_err)?,
                    None => 0,
                }
            }
            DocumentSchema::Config => {
                self.config(peer, doc, document, &authors)?;
                0
            }
            DocumentSchema::Unknown => {
                return Err("not a Liên Thông document (unknown schema)".into());
            }
        };
        let now = self.clock.now();
        let calendar = &self.calendar;
        if let Some(policy) = &mut self.policy {
            policy.check(peer, doc, existed, new_attachment_bytes, calendar, now)?;
        }
        Ok(read.map(|dossier| {
            let heads = document.get_heads();
            Box::new(AdmittedDossier { heads, dossier }) as Reading
        }))
    }
}

/// The declared bytes of the attachments `dossier` references that no
/// stored document references yet (what admitting it would make this node
/// fetch).
pub fn new_attachment_bytes(r: &Reader<'_>, dossier: &Dossier) -> Result<u64, StoreError> {
    let mut seen = HashSet::new();
    let mut bytes = 0u64;
    for a in crate::officer::attachments_of(dossier) {
        let Some(hash) = lienthong_shared::dossier::attachment::parse_hash(&a.hash) else {
            continue;
        };
        if seen.insert(hash) && !r.blob_referenced(&hash)? {
            bytes = bytes.saturating_add(a.size);
        }
    }
    Ok(bytes)
}
