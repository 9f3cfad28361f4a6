//! The officer commands: one event each, one transaction each.

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use lienthong_shared::OfficeId;
use lienthong_shared::dossier::fold::DossierState;
use lienthong_shared::dossier::schema::Applicant;
use lienthong_shared::dossier::{Action, AppraisalOutcome, Channel, EventId};
use serde::Serialize;

use super::args::{DataArgs, OfficerArgs, WhoArgs, parse_time};
use super::messages::CliMsg;
use super::render;
use crate::i18n::{Lang, Msg};
use crate::node::Node;
use crate::officer::{self, Intent, NewDossier, NewDue, Recorded};

/// Receive a dossier at this office's desk (Form 01).
#[derive(Debug, Args)]
pub struct ReceiveArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub who: WhoArgs,
    /// Procedure code from the catalogue (`lienthong procedures` lists them).
    #[arg(long, value_name = "CODE")]
    pub procedure: String,
    /// Applicant's full name.
    #[arg(long = "applicant", value_name = "NAME")]
    pub applicant_name: String,
    /// Citizen identity number (CCCD).
    #[arg(long, value_name = "NUMBER", default_value = "")]
    pub id_number: String,
    #[arg(long, value_name = "ADDRESS", default_value = "")]
    pub address: String,
    #[arg(long, value_name = "PHONE", default_value = "")]
    pub phone: String,
    #[arg(long, value_name = "EMAIL", default_value = "")]
    pub email: String,
    /// Organisation, when an organisation applies.
    #[arg(long, value_name = "NAME", default_value = "")]
    pub organisation: String,
    /// How the dossier came in.
    #[arg(long, value_name = "direct|postal|online", default_value = "direct", value_parser = parse_channel)]
    pub channel: Channel,
    /// How the applicant wants the result: at the desk (direct) or by post (R3).
    #[arg(long, value_name = "direct|postal", default_value = "direct", value_parser = parse_channel)]
    pub result_by: Channel,
    /// A submitted component (repeatable); default: the catalogue's list.
    #[arg(long = "component", value_name = "NAME")]
    pub components: Vec<String>,
    /// Record an online/postal submission not yet checked at the desk (status 1);
    /// `lienthong accept-submission` takes it in later.
    #[arg(long)]
    pub submitted_only: bool,
    /// Receive as this office (default: the node's office).
    #[arg(long = "at-office", value_name = "OFFICE")]
    pub at_office: Option<OfficeId>,
}

fn parse_channel(s: &str) -> Result<Channel, String> {
    Channel::parse(s).ok_or_else(|| format!("`{s}` is not a channel: use direct, postal or online"))
}

fn parse_outcome(s: &str) -> Result<AppraisalOutcome, String> {
    AppraisalOutcome::parse(s)
        .ok_or_else(|| format!("`{s}` is not an outcome: use ok, needs-supplement or not-eligible"))
}

