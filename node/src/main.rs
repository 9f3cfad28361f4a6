//! `lienthong`: the node binary.

use std::process::ExitCode;

use clap::Parser;
use lienthong::cli::{self, Cli};

fn main() -> ExitCode {
    reset_sigpipe();
    let cli = Cli::parse();
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let message = error.to_string();
            eprintln!("error: {message}");
            // Errors that wrap another and already quote it (`{0}: …`) would
            // otherwise print the same text twice.
            for cause in error.chain().skip(1) {
                let cause = cause.to_string();
                if !message.contains(&cause) {
                    eprintln!("  caused by: {cause}");
                }
            }
            ExitCode::FAILURE
        }
    }
}

/// `lienthong list | head` must end quietly when the reader goes away, as
/// other command-line tools do, instead of panicking on a closed pipe.
fn reset_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called once at start-up before any thread exists; SIG_DFL is
    // a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
