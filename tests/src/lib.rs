//! Support for Liên Thông's multi-node tests and benchmarks: the UDP link
//! emulator, the benchmark workload of `../shared/bench/WORKLOAD.md`, the
//! hostile peer of the attack tests, the fuzz targets, and the headless
//! browser the console's end-to-end tests drive.

pub mod browser;
pub mod chaos;
pub mod fuzz;
pub mod hostile;
pub mod linkemu;
pub mod syncbench;
pub mod workload;
