//! `show` and `list`: what officers look at.

use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::Args;
use lienthong_shared::dossier::fold::{self, DossierState, Flag};
use lienthong_shared::dossier::{Dossier, StoredEvent};
use serde::Serialize;

use super::args::{DataArgs, parse_time};
use super::render::{self, local, local_opt};
use crate::node::Node;
use crate::officer;
use crate::store::index::{IndexRow, ListFilter};

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
}

pub fn show(args: &ShowArgs) -> Result<()> {
    let mut node = Node::open(&args.data.data)?;
    let now = now_from(&args.now, &node)?;
    let row = officer::resolve(&mut node, &args.dossier)?;
    let (_, dossier) = officer::load(&mut node, &row.key)?;
    let state = fold::fold(&dossier, &node.fold_context(now));
    if args.json {
        let events = dossier
            .events
            .iter()
            .zip(&state.applied)
            .map(|(stored, applied)| match stored {
                StoredEvent::Valid(event) => serde_json::json!({"event": event, "applied": applied}),
                StoredEvent::Malformed { index, problem } => {
                    serde_json::json!({"malformed": {"index": index, "problem": problem}, "applied": false})
                }
            })
            .collect();
        return render::print_json(&ShowJson {
            id: crate::store::documents::hex(&row.key),
            facts: &dossier.facts,
            state: &state,
            events,
        });
    }
    print_dossier(&node, &row, &dossier, &state);
    Ok(())
}

fn print_dossier(node: &Node, row: &IndexRow, dossier: &Dossier, state: &DossierState) {
    let tz = node.calendar.timezone();
    let facts = &dossier.facts;
    let p = &facts.procedure;
    println!(
        "Dossier   {}   (id {})",
        facts.code,
        crate::store::documents::hex(&row.key)
    );
    let time_limit = match (&p.same_day_cutoff, p.processing_days) {
        (Some(cutoff), _) => format!("same day, cut-off {cutoff}"),
        (None, Some(days)) => format!("{days} working days"),
        _ => "no processing time".into(),
    };
    println!(
        "Procedure {} {} ({time_limit}; catalogue {})",
        p.code, p.name, p.catalogue_version
    );
    let a = &facts.applicant;
    let mut applicant = a.name.clone();
    for (label, value) in [
        ("", &a.organisation),
        ("CCCD ", &a.id_number),
        ("", &a.address),
        ("tel ", &a.phone),
        ("", &a.email),
    ] {
        if !value.is_empty() {
            applicant += &format!(", {label}{value}");
        }
    }
    println!("Applicant {applicant}");
    println!(
        "Origin    {} ({}, result by {}), rules {}",
        facts.origin,
        facts.channel.as_str(),
        facts.result_delivery.as_str(),
        facts.rules
    );
    let status = state.status.map_or("not yet received".to_string(), |s| {
        format!("{} {} ({})", s.code(), s, s.label_vi())
    });
    println!("Status    {status}");
    if let Some(holder) = &state.holder {
        println!("Holder    {holder}");
    }
    if let Some(t) = &state.transfer {
        println!(
            "Transfer  from {} to {} since {} — {} ({} working days)",
            t.from,
            t.to,
            local(t.at, tz),
            t.task,
            t.days
        );
    }
    println!("Received  {}", local_opt(state.received_at, tz));
    let mut due = local_opt(state.due_at, tz);
    if state.original_due_at != state.due_at {
        due += &format!(" (Form 01 said {})", local_opt(state.original_due_at, tz));
    }
    if let Some(t) = state.timeliness {
        due += &format!("  [{t}]");
    }
    println!("Due       {due}");
    if let Some(step) = state.step_due_at {
        println!("Step due  {}", local(step, tz));
    }
    if let Some(apology) = &state.apology {
        println!(
            "Apology   {} (Form 04): new due {}{} — {}",
            local(apology.at, tz),
            local(apology.new_due, tz),
            if apology.late { ", late" } else { "" },
            apology.reason
        );
    }
    for pause in &state.pauses {
        println!(
            "Paused    {} → {}",
            local(pause.from, tz),
            pause
                .until
                .map_or("(waiting for the applicant)".into(), |u| local(u, tz))
        );
    }
    if let Some(result) = &state.result {
        // Resolved is not returned: until the desk hands it over, the
        // result waits there.
        let returned = match state.returned_at {
            Some(at) => format!("returned at {}'s desk {}", result.return_office, local(at, tz)),
            None => format!("waiting at {}'s desk to be returned", result.return_office),
        };
        println!(
            "Result    {} — issued {} by {}, {returned}",
            result.result,
            local(result.issued_at, tz),
            result.issued_by,
        );
    }
    if !facts.route.is_empty() {
        println!("Route");
        for (i, step) in facts.route.iter().enumerate() {
            println!(
                "  {}. {}{} — {} ({} working days)",
                i + 1,
                step.office,
                if step.lead { " (lead)" } else { "" },
                step.task,
                step.days
            );
        }
    }
    if !facts.documents.is_empty() {
        println!("Documents");
        for component in &facts.documents {
            println!("  - {} ×{}", component.name, component.copies);
            for a in &component.attachments {
                println!(
                    "      {} {} ({} bytes, {})",
                    &a.hash[..a.hash.len().min(12)],
                    a.name,
                    a.size,
                    a.media_type
                );
            }
        }
    }
    for c in &state.consultations {
        println!(
            "Consulted {} by {}: {} — {}",
            c.to,
            local(c.deadline, tz),
            c.question,
            c.answer
                .as_deref()
                .map_or("(no answer yet)".to_string(), |a| format!("answered: {a}"))
        );
    }
    for flag in &state.flags {
        println!("Flag      {}", describe_flag(flag));
    }
    println!("Timeline");
    let mut table = render::table(&["#", "time", "office", "officer", "event"]);
    for (i, (stored, applied)) in dossier.events.iter().zip(&state.applied).enumerate() {
        match stored {
            StoredEvent::Valid(event) => {
                let mut text = event.action.summary();
                if !applied {
                    text = format!("✗ {text}");
                }
                table.add_row(vec![
                    (i + 1).to_string(),
                    local(event.at, tz),
                    event.office.to_string(),
                    event.officer.clone(),
                    text,
                ]);
            }
            StoredEvent::Malformed { problem, .. } => {
                table.add_row(vec![
                    (i + 1).to_string(),
                    "?".into(),
                    "?".into(),
                    "?".into(),
                    format!("✗ unreadable: {problem}"),
                ]);
            }
        }
    }
    println!("{table}");
    if !state.conflicts.is_empty() {
        println!(
            "Conflicts ({}): kept in the history, not applied; an officer should resolve them",
            state.conflicts.len()
        );
        for conflict in &state.conflicts {
            println!("  ✗ {conflict}");
        }
    }
}

