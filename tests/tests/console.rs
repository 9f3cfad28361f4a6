//! The officers' console in a real headless Chromium (issue 9's "Show"):
//! signing in, the refusals that must change nothing, and the story of one
//! dossier from a commune's desk through the district to the province's
//! dashboard, over real QUIC between real nodes.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (`.ci/run` installs
//! them); the screenshots are kept under `target/console-screenshots/`.
//! How to run them: `docs/console.md`.

mod console {
    pub mod http;
    pub mod refusals;
    pub mod sign_in;
    pub mod story;
    pub mod support;
}
