//! One test (or more) per rule of `shared/domain/RULES.md`: each would fail
//! if its rule broke. Dossiers are built with the helpers of
//! `tests/support`; times are local (Asia/Ho_Chi_Minh, +07:00).
//!
//! Calendar facts used throughout (configs/calendar/2026.toml):
//! - Mon 2 – Fri 6 and Mon 9 – Fri 13 March 2026 are ordinary working days.
//! - Tết: Mon 16 – Fri 20 February 2026 are off (with the weekends around
//!   them, Sat 14 – Sun 22 February); Fri 13 and Mon 23 February are worked.
//! - Quốc khánh: Sat 22 August 2026 is worked (swapped for Mon 31 August);
//!   Mon 31 August, Tue 1 and Wed 2 September are off.
//! - A working day is 07:00–11:30 and 13:30–17:00: 8 hours, 480 minutes.

#[path = "../support/mod.rs"]
mod support;

mod apology;
mod consultation;
mod custody;
mod deadlines;
mod results;
mod robustness;
mod rule_sets;
mod scope;
mod statuses;
mod supplement;
mod timeliness;
mod withdrawal_payment;
