//! Support for Liên Thông's multi-node tests and benchmarks: the UDP link
//! emulator and the benchmark workload of `../shared/bench/WORKLOAD.md`.

pub mod chaos;
pub mod fuzz;
pub mod linkemu;
pub mod syncbench;
pub mod workload;
