//! A real headless Chromium for the console's end-to-end tests, driven
//! over WebDriver (Debian's `chromium` and `chromium-driver`, installed by
//! `.ci/run`).
//!
//! [`Browser::start`] runs `chromedriver` on a free loopback port (in its
//! own process group, killed with everything it started when the
//! [`Browser`] is dropped), waits for its `/status` to say ready (a poll
//! with a deadline), and opens a session with a fresh profile in a
//! temporary directory. Every page a test looks at can be kept as a PNG
//! under `target/console-screenshots/<test>/NN-name.png`.
//!
//! Missing binaries are an error telling how to install them, never a
//! skipped test: CI must not pass without having run the browser.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// Where Debian installs the browser and its driver.
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long a page, an element or the driver may take to appear.
pub const PAGE_DEADLINE: Duration = Duration::from_secs(30);

/// The screenshots' root: `<target>/console-screenshots`.
pub fn screenshot_root() -> PathBuf {
    target_dir().join("console-screenshots")
}

/// Cargo's target directory: `CARGO_TARGET_DIR` if set and absolute, else
/// the one holding this test executable (`<target>/<profile>/deps/<exe>`).
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from)
        && dir.is_absolute()
    {
        return dir;
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// Fail with what to do if the browser or its driver is not installed.
pub fn require_installed() -> Result<()> {
    require_binaries(&[(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")])?;
    require_vietnamese_font()
}

/// Each `(path, Debian package)` must exist.
fn require_binaries(binaries: &[(&str, &str)]) -> Result<()> {
    for &(path, package) in binaries {
        if !Path::new(path).exists() {
            bail!(
                "{path} is missing, so the console's browser tests cannot run. Install it with \
                 `.ci/run` (which runs `apt-get install -y chromium chromium-driver \
                 fonts-noto-core fonts-dejavu-core fonts-liberation`), or `apt-get install \
                 {package}` yourself"
            );
        }
    }
    Ok(())
}

fn require_vietnamese_font() -> Result<()> {
    // Without a font carrying Vietnamese glyphs the pages render boxes
    // where the diacritics go, and the screenshots prove nothing.
    let fonts = Command::new("fc-list")
        .args([":lang=vi", "family"])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default();
    if fonts.trim().is_empty() {
        bail!(
            "no font with Vietnamese glyphs is installed (`fc-list :lang=vi` lists none), so the \
             console's pages cannot render their diacritics. Run `.ci/run` (it installs \
             fonts-noto-core, fonts-dejavu-core and fonts-liberation)"
        );
    }
    Ok(())
}

/// A free loopback port: bind port 0, read it, let it go.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// `GET /status` on the driver; `Some(answer)` if it answered at all.
/// (chromedriver keeps the connection open: read up to Content-Length.)
fn driver_status(addr: SocketAddr) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while answer.len() < 64 * 1024 {
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        answer.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head.lines().find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())
                    .flatten()
            });
            if length.is_some_and(|length| body.len() >= length) {
                break;
            }
        }
    }
    (!answer.is_empty()).then(|| String::from_utf8_lossy(&answer).into_owned())
}

/// A chromedriver process and everything it started (its process group).
struct Driver {
    child: Child,
    addr: SocketAddr,
}

