//! The words of authorship: the fold's route rules and the refusals of
//! admission. Vietnamese first, English beside.

crate::catalogue! {
    AuthorshipMsg;
    /// A `NotOnRoute` conflict (phê duyệt ngoài quy trình liên thông).
    WhyNotOnRoute => "chỉ cơ quan trên quy trình liên thông của hồ sơ ({route}) được phê duyệt", "only an office on the dossier's route ({route}) may approve it";
    /// A `NotDecidingOffice` conflict (cơ quan chủ trì giải quyết).
    WhyNotDecidingOffice => "chỉ {decider}, cơ quan chủ trì giải quyết theo quy trình, được ban hành kết quả", "only {decider}, the route's deciding agency, may issue the result";
    /// `show`'s column: the node whose signature a change carries (nút ghi).
    ColAuthor => "Nút ghi (đã xác minh)", "Written by node (verified)";
    /// An event written before changes were signed (chưa ký).
    AuthorUnsigned => "chưa ký (ghi trước khi nâng cấp)", "unsigned (written before the upgrade)";
    /// A stored attestation that does not verify.
    AuthorInvalid => "chữ ký không hợp lệ", "signature does not verify";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorship_catalogue_is_complete() {
        crate::i18n::check_catalogue::<AuthorshipMsg>().unwrap();
    }
}
