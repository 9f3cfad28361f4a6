//! The Liên Thông domain: what a dossier (hồ sơ) is and the rules it follows.
//!
//! This crate knows nothing of networks or storage. Every rule that depends
//! on time takes `now` as a parameter; nothing here reads the clock.

pub mod builtin;
pub mod calendar;
pub mod catalogue;
pub mod code;
pub mod config_error;
pub mod directory;
pub mod dossier;
pub mod office_id;
pub mod offices;
pub mod rule_set;
pub mod scope;

pub use config_error::ConfigError;
pub use office_id::OfficeId;
