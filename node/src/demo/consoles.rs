//! `demo --keep`: a console on every demo node (loopback, a port the OS
//! chooses) and the same sign-in names on each, with one password made up
//! for this run and printed, so the story can be continued in a browser.

use std::fmt::Write as _;

use chrono::Utc;
use data_encoding::BASE32_NOPAD;
use lienthong_shared::OfficeId;
use rand::RngCore;

use super::words::{DemoMsg, Narrator};
use super::{DemoError, Result};
use crate::console::Console;
use crate::local_network::LocalNetwork;
use crate::replication::Clock;
use crate::service::accounts::{self, Role};

/// The accounts made on every node: sign-in name, display name, role.
pub const DEMO_ACCOUNTS: [(&str, &str, Role); 3] = [
    ("motcua", "Cán bộ một cửa (demo)", Role::Desk),
    ("xuly", "Cán bộ xử lý (demo)", Role::Processing),
    ("lanhdao", "Lãnh đạo (demo)", Role::Leader),
];

/// Consoles serving the demo's nodes until shut down.
pub struct DemoConsoles {
    pub password: String,
    pub consoles: Vec<(OfficeId, Console)>,
}

fn demo_password() -> String {
    let mut bytes = [0u8; 10];
    rand::rng().fill_bytes(&mut bytes);
    BASE32_NOPAD.encode(&bytes).to_ascii_lowercase()
}

/// Create the demo accounts on every node of `net` and start a console on each.
pub async fn start(net: &LocalNetwork) -> Result<DemoConsoles> {
    let password = demo_password();
    let mut consoles = Vec::new();
    let offices: Vec<OfficeId> = net.offices().cloned().collect();
    for office in offices {
        let mut node = net.open(&office)?;
        for (name, display, role) in DEMO_ACCOUNTS {
            accounts::add(&mut node, name, display, role, &password, Utc::now())
                .map_err(|e| DemoError::Io(std::io::Error::other(format!("{office}: {e}"))))?;
        }
        let console = Console::start(node, ([127, 0, 0, 1], 0).into(), Clock::system()).await?;
        consoles.push((office, console));
    }
    Ok(DemoConsoles { password, consoles })
}

impl DemoConsoles {
    /// What is printed: each node's console address, then the logins.
    pub fn describe(&self, narrator: &Narrator, name_of: impl Fn(&OfficeId) -> String) -> String {
        let mut out = format!("{}\n", narrator.both(DemoMsg::Consoles, &[]));
        for (office, console) in &self.consoles {
            let _ = writeln!(out, "  {:<48} {}", name_of(office), console.url());
        }
        let _ = writeln!(
            out,
            "{}",
            narrator.both(DemoMsg::SignIn, &[("password", &self.password)])
        );
        for (name, _, role) in DEMO_ACCOUNTS {
            let _ = writeln!(out, "  {name:<10} {} ({})", role.label_vi(), role.as_str());
        }
        out
    }

    pub async fn shutdown(self) {
        for (_, console) in self.consoles {
            console.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every node gets a console on loopback, and the printed password
    /// signs in as each printed name there.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_node_serves_a_console_the_printed_logins_open() {
        let dir = tempfile::tempdir().unwrap();
        let offices: Vec<OfficeId> = ["district:dien-ban", "commune:dien-ban/dien-phuong"]
            .iter()
            .map(|o| o.parse().unwrap())
            .collect();
        let net = LocalNetwork::init(
            dir.path(),
            lienthong_shared::builtin::QUANG_NAM_3TIER,
            lienthong_shared::builtin::CATALOGUE,
            &offices,
        )
        .unwrap();
        let consoles = start(&net).await.unwrap();
        assert_eq!(consoles.consoles.len(), 2, "a console per node");
        let network = lienthong_shared::builtin::quang_nam_3tier();
        let narrator = Narrator::new(
            crate::i18n::Lang::Vi,
            chrono_tz::Asia::Ho_Chi_Minh,
            network.offices.clone(),
        );
        let text = consoles.describe(&narrator, |id| id.to_string());
        assert!(text.contains(&consoles.password), "the password is printed");
        assert!(
            text.starts_with(
                "Bảng điều khiển (mở trong trình duyệt):\nConsoles (open in a browser):"
            ),
            "{text}"
        );
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .build(),
        );
        for (office, console) in &consoles.consoles {
            assert!(console.local_addr().ip().is_loopback(), "loopback only");
            assert!(
                text.contains(&console.url()),
                "{office}'s address is printed"
            );
            for (name, _, _) in DEMO_ACCOUNTS {
                let url = format!("{}sign-in", console.url());
                let password = consoles.password.clone();
                let response = tokio::task::block_in_place(|| {
                    agent
                        .post(url)
                        .send_form([("name", name), ("password", password.as_str())])
                        .unwrap()
                });
                assert_eq!(
                    response.status().as_u16(),
                    303,
                    "{name} signs in at {office}"
                );
                assert!(response.headers().get("set-cookie").is_some());
                let wrong = tokio::task::block_in_place(|| {
                    agent
                        .post(format!("{}sign-in", console.url()))
                        .send_form([("name", name), ("password", "not the password")])
                        .unwrap()
                });
                assert_eq!(
                    wrong.status().as_u16(),
                    401,
                    "only the printed password works"
                );
            }
        }
        consoles.shutdown().await;
    }
}
