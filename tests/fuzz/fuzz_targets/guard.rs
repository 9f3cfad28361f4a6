#![no_main]

use libfuzzer_sys::fuzz_target;
use lienthong_tests::fuzz::alloc::CountingAlloc;
use lienthong_tests::fuzz::panics;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fuzz_target!(|data: &[u8]| panics::libfuzzer(lienthong_tests::fuzz::guard, data));
