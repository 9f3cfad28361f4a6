//! Words for a step's allowance of no whole working day: the one step of a
//! procedure settled the day it is received (RULES D2, "trong ngày"), which
//! the route gives 0 days. "0 ngày làm việc" read as if the step had no
//! time at all (issue 9's audit).

crate::catalogue! {
    DaysMsg;
    /// A step of 0 working days: done within the day (trong ngày).
    WithinTheDay => "trong ngày", "within the day";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{Lang, Locale};

    #[test]
    fn both_languages_name_the_same_values() {
        crate::i18n::check_catalogue::<DaysMsg>().unwrap();
    }

    #[test]
    fn a_step_of_no_whole_day_reads_within_the_day() {
        let network = lienthong_shared::builtin::quang_nam_3tier();
        let tz = chrono_tz::Asia::Ho_Chi_Minh;
        let vi = Locale::new(Lang::Vi, tz, &network.offices);
        let en = Locale::new(Lang::En, tz, &network.offices);
        assert_eq!(vi.working_days(0), "trong ngày");
        assert_eq!(en.working_days(0), "within the day");
        assert_eq!(vi.working_days(3), "3 ngày làm việc");
        assert_eq!(en.working_days(1), "1 working day");
    }
}
