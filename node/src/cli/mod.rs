//! The `lienthong` command line (clap). Each command group has its own
//! module; this one only dispatches.

pub mod accounts;
pub mod api;
pub mod args;
pub mod attachments;
pub mod backup;
pub mod catalogue;
pub mod daemon;
pub mod demo;
pub mod directory;
pub mod export;
pub mod forms;
pub mod init;
pub mod invite;
pub mod messages;
pub mod notices;
pub mod officer;
pub mod render;
pub mod report;
pub mod rotate;
pub mod status;
pub mod view;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Liên Thông: offline-first dossier exchange between commune, district and
/// provincial offices.
#[derive(Debug, Parser)]
#[command(name = "lienthong", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a node's data directory: identity, store, network and catalogue.
    Init(init::InitArgs),
    /// Print this node's id (give it to peers to pin).
    Id(args::DataArgs),
    /// Officers' accounts for the console: add, list.
    #[command(subcommand)]
    Account(accounts::AccountCommand),
    /// Bearer tokens of the JSON API (/api/v1/): add, list, revoke.
    #[command(subcommand)]
    ApiToken(api::ApiTokenCommand),
    /// Copy the node (store, configuration, identity) into a new directory while it runs.
    Backup(backup::BackupArgs),
    /// Make a new data directory from a backup; the node then catches up from its parent.
    Restore(backup::RestoreArgs),
    /// Invite a child office's new node: prints a one-time code for `init --join`.
    Invite(invite::InviteArgs),
    /// Pin, unpin and list peers.
    #[command(subcommand)]
    Peer(init::PeerCommand),
    /// The node directory (which node serves which office, when): list; add and end at the province.
    #[command(subcommand)]
    Directory(directory::DirectoryCommand),
    /// This node's key: rotate (replace it, node stopped).
    #[command(subcommand)]
    Identity(rotate::IdentityCommand),
    /// List the procedure catalogue.
    Procedures(catalogue::ProceduresArgs),
    /// List the office tree.
    Offices(catalogue::OfficesArgs),
    /// Play the whole story on a three-tier network on this machine (no set-up needed).
    Demo(demo::DemoArgs),
    /// Run the node: listen for peers, dial the parent, sync while links allow.
    Run(daemon::RunArgs),
    /// Serve the officers' console alone (`run` serves it too).
    Console(daemon::ConsoleArgs),
    /// Consolidated status per office: received, in progress, overdue, on time (D6).
    Report(report::ReportArgs),
    /// Queue notices (deadlines, results, Form 02, refusals, stops) and list their delivery.
    Notices(notices::NoticesArgs),
    /// Write the national portal's records for a period (JSON lines; docs/portal.md).
    Export(export::ExportArgs),
    /// This node, its daemon and each peer link.
    Status(status::StatusArgs),
    /// Receive a dossier at the desk (Form 01).
    Receive(officer::ReceiveArgs),
    #[command(flatten)]
    Dossier(officer::DossierCommand),
    /// Attach a file (scan, signed result) to a dossier; it travels with the dossier.
    Attach(attachments::AttachArgs),
    /// Write an attachment out to a file, verified by its hash.
    GetAttachment(attachments::GetAttachmentArgs),
    /// Show one dossier: facts, state, timeline, conflicts.
    Show(view::ShowArgs),
    /// List dossiers on this node.
    List(view::ListArgs),
    /// Print or reprint a dossier's forms (Mẫu 01…) as HTML or PDF.
    Form(forms::FormArgs),
}

pub fn run(cli: Cli) -> Result<()> {
    match &cli.command {
        Command::Init(args) => init::init(args),
        Command::Id(args) => init::id(args),
        Command::Account(command) => accounts::run(command),
        Command::ApiToken(command) => api::run(command),
        Command::Backup(args) => backup::backup(args),
        Command::Restore(args) => backup::restore(args),
        Command::Invite(args) => invite::invite(args),
        Command::Peer(command) => init::peer(command),
        Command::Directory(command) => directory::run(command),
        Command::Identity(command) => rotate::identity(command),
        Command::Procedures(args) => catalogue::procedures(args),
        Command::Offices(args) => catalogue::offices(args),
        Command::Demo(args) => demo::run(args),
        Command::Run(args) => daemon::run(args),
        Command::Console(args) => daemon::console(args),
        Command::Report(args) => report::report(args),
        Command::Notices(args) => notices::notices(args),
        Command::Export(args) => export::export(args),
        Command::Status(args) => status::status(args),
        Command::Receive(args) => officer::receive(args),
        Command::Dossier(command) => officer::run(command),
        Command::Attach(args) => attachments::attach(args),
        Command::GetAttachment(args) => attachments::get(args),
        Command::Show(args) => view::show(args),
        Command::List(args) => view::list(args),
        Command::Form(args) => forms::form(args),
    }
}
