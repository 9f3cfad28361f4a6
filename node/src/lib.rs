//! The Liên Thông node: the store, the officer commands, the sync daemon,
//! reports and the demo. `main.rs` is the thin command-line shell.

pub mod cli;
pub mod config;
pub mod console;
pub mod daemon;
pub mod demo;
pub mod enrol;
pub mod forms;
pub mod gateway;
pub mod i18n;
pub mod local_network;
pub mod node;
pub mod notices;
pub mod portal;
pub mod service;
/// The officer commands under their former name (the service layer).
pub use service as officer;
pub mod replication;
pub mod report;
pub mod store;
