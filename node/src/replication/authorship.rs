//! Attributable history (issue 8): who may have written what, and the words
//! for it.

pub mod attested;
pub mod authors;
pub mod directory;
pub mod history;
pub mod messages;
