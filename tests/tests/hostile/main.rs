//! Hostile peers (issue 7, "Show"): a compromised commune, holding the
//! commune's real pinned key, attacks its district's `lienthong run`
//! process over real QUIC and TLS. For every attack the district must stay
//! up, its peak memory grow by less than 100 MiB, the offending session end
//! with a reason recorded, nothing of the attack be stored, honest sync go
//! on, and a restart come up clean ([`Trial::verdict`]).
//!
//! The victim runs under a 1.5 GiB address-space limit, so an attack that
//! would exhaust a real node kills the victim at once instead of the CI
//! machine. What each attack is, which guard stops it, and what happened
//! without the guard: `docs/hostile.md`.
//!
//! [`Trial::verdict`]: lienthong_tests::hostile::Trial::verdict

mod admission;
mod automerge_input;
mod forgery;
mod framing;
mod peer_limits;
