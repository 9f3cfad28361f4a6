//! Why this node refused a peer's document (lý do từ chối đồng bộ), in
//! words an officer can act on. The refusal is stored as the text the
//! refusing code wrote (English, technical: `daemon/link.rs` keeps the last
//! one); here it is classified by the phrases those producers write
//! (`replication/admission.rs`, `replication/authorship/`, the sync
//! protocol) and worded from a catalogue, Vietnamese first, with what the
//! officer should do; the English text is shown beside it as the technical
//! detail. A text no class knows reads as [`RefusalClass::Other`].

use crate::i18n::Locale;

crate::catalogue! {
    RefusalMsg;
    /// One peer's refusals: how many, when last, its class and advice.
    Line => "Đã từ chối {n} tài liệu từ {office}; lần cuối {at}: {class} {advice}", "Refused {n} document(s) from {office}; last {at}: {class} {advice}";
    /// The stored text, labelled as the technical detail it is.
    Detail => "Chi tiết kỹ thuật (tiếng Anh): {detail}", "Technical detail: {detail}";
    Limit => "Đã đến giới hạn nhận của nút này (số tài liệu, dung lượng mỗi ngày hoặc ổ đĩa gần đầy).", "This node's receiving limit was reached (documents or bytes per day, or a nearly full disk).";
    LimitDo => "Không cần làm gì: tài liệu được gửi lại khi giới hạn hết (xem dòng giới hạn bên dưới); nếu ổ đĩa đầy, hãy báo cán bộ vận hành nút này.", "Nothing to do: the documents are offered again when the limit lifts (see the limit line below); if the disk is full, tell this node's operator.";
    Busy => "Nút này tạm thời không kiểm tra được tài liệu.", "This node could not check the documents just now.";
    BusyDo => "Tài liệu sẽ được gửi lại ở lần đồng bộ sau; nếu lỗi lặp lại, hãy báo cán bộ vận hành nút này.", "They are offered again at the next sync; if this keeps happening, tell this node's operator.";
    Scope => "Hồ sơ không thuộc phạm vi của cơ quan này (không phải nơi tiếp nhận, không nằm trên quy trình, không phải cấp trên).", "The dossier is not this office's (not its origin, not on its route, not above them).";
    ScopeDo => "Nếu lặp lại, hãy liên hệ cán bộ vận hành của cơ quan gửi.", "If this keeps happening, contact the sending office's operator.";
    Authorship => "Thay đổi không được xác minh tác giả (thiếu chữ ký, sai nút ký hoặc nút ghi cho cơ quan mình không phục vụ); không có gì được lưu.", "The changes' authors could not be verified (unsigned, signed by the wrong node, or written for an office the node does not serve); nothing was stored.";
    AuthorshipDo => "Hãy liên hệ cán bộ vận hành của cơ quan gửi để kiểm tra phần mềm đã ghi các thay đổi này.", "Contact the sending office's operator to check what wrote these changes.";
    UnknownAuthor => "Thay đổi được ký bởi một nút không có trong danh bạ của mạng; không có gì được lưu.", "The changes are signed by a node not in the network's directory; nothing was stored.";
    UnknownAuthorDo => "Nếu đó là nút mới, cấp tỉnh phải thêm nút vào tệp mạng; hãy liên hệ cán bộ vận hành cấp tỉnh.", "If it is a new node, the province must add it to the network file: contact the province's operator.";
    Directory => "Nút ghi không có mục còn hiệu lực trong danh bạ nút của tỉnh vào lúc ghi (mục đã hết hạn hoặc chưa bắt đầu); không có gì được lưu.", "The writing node had no entry in force in the province's node directory when it wrote (its entry ended, or had not started); nothing was stored.";
    DirectoryDo => "Nếu khóa của nút đã được thay, hãy ghim mã nút mới; nếu đồng hồ của nút sai, hãy chỉnh lại; nếu không, hãy liên hệ cán bộ vận hành cấp tỉnh (`lienthong directory list`).", "If the node's key was replaced, pin its new id; if its clock is wrong, set it right; otherwise contact the province's operator (`lienthong directory list`).";
    History => "Thay đổi sửa hoặc xóa những gì hồ sơ đã ghi (thông tin hồ sơ, sự kiện trong nhật ký); không có gì được lưu.", "The changes rewrite or remove what the dossier recorded (its facts, events of its log); nothing was stored.";
    Quarantine => "Bản hồ sơ của nút này đang bị cách ly vì lỗi; nút không nhận thay đổi cho hồ sơ này.", "This node's copy of the document is quarantined; it takes no changes to it.";
    QuarantineDo => "Hãy báo cán bộ vận hành nút này để sửa bản bị cách ly.", "Tell this node's operator to repair the quarantined copy.";
    TooLarge => "Tài liệu vượt giới hạn kích thước (tệp đính kèm hoặc gói đồng bộ quá lớn).", "The document is over a size limit (an attachment or a sync message too large).";
    TooLargeDo => "Hãy liên hệ cán bộ vận hành của cơ quan gửi: tệp phải nhỏ hơn, hoặc giới hạn của nút phải được nâng.", "Contact the sending office's operator: the file must be smaller, or the node's limit raised.";
    Malformed => "Tài liệu hỏng hoặc không đọc được (có thể hai nút chạy phiên bản Liên Thông khác nhau).", "The document is malformed or unreadable (the two nodes may run different versions of Liên Thông).";
    MalformedDo => "Hãy liên hệ cán bộ vận hành của cơ quan gửi và so phiên bản phần mềm hai bên.", "Contact the sending office's operator and compare both nodes' software versions.";
    Config => "Cấu hình mạng chỉ được nhận từ cấp trên (cấp tỉnh); nút gửi không ở cấp trên.", "Network configuration is accepted only from above (the province); the sending node is not above this one.";
    Other => "Tài liệu bị từ chối.", "The document was refused.";
    OtherDo => "Nếu lặp lại, hãy liên hệ cán bộ vận hành của cơ quan gửi với chi tiết kỹ thuật bên dưới.", "If this keeps happening, contact the sending office's operator with the technical detail below.";
}

