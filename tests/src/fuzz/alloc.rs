//! A counting global allocator: how much memory one fuzz input costs.
//!
//! The stable runner and the libFuzzer targets install it with
//! `#[global_allocator]`. [`measure`] runs a closure with a budget: the
//! bytes it may hold live beyond what was live when it started. An
//! allocation past the budget is refused (null), which Rust turns into an
//! abort ("memory allocation of N bytes failed") — the same death a node
//! suffers when a peer makes it allocate what it merely claims, but caught
//! at 64 MiB instead of at the machine's limit. Before refusing, the
//! allocator writes the input being run to the crash file the runner named
//! ([`set_crash_file`]), so the abort leaves its reproduction behind.
//!
//! Counters are per thread (the test harness runs targets on parallel
//! threads); the targets are single-threaded.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ffi::CString;

pub struct CountingAlloc;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    /// Live bytes allowed while measuring (`isize::MAX`: not measuring).
    static CEILING: Cell<isize> = const { Cell::new(isize::MAX) };
    static REFUSED: Cell<usize> = const { Cell::new(0) };
    /// The input being run and where to write it if it is refused memory.
    static INPUT: Cell<(*const u8, usize)> = const { Cell::new((std::ptr::null(), 0)) };
    static CRASH_FILE: Cell<*const libc::c_char> = const { Cell::new(std::ptr::null()) };
}

fn grow(size: usize) -> bool {
    let size = size as isize;
    let ok = LIVE
        .try_with(|live| {
            let ceiling = CEILING.try_with(Cell::get).unwrap_or(isize::MAX);
            let next = live.get().saturating_add(size);
            if next > ceiling {
                return false;
            }
            live.set(next);
            let _ = PEAK.try_with(|peak| peak.set(peak.get().max(next)));
            true
        })
        .unwrap_or(true);
    if !ok {
        refuse(size as usize);
    }
    ok
}

fn shrink(size: usize) {
    let _ = LIVE.try_with(|live| live.set(live.get() - size as isize));
}

/// Called with no allocation allowed: report with raw `write(2)`s.
#[cold]
fn refuse(size: usize) {
    let _ = REFUSED.try_with(|r| r.set(size));
    // What follows (Rust's abort message, a panic's backtrace) needs memory.
    let _ = CEILING.try_with(|c| c.set(isize::MAX));
    let mut digits = [0u8; 20];
    let mut n = size;
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let parts: [&[u8]; 3] = [
        b"\nfuzz: an input asked for ",
        &digits[at..],
        b" more bytes than its memory budget; the allocation is refused (abort follows)\n",
    ];
    for part in parts {
        // SAFETY: writing a valid buffer to stderr.
        unsafe { libc::write(2, part.as_ptr().cast(), part.len()) };
    }
    let path = CRASH_FILE.try_with(Cell::get).unwrap_or(std::ptr::null());
    let (ptr, len) = INPUT.try_with(Cell::get).unwrap_or((std::ptr::null(), 0));
    if path.is_null() || ptr.is_null() {
        return;
    }
    // SAFETY: `path` is a NUL-terminated string leaked by `set_crash_file`;
    // `ptr..ptr+len` is the input slice `measure_input` borrows for the
    // duration of the run.
    unsafe {
        let fd = libc::open(path, libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC, 0o644);
        if fd >= 0 {
            libc::write(fd, ptr.cast(), len);
            libc::close(fd);
            let note = b"fuzz: the input was written to the crash file named by the runner\n";
            libc::write(2, note.as_ptr().cast(), note.len());
        }
    }
}

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !grow(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as ours.
        let ptr = unsafe { System.alloc(layout) };
        if ptr.is_null() {
            shrink(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !grow(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as ours.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if ptr.is_null() {
            shrink(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrink(layout.size());
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            if !grow(new_size - layout.size()) {
                return std::ptr::null_mut();
            }
        } else {
            shrink(layout.size() - new_size);
        }
        // SAFETY: same contract as ours.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if new.is_null() {
            if new_size > layout.size() {
                shrink(new_size - layout.size());
            } else {
                grow(layout.size() - new_size);
            }
        }
        new
    }
}

/// Where the allocator writes an input it refuses memory to (for the
/// rest of this thread's life).
pub fn set_crash_file(path: &std::path::Path) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = CString::new(path.as_os_str().as_bytes()) else {
        return;
    };
    // Leaked on purpose: the allocator may need it at any time.
    let raw = path.into_raw();
    let _ = CRASH_FILE.try_with(|f| f.set(raw));
}

/// What a measured run cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measured {
    /// Highest live bytes above the starting point.
    pub peak: usize,
    /// Is [`CountingAlloc`] the global allocator? (If not, `peak` is 0 and
    /// nothing is enforced.)
    pub counted: bool,
    /// An allocation refused for the budget (the code went on: it used a
    /// fallible allocation), its size.
    pub refused: Option<usize>,
}

impl Measured {
    /// Did the run stay within `limit` bytes (or was nothing counted)?
    pub fn within(&self, limit: usize) -> bool {
        !self.counted || (self.refused.is_none() && self.peak <= limit)
    }
}

/// Lift this thread's budget (a panic hook calls it: printing a backtrace
/// reads the binary's debug information, which takes far more memory than
/// any input may).
pub fn lift_budget() {
    let _ = CEILING.try_with(|c| c.set(isize::MAX));
}

/// Run `f` on `input` allowed `budget` bytes of live memory beyond what
/// is live now; report its peak. Nested calls keep the outer budget.
pub fn measure_input<R>(input: &[u8], budget: usize, f: impl FnOnce() -> R) -> (R, Measured) {
    let start = LIVE.with(Cell::get);
    // Probe: is the counter fed by the global allocator?
    let probe = std::hint::black_box(Box::new([0u8; 64]));
    let counted = LIVE.with(Cell::get) != start;
    drop(probe);
    let restore = Restore {
        ceiling: CEILING.with(Cell::get),
        peak: PEAK.with(Cell::get),
        input: INPUT.with(Cell::get),
    };
    let ceiling = start.saturating_add(budget as isize).min(restore.ceiling);
    CEILING.with(|c| c.set(ceiling));
    PEAK.with(|p| p.set(start));
    REFUSED.with(|r| r.set(0));
    if !input.is_empty() {
        INPUT.with(|i| i.set((input.as_ptr(), input.len())));
    }
    let result = f();
    let peak = PEAK.with(Cell::get);
    let refused = REFUSED.with(|r| r.replace(0));
    drop(restore);
    (
        result,
        Measured {
            peak: (peak - start).max(0) as usize,
            counted,
            refused: (refused > 0).then_some(refused),
        },
    )
}

/// Puts the outer measurement back, also when the measured code panics.
struct Restore {
    ceiling: isize,
    peak: isize,
    input: (*const u8, usize),
}

impl Drop for Restore {
    fn drop(&mut self) {
        let inner_peak = PEAK.with(Cell::get);
        CEILING.with(|c| c.set(self.ceiling));
        PEAK.with(|p| p.set(self.peak.max(inner_peak)));
        INPUT.with(|i| i.set(self.input));
    }
}

/// [`measure_input`] without an input to save.
pub fn measure<R>(budget: usize, f: impl FnOnce() -> R) -> (R, Measured) {
    measure_input(&[], budget, f)
}
