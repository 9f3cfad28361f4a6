//! `GET /metrics`: the node's Prometheus metrics (`service/metrics.rs`).
//! No sign-in — a scraper has no session — so served to loopback clients
//! only: a console on the office LAN does not show its figures to the LAN.
//! Scrape from a Prometheus agent on the node's machine, or through an SSH
//! tunnel (`docs/operations.md`).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{AppState, ConsoleError};

pub async fn metrics(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
) -> Result<Response, ConsoleError> {
    if !client.ip().is_loopback() {
        return Ok((
            StatusCode::FORBIDDEN,
            "metrics are served to this machine only (loopback); scrape them with an agent on the node's machine or through an SSH tunnel\n",
        )
            .into_response());
    }
    let now = state.now();
    let text = state
        .run(move |node| {
            crate::service::metrics::render(node, now)
                .map_err(|e| ConsoleError::Internal(format!("reading the metrics: {e}")))
        })
        .await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