/// The kind of a refusal, as an officer needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalClass {
    /// A limit of this node (per-day quotas, the disk floor): lifts by itself.
    Limit,
    /// This node could not check just now (its store was busy).
    Busy,
    /// The dossier is outside this office's scope.
    Scope,
    /// Changes without a valid attestation by a node serving their office.
    Authorship,
    /// Changes signed by a node the directory does not know.
    UnknownAuthor,
    /// Changes by a node whose directory entry had ended (or not begun)
    /// when they were written; a session with an ended node.
    Directory,
    /// Changes rewriting a dossier's recorded facts or log.
    History,
    /// This node's copy is quarantined.
    Quarantine,
    /// Over an attachment, dossier or message size limit.
    TooLarge,
    /// Unreadable or malformed (possibly another software version).
    Malformed,
    /// Configuration from a node not above this one.
    Config,
    /// A text no class knows.
    Other,
}

/// Phrases each producer writes, by class; the first match wins, so the
/// more specific come first.
const PHRASES: &[(RefusalClass, &[&str])] = &[
    (RefusalClass::Quarantine, &["is quarantined"]),
    (
        RefusalClass::Limit,
        &[
            "(peer_new_documents_per_day)",
            "(peer_bytes_per_day)",
            "min_free_disk_bytes",
        ],
    ),
    (RefusalClass::Busy, &["cannot check its limits just now"]),
    (RefusalClass::Scope, &["is not in the scope of"]),
    (
        RefusalClass::UnknownAuthor,
        &[
            "which is not in the province's node directory",
            "which is not in this node's directory",
        ],
    ),
    (
        RefusalClass::Directory,
        &["whose directory entry for", "its directory entry ended at"],
    ),
    (
        RefusalClass::Authorship,
        &[
            "carries no valid attestation",
            "carries an attestation whose signature does not verify",
            "is written under actor",
            "writes events only for the offices it serves",
            "configuration is accepted only from the province",
        ],
    ),
    (
        RefusalClass::History,
        &[
            "the changes rewrite its facts",
            "the changes remove event",
            "the changes alter event",
            "the changes move event",
            "unreadable log entries",
            "cannot be rebuilt from its heads",
        ],
    ),
    (
        RefusalClass::TooLarge,
        &[
            "over this node's limit of",
            "not sent:",
            "bytes long (at most",
        ],
    ),
    (
        RefusalClass::Config,
        &["configuration flows down from the province"],
    ),
    (
        RefusalClass::Malformed,
        &[
            "sync message refused",
            "changes could not be applied",
            "not a readable dossier",
            "not a Liên Thông document",
            "has a malformed",
            "has a media type of",
            "does not parse",
            "unknown configuration document",
            "configuration document without text",
        ],
    ),
];

