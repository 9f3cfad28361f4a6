//! A node's data directory opened for work: its configuration, the office
//! tree, catalogue and calendar it judges dossiers by, its identity, and
//! its store.

use std::path::Path;

use automerge::ActorId;
use chrono::{DateTime, Utc};
use lienthong_shared::calendar::{CalendarError, WorkingCalendar, WorkingHours};
use lienthong_shared::catalogue::Catalogue;
use lienthong_shared::dossier::fold::FoldContext;
use lienthong_shared::offices::{NetworkConfig, Office};
use lienthong_shared::{ConfigError, OfficeId};
use lienthong_sync::transport::identity::{IdentityError, NodeId, NodeIdentity};

use crate::config::{DataDir, NodeConfig};
use crate::store::{Store, StoreError};

/// Why a node cannot be opened or created.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("node identity: {0}")]
    Identity(#[from] IdentityError),
    #[error("working calendar: {0}")]
    Calendar(#[from] CalendarError),
    #[error(
        "{dir} is not a Liên Thông data directory (no node.toml): run `lienthong init --data {dir} --office OFFICE --network FILE` first"
    )]
    NotInitialised { dir: String },
    #[error(
        "{dir} already holds a node (node.toml exists); choose another --data directory or remove it deliberately"
    )]
    AlreadyInitialised { dir: String },
    #[error(
        "office {office} is not in the network file {network}; pick one of its offices (lienthong offices --network FILE lists them)"
    )]
    UnknownOffice { office: OfficeId, network: String },
    #[error(
        "office {office} is served by the node of {served_by}, not by a node of its own; initialise the node for {served_by}"
    )]
    NotANodeOffice {
        office: OfficeId,
        served_by: OfficeId,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = NodeError> = std::result::Result<T, E>;

/// Which face an officer's command came through: counted per face in the
/// metrics (`lienthong_officer_operations_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Face {
    /// The `lienthong` commands (and the demo).
    #[default]
    Cli,
    /// The officers' web console (set by `console::AppState::run`).
    Console,
    /// The JSON API (set by `console::api`).
    Api,
}

impl Face {
    pub fn as_str(self) -> &'static str {
        match self {
            Face::Cli => "cli",
            Face::Console => "console",
            Face::Api => "api",
        }
    }
}

/// An open node.
pub struct Node {
    pub dir: DataDir,
    pub config: NodeConfig,
    pub network: NetworkConfig,
    pub catalogue: Catalogue,
    pub calendar: WorkingCalendar,
    pub identity: NodeIdentity,
    pub store: Store,
    /// The face the next officer's command comes through.
    pub face: Face,
}

/// Where the network and catalogue of a new node come from.
pub struct InitSources<'a> {
    /// Network file text and the name it is reported under.
    pub network: (&'a str, &'a Path),
    pub catalogue: (&'a str, &'a Path),
}

impl Node {
    /// Create a node in `dir` (created if needed, must not hold a node yet).
    pub fn init(dir: &Path, office: &OfficeId, sources: InitSources<'_>) -> Result<Node> {
        let identity = NodeIdentity::generate(office.as_str())?;
        Self::init_with_identity(dir, office, sources, identity)
    }

    /// [`Self::init`] with an identity made beforehand (enrolment: the
    /// parent pinned it before the node existed).
    pub fn init_with_identity(
        dir: &Path,
        office: &OfficeId,
        sources: InitSources<'_>,
        identity: NodeIdentity,
    ) -> Result<Node> {
        let data = DataDir::new(dir);
        if data.config_file().exists() {
            return Err(NodeError::AlreadyInitialised {
                dir: dir.display().to_string(),
            });
        }
        let (network_text, network_name) = sources.network;
        let (catalogue_text, catalogue_name) = sources.catalogue;
        let network = NetworkConfig::parse(network_name, network_text)?;
        Catalogue::parse(catalogue_name, catalogue_text)?;
        let office_entry = network
            .offices
            .get(office)
            .ok_or_else(|| NodeError::UnknownOffice {
                office: office.clone(),
                network: network_name.display().to_string(),
            })?;
        if office_entry.served_by != office_entry.id {
            return Err(NodeError::NotANodeOffice {
                office: office.clone(),
                served_by: office_entry.served_by.clone(),
            });
        }
        let io = |what: String| move |source| NodeError::Io { what, source };
        create_private_dir(dir).map_err(io(format!("cannot create {}", dir.display())))?;
        identity.save(&data.identity_dir())?;
        let config = NodeConfig::new(office.clone());
        std::fs::write(data.resolve(&config.network), network_text)
            .map_err(io("cannot write the network file".into()))?;
        std::fs::write(data.resolve(&config.catalogue), catalogue_text)
            .map_err(io("cannot write the catalogue file".into()))?;
        Store::create(&data.store_file())?;
        // node.toml last: its presence marks a complete data directory.
        config
            .save(&data.config_file())
            .map_err(io("cannot write node.toml".into()))?;
        Node::open(dir)
    }

    /// Open an initialised data directory.
    pub fn open(dir: &Path) -> Result<Node> {
        Self::open_with_config(dir, &DataDir::new(dir).config_file())
    }

