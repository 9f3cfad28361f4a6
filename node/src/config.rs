//! The node's own configuration: `DIR/node.toml`.
//!
//! ```toml
//! office = "commune:dien-ban/dien-phuong"   # the office this node serves
//! network = "network.toml"                  # office tree, calendar, rule sets (relative to DIR)
//! catalogue = "catalogue.toml"              # procedure catalogue (relative to DIR)
//! listen = "0.0.0.0:7400"                   # QUIC listen address
//!
//! [[peer]]                                  # pinned peers: parent, children, extra
//! role = "parent"
//! office = "district:dien-ban"
//! node_id = "lt1-…"
//! address = "10.0.0.2:7400"                 # needed to dial (parent, extra)
//!
//! [limits]                                  # what peers may cost this node (all optional)
//! max_attachment_bytes = 104857600          # one attachment (100 MiB)
//! max_dossier_attachment_bytes = 524288000  # all attachments of one dossier (500 MiB)
//! peer_new_documents_per_day = 5000         # new documents from one peer per local day
//! peer_bytes_per_day = 4294967296           # bytes from one peer per local day (4 GiB)
//! min_free_disk_bytes = 268435456           # below this free space, accept nothing from peers
//!
//! [console]                                 # the officers' web console (optional)
//! listen = "127.0.0.1:7480"                 # loopback by default; the office LAN address to share it
//!
//! [gateway]                                 # delivering the notice outbox (optional; docs/gateway.md)
//! webhook = "http://127.0.0.1:9000/notices" # POST JSON with an Idempotency-Key header (http:// or https://), or:
//! # command = ["/usr/local/bin/send-sms"]   # the notice as JSON on stdin, exit 0 = delivered
//! timeout_seconds = 10                      # one try, at most
//! max_backoff_seconds = 3600                # retries back off exponentially up to this
//! # ca_file = "/etc/lienthong/gateway-ca.pem" # https: trust this CA (PEM) instead of the system's bundle
//!
//! [portal]                                  # the province: report status changes (docs/portal.md)
//! endpoint = "http://127.0.0.1:9100/portal" # POST one record each, Idempotency-Key per dossier and status
//! # ca_file = "/etc/lienthong/portal-ca.pem"  # https: trust this CA (PEM) instead of the system's bundle
//! ```

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use lienthong_shared::{ConfigError, OfficeId};
use lienthong_sync::transport::congestion::InitialWindow;
use lienthong_sync::transport::identity::NodeId;
use serde::{Deserialize, Serialize};

/// The data directory's layout.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DataDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config_file(&self) -> PathBuf {
        self.root.join("node.toml")
    }

    pub fn store_file(&self) -> PathBuf {
        self.root.join("store.db")
    }

    pub fn identity_dir(&self) -> PathBuf {
        self.root.join("identity")
    }

    /// The next key, made by `identity rotate --prepare` and put in place
    /// by `identity rotate` (issue 8: the province's key in two steps).
    pub fn staged_identity_dir(&self) -> PathBuf {
        self.root.join("identity.next")
    }

    pub fn blob_dir(&self) -> PathBuf {
        self.root.join("blobs")
    }

    pub fn resolve(&self, relative: &Path) -> PathBuf {
        if relative.is_absolute() {
            relative.to_path_buf()
        } else {
            self.root.join(relative)
        }
    }
}

/// How a peer relates to this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeerRole {
    /// The office above: this node dials it.
    Parent,
    /// An office below: it dials this node.
    Child,
    /// Any other pinned peer (a commune that can also reach the province); dialled if it has an address.
    Extra,
}

impl fmt::Display for PeerRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PeerRole::Parent => "parent",
            PeerRole::Child => "child",
            PeerRole::Extra => "extra",
        })
    }
}

/// A pinned peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    pub role: PeerRole,
    /// The office the peer's node serves (decides what it may receive).
    pub office: OfficeId,
    pub node_id: NodeId,
    /// `host:port` to dial; children usually have none.
    pub address: Option<String>,
}

/// What peers may cost this node (`[limits]` in `node.toml`). The
/// defaults sit far above a real office's traffic — a busy commune sends a
/// few hundred dossiers a day — and far below what would exhaust a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest single attachment a dossier from a peer may reference.
    pub max_attachment_bytes: u64,
    /// Largest total of the attachments one dossier from a peer references.
    pub max_dossier_attachment_bytes: u64,
    /// New documents accepted from one peer per local day.
    pub peer_new_documents_per_day: u64,
    /// Bytes accepted from one peer per local day: documents as stored,
    /// plus the declared size of attachments they newly reference.
    pub peer_bytes_per_day: u64,
    /// Free space on the data directory's file system under which nothing
    /// more is accepted from peers (officers' own commands still work).
    pub min_free_disk_bytes: u64,
}

