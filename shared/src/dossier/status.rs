//! Dossier statuses (trạng thái hồ sơ), numbered as on the national portal.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a dossier stands. The numeric codes follow the national public
/// service portal so that reports line up with other systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 1 — filed online or by post, not yet checked at a desk.
    Submitted,
    /// 2 — accepted at a desk, Form 01 issued, clock running.
    Received,
    /// 3 — not accepted at intake, Form 03 with the reason (final).
    Refused,
    /// 4 — with a processing office (including in transfer).
    Processing,
    /// 5 — returned to the applicant to complete, Form 02; clock paused.
    AwaitingSupplement,
    /// 6 — waiting for a fee or tax to be paid.
    AwaitingPayment,
    /// 7 — the applicant asked to withdraw.
    WithdrawalRequested,
    /// 8 — processing stopped (withdrawn, or not eligible) (final).
    Stopped,
    /// 9 — result issued, on its way to the return desk.
    Resolved,
    /// 10 — result handed to the applicant (final).
    Returned,
}

impl Status {
    pub const ALL: [Status; 10] = [
        Status::Submitted,
        Status::Received,
        Status::Refused,
        Status::Processing,
        Status::AwaitingSupplement,
        Status::AwaitingPayment,
        Status::WithdrawalRequested,
        Status::Stopped,
        Status::Resolved,
        Status::Returned,
    ];

    /// The national portal's numeric code.
    pub fn code(self) -> u8 {
        match self {
            Status::Submitted => 1,
            Status::Received => 2,
            Status::Refused => 3,
            Status::Processing => 4,
            Status::AwaitingSupplement => 5,
            Status::AwaitingPayment => 6,
            Status::WithdrawalRequested => 7,
            Status::Stopped => 8,
            Status::Resolved => 9,
            Status::Returned => 10,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Submitted => "submitted",
            Status::Received => "received",
            Status::Refused => "refused",
            Status::Processing => "processing",
            Status::AwaitingSupplement => "awaiting_supplement",
            Status::AwaitingPayment => "awaiting_payment",
            Status::WithdrawalRequested => "withdrawal_requested",
            Status::Stopped => "stopped",
            Status::Resolved => "resolved",
            Status::Returned => "returned",
        }
    }

    /// Vietnamese label as officers know it.
    pub fn label_vi(self) -> &'static str {
        match self {
            Status::Submitted => "Mới nộp",
            Status::Received => "Đã tiếp nhận",
            Status::Refused => "Từ chối tiếp nhận",
            Status::Processing => "Đang xử lý",
            Status::AwaitingSupplement => "Chờ bổ sung",
            Status::AwaitingPayment => "Chờ thực hiện nghĩa vụ tài chính",
            Status::WithdrawalRequested => "Xin rút hồ sơ",
            Status::Stopped => "Dừng xử lý",
            Status::Resolved => "Đã có kết quả",
            Status::Returned => "Đã trả kết quả",
        }
    }

    /// No event may change a dossier in a final status (only notes).
    pub fn is_final(self) -> bool {
        matches!(self, Status::Refused | Status::Stopped | Status::Returned)
    }

    /// Processing has ended (D6): resolved or any final status.
    pub fn has_ended(self) -> bool {
        self.is_final() || self == Status::Resolved
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown status name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown status `{0}`; known: submitted, received, refused, processing, awaiting_supplement, awaiting_payment, withdrawal_requested, stopped, resolved, returned (or their codes 1–10)"
)]
pub struct UnknownStatus(pub String);

impl FromStr for Status {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == wanted || status.code().to_string() == wanted)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

/// Timeliness of a dossier (D6): đúng hạn / sớm hạn / trễ hạn / quá hạn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timeliness {
    /// Finished on a working day before the due date (sớm hạn).
    Early,
    /// Finished on the due date, not after the due time (đúng hạn).
    OnTime,
    /// Finished after the due time (trễ hạn).
    Late,
    /// Not finished and past the due time (quá hạn).
    Overdue,
}

impl Timeliness {
    pub fn as_str(self) -> &'static str {
        match self {
            Timeliness::Early => "early",
            Timeliness::OnTime => "on_time",
            Timeliness::Late => "late",
            Timeliness::Overdue => "overdue",
        }
    }
}

impl fmt::Display for Timeliness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_national_portal() {
        let codes: Vec<u8> = Status::ALL.iter().map(|s| s.code()).collect();
        assert_eq!(codes, (1..=10).collect::<Vec<u8>>());
        assert_eq!("9".parse::<Status>().unwrap(), Status::Resolved);
        assert_eq!(
            "awaiting-supplement".parse::<Status>().unwrap(),
            Status::AwaitingSupplement
        );
        assert!("done".parse::<Status>().is_err());
    }

    #[test]
    fn final_statuses() {
        let finals: Vec<Status> = Status::ALL.into_iter().filter(|s| s.is_final()).collect();
        assert_eq!(
            finals,
            vec![Status::Refused, Status::Stopped, Status::Returned]
        );
        assert!(Status::Resolved.has_ended() && !Status::Resolved.is_final());
    }
}