pub fn describe_flag(flag: &Flag) -> String {
    match flag {
        Flag::SupplementRequestLate => {
            "supplement request later than allowed after receipt (D3)".into()
        }
        Flag::RepeatedSupplementRequest => {
            "more than one supplement request: counts as late (D3)".into()
        }
        Flag::ApologyLate => {
            "apology issued less than a working day before the due time (D4)".into()
        }
        Flag::ApologyMissing => "late or overdue with no apology issued (D4)".into(),
        Flag::DueSoon => {
            "due within one working day: issue Form 04 now if it will be late (D4)".into()
        }
        Flag::ConsultationOverdue { to, .. } => {
            format!("consultation of {to} past its deadline (D5)")
        }
        Flag::StepOverdue { office } => format!("{office} is past the allowance on its transfer"),
        Flag::DueTimeUnknown { problem } => format!("due time unknown: {problem}"),
    }
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
    let tz = node.calendar.timezone();
    let mut table = render::table(&[
        "code",
        "procedure",
        "applicant",
        "status",
        "holder",
        "received",
        "due",
        "",
    ]);
    for row in &rows {
        let mut marks = Vec::new();
        if row.is_overdue(now) {
            marks.push("OVERDUE".to_string());
        }
        if let Some(t) = row.timeliness {
            marks.push(t.to_string());
        }
        if let Some(to) = &row.transfer_to {
            marks.push(format!("→ {to}"));
        }
        if row.conflicts > 0 {
            marks.push(format!("{} conflict(s)", row.conflicts));
        }
        table.add_row(vec![
            row.code.clone(),
            row.procedure_code.clone(),
            row.applicant.clone(),
            row.status.map_or("—".into(), |s| s.to_string()),
            row.holder.clone().unwrap_or_default(),
            local_opt(row.received_at, tz),
            local_opt(row.due_at, tz),
            marks.join(" "),
        ]);
    }
    println!("{table}");
    println!("{} dossier(s)", rows.len());
    Ok(())
}
