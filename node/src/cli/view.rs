//! `show` and `list`: what officers look at.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::Args;
use lienthong_shared::OfficeId;
use lienthong_shared::dossier::fold::{DossierState, Flag};
use lienthong_shared::dossier::{ActionKind, Dossier, StoredEvent};
use serde::Serialize;

use super::args::{DataArgs, parse_time};
use super::render;
use crate::i18n::{Lang, Msg};
use crate::node::Node;
use crate::officer;
use crate::replication::authorship::messages::AuthorshipMsg;
use crate::service::authors::{self as authorship, EventAuthor};
use crate::store::StoreError;
use crate::store::index::{IndexRow, ListFilter};
use crate::store::quarantine::Quarantined;

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The dossier: code, id or unique id prefix.
    #[arg(value_name = "DOSSIER")]
    pub dossier: String,
    /// Judge "overdue" and "due soon" at this time instead of now.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Only this status (name or national code 1–10).
    #[arg(long)]
    pub status: Option<String>,
    /// Only dossiers held by this office.
    #[arg(long, value_name = "OFFICE")]
    pub holder: Option<String>,
    /// Only dossiers received at this office.
    #[arg(long, value_name = "OFFICE")]
    pub origin: Option<String>,
    /// Only unfinished dossiers due before this time (local `YYYY-MM-DD HH:MM`).
    #[arg(long, value_name = "TIME")]
    pub due_before: Option<String>,
    /// Only overdue dossiers.
    #[arg(long)]
    pub overdue: bool,
    /// Judge "overdue" at this time instead of now.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    #[arg(long)]
    pub limit: Option<usize>,
    #[arg(long)]
    pub json: bool,
}

fn now_from(text: &Option<String>, node: &Node) -> Result<DateTime<Utc>> {
    match text {
        Some(t) => parse_time(t, node.calendar.timezone()),
        None => Ok(Utc::now()),
    }
}

#[derive(Serialize)]
struct ShowJson<'a> {
    id: String,
    facts: &'a lienthong_shared::dossier::DossierFacts,
    state: &'a DossierState,
    events: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quarantined: Option<&'a Quarantined>,
}

pub fn show(args: &ShowArgs) -> Result<()> {
    let mut node = Node::open(&args.data.data)?;
    let now = now_from(&args.now, &node)?;
    let view = match officer::view(&mut node, &args.dossier, now) {
        Ok(view) => view,
        Err(
            e @ (officer::ActionError::Store(StoreError::CorruptDocument { .. })
            | officer::ActionError::Schema(_)),
        ) => {
            // The stored copy does not load: set it aside (kept as it is)
            // and say so, rather than fail on it every time.
            let row = officer::resolve(&mut node, &args.dossier)?;
            let problem = e.to_string();
            node.store
                .write(|w| w.quarantine(&row.key, &problem, Utc::now()))?;
            let q = node
                .store
                .read(|r| r.quarantined(&row.key))?
                .context("the dossier was just quarantined")?;
            return print_quarantined_only(&node, &row, &q, args.json);
        }
        Err(e) => return Err(e.into()),
    };
    let quarantined = node.store.read(|r| r.quarantined(&view.row.key))?;
    let authors = authorship::event_authors(&mut node, &view.row.key)?;
    let officer::DossierView {
        row,
        dossier,
        state,
        allowed,
    } = view;
    if args.json {
        let events = dossier
            .events
            .iter()
            .zip(&state.applied)
            .enumerate()
            .map(|(i, (stored, applied))| {
                let author = authors.get(i);
                match stored {
                    StoredEvent::Valid(event) => {
                        serde_json::json!({"event": event, "applied": applied, "written_by": author})
                    }
                    StoredEvent::Malformed { index, problem } => {
                        serde_json::json!({"malformed": {"index": index, "problem": problem}, "applied": false, "written_by": author})
                    }
                }
            })
            .collect();
        return render::print_json(&ShowJson {
            id: crate::store::documents::hex(&row.key),
            facts: &dossier.facts,
            state: &state,
            events,
            quarantined: quarantined.as_ref(),
        });
    }
    print_dossier(&node, &row, &dossier, &state, &authors);
    print_allowed(&node, &allowed);
    if let Some(q) = &quarantined {
        print_quarantine_note(&node, q);
    }
    Ok(())
}