pub const MIB: u64 = 1 << 20;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_attachment_bytes: 100 * MIB,
            max_dossier_attachment_bytes: 500 * MIB,
            peer_new_documents_per_day: 5_000,
            peer_bytes_per_day: 4096 * MIB,
            min_free_disk_bytes: 256 * MIB,
        }
    }
}

impl Limits {
    fn is_default(&self) -> bool {
        *self == Limits::default()
    }
}

/// `node.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConfig {
    pub office: OfficeId,
    pub network: PathBuf,
    pub catalogue: PathBuf,
    pub listen: SocketAddr,
    pub peers: Vec<PeerConfig>,
    pub limits: Limits,
    pub console: ConsoleConfig,
    /// Where the notice outbox is delivered (`[gateway]`); `None`: kept.
    pub gateway: Option<GatewayConfig>,
    /// The national portal's endpoint (`[portal]`, the province node).
    pub portal: Option<PortalConfig>,
    /// The sync links' transport (`[sync]`).
    pub sync: SyncConfig,
}

/// The sync links' transport (`[sync]` in `node.toml`; read when the
/// daemon starts). `docs/operations.md`, "The initial congestion window".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncConfig {
    /// Each connection's initial congestion window, in datagrams of 1,200
    /// bytes (`initial_window`, 10–400, default 200).
    pub initial_window: InitialWindow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
struct RawSync {
    initial_window: u32,
}

impl Default for RawSync {
    fn default() -> Self {
        RawSync {
            initial_window: InitialWindow::DEFAULT.datagrams(),
        }
    }
}

impl RawSync {
    fn is_default(&self) -> bool {
        *self == RawSync::default()
    }
}

/// The national portal export (`[portal]` in `node.toml`): status changes
/// are POSTed, one record each, to `endpoint` (docs/portal.md).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PortalConfig {
    pub endpoint: String,
    #[serde(default = "default_gateway_timeout")]
    pub timeout_seconds: u64,
    #[serde(default = "default_gateway_backoff")]
    pub max_backoff_seconds: u64,
    /// For an `https://` endpoint: the CA (PEM) to trust instead of the
    /// system's bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

impl PortalConfig {
    /// What is wrong with it, in words for the operator.
    pub fn check(&self) -> Result<(), String> {
        GatewayConfig {
            webhook: Some(self.endpoint.clone()),
            command: None,
            timeout_seconds: self.timeout_seconds,
            max_backoff_seconds: self.max_backoff_seconds,
            ca_file: self.ca_file.clone(),
        }
        .check()
        .map_err(|e| {
            e.replace("[gateway] webhook", "[portal] endpoint")
                .replace("[gateway]", "[portal]")
        })
    }
}

/// The notice gateway (`[gateway]` in `node.toml`): exactly one of
/// `webhook` (an `http://` or `https://` URL) and `command` (a program and
/// its arguments).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// The longest one try may take (the request, or the command's run).
    #[serde(default = "default_gateway_timeout")]
    pub timeout_seconds: u64,
    /// The cap of the exponential backoff between tries.
    #[serde(default = "default_gateway_backoff")]
    pub max_backoff_seconds: u64,
    /// For an `https://` webhook: the CA (PEM) to trust instead of the
    /// system's bundle (a self-signed or in-house CA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

fn default_gateway_timeout() -> u64 {
    10
}
fn default_gateway_backoff() -> u64 {
    3600
}

impl GatewayConfig {
    /// What is wrong with it, in words for the operator.
    pub fn check(&self) -> Result<(), String> {
        match (&self.webhook, &self.command) {
            (Some(_), Some(_)) | (None, None) => {
                return Err("[gateway] needs exactly one of `webhook = \"https://…\"` and `command = [\"program\", …]`".into());
            }
            (Some(url), None) if !(url.starts_with("http://") || url.starts_with("https://")) => {
                return Err(format!(
                    "[gateway] webhook {url:?} must be an http:// or https:// URL"
                ));
            }
            (Some(url), None) if self.ca_file.is_some() && !url.starts_with("https://") => {
                return Err(format!(
                    "[gateway] ca_file is for an https:// webhook; {url:?} is plain http (use https://, or remove ca_file)"
                ));
            }
            (None, Some(_)) if self.ca_file.is_some() => {
                return Err("[gateway] ca_file is for an https:// webhook, not a command".into());
            }
            (None, Some(argv)) if argv.first().is_none_or(|p| p.is_empty()) => {
                return Err("[gateway] command must name a program: command = [\"/path/to/program\", \"arg\", …]".into());
            }
            _ => {}
        }
        if !(1..=600).contains(&self.timeout_seconds) {
            return Err(format!(
                "[gateway] timeout_seconds = {} must be between 1 and 600",
                self.timeout_seconds
            ));
        }
        if !(1..=86_400).contains(&self.max_backoff_seconds) {
            return Err(format!(
                "[gateway] max_backoff_seconds = {} must be between 1 and 86400 (a day)",
                self.max_backoff_seconds
            ));
        }
        Ok(())
    }
}