impl RefusalClass {
    /// The class of a stored refusal text.
    pub fn of(reason: &str) -> RefusalClass {
        PHRASES
            .iter()
            .find(|(_, phrases)| phrases.iter().any(|p| reason.contains(p)))
            .map_or(RefusalClass::Other, |(class, _)| *class)
    }

    /// What it is, and what the officer should do.
    pub fn words(self) -> (RefusalMsg, RefusalMsg) {
        use RefusalClass as C;
        use RefusalMsg as M;
        match self {
            C::Limit => (M::Limit, M::LimitDo),
            C::Busy => (M::Busy, M::BusyDo),
            C::Scope => (M::Scope, M::ScopeDo),
            C::Authorship => (M::Authorship, M::AuthorshipDo),
            C::UnknownAuthor => (M::UnknownAuthor, M::UnknownAuthorDo),
            C::Directory => (M::Directory, M::DirectoryDo),
            C::History => (M::History, M::AuthorshipDo),
            C::Quarantine => (M::Quarantine, M::QuarantineDo),
            C::TooLarge => (M::TooLarge, M::TooLargeDo),
            C::Malformed => (M::Malformed, M::MalformedDo),
            C::Config => (M::Config, M::ScopeDo),
            C::Other => (M::Other, M::OtherDo),
        }
    }
}

/// One peer's refusals in `l`'s language: the count, the office, when last,
/// the class of the last and what to do (the technical detail apart, in
/// [`detail`]).
pub fn line(l: &Locale<'_>, n: u64, office: &str, at: &str, reason: &str) -> String {
    let (class, advice) = RefusalClass::of(reason).words();
    l.f(
        RefusalMsg::Line,
        &[
            ("n", &n.to_string()),
            ("office", office),
            ("at", at),
            ("class", l.t(class)),
            ("advice", l.t(advice)),
        ],
    )
}

