//! Chaos tests: real nodes (in-process daemons and `lienthong run` child
//! processes), real QUIC with pinned mutual TLS, every link through the
//! seeded UDP link emulator. What each test proves, how long it takes and
//! how to run many seeds: `docs/chaos.md`.

mod attachments;
mod kill;
mod links;
mod partition;
mod recovery;
mod schedule;
