//! `lienthong notices`: queue deadline and result notices, list the outbox.

use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::Args;
use serde::Serialize;

use super::args::{DataArgs, parse_time};
use super::render;
use crate::i18n::Locale;
use crate::i18n::{Lang, Msg};
use crate::node::Node;
use crate::notices::{self, Audience, Delivery, NoticeKind, OutboxEntry};

crate::catalogue! {
    DeliveryMsg;
    Pending => "chờ gửi", "pending";
    Failed => "gửi lỗi {n} lần, thử lại {next}", "failed {n} time(s), next try {next}";
    LastError => "lỗi lần cuối: {error}", "last error: {error}";
    Summary => "{n} thông báo: {delivered} đã gửi, {pending} chờ gửi, {failed} gửi lỗi.", "{n} notice(s): {delivered} delivered, {pending} pending, {failed} failed.";
    KindSupplement => "yêu cầu bổ sung (Mẫu 02)", "supplement requested (Form 02)";
    KindRefused => "từ chối tiếp nhận", "refused";
    KindStopped => "dừng giải quyết", "stopped";
    NoGateway => "Chưa cấu hình cổng gửi ([gateway] trong node.toml): thông báo nằm chờ trong hộp thư đi.", "No gateway is configured ([gateway] in node.toml): notices wait in the outbox.";
}

/// A notice's delivery, in words.
fn delivery_words(l: &Locale, entry: &OutboxEntry) -> String {
    match entry.delivery() {
        Delivery::Delivered => l.f(
            Msg::SentAt,
            &[(
                "at",
                &entry.sent_at.map(|t| l.datetime(t)).unwrap_or_default(),
            )],
        ),
        Delivery::Pending => l.t(DeliveryMsg::Pending).to_string(),
        Delivery::Failed => l.f(
            DeliveryMsg::Failed,
            &[
                ("n", &entry.attempts.to_string()),
                (
                    "next",
                    &entry
                        .next_attempt_at
                        .map(|t| l.datetime(t))
                        .unwrap_or_default(),
                ),
            ],
        ),
    }
}

const ABOUT: &str = "\
Looks at the dossiers held by the offices this node serves and queues, once each,
the notices due at --now:

  due_soon              due within one working day, no apology yet: Form 04 must go
                        out now if it will be late (D4). For the officers.
  overdue               past the due time, clock running: an apology for the delay.
                        For the applicant.
  consultation_overdue  a consultation past its deadline with no answer: report it
                        to the Center (D5). For the officers.
  result_ready          the result is at this node's return desk: come and collect it
                        (or it comes by post). For the applicant.
  supplement_requested  the dossier waits for the applicant to complete it (Form 02):
                        what to bring and why. For the applicant.
  refused               not accepted at intake (Form 03), with the reason; within 7
                        days of the refusal. For the applicant.
  stopped               processing stopped, with the reason; within 7 days. For the
                        applicant.

Each notice carries the applicant's phone and e-mail from the dossier and a message
in Vietnamese. A notice is queued once per dossier, kind and due time (or
consultation, or result): running the command again queues only what is new. Only
the node serving a dossier's holder queues its notices.

This command sends nothing itself. The daemon (`lienthong run`) delivers the outbox
through the gateway of node.toml's [gateway] section: an HTTP webhook or a command
hook (docs/gateway.md), retrying failures with backoff. The list shows each
notice's delivery: delivered (when), pending (not tried yet), or failed (how many
tries, the next one, and the last error).";

const EXAMPLES: &str = "Examples:\n  lienthong notices --data DIR\n  lienthong notices --data DIR --now '2026-03-20 08:00' --json";

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES, after_long_help = format!("{ABOUT}\n\n{EXAMPLES}"))]
pub struct NoticesArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Judge deadlines at this time instead of now (local `YYYY-MM-DD HH:MM` or RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// List only the latest N entries of the outbox.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Print JSON: what this run queued and the outbox.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct NoticesJson<'a> {
    now: DateTime<Utc>,
    queued: usize,
    candidates: usize,
    loaded: usize,
    outbox: &'a [OutboxEntry],
}

pub fn notices(args: &NoticesArgs) -> Result<()> {
    let mut node = Node::open(&args.data.data)?;
    let tz = node.calendar.timezone();
    let now = match &args.now {
        Some(text) => parse_time(text, tz)?,
        None => Utc::now(),
    };
    let queued = notices::queue(&mut node, now)?;
    let outbox = node.store.read(|r| notices::outbox(r, args.limit))?;
    if args.json {
        return render::print_json(&NoticesJson {
            now,
            queued: queued.queued.len(),
            candidates: queued.candidates,
            loaded: queued.loaded,
            outbox: &outbox,
        });
    }
    let l = node.locale(Lang::from_env());
    println!(
        "{}",
        l.f(
            Msg::NoticesQueued,
            &[
                ("n", &queued.queued.len().to_string()),
                ("now", &l.datetime(now)),
                ("candidates", &queued.candidates.to_string()),
                ("loaded", &queued.loaded.to_string()),
            ]
        )
    );
    if outbox.is_empty() {
        println!("{}", l.t(Msg::OutboxEmpty));
        return Ok(());
    }
    println!();
    for entry in &outbox {
        let n = &entry.notice;
        let to = l.t(match n.audience {
            Audience::Applicant => Msg::ToApplicant,
            Audience::Office => Msg::ToOfficers,
        });
        let kind = match n.kind {
            NoticeKind::DueSoon => l.t(Msg::NoticeDueSoon),
            NoticeKind::Overdue => l.t(Msg::NoticeOverdue),
            NoticeKind::ConsultationOverdue => l.t(Msg::NoticeConsultationOverdue),
            NoticeKind::ResultReady => l.t(Msg::NoticeResultReady),
            NoticeKind::SupplementRequested => l.t(DeliveryMsg::KindSupplement),
            NoticeKind::Refused => l.t(DeliveryMsg::KindRefused),
            NoticeKind::Stopped => l.t(DeliveryMsg::KindStopped),
        };
        let contact = [n.phone.as_str(), n.email.as_str()]
            .into_iter()
            .filter(|c| !c.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        let sent = delivery_words(&l, entry);
        println!(
            "{}",
            l.f(
                Msg::NoticeLine,
                &[
                    ("id", &entry.id.to_string()),
                    ("at", &l.datetime(entry.created_at)),
                    ("code", &n.code),
                    ("kind", kind),
                    ("to", to),
                    ("applicant", &n.applicant),
                    (
                        "contact",
                        if contact.is_empty() {
                            l.t(Msg::NoContact)
                        } else {
                            &contact
                        }
                    ),
                    ("office", &l.office_str(&n.office)),
                    ("sent", &sent),
                ]
            )
        );
        println!("    {}", n.message);
        if entry.delivery() != Delivery::Delivered
            && let Some(error) = &entry.last_error
        {
            println!("    {}", l.f(DeliveryMsg::LastError, &[("error", error)]));
        }
    }
    let count = |d: Delivery| {
        outbox
            .iter()
            .filter(|e| e.delivery() == d)
            .count()
            .to_string()
    };
    println!();
    println!(
        "{}",
        l.f(
            DeliveryMsg::Summary,
            &[
                ("n", &outbox.len().to_string()),
                ("delivered", &count(Delivery::Delivered)),
                ("pending", &count(Delivery::Pending)),
                ("failed", &count(Delivery::Failed)),
            ]
        )
    );
    if node.config.gateway.is_none() {
        println!("{}", l.t(DeliveryMsg::NoGateway));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_delivery_words_are_complete() {
        crate::i18n::check_catalogue::<super::DeliveryMsg>().unwrap();
    }
}
