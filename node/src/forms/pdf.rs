//! A form as PDF, printed by a headless Chromium when one is installed.
//! The HTML is written to a private temporary directory and printed from
//! there (`file://`), so no session or network is involved; the browser
//! gets its own throw-away profile and is stopped if it takes too long.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use super::layout::FORM_SERIF_FAMILIES;

/// The environment variable naming the browser to print with.
pub const BROWSER_ENV: &str = "LIENTHONG_CHROMIUM";

/// Browsers tried, in order, on the `PATH`.
const BROWSERS: [&str; 4] = ["chromium", "chromium-browser", "google-chrome", "chrome"];

/// How long one print may take.
pub const PRINT_TIMEOUT: Duration = Duration::from_secs(60);

/// Largest PDF read back (a form is a page or two; the register a few dozen).
const MAX_PDF_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("no headless Chromium is installed (looked for {BROWSER_ENV}, then {})", BROWSERS.join(", "))]
    NoBrowser,
    #[error("{0}")]
    Failed(String),
}

/// The browser to print with: `$LIENTHONG_CHROMIUM`, else the first of
/// chromium, chromium-browser, google-chrome, chrome on the `PATH`.
pub fn find_browser() -> Option<PathBuf> {
    if let Some(given) = std::env::var_os(BROWSER_ENV) {
        let path = PathBuf::from(given);
        return path.is_file().then_some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| BROWSERS.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// One print at a time per process: a browser costs a hundred megabytes or
/// more, and an office prints a form at a time; others wait their turn.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Whether the family fontconfig gives for Times New Roman (`fc-match -f
/// '%{family}'`, a comma-separated list of names) keeps its metrics.
fn keeps_form_metrics(families: &str) -> bool {
    families.split(',').any(|family| {
        FORM_SERIF_FAMILIES
            .iter()
            .any(|known| family.trim().eq_ignore_ascii_case(known))
    })
}

/// Once per process, before the first print: warn the operator when the
/// machine has no font with Times New Roman's metrics, so that forms
/// printed here may take more sheets than on an office's PC. Says nothing
/// when fontconfig cannot be asked (the browser then finds what it finds).
fn check_form_fonts() {
    static CHECKED: Once = Once::new();
    CHECKED.call_once(|| {
        let answer = Command::new("fc-match")
            .args(["-f", "%{family}", "Times New Roman"])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output();
        let Ok(answer) = answer else { return };
        let families = String::from_utf8_lossy(&answer.stdout);
        if answer.status.success() && !keeps_form_metrics(&families) {
            let [face, alike @ ..] = FORM_SERIF_FAMILIES;
            tracing::warn!(
                fallback = %families,
                "the forms are set in {face}, and neither it nor a font with its metrics ({}) is \
                 installed: printed forms use the fallback and may run onto more sheets (Mẫu 01 \
                 onto two); install Debian's fonts-liberation",
                alike.join(", ")
            );
        }
    });
}

/// Print `html` to PDF with `browser`.
pub fn print(browser: &Path, html: &str) -> Result<Vec<u8>, PdfError> {
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    check_form_fonts();
    let failed = |what: &str, e: &dyn std::fmt::Display| PdfError::Failed(format!("{what}: {e}"));
    let dir = tempfile::tempdir().map_err(|e| failed("a temporary directory", &e))?;
    let page = dir.path().join("form.html");
    let out = dir.path().join("form.pdf");
    let profile = dir.path().join("profile");
    std::fs::write(&page, html).map_err(|e| failed("writing the page", &e))?;
    let url = format!("file://{}", page.display());
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--print-to-pdf={}", out.display()))
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| failed(&format!("starting {}", browser.display()), &e))?;
    let deadline = Instant::now() + PRINT_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(PdfError::Failed(format!(
                    "{} did not finish within {} s",
                    browser.display(),
                    PRINT_TIMEOUT.as_secs()
                )));
            }
            Err(e) => return Err(failed("waiting for the browser", &e)),
        }
    };
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    if size == 0 {
        return Err(PdfError::Failed(format!(
            "{} wrote no PDF (exit status {status})",
            browser.display()
        )));
    }
    if size > MAX_PDF_BYTES {
        return Err(PdfError::Failed(format!(
            "the PDF is {size} bytes, over the limit"
        )));
    }
    let pdf = std::fs::read(&out).map_err(|e| failed("reading the PDF", &e))?;
    if !pdf.starts_with(b"%PDF-") {
        return Err(PdfError::Failed("the browser's output is not a PDF".into()));
    }
    Ok(pdf)
}

#[cfg(test)]
mod tests {
    use super::keeps_form_metrics;

    #[test]
    fn only_fonts_with_times_new_roman_s_metrics_keep_the_forms_sheets() {
        assert!(keeps_form_metrics("Liberation Serif"));
        assert!(keeps_form_metrics("Times New Roman"));
        assert!(keeps_form_metrics("Tinos,Tinos Regular"));
        assert!(keeps_form_metrics(" liberation serif "));
        // What a machine without them falls back to (found on one, 8 Dec
        // 2026: Mẫu 01 on two sheets in DejaVu Serif, and in Noto Serif).
        assert!(!keeps_form_metrics("DejaVu Serif"));
        assert!(!keeps_form_metrics("Noto Serif,Noto Serif Display"));
        assert!(!keeps_form_metrics(""));
    }
}