fn print_quarantine_note(node: &Node, q: &Quarantined) {
    let l = node.locale(Lang::from_env());
    println!(
        "{}",
        l.f(
            Msg::QuarantinedSince,
            &[("since", &l.datetime(q.since)), ("problem", &q.problem)]
        )
    );
    println!("  {}", l.t(Msg::QuarantineExplained));
}

/// `show` of a dossier whose stored document does not load: what the index
/// still knows, and why it is set aside.
fn print_quarantined_only(node: &Node, row: &IndexRow, q: &Quarantined, json: bool) -> Result<()> {
    if json {
        return render::print_json(&serde_json::json!({
            "id": crate::store::documents::hex(&row.key),
            "code": row.code,
            "index": row,
            "quarantined": q,
        }));
    }
    let l = node.locale(Lang::from_env());
    println!(
        "{}   {}   (id {})",
        l.t(Msg::FieldDossier),
        row.code,
        crate::store::documents::hex(&row.key)
    );
    println!(
        "{} {} {}",
        l.t(Msg::FieldProcedure),
        row.procedure_code,
        row.procedure_name
    );
    println!("{} {}", l.t(Msg::FieldApplicant), row.applicant);
    print_quarantine_note(node, q);
    println!("  {}", l.t(Msg::QuarantineNoHistory));
    Ok(())
}

