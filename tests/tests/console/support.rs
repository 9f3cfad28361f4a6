//! What the console tests share: offices, a clock the test moves, nodes
//! with accounts and a console each.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use lienthong::console::Console;
use lienthong::local_network::LocalNetwork;
use lienthong::node::Node;
use lienthong::replication::Clock;
use lienthong::service::accounts::{self, Role};
use lienthong_shared::OfficeId;
use lienthong_shared::builtin;
use lienthong_tests::browser::Browser;

pub const PROVINCE: &str = "province:quang-nam";
pub const DISTRICT: &str = "district:dien-ban";
pub const COMMUNE: &str = "commune:dien-ban/dien-phuong";

/// Every account of these tests has this password (10+ characters).
pub const PASSWORD: &str = "mật-khẩu-đủ-dài-2026";

pub fn office(id: &str) -> OfficeId {
    id.parse().expect("a valid office id")
}

/// A local time in the offices' zone (Asia/Ho_Chi_Minh), March 2026.
pub fn local(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    let date = NaiveDate::from_ymd_opt(2026, 3, day).expect("a March 2026 date");
    chrono_tz::Asia::Ho_Chi_Minh
        .from_local_datetime(&date.and_hms_opt(hour, minute, 0).expect("a valid time"))
        .single()
        .expect("no DST in Vietnam")
        .with_timezone(&Utc)
}

/// The consoles' clock: stands still until the test moves it, so every
/// time an officer records is known.
#[derive(Clone)]
pub struct TestClock(Arc<AtomicI64>);

impl TestClock {
    pub fn at(start: DateTime<Utc>) -> Self {
        TestClock(Arc::new(AtomicI64::new(start.timestamp())))
    }

    pub fn set(&self, now: DateTime<Utc>) {
        self.0.store(now.timestamp(), Ordering::SeqCst);
    }

    pub fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.0.load(Ordering::SeqCst), 0).expect("a time in range")
    }

    pub fn clock(&self) -> Clock {
        let this = self.clone();
        Clock::new(move || this.now())
    }
}

/// The officers every node of these tests has, by role.
pub const ACCOUNTS: [(&str, &str, Role); 4] = [
    ("hoa", "Trần Thị Hoa", Role::Desk),
    ("binh", "Lê Văn Bình", Role::Processing),
    ("cuong", "Phạm Quốc Cường", Role::Leader),
    ("admin", "Quản trị viên", Role::Admin),
];

/// Create [`ACCOUNTS`] on `node`.
pub fn add_accounts(node: &mut Node, now: DateTime<Utc>) -> Result<()> {
    for (name, display, role) in ACCOUNTS {
        accounts::add(node, name, display, role, PASSWORD, now)
            .with_context(|| format!("adding the account {name}"))?;
    }
    Ok(())
}

/// Nodes of the Quảng Nam three-tier network in a temporary directory,
/// each with [`ACCOUNTS`], daemons not started.
pub struct Offices {
    pub net: LocalNetwork,
    pub clock: TestClock,
    _root: tempfile::TempDir,
}

impl Offices {
    pub fn init(ids: &[&str], clock: TestClock) -> Result<Offices> {
        let root = tempfile::tempdir()?;
        let offices: Vec<OfficeId> = ids.iter().map(|id| office(id)).collect();
        let net = LocalNetwork::init(
            root.path(),
            builtin::QUANG_NAM_3TIER,
            builtin::CATALOGUE,
            &offices,
        )?;
        for id in &offices {
            add_accounts(&mut net.open(id)?, clock.now())?;
        }
        Ok(Offices {
            net,
            clock,
            _root: root,
        })
    }

    /// A fresh handle on `id`'s store (its own SQLite connection).
    pub fn open(&self, id: &str) -> Result<Node> {
        Ok(self.net.open(&office(id))?)
    }

    /// Serve `id`'s console on a free loopback port, on the test's clock.
    pub async fn console(&self, id: &str) -> Result<Console> {
        let node = self.open(id)?;
        Ok(Console::start(node, "127.0.0.1:0".parse()?, self.clock.clock()).await?)
    }
}

/// What the store of a node holds, to show a refused request wrote
/// nothing: every dossier's heads and the number of events in its log.
#[derive(Debug, PartialEq, Eq)]
pub struct Footprint(Vec<(String, Vec<String>, usize)>);

impl Footprint {
    pub fn of(node: &mut Node) -> Result<Footprint> {
        let rows = node.store.read(|r| {
            r.list(&lienthong::store::index::ListFilter {
                limit: Some(1000),
                ..Default::default()
            })
        })?;
        let mut all = Vec::new();
        for row in rows {
            let (doc, dossier) = lienthong::service::load(node, &row.key)?;
            let heads = doc.get_heads().iter().map(|h| h.to_string()).collect();
            all.push((row.code.clone(), heads, dossier.events.len()));
        }
        all.sort();
        Ok(Footprint(all))
    }

    pub fn events(&self, code: &str) -> Option<usize> {
        self.0
            .iter()
            .find(|(c, _, _)| c == code)
            .map(|(_, _, n)| *n)
    }
}

/// Sign in at the console `base` (`http://127.0.0.1:PORT/`) as `name`;
/// lands on the desk.
pub async fn sign_in(browser: &Browser, base: &str, name: &str) -> Result<()> {
    browser.goto(&format!("{base}sign-in")).await?;
    browser.fill("input[name=name]", name).await?;
    browser.fill("input[name=password]", PASSWORD).await?;
    browser
        .click_and_wait("form[action='/sign-in'] button")
        .await?;
    let path = browser.path().await?;
    anyhow::ensure!(
        path.starts_with("/desk"),
        "signing in as {name} at {base} ended on {path}: {}",
        browser.text().await.unwrap_or_default()
    );
    Ok(())
}

/// On a dossier's page, open the form of action `kind` (its `<details>`),
/// fill `fields` (CSS selector inside the form, value) and submit it, as an
/// officer would; waits for the next page.
pub async fn act(browser: &Browser, code: &str, kind: &str, fields: &[(&str, &str)]) -> Result<()> {
    let form = format!("form[action='/dossiers/{code}/actions/{kind}']");
    let page = browser.text().await.unwrap_or_default();
    let summary = browser
        .find(&format!("details:has({form}) > summary"))
        .await
        .with_context(|| format!("the dossier page offers no {kind} form; it reads:\n{page}"))?;
    summary.click().await?;
    for (field, value) in fields {
        browser.fill(&format!("{form} {field}"), value).await?;
    }
    browser
        .click_and_wait(&format!("{form} button[type=submit]"))
        .await
}

/// The texts of every QR code found in a PNG screenshot.
pub fn decode_qr(png: &[u8]) -> Result<Vec<String>> {
    let image = image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .context("decoding the screenshot as PNG")?
        .to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    let mut texts = Vec::new();
    for grid in prepared.detect_grids() {
        let (_meta, text) = grid.decode().context("a QR grid that does not decode")?;
        texts.push(text);
    }
    Ok(texts)
}

/// The dossier's row in `node`'s index.
pub fn row(node: &mut Node, code: &str) -> Result<lienthong::store::index::IndexRow> {
    Ok(lienthong::service::resolve(node, code)?)
}
