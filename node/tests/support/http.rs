//! A real console on 127.0.0.1 (OS-chosen port) and a real HTTP client
//! (ureq) for the dashboard's and the JSON API's tests.

#![allow(dead_code)]

use chrono::{DateTime, Utc};
use lienthong::console::Console;
use lienthong::node::Node;
use lienthong::replication::Clock;

/// A console serving `node` at a fixed `now`, on its own runtime.
pub struct Served {
    pub runtime: tokio::runtime::Runtime,
    pub console: Option<Console>,
    pub base: String,
    agent: ureq::Agent,
}

impl Served {
    pub fn start(node: Node, now: DateTime<Utc>) -> Served {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let console = runtime
            .block_on(Console::start(
                node,
                "127.0.0.1:0".parse().unwrap(),
                Clock::new(move || now),
            ))
            .unwrap();
        assert!(console.local_addr().ip().is_loopback());
        let base = format!("http://{}", console.local_addr());
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        Served {
            runtime,
            console: Some(console),
            base,
            agent,
        }
    }

    /// `GET path` with these headers: status, content type, body.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
        let mut request = self.agent.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let mut response = request.call().unwrap();
        let status = response.status().as_u16();
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (status, kind, response.body_mut().read_to_string().unwrap())
    }

    /// `POST path` with a JSON body: status, body.
    pub fn post_json(&self, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
        let mut request = self
            .agent
            .post(format!("{}{path}", self.base))
            .content_type("application/json");
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let mut response = request.send(body).unwrap();
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_string().unwrap())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(console) = self.console.take() {
            self.runtime.block_on(console.shutdown());
        }
    }
}