fn print_dossier(
    node: &Node,
    row: &IndexRow,
    dossier: &Dossier,
    state: &DossierState,
    authors: &[EventAuthor],
) {
    let l = node.locale(Lang::from_env());
    // Labels padded to one width, as a form's left column.
    let label = |msg: Msg| format!("{:<14}", l.t(msg));
    let facts = &dossier.facts;
    let p = &facts.procedure;
    println!(
        "{}{}   (id {})",
        label(Msg::FieldDossier),
        facts.code,
        crate::store::documents::hex(&row.key)
    );
    let time_limit = match (&p.same_day_cutoff, p.processing_days) {
        (Some(cutoff), _) => l.f(Msg::SameDay, &[("cutoff", cutoff)]),
        (None, Some(days)) => l.working_days(days),
        _ => l.t(Msg::NoProcessingTime).into(),
    };
    println!(
        "{}{} {} ({time_limit}; {})",
        label(Msg::FieldProcedure),
        p.code,
        p.name,
        l.f(Msg::CatalogueVersion, &[("version", &p.catalogue_version)])
    );
    if p.fee_vnd > 0 {
        println!("{}{}", label(Msg::FieldFee), l.money(p.fee_vnd));
    }
    let a = &facts.applicant;
    let mut applicant = a.name.clone();
    for (prefix, value) in [
        ("", &a.organisation),
        ("CCCD ", &a.id_number),
        ("", &a.address),
        ("tel ", &a.phone),
        ("", &a.email),
    ] {
        if !value.is_empty() {
            applicant += &format!(", {prefix}{value}");
        }
    }
    println!("{}{applicant}", label(Msg::FieldApplicant));
    println!(
        "{}{}",
        label(Msg::FieldOrigin),
        l.f(
            Msg::OriginLine,
            &[
                ("office", &l.office(&facts.origin)),
                ("channel", l.channel(facts.channel)),
                ("result_by", l.channel(facts.result_delivery)),
                ("rules", &facts.rules),
            ]
        )
    );
    let status = state.status.map_or(l.status_opt(None).to_string(), |s| {
        format!("{} {}", s.code(), l.status(s))
    });
    println!("{}{status}", label(Msg::FieldStatus));
    if let Some(holder) = &state.holder {
        println!("{}{}", label(Msg::FieldHolder), l.office(holder));
    }
    if let Some(t) = &state.transfer {
        println!(
            "{}{}",
            label(Msg::FieldTransfer),
            l.f(
                Msg::TransferLine,
                &[
                    ("from", &l.office(&t.from)),
                    ("to", &l.office(&t.to)),
                    ("at", &l.datetime(t.at)),
                    ("task", &t.task),
                    ("days", &l.working_days(u64::from(t.days))),
                ]
            )
        );
    }
    println!(
        "{}{}",
        label(Msg::FieldReceived),
        l.datetime_opt(state.received_at)
    );
    let mut due = l.datetime_opt(state.due_at);
    if state.original_due_at != state.due_at {
        due += &l.f(
            Msg::Form01Said,
            &[("due", &l.datetime_opt(state.original_due_at))],
        );
    }
    if let Some(t) = state.timeliness {
        due += &format!("  [{}]", l.timeliness(t));
    }
    println!("{}{due}", label(Msg::FieldDue));
    if let Some(step) = state.step_due_at {
        println!("{}{}", label(Msg::FieldStepDue), l.datetime(step));
    }
    if let Some(apology) = &state.apology {
        println!(
            "{}{}",
            label(Msg::FieldApology),
            l.f(
                Msg::ApologyLine,
                &[
                    ("at", &l.datetime(apology.at)),
                    ("new_due", &l.datetime(apology.new_due)),
                    (
                        "late",
                        if apology.late {
                            l.t(Msg::ApologyLateMark)
                        } else {
                            ""
                        }
                    ),
                    ("reason", &apology.reason),
                ]
            )
        );
    }
    for pause in &state.pauses {
        println!(
            "{}{} → {}",
            label(Msg::FieldPaused),
            l.datetime(pause.from),
            pause
                .until
                .map_or(l.t(Msg::WaitingForApplicant).into(), |u| l.datetime(u))
        );
    }
    if let Some(result) = &state.result {
        // Resolved is not returned: until the desk hands it over, the
        // result waits there.
        let desk = l.office(&result.return_office);
        let issued = l.datetime(result.issued_at);
        let by = l.office(&result.issued_by);
        let mut args = vec![
            ("result", result.result.as_str()),
            ("at", issued.as_str()),
            ("by", by.as_str()),
            ("desk", desk.as_str()),
        ];
        let returned = state.returned_at.map(|at| l.datetime(at));
        let line = match &returned {
            Some(returned) => {
                args.push(("returned", returned));
                l.f(Msg::ResultReturned, &args)
            }
            None => l.f(Msg::ResultWaiting, &args),
        };
        println!("{}{line}", label(Msg::FieldResult));
    }
    if !facts.route.is_empty() {
        println!("{}", l.t(Msg::FieldRoute));
        for (i, step) in facts.route.iter().enumerate() {
            println!(
                "  {}. {}{} — {} ({})",
                i + 1,
                l.office(&step.office),
                if step.lead { l.t(Msg::LeadMark) } else { "" },
                step.task,
                l.working_days(step.days)
            );
        }
    }
    if !facts.documents.is_empty() {
        println!("{}", l.t(Msg::FieldDocuments));
        for component in &facts.documents {
            println!(
                "  - {} {}",
                component.name,
                l.f(Msg::Copies, &[("n", &component.copies.to_string())])
            );
            for a in &component.attachments {
                println!(
                    "      {} {} ({}, {})",
                    super::attachments::short_hash(&a.hash),
                    a.name,
                    l.f(Msg::Bytes, &[("n", &a.size.to_string())]),
                    a.media_type
                );
            }
        }
    }
    for c in &state.consultations {
        let answer = c
            .answer
            .as_deref()
            .map_or(l.t(Msg::NoAnswerYet).into(), |a| {
                l.f(Msg::AnsweredWith, &[("answer", a)])
            });
        println!(
            "{}{}",
            label(Msg::FieldConsulted),
            l.f(
                Msg::ConsultedLine,
                &[
                    ("to", &l.office(&c.to)),
                    ("deadline", &l.datetime(c.deadline)),
                    ("question", &c.question),
                    ("answer", &answer),
                ]
            )
        );
    }
    for flag in &state.flags {
        println!("{}{}", label(Msg::FieldFlag), l.flag(flag));
    }
    println!("{}", l.t(Msg::FieldTimeline));
    let mut table = render::table(&[
        "#",
        l.t(Msg::ColTime),
        l.t(Msg::ColOffice),
        l.t(Msg::ColOfficer),
        l.t(Msg::ColEvent),
        l.t(AuthorshipMsg::ColAuthor),
    ]);
    for (i, (stored, applied)) in dossier.events.iter().zip(&state.applied).enumerate() {
        match stored {
            StoredEvent::Valid(event) => {
                let mut text = l.action(&event.action);
                if !applied {
                    text = format!("{}{text}", l.t(Msg::NotApplied));
                }
                table.add_row(vec![
                    (i + 1).to_string(),
                    l.datetime(event.at),
                    l.office(&event.office),
                    event.officer.clone(),
                    text,
                    authorship::describe(&l, authors.get(i)),
                ]);
            }
            StoredEvent::Malformed { problem, .. } => {
                table.add_row(vec![
                    (i + 1).to_string(),
                    "?".into(),
                    "?".into(),
                    "?".into(),
                    l.f(Msg::Unreadable, &[("problem", problem)]),
                    authorship::describe(&l, authors.get(i)),
                ]);
            }
        }
    }
    println!("{table}");
    if !state.conflicts.is_empty() {
        println!(
            "{}",
            l.f(
                Msg::ConflictsHeader,
                &[("n", &state.conflicts.len().to_string())]
            )
        );
        for conflict in &state.conflicts {
            let kind = ActionKind::from_name(&conflict.kind)
                .map_or(conflict.kind.clone(), |k| l.kind(k).to_string());
            println!(
                "  ✗ {}",
                l.f(
                    Msg::ConflictLine,
                    &[
                        ("index", &(conflict.index + 1).to_string()),
                        ("kind", &kind),
                        (
                            "office",
                            &conflict.office.as_ref().map_or("?".into(), |o| l.office(o))
                        ),
                        ("reason", &l.reason(&conflict.reason)),
                    ]
                )
            );
        }
    }
}

