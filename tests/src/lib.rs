//! Support for Liên Thông's multi-node tests and benchmarks: the UDP link
//! emulator, the benchmark workload of `../shared/bench/WORKLOAD.md`, and
//! the hostile peer of the attack tests.

pub mod chaos;
pub mod hostile;
pub mod linkemu;
pub mod syncbench;
pub mod workload;