/// The stored text, labelled as the technical detail (English).
pub fn detail(l: &Locale<'_>, reason: &str) -> String {
    l.f(RefusalMsg::Detail, &[("detail", reason)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replication::authorship::attested::AuthorshipViolation;
    use crate::replication::authorship::history::HistoryViolation;
    use RefusalClass as C;

    #[test]
    fn refusal_catalogue_is_complete() {
        crate::i18n::check_catalogue::<RefusalMsg>().unwrap();
    }

    /// The classes come from the producers' own texts: a producer whose
    /// wording changes fails here rather than turn into "Other" on the
    /// sync page.
    #[test]
    fn each_producer_text_gets_its_class() {
        let s = String::from;
        let cases = [
            (
                AuthorshipViolation::Unsigned { change: s("ab12") }.to_string(),
                C::Authorship,
            ),
            (
                AuthorshipViolation::UnknownAuthor {
                    change: s("ab12"),
                    author: s("node9"),
                    author_id: s("lt1-node9"),
                }
                .to_string(),
                C::UnknownAuthor,
            ),
            (
                AuthorshipViolation::Ended {
                    change: s("ab12"),
                    author: s("node9"),
                    office: s("o"),
                    written: s("t1"),
                    until: s("t0"),
                }
                .to_string(),
                C::Directory,
            ),
            (
                crate::daemon::link::ended_reason(
                    &[7; 32],
                    &"commune:x".parse().unwrap(),
                    chrono::Utc::now(),
                ),
                C::Directory,
            ),
            (
                AuthorshipViolation::NotYet {
                    change: s("ab12"),
                    author: s("node9"),
                    office: s("o"),
                    written: s("t0"),
                    from: s("t1"),
                }
                .to_string(),
                C::Directory,
            ),
            (
                AuthorshipViolation::ActorMismatch {
                    change: s("ab12"),
                    actor: s("a"),
                    author: s("b"),
                }
                .to_string(),
                C::Authorship,
            ),
            (
                AuthorshipViolation::NotServed {
                    office: s("o"),
                    author: s("a"),
                    author_office: s("p"),
                }
                .to_string(),
                C::Authorship,
            ),
            (
                AuthorshipViolation::NotProvince {
                    file: "offices",
                    author: s("a"),
                    expected: s(""),
                }
                .to_string(),
                C::Authorship,
            ),
            (
                HistoryViolation::FactsRewritten {
                    code: s("X"),
                    fields: s("applicant"),
                }
                .to_string(),
                C::History,
            ),
            (
                HistoryViolation::EventRemoved {
                    code: s("X"),
                    event: s("e"),
                }
                .to_string(),
                C::History,
            ),
            (
                HistoryViolation::EventAltered {
                    code: s("X"),
                    event: s("e"),
                    what: s("at"),
                }
                .to_string(),
                C::History,
            ),
            (
                HistoryViolation::EventMoved {
                    code: s("X"),
                    event: s("e"),
                }
                .to_string(),
                C::History,
            ),
            (
                HistoryViolation::MalformedRemoved {
                    code: s("X"),
                    removed: 2,
                }
                .to_string(),
                C::History,
            ),
        ];
        for (text, class) in cases {
            assert_eq!(RefusalClass::of(&text), class, "{text}");
        }
    }

    /// Texts of admission.rs and the sync protocol (written with format!
    /// there, copied here in their shape).
    #[test]
    fn admission_and_protocol_texts_get_their_class() {
        for (text, class) in [
            (
                "this peer's quota of 100 new documents per day (peer_new_documents_per_day) is used up until 2026-03-03T00:00:00+07:00; offer it again then",
                C::Limit,
            ),
            (
                "this peer's quota of 1000 bytes per day (peer_bytes_per_day) is used up until …",
                C::Limit,
            ),
            (
                "this node's disk is nearly full (10 bytes free, floor 20 bytes: min_free_disk_bytes); it accepts nothing from peers until space is freed",
                C::Limit,
            ),
            (
                "change ab12 carries an attestation whose signature does not verify (key of node n9); unsigned changes are not accepted from peers. Nothing of this message was stored",
                C::Authorship,
            ),
            (
                "this node cannot check its limits just now (busy); try again later",
                C::Busy,
            ),
            (
                "dossier X (received at a) is not in the scope of b: a dossier goes only to its origin",
                C::Scope,
            ),
            (
                "this node's copy of d is quarantined (bad); it takes no changes to it until an operator repairs it",
                C::Quarantine,
            ),
            (
                "dossier X: attachment \"a.pdf\" is 9 bytes, over this node's limit of 8 bytes per attachment (max_attachment_bytes)",
                C::TooLarge,
            ),
            (
                "not sent: its sync message of 9 bytes exceeds the limit of 8",
                C::TooLarge,
            ),
            ("sync message refused: bad", C::Malformed),
            ("changes could not be applied: bad", C::Malformed),
            ("not a Liên Thông document (unknown schema)", C::Malformed),
            (
                "dossier X: attachment \"a\" has a malformed hash (64 lowercase hex digits expected)",
                C::Malformed,
            ),
            (
                "the offices configuration flows down from the province; x is not above this node",
                C::Config,
            ),
            ("something new", C::Other),
        ] {
            assert_eq!(RefusalClass::of(text), class, "{text}");
        }
    }

    #[test]
    fn the_line_is_worded_with_advice_and_the_detail_is_labelled() {
        let network = lienthong_shared::builtin::quang_nam_3tier();
        let tz = chrono_tz::Asia::Ho_Chi_Minh;
        let vi = Locale::new(crate::i18n::Lang::Vi, tz, &network.offices);
        let reason = AuthorshipViolation::Unsigned {
            change: "ab12".into(),
        }
        .to_string();
        let said = line(&vi, 2, "UBND xã", "02/03/2026 09:45", &reason);
        assert!(said.starts_with("Đã từ chối 2 tài liệu từ UBND xã; lần cuối 02/03/2026 09:45: Thay đổi không được xác minh tác giả"), "{said}");
        assert!(
            said.contains("liên hệ cán bộ vận hành của cơ quan gửi"),
            "{said}"
        );
        assert!(!said.contains("attestation"), "{said}");
        assert_eq!(detail(&vi, "x"), "Chi tiết kỹ thuật (tiếng Anh): x");
    }
}
