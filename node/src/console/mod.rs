//! The officers' console: a Vietnamese web app served by every node
//! (`lienthong run`, or `lienthong console` for a node without a daemon).
//!
//! Server-rendered HTML (axum, maud's compiled templates), every asset
//! embedded in the binary, so it works with no internet at all. It is a
//! face like the CLI: every page calls the service layer
//! ([`crate::service`]) and decides no workflow of its own.
//!
//! - [`state`]: the shared state (the node behind a lock, the clock) and
//!   running service calls on blocking threads.
//! - [`auth`]: signing in and out, the `Officer` extractor (session
//!   cookie), CSRF checking of every posted form (`Posted`), roles.
//! - [`page`]: the page shell, Vietnamese-first bilingual text (`Ui`), the
//!   error page.
//! - [`desk`]: the desk's queues and search; [`receive`]: the receive
//!   form; [`accounts`]: the administrator's accounts page.
//! - [`forms`]: the printed forms of a dossier and the office's register.

pub mod accounts;
pub mod api;
pub mod auth;
pub mod dashboard;
pub mod desk;
pub mod dossier;
pub mod error;
pub mod forms;
pub mod messages;
pub mod metrics;
pub mod page;
pub mod receive;
pub mod state;
pub mod sync;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::sync::oneshot;

use crate::node::Node;
use crate::replication::Clock;

pub use error::ConsoleError;
pub use state::AppState;

/// Largest request body the console reads (attachment uploads aside).
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// Every route of the console.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(desk::home))
        .route("/sign-in", get(auth::sign_in_page).post(auth::sign_in))
        .route("/sign-out", post(auth::sign_out))
        .route("/language/{lang}", get(page::switch_language))
        .route("/assets/console.css", get(page::stylesheet))
        // Desk, receive form, accounts (issue 9: desk).
        .route("/desk", get(desk::queue))
        // Printed forms (issue 9, h-forms)
        .route("/dossiers/{code}/forms", get(forms::index))
        .route("/dossiers/{code}/forms/{form}", get(forms::form))
        .route("/register", get(forms::register))
        // ── Dossier page, actions, attachments; sync page (h-dossier) ──
        .route("/dossiers/{code}", get(dossier::page))
        .route(
            "/dossiers/{code}/actions/{kind}",
            post(dossier::actions::post),
        )
        .route(
            "/dossiers/{code}/attachments",
            post(dossier::attachments::upload).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/dossiers/{code}/attachments/{hash}",
            get(dossier::attachments::download),
        )
        .route("/sync", get(sync::page))
        // ── The province's dashboard and the JSON API (issue 9) ──
        .route("/dashboard", get(dashboard::page))
        .route("/dashboard.csv", get(dashboard::csv))
        .route("/api/v1/report", get(api::report))
        .route("/api/v1/dossiers", get(api::list).post(api::receive))
        .route("/api/v1/dossiers/{code}", get(api::one))
        .route("/api/v1/dossiers/{code}/actions", post(api::action))
        .route("/api/v1/{*rest}", axum::routing::any(api::not_found))
        .route("/receive", get(receive::form).post(receive::submit))
        .route("/accounts", get(accounts::page).post(accounts::create))
        // operations
        .route("/metrics", get(metrics::metrics))
        .fallback(page::not_found)
        .with_state(state)
}

/// A console listening on a socket until shut down.
pub struct Console {
    local_addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Console {
    /// Serve `node`'s console on `listen` (port 0: any free port).
    pub async fn start(node: Node, listen: SocketAddr, clock: Clock) -> std::io::Result<Console> {
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "the console cannot listen on {listen} ({e}); choose another address with [console] listen in node.toml or --console"
                ),
            )
        })?;
        let local_addr = listener.local_addr()?;
        let state = AppState::new(node, clock);
        // Search rows for dossiers stored before migration 9 (desk).
        if let Err(e) = state.run(desk::backfill_search).await {
            tracing::warn!(error = %e, "the desk's search rows were not all written");
        }
        let app = router(state);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "the console stopped");
            }
        });
        tracing::info!(%local_addr, "console listening");
        Ok(Console {
            local_addr,
            shutdown: Some(tx),
            task,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address an officer types: `http://127.0.0.1:7480/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.local_addr)
    }

    /// Stop accepting, finish the requests in flight (at most 2 s).
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if tokio::time::timeout(std::time::Duration::from_secs(2), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }
}