    /// Open a data directory with its node configuration at `config_path`
    /// (`lienthong run --config FILE`).
    pub fn open_with_config(dir: &Path, config_path: &Path) -> Result<Node> {
        let data = DataDir::new(dir);
        if !config_path.exists() {
            return Err(NodeError::NotInitialised {
                dir: dir.display().to_string(),
            });
        }
        let config = NodeConfig::load(config_path)?;
        let network = NetworkConfig::load(&data.resolve(&config.network))?;
        let catalogue = Catalogue::load(&data.resolve(&config.catalogue))?;
        if network.offices.get(&config.office).is_none() {
            return Err(NodeError::UnknownOffice {
                office: config.office.clone(),
                network: data.resolve(&config.network).display().to_string(),
            });
        }
        let calendar = calendar_for(&data, &network)?;
        tighten_permissions(&data);
        let identity = NodeIdentity::load(&data.identity_dir())?;
        let mut store = Store::open(&data.store_file())?;
        // Every change this node writes is signed with its key (issue 8).
        store.set_signer(std::sync::Arc::new(
            lienthong_sync::protocol::attest::Signer::new(identity.attestation_key_pair()?),
        ));
        Ok(Node {
            dir: data,
            config,
            network,
            catalogue,
            calendar,
            identity,
            store,
            face: Face::default(),
        })
    }

    pub fn office(&self) -> &OfficeId {
        &self.config.office
    }

    pub fn node_id(&self) -> NodeId {
        self.identity.node_id()
    }

    /// This node's Automerge actor: derived from its public key, so every
    /// change in a dossier's history names the node that made it.
    pub fn actor(&self) -> ActorId {
        ActorId::from(self.node_id().actor_bytes().as_slice())
    }

    /// The offices this node acts for (itself and the agencies it serves).
    pub fn served_offices(&self) -> Vec<&Office> {
        self.network.offices.offices_served_by(&self.config.office)
    }

    /// The ids of [`Self::served_offices`].
    pub fn served_ids(&self) -> Vec<OfficeId> {
        self.served_offices().iter().map(|o| o.id.clone()).collect()
    }

    pub fn serves(&self, office: &OfficeId) -> bool {
        self.network.offices.served_by(office) == Some(&self.config.office)
    }

    /// The store to write with, and the rules to judge by at `now`: borrowed
    /// apart so a write transaction can fold dossiers.
    pub fn split(
        &mut self,
        now: DateTime<Utc>,
    ) -> (
        &mut Store,
        FoldContext<'_>,
        &lienthong_shared::offices::OfficeTree,
    ) {
        let Node {
            store,
            calendar,
            network,
            ..
        } = self;
        let ctx = FoldContext {
            calendar,
            rule_sets: &network.rule_sets,
            now,
        };
        (store, ctx, &network.offices)
    }

    /// How to say things to this node's officers in `lang`: its time zone,
    /// its office names.
    pub fn locale(&self, lang: crate::i18n::Lang) -> crate::i18n::Locale<'_> {
        crate::i18n::Locale::new(lang, self.calendar.timezone(), &self.network.offices)
    }

    pub fn fold_context(&self, now: DateTime<Utc>) -> FoldContext<'_> {
        FoldContext {
            calendar: &self.calendar,
            rule_sets: &self.network.rule_sets,
            now,
        }
    }
}

/// Create `dir` (and missing parents) owner-only (0700).
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    // An existing directory (created by the operator) is tightened too.
    set_mode_if_looser(dir, 0o700);
    Ok(())
}

/// Make a data directory made by an older version (0755, a store 0644)
/// owner-only: the directory 0700, the store and its WAL files 0600. Says
/// so in the log; a file it cannot change is reported, not fatal.
pub fn tighten_permissions(data: &DataDir) {
    set_mode_if_looser(data.root(), 0o700);
    let store = data.store_file();
    let mut files = vec![store.clone(), data.config_file()];
    for suffix in ["-wal", "-shm", "-lock"] {
        let mut name = store.clone().into_os_string();
        name.push(suffix);
        files.push(name.into());
    }
    for file in files {
        set_mode_if_looser(&file, 0o600);
    }
}

#[cfg(unix)]
fn set_mode_if_looser(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    let current = meta.permissions().mode() & 0o777;
    if current & 0o077 == 0 {
        return;
    }
    match std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
        Ok(()) => tracing::warn!(
            path = %path.display(),
            was = format!("{current:03o}"),
            now = format!("{mode:03o}"),
            "tightened permissions: the store holds applicants' personal data"
        ),
        Err(e) => tracing::warn!(
            path = %path.display(),
            mode = format!("{current:03o}"),
            error = %e,
            "readable by other users and cannot be tightened; run `chmod go-rwx` on it"
        ),
    }
}

#[cfg(not(unix))]
fn set_mode_if_looser(_path: &Path, _mode: u32) {}

/// The calendar: `DIR/calendar/*.toml` if the operator put one there,
/// otherwise the shipped years, with the network's time zone and hours.
fn calendar_for(data: &DataDir, network: &NetworkConfig) -> Result<WorkingCalendar> {
    let hours = WorkingHours::parse(&network.calendar.working_hours)?;
    let custom = data.root().join("calendar");
    if custom.is_dir() {
        return Ok(WorkingCalendar::load_dir(
            &custom,
            network.calendar.timezone,
            hours,
        )?);
    }
    Ok(WorkingCalendar::builtin_with(
        network.calendar.timezone,
        hours,
    ))
}