impl Driver {
    fn start(log: &Path) -> Result<Driver> {
        use std::os::unix::process::CommandExt;
        let port = free_port()?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let log_file = std::fs::File::create(log)
            .with_context(|| format!("creating the driver's log {}", log.display()))?;
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            // Its own process group: dropping the driver kills Chromium too.
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {CHROMEDRIVER}"))?;
        let mut driver = Driver { child, addr };
        let deadline = Instant::now() + PAGE_DEADLINE;
        loop {
            if let Some(body) = driver_status(addr)
                && body
                    .split_whitespace()
                    .collect::<String>()
                    .contains("\"ready\":true")
            {
                return Ok(driver);
            }
            if let Some(status) = driver.child.try_wait()? {
                bail!(
                    "{CHROMEDRIVER} exited ({status}) before it was ready; its log is {}",
                    log.display()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "{CHROMEDRIVER} did not report ready on {addr} within {PAGE_DEADLINE:?}; its log is {}",
                    log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The group id is the driver's pid (process_group(0)): this reaches
        // the Chromium processes it started and nothing else.
        let group = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) with a negative pid signals that process group.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// A headless Chromium session for one test.
pub struct Browser {
    // Dropped in this order: the session, the driver with Chromium, and
    // only then the profile Chromium was writing to.
    client: Client,
    driver: Driver,
    _profile: tempfile::TempDir,
    shots: PathBuf,
    taken: u32,
}

impl Browser {
    /// Start the driver and a browser whose screenshots go under
    /// `target/console-screenshots/<test>/` (emptied first).
    pub async fn start(test: &str) -> Result<Browser> {
        require_installed()?;
        let shots = screenshot_root().join(test);
        if shots.exists() {
            std::fs::remove_dir_all(&shots)
                .with_context(|| format!("clearing {}", shots.display()))?;
        }
        std::fs::create_dir_all(&shots).with_context(|| format!("creating {}", shots.display()))?;
        let profile = tempfile::tempdir().context("a temporary browser profile")?;
        // Starting the driver polls with a blocking client: off the runtime.
        let log = shots.join("chromedriver.log");
        let driver = tokio::task::spawn_blocking(move || Driver::start(&log))
            .await
            .context("the task starting chromedriver")??;
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--window-size=1280,1000".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal")
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://{}", driver.addr))
            .await
            .with_context(|| {
                format!(
                    "opening a Chromium session through {CHROMEDRIVER} on {}",
                    driver.addr
                )
            })?;
        Ok(Browser {
            client,
            driver,
            _profile: profile,
            shots,
            taken: 0,
        })
    }

    /// The WebDriver client, for what the helpers here do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Where this test's screenshots go.
    pub fn screenshot_dir(&self) -> &Path {
        &self.shots
    }

    /// Open `url` and wait for the page to load.
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.client
            .goto(url)
            .await
            .with_context(|| format!("opening {url}"))
    }

    /// The current path (and query): `/desk`, `/sign-in?next=%2Fdesk`.
    pub async fn path(&self) -> Result<String> {
        let url = self.client.current_url().await?;
        Ok(match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        })
    }

    /// The page's visible text.
    pub async fn text(&self) -> Result<String> {
        Ok(self.find("body").await?.text().await?)
    }

    /// The element `css` selects, waiting for it up to [`PAGE_DEADLINE`].
    pub async fn find(&self, css: &str) -> Result<Element> {
        self.client
            .wait()
            .at_most(PAGE_DEADLINE)
            .for_element(Locator::Css(css))
            .await
            .with_context(|| format!("no element `{css}` on the page within {PAGE_DEADLINE:?}"))
    }

    /// Every element `css` selects now (no waiting).
    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>> {
        Ok(self.client.find_all(Locator::Css(css)).await?)
    }

    /// Type `value` into the field `css` selects (emptied first).
    pub async fn fill(&self, css: &str, value: &str) -> Result<()> {
        let field = self.find(css).await?;
        field.clear().await.ok();
        field
            .send_keys(value)
            .await
            .with_context(|| format!("typing into `{css}`"))
    }

    /// Click `css` and wait for the page it leads to (a form posted, a
    /// link followed) to be loaded.
    pub async fn click_and_wait(&self, css: &str) -> Result<()> {
        let before = self.find("html").await?;
        self.find(css)
            .await?
            .click()
            .await
            .with_context(|| format!("clicking `{css}`"))?;
        self.wait_until_stale(&before)
            .await
            .with_context(|| format!("after clicking `{css}`"))
    }

    /// Wait until `old` (an element of the page before) has gone, i.e. the
    /// next page is in, and its body is there.
    pub async fn wait_until_stale(&self, old: &Element) -> Result<()> {
        let deadline = Instant::now() + PAGE_DEADLINE;
        loop {
            match old.tag_name().await {
                Err(_) => break,
                Ok(_) if Instant::now() > deadline => {
                    bail!("no new page was loaded within {PAGE_DEADLINE:?}")
                }
                Ok(_) => tokio::time::sleep(Duration::from_millis(25)).await,
            }
        }
        self.find("body").await?;
        Ok(())
    }

    /// Wait until the page's text contains `needle` (a poll with a deadline).
    pub async fn wait_for_text(&self, needle: &str) -> Result<String> {
        let deadline = Instant::now() + PAGE_DEADLINE;
        loop {
            let text = self.text().await.unwrap_or_default();
            if text.contains(needle) {
                return Ok(text);
            }
            if Instant::now() > deadline {
                bail!(
                    "the page {} never showed {needle:?} within {PAGE_DEADLINE:?}; it reads:\n{text}",
                    self.path().await.unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The value of the cookie `name` in this browser, if set.
    pub async fn cookie(&self, name: &str) -> Result<Option<String>> {
        let cookies = self.client.get_all_cookies().await?;
        Ok(cookies
            .iter()
            .find(|c| c.name() == name)
            .map(|c| c.value().to_string()))
    }

    /// Save the viewport as `NN-name.png`; returns the PNG's bytes.
    pub async fn screenshot(&mut self, name: &str) -> Result<Vec<u8>> {
        self.taken += 1;
        let png = self
            .client
            .screenshot()
            .await
            .context("taking a screenshot")?;
        let path = self.shots.join(format!("{:02}-{name}.png", self.taken));
        std::fs::write(&path, &png).with_context(|| format!("writing {}", path.display()))?;
        Ok(png)
    }

    /// Save the whole page, not only the viewport, as `NN-name.png`
    /// (resizing the window to the page's height for the shot).
    pub async fn screenshot_full(&mut self, name: &str) -> Result<Vec<u8>> {
        let height = self
            .client
            .execute(
                "return Math.ceil(document.documentElement.scrollHeight);",
                vec![],
            )
            .await?
            .as_u64()
            .ok_or_else(|| anyhow!("the page's height is not a number"))?;
        let height = height.clamp(600, 6000) as u32;
        self.client.set_window_size(1280, height + 140).await?;
        let png = self.screenshot(name).await;
        self.client.set_window_size(1280, 1000).await?;
        png
    }

    /// End the session (Chromium quits); the driver is killed on drop.
    pub async fn close(self) -> Result<()> {
        let Browser { client, driver, .. } = self;
        let closed = client.close().await;
        drop(driver);
        closed.context("closing the browser session")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_browser_fails_saying_how_to_install_it() {
        let missing = "/nonexistent/lienthong-test/chromium";
        assert!(
            !Path::new(missing).exists(),
            "the precondition: {missing} is absent"
        );
        let error = require_binaries(&[(missing, "chromium")])
            .expect_err("a missing browser must fail, never skip")
            .to_string();
        assert!(error.contains(missing), "{error}");
        assert!(error.contains(".ci/run"), "{error}");
        assert!(error.contains("apt-get install"), "{error}");
    }

    #[test]
    fn the_screenshots_go_under_the_target_directory() {
        let root = screenshot_root();
        assert!(root.ends_with("console-screenshots"), "{}", root.display());
        // The test executable lives in <target>/<profile>/deps.
        let exe = std::env::current_exe().unwrap();
        assert!(
            std::env::var_os("CARGO_TARGET_DIR").is_some() || exe.starts_with(target_dir()),
            "{} is not under {}",
            exe.display(),
            target_dir().display()
        );
    }
}
