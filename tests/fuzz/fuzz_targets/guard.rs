#![no_main]

use libfuzzer_sys::fuzz_target;
use lienthong_tests::fuzz::alloc::CountingAlloc;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fuzz_target!(|data: &[u8]| lienthong_tests::fuzz::guard(data));