/// What each office of this node may do now, as the rules say.
fn print_allowed(node: &Node, allowed: &[(OfficeId, Vec<ActionKind>)]) {
    let l = node.locale(Lang::from_env());
    if allowed.is_empty() {
        println!("{}", l.t(Msg::NothingAllowedHere));
        return;
    }
    for (office, kinds) in allowed {
        let names: Vec<&str> = kinds.iter().map(|k| l.kind(*k)).collect();
        println!(
            "{}",
            l.f(
                Msg::AllowedFor,
                &[("office", &l.office(office)), ("list", &names.join(", "))]
            )
        );
    }
}

/// A flag in the officer's language.
pub fn describe_flag(node: &Node, flag: &Flag) -> String {
    node.locale(Lang::from_env()).flag(flag)
}

pub fn list(args: &ListArgs) -> Result<()> {
    let mut node = Node::open(&args.data.data)?;
    let now = now_from(&args.now, &node)?;
    let filter = ListFilter {
        status: args
            .status
            .as_deref()
            .map(officer::parse_status)
            .transpose()?,
        holder: args.holder.clone(),
        origin: args.origin.clone(),
        due_before: args
            .due_before
            .as_ref()
            .map(|t| parse_time(t, node.calendar.timezone()))
            .transpose()?,
        overdue_at: args.overdue.then_some(now),
        limit: args.limit,
    };
    if args.json {
        let rows = node.store.read(|r| r.list(&filter))?;
        #[derive(Serialize)]
        struct Row<'a> {
            #[serde(flatten)]
            row: &'a IndexRow,
            overdue: bool,
        }
        let rows: Vec<Row<'_>> = rows
            .iter()
            .map(|row| Row {
                row,
                overdue: row.is_overdue(now),
            })
            .collect();
        return render::print_json(&rows);
    }
    print_list(&mut node, &filter, now)
}

/// The human table of `list`.
pub fn print_list(node: &mut Node, filter: &ListFilter, now: DateTime<Utc>) -> Result<()> {
    let rows = node.store.read(|r| r.list(filter))?;
    let l = node.locale(Lang::from_env());
    let mut table = render::table(&[
        l.t(Msg::ColCode),
        l.t(Msg::ColProcedure),
        l.t(Msg::ColApplicant),
        l.t(Msg::ColStatus),
        l.t(Msg::ColHolder),
        l.t(Msg::ColReceived),
        l.t(Msg::ColDue),
        "",
    ]);
    for row in &rows {
        let mut marks = Vec::new();
        if row.is_overdue(now) {
            marks.push(l.t(Msg::OverdueMark).to_string());
        }
        if let Some(t) = row.timeliness {
            marks.push(l.timeliness(t).to_string());
        }
        if let Some(to) = &row.transfer_to {
            marks.push(format!("→ {}", l.office_str(to)));
        }
        if row.conflicts > 0 {
            marks.push(l.f(Msg::ConflictsMark, &[("n", &row.conflicts.to_string())]));
        }
        table.add_row(vec![
            row.code.clone(),
            row.procedure_code.clone(),
            row.applicant.clone(),
            row.status.map_or("—".into(), |s| l.status(s).to_string()),
            row.holder
                .as_deref()
                .map(|h| l.office_str(h))
                .unwrap_or_default(),
            l.datetime_opt(row.received_at),
            l.datetime_opt(row.due_at),
            marks.join(" "),
        ]);
    }
    println!("{table}");
    println!(
        "{}",
        l.f(Msg::DossierCount, &[("n", &rows.len().to_string())])
    );
    Ok(())
}