/// The officers' console (`[console]` in `node.toml`): a web app served by
/// `lienthong run` and `lienthong console`. On loopback unless the office
/// puts it on its LAN (`listen = "192.168.1.10:7480"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// Where the console listens (port 0: any free port).
    pub listen: SocketAddr,
}

pub const DEFAULT_CONSOLE_LISTEN: &str = "127.0.0.1:7480";

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            listen: DEFAULT_CONSOLE_LISTEN.parse().expect("constant address"),
        }
    }
}

impl ConsoleConfig {
    fn is_default(&self) -> bool {
        *self == ConsoleConfig::default()
    }
}

pub const DEFAULT_LISTEN: &str = "0.0.0.0:7400";

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    office: OfficeId,
    #[serde(default = "default_network")]
    network: PathBuf,
    #[serde(default = "default_catalogue")]
    catalogue: PathBuf,
    #[serde(default = "default_listen")]
    listen: String,
    #[serde(default, rename = "peer")]
    peers: Vec<RawPeer>,
    #[serde(default, skip_serializing_if = "Limits::is_default")]
    limits: Limits,
    #[serde(default, skip_serializing_if = "ConsoleConfig::is_default")]
    console: ConsoleConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gateway: Option<GatewayConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    portal: Option<PortalConfig>,
    #[serde(default, skip_serializing_if = "RawSync::is_default")]
    sync: RawSync,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawPeer {
    role: PeerRole,
    office: OfficeId,
    node_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    address: Option<String>,
}

fn default_network() -> PathBuf {
    "network.toml".into()
}
fn default_catalogue() -> PathBuf {
    "catalogue.toml".into()
}
fn default_listen() -> String {
    DEFAULT_LISTEN.into()
}

impl NodeConfig {
    pub fn new(office: OfficeId) -> Self {
        NodeConfig {
            office,
            network: default_network(),
            catalogue: default_catalogue(),
            listen: DEFAULT_LISTEN.parse().expect("constant address"),
            peers: Vec::new(),
            limits: Limits::default(),
            console: ConsoleConfig::default(),
            gateway: None,
            portal: None,
            sync: SyncConfig::default(),
        }
    }