/// The officer commands that act on an existing dossier.
#[derive(Debug, Subcommand)]
pub enum DossierCommand {
    /// Take in at the desk a dossier submitted online or by post (status 1 → 2, Form 01).
    AcceptSubmission(OfficerArgs),
    /// Refuse a dossier at intake (Form 03).
    Refuse {
        #[command(flatten)]
        common: OfficerArgs,
        #[arg(long)]
        reason: String,
    },
    /// Hand custody to another office (transfer slip); it must `accept`.
    Forward {
        #[command(flatten)]
        common: OfficerArgs,
        /// The receiving office; default: the next office on the dossier's route.
        #[arg(long, value_name = "OFFICE")]
        to: Option<OfficeId>,
        /// The task written on the transfer; default: the route step's.
        #[arg(long)]
        task: Option<String>,
        /// Working days allowed to the receiver; default: the route step's.
        #[arg(long)]
        days: Option<u32>,
    },
    /// Take back a transfer not yet accepted.
    CancelForward {
        #[command(flatten)]
        common: OfficerArgs,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Accept a dossier forwarded to this office; it becomes the holder.
    Accept(OfficerArgs),
    /// Record the appraisal (thẩm định).
    Appraise {
        #[command(flatten)]
        common: OfficerArgs,
        #[arg(long, value_parser = parse_outcome, value_name = "ok|needs-supplement|not-eligible")]
        outcome: AppraisalOutcome,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Schedule an on-site verification (thẩm tra, xác minh).
    Verify {
        #[command(flatten)]
        common: OfficerArgs,
        /// When (local time).
        #[arg(long)]
        when: String,
        #[arg(long = "place")]
        place: String,
        #[arg(long, default_value = "")]
        who: String,
    },
    /// Ask another agency's opinion (lấy ý kiến), with a deadline (D5).
    Consult {
        #[command(flatten)]
        common: OfficerArgs,
        #[arg(long, value_name = "OFFICE")]
        to: OfficeId,
        #[arg(long)]
        question: String,
        /// Answer due in this many working days.
        #[arg(long, default_value_t = 5)]
        days: u32,
    },
    /// Answer a consultation addressed to this office.
    Answer {
        #[command(flatten)]
        common: OfficerArgs,
        /// The consultation's event id (default: the one open consultation to this office).
        #[arg(long)]
        consultation: Option<String>,
        #[arg(long)]
        answer: String,
    },
    /// Ask the applicant to complete the dossier (Form 02); the clock pauses (D3).
    RequestSupplement {
        #[command(flatten)]
        common: OfficerArgs,
        /// Something missing (repeat for each; everything in one request).
        #[arg(long = "item", required = true)]
        items: Vec<String>,
        #[arg(long)]
        reason: String,
    },
    /// The applicant's supplement arrived at the desk; the clock restarts (D3).
    SupplementReceived {
        #[command(flatten)]
        common: OfficerArgs,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Ask for a fee or tax to be paid (status 6).
    RequestPayment {
        #[command(flatten)]
        common: OfficerArgs,
        #[arg(long, value_name = "VND")]
        amount: u64,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Record the payment; back to processing.
    Paid {
        #[command(flatten)]
        common: OfficerArgs,
        #[arg(long, value_name = "VND")]
        amount: u64,
        #[arg(long, default_value = "")]
        receipt: String,
    },
    /// Apologise and set a new due time (Form 04), once, before the due time (D4).
    Apologize {
        #[command(flatten)]
        common: OfficerArgs,
        #[arg(long)]
        reason: String,
        /// The new due time (local `YYYY-MM-DD HH:MM`).
        #[arg(long, value_name = "TIME", conflicts_with = "extra_days")]
        new_due: Option<String>,
        /// Or: this many working days after the current due time.
        #[arg(long, value_name = "DAYS")]
        extra_days: Option<u32>,
    },
    /// The applicant asks to withdraw the dossier (status 7).
    Withdraw {
        #[command(flatten)]
        common: OfficerArgs,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Stop processing (status 8, final), after a withdrawal or when not eligible.
    Stop {
        #[command(flatten)]
        common: OfficerArgs,
        #[arg(long)]
        reason: String,
    },
    /// Approve (sign) the decision.
    Approve {
        #[command(flatten)]
        common: OfficerArgs,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Issue the result; it travels back to the return desk (R1, R2).
    IssueResult {
        #[command(flatten)]
        common: OfficerArgs,
        /// What the result is (e.g. "Giấy chứng nhận quyền sử dụng đất số …").
        #[arg(long)]
        result: String,
        /// A signed result file already attached to the dossier, by its hash.
        #[arg(long, value_name = "SHA256")]
        attachment: Option<String>,
    },
    /// Hand the result to the applicant (status 10, final).
    Return {
        #[command(flatten)]
        common: OfficerArgs,
        #[arg(long, value_parser = parse_channel, default_value = "direct", value_name = "direct|postal")]
        channel: Channel,
    },
    /// Add a note (any office holding a copy, any status).
    Note {
        #[command(flatten)]
        common: OfficerArgs,
        #[arg(long)]
        text: String,
    },
}

impl DossierCommand {
    fn common(&self) -> &OfficerArgs {
        match self {
            DossierCommand::AcceptSubmission(c) | DossierCommand::Accept(c) => c,
            DossierCommand::Refuse { common, .. }
            | DossierCommand::Forward { common, .. }
            | DossierCommand::CancelForward { common, .. }
            | DossierCommand::Appraise { common, .. }
            | DossierCommand::Verify { common, .. }
            | DossierCommand::Consult { common, .. }
            | DossierCommand::Answer { common, .. }
            | DossierCommand::RequestSupplement { common, .. }
            | DossierCommand::SupplementReceived { common, .. }
            | DossierCommand::RequestPayment { common, .. }
            | DossierCommand::Paid { common, .. }
            | DossierCommand::Apologize { common, .. }
            | DossierCommand::Withdraw { common, .. }
            | DossierCommand::Stop { common, .. }
            | DossierCommand::Approve { common, .. }
            | DossierCommand::IssueResult { common, .. }
            | DossierCommand::Return { common, .. }
            | DossierCommand::Note { common, .. } => common,
        }
    }
}

/// What an officer command prints with `--json`.
#[derive(Serialize)]
struct RecordedJson<'a> {
    dossier: String,
    code: &'a str,
    event: &'a lienthong_shared::dossier::Event,
    feed_seq: i64,
    state: &'a DossierState,
}

fn report(node: &Node, recorded: &Recorded, json: bool) -> Result<()> {
    if json {
        return render::print_json(&RecordedJson {
            dossier: crate::store::documents::hex(&recorded.key),
            code: &recorded.code,
            event: &recorded.event,
            feed_seq: recorded.seq,
            state: &recorded.state,
        });
    }
    let locale = node.locale(Lang::from_env());
    let state = &recorded.state;
    for event in std::iter::once(&recorded.event).chain(&recorded.follow_up) {
        println!("{}: {}", recorded.code, locale.action(&event.action));
    }
    let status = locale.status_opt(state.status);
    print!("  {}", locale.f(Msg::StatusLine, &[("status", status)]));
    if let Some(holder) = &state.holder {
        print!(
            "{}",
            locale.f(Msg::HeldByLine, &[("holder", &locale.office(holder))])
        );
    }
    if let Some(transfer) = &state.transfer {
        print!(
            "{}",
            locale.f(Msg::InTransferLine, &[("to", &locale.office(&transfer.to))])
        );
    }
    println!();
    if let Some(due) = state.due_at {
        println!(
            "  {}",
            locale.f(Msg::DueLine, &[("due", &locale.datetime(due))])
        );
    }
    Ok(())
}

/// An officer command's error in the officer's language, with office
/// names and local times.
fn explain(node: &Node, error: officer::ActionError) -> anyhow::Error {
    anyhow::anyhow!(node.locale(Lang::from_env()).action_error(&error))
}

pub fn receive(args: &ReceiveArgs) -> Result<()> {
    let mut node = Node::open(&args.data.data)?;
    let at = args.who.time(node.calendar.timezone())?;
    let office = args
        .at_office
        .clone()
        .or_else(|| args.who.acting_as.clone())
        .unwrap_or_else(|| node.office().clone());
    let new = NewDossier {
        procedure: args.procedure.clone(),
        applicant: Applicant {
            name: args.applicant_name.clone(),
            id_number: args.id_number.clone(),
            address: args.address.clone(),
            phone: args.phone.clone(),
            email: args.email.clone(),
            organisation: args.organisation.clone(),
        },
        channel: args.channel,
        result_delivery: args.result_by,
        components: args.components.clone(),
        submitted_only: args.submitted_only,
    };
    if args.applicant_name.trim().is_empty() {
        bail!("{}", CliMsg::ApplicantMissing.text(Lang::from_env()));
    }
    let recorded = officer::receive(&mut node, &office, &args.who.officer, at, &new)
        .map_err(|e| explain(&node, e))?;
    if !args.who.json && !args.submitted_only {
        println!("{}", node.locale(Lang::from_env()).t(Msg::Form01Title));
    }
    report(&node, &recorded, args.who.json)
}

pub fn run(command: &DossierCommand) -> Result<()> {
    let common = command.common();
    let mut node = Node::open(&common.data.data)?;
    let tz = node.calendar.timezone();
    let at = common.who.time(tz)?;
    let intent = intent(command, tz)?;
    let recorded = officer::act(
        &mut node,
        &common.dossier,
        common.who.acting_as.as_ref(),
        &common.who.officer,
        at,
        &intent,
    )
    .map_err(|e| explain(&node, e))?;
    report(&node, &recorded, common.who.json)
}

/// What the command's flags ask for; the defaults (route step,
/// consultation, new due time, return desk) are the service layer's, drawn
/// from the dossier's state when the command runs.
fn intent(command: &DossierCommand, tz: chrono_tz::Tz) -> Result<Intent> {
    Ok(match command {
        DossierCommand::AcceptSubmission(_) => Intent::AcceptSubmission,
        DossierCommand::Refuse { reason, .. } => Intent::Exact(Action::Refused {
            reason: reason.clone(),
        }),
        DossierCommand::Forward { to, task, days, .. } => Intent::Forward {
            to: to.clone(),
            task: task.clone(),
            days: *days,
        },
        DossierCommand::CancelForward { reason, .. } => Intent::Exact(Action::ForwardCancelled {
            reason: reason.clone(),
        }),
        DossierCommand::Accept(_) => Intent::Exact(Action::Accepted),
        DossierCommand::Appraise { outcome, note, .. } => Intent::Exact(Action::Appraised {
            outcome: *outcome,
            note: note.clone(),
        }),
        DossierCommand::Verify {
            when, place, who, ..
        } => Intent::Exact(Action::VerificationScheduled {
            when: parse_time(when, tz)?,
            place: place.clone(),
            who: who.clone(),
        }),
        DossierCommand::Consult {
            to, question, days, ..
        } => Intent::Consult {
            to: to.clone(),
            question: question.clone(),
            days: *days,
        },
        DossierCommand::Answer {
            consultation,
            answer,
            ..
        } => Intent::Answer {
            consultation: consultation.clone().map(EventId),
            answer: answer.clone(),
        },
        DossierCommand::RequestSupplement { items, reason, .. } => {
            Intent::Exact(Action::SupplementRequested {
                items: items.clone(),
                reason: reason.clone(),
            })
        }
        DossierCommand::SupplementReceived { note, .. } => {
            Intent::Exact(Action::SupplementReceived { note: note.clone() })
        }
        DossierCommand::RequestPayment { amount, note, .. } => {
            Intent::Exact(Action::PaymentRequested {
                amount_vnd: *amount,
                note: note.clone(),
            })
        }
        DossierCommand::Paid {
            amount, receipt, ..
        } => Intent::Exact(Action::Paid {
            amount_vnd: *amount,
            receipt: receipt.clone(),
        }),
        DossierCommand::Apologize {
            reason,
            new_due,
            extra_days,
            ..
        } => Intent::Apologize {
            reason: reason.clone(),
            new_due: match (new_due, extra_days) {
                (Some(text), _) => NewDue::At(parse_time(text, tz)?),
                (None, Some(days)) => NewDue::ExtraWorkingDays(*days),
                (None, None) => {
                    bail!("{}", CliMsg::NewDueMissing.text(Lang::from_env()))
                }
            },
        },
        DossierCommand::Withdraw { reason, .. } => Intent::Exact(Action::WithdrawalRequested {
            reason: reason.clone(),
        }),
        DossierCommand::Stop { reason, .. } => Intent::Exact(Action::Stopped {
            reason: reason.clone(),
        }),
        DossierCommand::Approve { note, .. } => {
            Intent::Exact(Action::Approved { note: note.clone() })
        }
        DossierCommand::IssueResult {
            result, attachment, ..
        } => Intent::IssueResult {
            result: result.clone(),
            attachment: attachment.clone(),
        },
        DossierCommand::Return { channel, .. } => {
            Intent::Exact(Action::Returned { channel: *channel })
        }
        DossierCommand::Note { text, .. } => Intent::Exact(Action::Note { text: text.clone() }),
    })
}
