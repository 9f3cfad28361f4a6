//! Panics under fuzzing. Since the guard, the session contains Automerge's
//! panics on a peer's data (`guard::contained`: the session is closed, the
//! node goes on), so a panic is a crash only if it escapes the target. The
//! default hook cannot tell: it prints (a backtrace reads the binary's
//! debug information, far past an input's memory budget) and libFuzzer's
//! aborts. [`install_quiet_hook`] only notes where a panic started,
//! without allocating; the harness reports a panic that escapes.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::Target;

const FILE_MAX: usize = 200;

thread_local! {
    static FILE: RefCell<[u8; FILE_MAX]> = const { RefCell::new([0; FILE_MAX]) };
    static WHERE: Cell<Option<(usize, u32, u32)>> = const { Cell::new(None) };
    /// Running a target ([`run`]): panics are noted, not printed.
    static IN_TARGET: Cell<bool> = const { Cell::new(false) };
}

/// Replace the panic hook (once per process) with one that, inside
/// [`run`], notes the location of the latest panic on this thread and
/// prints nothing (elsewhere the previous hook runs).
pub fn install_quiet_hook() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_TARGET.try_with(Cell::get).unwrap_or(false) {
                super::alloc::lift_budget();
                previous(info);
                return;
            }
            if let Some(location) = info.location() {
                let file = location.file().as_bytes();
                let len = file.len().min(FILE_MAX);
                let _ = FILE.try_with(|f| {
                    if let Ok(mut f) = f.try_borrow_mut() {
                        f[..len].copy_from_slice(&file[..len]);
                    }
                });
                let _ = WHERE.try_with(|w| w.set(Some((len, location.line(), location.column()))));
            }
        }));
    });
}

/// Where the latest panic on this thread started (`file:line:column`).
pub fn last_location() -> Option<String> {
    let (len, line, column) = WHERE.with(Cell::get)?;
    let file = FILE.with(|f| String::from_utf8_lossy(&f.borrow()[..len]).into_owned());
    Some(format!("{file}:{line}:{column}"))
}

/// A panic's message.
pub fn message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(no message)".into())
}

/// Run `target` on `data`; a panic that escapes it is reported with its
/// location and message, and `Err` is returned.
pub fn run(target: Target, data: &[u8]) -> Result<(), String> {
    install_quiet_hook();
    IN_TARGET.with(|t| t.set(true));
    let outcome = catch_unwind(AssertUnwindSafe(|| target(data)));
    IN_TARGET.with(|t| t.set(false));
    outcome.map_err(|payload| {
        super::alloc::lift_budget();
        format!(
            "panicked at {}: {}",
            last_location().unwrap_or_else(|| "(unknown location)".into()),
            message(payload.as_ref())
        )
    })
}

/// The libFuzzer entry: a panic that escapes the target aborts (a crash
/// libFuzzer records); panics contained inside it do not.
pub fn libfuzzer(target: Target, data: &[u8]) {
    if let Err(report) = run(target, data) {
        eprintln!("{report}");
        std::process::abort();
    }
}