    pub fn parse(file: &Path, source: &str) -> Result<Self, ConfigError> {
        let raw: RawConfig =
            toml::from_str(source).map_err(|e| ConfigError::from_toml(file, source, &e))?;
        let listen = raw.listen.parse().map_err(|_| {
            ConfigError::at_text(
                file,
                source,
                &raw.listen,
                format!(
                    "listen = {:?} is not an address like 0.0.0.0:7400",
                    raw.listen
                ),
            )
        })?;
        let mut peers = Vec::new();
        for peer in raw.peers {
            let node_id = peer.node_id.parse::<NodeId>().map_err(|e| {
                ConfigError::at_text(
                    file,
                    source,
                    &peer.node_id,
                    format!("peer {}: {e}", peer.office),
                )
            })?;
            if peers.iter().any(|p: &PeerConfig| p.node_id == node_id) {
                return Err(ConfigError::at_text(
                    file,
                    source,
                    &peer.node_id,
                    format!("node id {node_id} is listed twice; keep one [[peer]] per node"),
                ));
            }
            if peer.role == PeerRole::Parent
                && peers
                    .iter()
                    .any(|p: &PeerConfig| p.role == PeerRole::Parent)
            {
                return Err(ConfigError::at_text(
                    file,
                    source,
                    &peer.node_id,
                    "a node has at most one parent; make the other an `extra` peer",
                ));
            }
            peers.push(PeerConfig {
                role: peer.role,
                office: peer.office,
                node_id,
                address: peer.address,
            });
        }
        if let Some(gateway) = &raw.gateway
            && let Err(problem) = gateway.check()
        {
            return Err(ConfigError::at_text(file, source, "[gateway]", problem));
        }
        if let Some(portal) = &raw.portal
            && let Err(problem) = portal.check()
        {
            return Err(ConfigError::at_text(file, source, "[portal]", problem));
        }
        let initial_window = InitialWindow::new(raw.sync.initial_window).map_err(|e| {
            ConfigError::at_text(file, source, "initial_window", format!("[sync] {e}"))
        })?;
        Ok(NodeConfig {
            office: raw.office,
            network: raw.network,
            catalogue: raw.catalogue,
            listen,
            peers,
            limits: raw.limits,
            console: raw.console,
            gateway: raw.gateway,
            portal: raw.portal,
            sync: SyncConfig { initial_window },
        })
    }

    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let source = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::whole_file(
                path,
                format!("cannot read the node configuration ({e}); is --data the directory made by `lienthong init`?"),
            )
        })?;
        Self::parse(path, &source)
    }

    pub fn to_toml(&self) -> String {
        let raw = RawConfig {
            office: self.office.clone(),
            network: self.network.clone(),
            catalogue: self.catalogue.clone(),
            listen: self.listen.to_string(),
            peers: self
                .peers
                .iter()
                .map(|p| RawPeer {
                    role: p.role,
                    office: p.office.clone(),
                    node_id: p.node_id.to_string(),
                    address: p.address.clone(),
                })
                .collect(),
            limits: self.limits,
            console: self.console,
            gateway: self.gateway.clone(),
            portal: self.portal.clone(),
            sync: RawSync {
                initial_window: self.sync.initial_window.datagrams(),
            },
        };
        let body = toml::to_string_pretty(&raw).unwrap_or_default();
        format!(
            "# Liên Thông node configuration (see `lienthong peer --help` to add peers)\n{body}"
        )
    }

    /// Write atomically (temp file + rename) so a crash never leaves half a config.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension("toml.tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        std::io::Write::write_all(&mut file, self.to_toml().as_bytes())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    }

    pub fn peer(&self, id: &NodeId) -> Option<&PeerConfig> {
        self.peers.iter().find(|p| &p.node_id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_locates_errors() {
        let id = lienthong_sync::transport::identity::NodeIdentity::generate("t")
            .unwrap()
            .node_id();
        let mut config = NodeConfig::new("commune:a/b".parse().unwrap());
        config.peers.push(PeerConfig {
            role: PeerRole::Parent,
            office: "district:a".parse().unwrap(),
            node_id: id,
            address: Some("127.0.0.1:7400".into()),
        });
        let text = config.to_toml();
        assert_eq!(
            NodeConfig::parse(Path::new("node.toml"), &text).unwrap(),
            config
        );

        let bad = "office = \"commune:a/b\"\nlisten = \"nowhere\"\n";
        let error = NodeConfig::parse(Path::new("node.toml"), bad).unwrap_err();
        assert_eq!(error.line, Some(2), "{error}");
        config.limits.peer_new_documents_per_day = 3;
        let text = config.to_toml();
        assert!(text.contains("[limits]"), "{text}");
        assert_eq!(
            NodeConfig::parse(Path::new("node.toml"), &text).unwrap(),
            config
        );
        let partial = "office = \"commune:a/b\"\n[limits]\nmin_free_disk_bytes = 7\n";
        let parsed = NodeConfig::parse(Path::new("node.toml"), partial).unwrap();
        assert_eq!(parsed.limits.min_free_disk_bytes, 7);
        assert_eq!(parsed.limits.max_attachment_bytes, 100 * MIB);
        let typo = "office = \"commune:a/b\"\nlisen = \"0.0.0.0:1\"\n";
        let error = NodeConfig::parse(Path::new("node.toml"), typo).unwrap_err();
        assert_eq!(error.line, Some(2), "{error}");
    }

    #[test]
    fn the_initial_window_is_read_checked_and_written() {
        let file = Path::new("node.toml");
        let plain = NodeConfig::parse(file, "office = \"commune:a/b\"\n").unwrap();
        assert_eq!(plain.sync.initial_window, InitialWindow::DEFAULT);
        assert!(!plain.to_toml().contains("[sync]"), "{}", plain.to_toml());

        let set = "office = \"commune:a/b\"\n[sync]\ninitial_window = 32\n";
        let parsed = NodeConfig::parse(file, set).unwrap();
        assert_eq!(parsed.sync.initial_window.datagrams(), 32);
        let text = parsed.to_toml();
        assert!(
            text.contains("[sync]") && text.contains("initial_window = 32"),
            "{text}"
        );
        assert_eq!(NodeConfig::parse(file, &text).unwrap(), parsed);

        for bad in ["4", "5000"] {
            let source = format!("office = \"commune:a/b\"\n[sync]\ninitial_window = {bad}\n");
            let error = NodeConfig::parse(file, &source).unwrap_err();
            assert_eq!(error.line, Some(3), "{error}");
            let text = error.to_string();
            assert!(
                text.contains(&format!("{bad} datagrams is out of range")),
                "{text}"
            );
            assert!(text.contains("give 10 to 400"), "{text}");
        }
        let typo = "office = \"commune:a/b\"\n[sync]\ninitial_windw = 32\n";
        assert!(NodeConfig::parse(file, typo).is_err());
    }
}
