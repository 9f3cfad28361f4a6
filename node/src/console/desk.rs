//! The desk: the dossiers this office works on, by queue.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::auth::Officer;
use super::messages::ConsoleMsg;
use super::page::{self, Ui};
use super::{AppState, ConsoleError};
use crate::store::index::ListFilter;

/// `GET /`: the desk.
pub async fn home() -> Response {
    Redirect::to("/desk").into_response()
}

/// How many dossiers one page of a queue shows.
pub const PAGE_SIZE: usize = 50;

/// `GET /desk`: the dossiers held here, soonest due first.
pub async fn queue(
    State(state): State<AppState>,
    officer: Officer,
) -> Result<Response, ConsoleError> {
    let page = state
        .run(move |node| {
            let rows = node.store.read(|r| {
                r.list(&ListFilter {
                    limit: Some(PAGE_SIZE),
                    ..ListFilter::default()
                })
            })?;
            let ui = Ui::new(node, officer.lang);
            let body = html! {
                h1 { (ui.t(ConsoleMsg::NavDesk)) }
                table.queue {
                    tbody {
                        @for row in &rows {
                            tr {
                                td { a href={ "/dossiers/" (row.code) } { (row.code) } }
                                td { (row.applicant) }
                                td { (row.procedure_name) }
                                td { (ui.l.status_opt(row.status)) }
                                td { (ui.l.datetime_opt(row.due_at)) }
                            }
                        }
                    }
                }
            };
            Ok(page::shell(
                &ui,
                node,
                Some(&officer),
                ui.s(ConsoleMsg::NavDesk),
                body,
            ))
        })
        .await?;
    Ok(page::ok(page))
}
