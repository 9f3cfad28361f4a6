//! `lienthong demo`: a three-tier network on this machine and a story
//! played on it, from receipt at a commune desk to the province's report.
//!
//! The story runs on its own clock (from Monday 2 March 2026, 08:00 local)
//! so deadlines come out the same whenever it is run; the network, the
//! stores and the QUIC links are real.

pub mod consoles;
pub mod words;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use lienthong_shared::OfficeId;
use lienthong_shared::builtin;
use lienthong_shared::dossier::schema::Applicant;
use lienthong_shared::dossier::{Action, AppraisalOutcome, Channel, Status};

use crate::i18n::Lang;
use crate::local_network::{LocalNetwork, LocalNetworkError};
use crate::node::Node;
use crate::officer::{self, ActionError, NewDossier};
use words::{DemoMsg, Narrator};

/// Why the demo stopped.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Network(#[from] LocalNetworkError),
    #[error(transparent)]
    Action(#[from] ActionError),
    #[error(transparent)]
    Node(#[from] crate::node::NodeError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

type Result<T, E = DemoError> = std::result::Result<T, E>;

const WAIT: Duration = Duration::from_secs(30);

fn office(id: &str) -> OfficeId {
    id.parse().expect("demo office ids are valid")
}

/// The story's clock: local times in Asia/Ho_Chi_Minh.
struct Clock;

impl Clock {
    fn at(&self, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        let tz = chrono_tz::Asia::Ho_Chi_Minh;
        let date = NaiveDate::from_ymd_opt(2026, 3, day).expect("March 2026 date");
        tz.from_local_datetime(&date.and_hms_opt(hour, minute, 0).expect("valid time"))
            .single()
            .expect("no DST in Vietnam")
            .with_timezone(&Utc)
    }
}

fn name(network: &Node, id: &OfficeId) -> String {
    network
        .network
        .offices
        .get(id)
        .map(|o| o.name.clone())
        .unwrap_or_else(|| id.to_string())
}

/// Options of the demo.
pub struct DemoOptions {
    /// Where the nodes' data directories go (a temporary directory if None).
    pub dir: Option<PathBuf>,
    /// Leave the network running afterwards.
    pub keep: bool,
}

/// Run the demo; returns the directory holding the nodes.
pub async fn run(
    options: DemoOptions,
    keep_until: impl std::future::Future<Output = ()>,
) -> Result<PathBuf> {
    let (root, _temp) = match &options.dir {
        Some(dir) => (dir.clone(), None),
        None => {
            let temp = tempdir()?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    if root.exists() && std::fs::read_dir(&root)?.next().is_some() {
        return Err(DemoError::Io(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            crate::i18n::fill(
                DemoMsg::NotEmpty.text(Lang::from_env()),
                &[("dir", &root.display().to_string())],
            ),
        )));
    }
    let province = office("province:quang-nam");
    let dien_ban = office("district:dien-ban");
    let duy_xuyen = office("district:duy-xuyen");
    let dien_phuong = office("commune:dien-ban/dien-phuong");
    let dien_minh = office("commune:dien-ban/dien-minh");
    let duy_son = office("commune:duy-xuyen/duy-son");
    let duy_trinh = office("commune:duy-xuyen/duy-trinh");
    let offices = [
        province.clone(),
        dien_ban.clone(),
        duy_xuyen.clone(),
        dien_phuong.clone(),
        dien_minh.clone(),
        duy_son.clone(),
        duy_trinh.clone(),
    ];
    let mut net = LocalNetwork::init(
        &root,
        builtin::QUANG_NAM_3TIER,
        builtin::CATALOGUE,
        &offices,
    )?;
    let narrator = {
        let node = net.open(&province)?;
        Narrator::new(
            Lang::from_env(),
            node.calendar.timezone(),
            node.network.offices.clone(),
        )
    };
    println!("{}\n", narrator.both(DemoMsg::Title, &[]));
    let node_word = narrator.locale().t(DemoMsg::NodeWord);
    net.start_all().await?;
    for id in net.offices().cloned().collect::<Vec<_>>() {
        let node = net.open(&id)?;
        let addr = net
            .get(&id)?
            .addr
            .map(|a| a.to_string())
            .unwrap_or_default();
        println!(
            "      {:<44} {}  {node_word} {}  {}",
            name(&node, &id),
            addr,
            node.node_id().short(),
            id
        );
    }
    println!();
    let clock = Clock;

    // 1. A land-use certificate at a commune desk.
    let mut commune = net.open(&dien_phuong)?;
    let land = officer::receive(
        &mut commune,
        &dien_phuong,
        "Trần Thị Hoa",
        clock.at(2, 8, 30),
        &dossier_for(
            "1.004227",
            "Nguyễn Văn An",
            "049084001234",
            "Thôn Thanh Quýt, phường Điện Phương",
            "0905123456",
            Channel::Direct,
        ),
    )?;
    narrator.say("1", |l| {
        l.f(
            DemoMsg::Received,
            &[
                ("code", &land.code),
                ("due", &l.datetime_opt(land.state.due_at)),
            ],
        )
    });
    record(
        &mut commune,
        &land.code,
        None,
        "Trần Thị Hoa",
        clock.at(2, 10, 0),
        forward(&dien_ban, "Kiểm tra hồ sơ, trích đo địa chính", 8),
    )?;
    narrator.then(|l| l.t(DemoMsg::ForwardedUp).into());

    // 2. The district gets it over QUIC and works on it.
    net.wait_until(&dien_ban, "the land dossier", WAIT, |n| {
        in_transfer_to(n, &land.code, &dien_ban)
    })
    .await?;
    let mut district = net.open(&dien_ban)?;
    record(
        &mut district,
        &land.code,
        None,
        "Lê Văn Bình",
        clock.at(2, 14, 0),
        Action::Accepted,
    )?;
    record(
        &mut district,
        &land.code,
        None,
        "Lê Văn Bình",
        clock.at(3, 9, 0),
        Action::Appraised {
            outcome: AppraisalOutcome::Ok,
            note: "Trích đo địa chính xong".into(),
        },
    )?;
    record(
        &mut district,
        &land.code,
        None,
        "Lê Văn Bình",
        clock.at(3, 10, 0),
        forward(
            &office("province:quang-nam/cuc-thue"),
            "Xác định nghĩa vụ tài chính",
            5,
        ),
    )?;
    narrator.say("2", |l| l.t(DemoMsg::District).into());

    // 3. The province: tax, payment at the commune desk, then the land department decides.
    let tax = office("province:quang-nam/cuc-thue");
    let land_dept = office("province:quang-nam/so-tai-nguyen-moi-truong");
    net.wait_until(&province, "the land dossier", WAIT, |n| {
        in_transfer_to(n, &land.code, &tax)
    })
    .await?;
    let mut center = net.open(&province)?;
    record(
        &mut center,
        &land.code,
        Some(&tax),
        "Phạm Thu",
        clock.at(3, 14, 0),
        Action::Accepted,
    )?;
    record(
        &mut center,
        &land.code,
        Some(&tax),
        "Phạm Thu",
        clock.at(4, 9, 0),
        Action::PaymentRequested {
            amount_vnd: 2_500_000,
            note: "Lệ phí trước bạ và tiền sử dụng đất".into(),
        },
    )?;
    narrator.say("3", |l| {
        l.f(DemoMsg::Tax, &[("amount", &l.money(2_500_000))])
    });
    net.wait_until(&dien_phuong, "the payment request", WAIT, |n| {
        status_is(n, &land.code, Status::AwaitingPayment)
    })
    .await?;
    let mut commune = net.open(&dien_phuong)?;
    record(
        &mut commune,
        &land.code,
        None,
        "Trần Thị Hoa",
        clock.at(5, 8, 15),
        Action::Paid {
            amount_vnd: 2_500_000,
            receipt: "BL-0012345".into(),
        },
    )?;
    narrator.then(|l| l.t(DemoMsg::Paid).into());
    net.wait_until(&province, "the payment", WAIT, |n| {
        status_is(n, &land.code, Status::Processing)
    })
    .await?;
    let mut center = net.open(&province)?;
    record(
        &mut center,
        &land.code,
        Some(&tax),
        "Phạm Thu",
        clock.at(5, 10, 0),
        forward(&land_dept, "Thẩm định, ký cấp Giấy chứng nhận", 7),
    )?;
    record(
        &mut center,
        &land.code,
        Some(&land_dept),
        "Võ Minh",
        clock.at(5, 11, 0),
        Action::Accepted,
    )?;
    record(
        &mut center,
        &land.code,
        Some(&land_dept),
        "Võ Minh",
        clock.at(9, 15, 0),
        Action::Approved {
            note: "Giám đốc Sở đã ký".into(),
        },
    )?;
    let land_key = resolve_key(&mut center, &land.code)?;
    let (_, land_dossier) = officer::load(&mut center, &land_key)?;
    let return_to = officer::return_office(&center, &land_dossier, &land_dept);
    record(
        &mut center,
        &land.code,
        Some(&land_dept),
        "Võ Minh",
        clock.at(9, 16, 0),
        Action::ResultIssued {
            result: "Giấy chứng nhận quyền sử dụng đất số CS 04512".into(),
            attachment: None,
            return_office: return_to.clone(),
        },
    )?;
    narrator.then(|l| l.f(DemoMsg::Issued, &[("office", &l.office(&return_to))]));

    // 4. Duy Xuyên processes offline.
    let allowance_office = office("district:duy-xuyen/phong-ldtbxh");
    let mut duy_son_node = net.open(&duy_son)?;
    let allowance = officer::receive(
        &mut duy_son_node,
        &duy_son,
        "Huỳnh Thị Lan",
        clock.at(2, 9, 0),
        &dossier_for(
            "1.001776",
            "Hồ Thị Mai",
            "049052000777",
            "Thôn Trà Kiệu, xã Duy Sơn",
            "0935111222",
            Channel::Postal,
        ),
    )?;
    record(
        &mut duy_son_node,
        &allowance.code,
        None,
        "Huỳnh Thị Lan",
        clock.at(4, 10, 0),
        forward(&allowance_office, "Thẩm định, quyết định trợ cấp", 8),
    )?;
    narrator.say("4", |l| {
        l.f(DemoMsg::Allowance, &[("code", &allowance.code)])
    });
    net.wait_until(&duy_xuyen, "the allowance dossier", WAIT, |n| {
        in_transfer_to(n, &allowance.code, &allowance_office)
    })
    .await?;
    net.stop(&duy_xuyen).await?;
    narrator.then(|l| l.t(DemoMsg::LinkDown).into());
    let mut district_dx = net.open(&duy_xuyen)?;
    record(
        &mut district_dx,
        &allowance.code,
        Some(&allowance_office),
        "Ngô Quân",
        clock.at(5, 8, 0),
        Action::Accepted,
    )?;
    record(
        &mut district_dx,
        &allowance.code,
        Some(&allowance_office),
        "Ngô Quân",
        clock.at(10, 9, 0),
        Action::Approved {
            note: "Chủ tịch UBND huyện đã ký quyết định".into(),
        },
    )?;
    let allowance_key = resolve_key(&mut district_dx, &allowance.code)?;
    let (_, allowance_dossier) = officer::load(&mut district_dx, &allowance_key)?;
    let allowance_return =
        officer::return_office(&district_dx, &allowance_dossier, &allowance_office);
    record(
        &mut district_dx,
        &allowance.code,
        Some(&allowance_office),
        "Ngô Quân",
        clock.at(10, 9, 30),
        Action::ResultIssued {
            result: "Quyết định trợ cấp xã hội hằng tháng".into(),
            attachment: None,
            return_office: allowance_return,
        },
    )?;
    let seen = status_of(&mut net.open(&province)?, &allowance.code);
    narrator.then(|l| l.f(DemoMsg::Offline, &[("status", l.status_opt(seen))]));
    net.start(&duy_xuyen).await?;
    net.wait_until(&duy_son, "the allowance decision", WAIT, |n| {
        status_is(n, &allowance.code, Status::Resolved)
    })
    .await?;
    net.wait_until(&province, "the allowance decision", WAIT, |n| {
        status_is(n, &allowance.code, Status::Resolved)
    })
    .await?;
    narrator.then(|l| l.t(DemoMsg::LinkBack).into());
    let mut duy_son_node = net.open(&duy_son)?;
    record(
        &mut duy_son_node,
        &allowance.code,
        None,
        "Huỳnh Thị Lan",
        clock.at(10, 14, 0),
        Action::Returned {
            channel: Channel::Postal,
        },
    )?;
    narrator.then(|l| l.t(DemoMsg::Posted).into());

    // 5. The certificate reaches the commune desk; the citizen collects it.
    net.wait_until(&dien_phuong, "the certificate", WAIT, |n| {
        status_is(n, &land.code, Status::Resolved)
    })
    .await?;
    let mut commune = net.open(&dien_phuong)?;
    record(
        &mut commune,
        &land.code,
        None,
        "Trần Thị Hoa",
        clock.at(10, 8, 30),
        Action::Returned {
            channel: Channel::Direct,
        },
    )?;
    narrator.say("5", |l| l.t(DemoMsg::Collected).into());

    // 6. Same-day and overdue dossiers at Điện Minh.
    let mut minh = net.open(&dien_minh)?;
    let birth = officer::receive(
        &mut minh,
        &dien_minh,
        "Đặng Thảo",
        clock.at(9, 14, 20),
        &dossier_for(
            "1.001193",
            "Bùi Thị Yến",
            "049190003333",
            "",
            "",
            Channel::Direct,
        ),
    )?;
    for (at, action) in [
        (
            clock.at(9, 14, 25),
            forward(&dien_minh, "Đăng ký khai sinh", 0),
        ),
        (clock.at(9, 14, 26), Action::Accepted),
        (
            clock.at(9, 15, 30),
            Action::Approved {
                note: String::new(),
            },
        ),
        (
            clock.at(9, 15, 31),
            Action::ResultIssued {
                result: "Giấy khai sinh".into(),
                attachment: None,
                return_office: dien_minh.clone(),
            },
        ),
        (
            clock.at(9, 16, 0),
            Action::Returned {
                channel: Channel::Direct,
            },
        ),
    ] {
        record(&mut minh, &birth.code, None, "Đặng Thảo", at, action)?;
    }
    let marriage = officer::receive(
        &mut minh,
        &dien_minh,
        "Đặng Thảo",
        clock.at(5, 9, 0),
        &dossier_for("1.000894", "Lý Văn Hải", "", "", "", Channel::Direct),
    )?;
    narrator.say("6", |l| {
        l.f(
            DemoMsg::SameDay,
            &[("birth", &birth.code), ("marriage", &marriage.code)],
        )
    });
    net.wait_until(&province, "Điện Minh's dossiers", WAIT, |n| {
        has(n, &birth.code) && has(n, &marriage.code)
    })
    .await?;
    net.wait_until(&province, "the returned certificate", WAIT, |n| {
        status_is(n, &land.code, Status::Returned)
    })
    .await?;
    net.wait_until(&province, "the returned allowance", WAIT, |n| {
        status_is(n, &allowance.code, Status::Returned)
    })
    .await?;

    // 7. The province's consolidated view.
    println!();
    narrator.say("7", |l| {
        l.f(
            DemoMsg::ProvinceView,
            &[("at", &l.datetime(clock.at(10, 17, 0)))],
        )
    });
    println!();
    let center = net.open(&province)?;
    print_province_view(center, clock.at(10, 17, 0))?;
    let mut sibling = net.open(&duy_trinh)?;
    let count = sibling
        .store
        .read(|r| r.document_count(crate::store::documents::DocKind::Dossier))?;
    println!();
    narrator.say("", |l| l.f(DemoMsg::Sibling, &[("n", &count.to_string())]));

    if options.keep {
        println!(
            "\n{}",
            narrator.both(
                DemoMsg::KeepRunning,
                &[("dir", &root.display().to_string())]
            )
        );
        for id in net.offices().cloned().collect::<Vec<_>>() {
            let local = net.get(&id)?;
            println!("  {:<32} {}", id.to_string(), local.dir.display());
        }
        let example = net.get(&dien_phuong)?.dir.display().to_string();
        println!("{}", narrator.both(DemoMsg::Try, &[]));
        println!("  lienthong status --data {example}");
        println!("  lienthong list --data {example}");
        println!("  lienthong show --data {example} {}", land.code);
        println!(
            "  lienthong report --data {}",
            net.get(&province)?.dir.display()
        );
        let consoles = consoles::start(&net).await?;
        let center = net.open(&province)?;
        print!("{}", consoles.describe(&narrator, |id| name(&center, id)));
        println!("{}", narrator.both(DemoMsg::Stop, &[]));
        keep_until.await;
        consoles.shutdown().await;
    }
    net.stop_all().await;
    if let Some(temp) = _temp {
        if options.keep {
            let path = temp.keep();
            return Ok(path);
        }
        drop(temp);
    }
    Ok(root)
}

fn tempdir() -> std::io::Result<tempfile::TempDir> {
    tempfile::Builder::new().prefix("lienthong-demo-").tempdir()
}

/// A new dossier whose result goes back the way it came.
fn dossier_for(
    procedure: &str,
    name: &str,
    id_number: &str,
    address: &str,
    phone: &str,
    channel: Channel,
) -> NewDossier {
    let applicant = Applicant {
        name: name.into(),
        id_number: id_number.into(),
        address: address.into(),
        phone: phone.into(),
        ..Applicant::default()
    };
    NewDossier {
        channel,
        result_delivery: channel,
        ..NewDossier::at_the_desk(procedure, applicant)
    }
}

fn forward(to: &OfficeId, task: &str, days: u32) -> Action {
    Action::Forwarded {
        to: to.clone(),
        task: task.into(),
        days,
    }
}

fn record(
    node: &mut Node,
    code: &str,
    office: Option<&OfficeId>,
    officer_name: &str,
    at: DateTime<Utc>,
    action: Action,
) -> Result<()> {
    officer::record(node, code, office, officer_name, at, action)?;
    Ok(())
}

fn resolve_key(node: &mut Node, code: &str) -> Result<[u8; 16]> {
    Ok(officer::resolve(node, code)?.key)
}

fn has(node: &mut Node, code: &str) -> bool {
    officer::resolve(node, code).is_ok()
}

fn in_transfer_to(node: &mut Node, code: &str, to: &OfficeId) -> bool {
    officer::resolve(node, code)
        .ok()
        .and_then(|row| row.transfer_to)
        .is_some_and(|t| t == to.as_str())
}

fn status_of(node: &mut Node, code: &str) -> Option<Status> {
    officer::resolve(node, code).ok().and_then(|row| row.status)
}

fn status_is(node: &mut Node, code: &str, status: Status) -> bool {
    status_of(node, code) == Some(status)
}

fn print_province_view(mut center: Node, now: DateTime<Utc>) -> Result<()> {
    crate::cli::view::print_list(&mut center, &Default::default(), now)
        .map_err(|e| DemoError::Io(std::io::Error::other(e.to_string())))?;
    println!();
    let options = crate::report::ReportOptions {
        group_by: crate::report::GroupBy::Origin,
        now,
        from: None,
        to: None,
    };
    let tree = center.network.offices.clone();
    let report = center
        .store
        .read(|r| crate::report::build(r, &tree, &options, false))?;
    crate::cli::report::print_table(&center, &report);
    Ok(())
}

/// Used by `lienthong demo --dir` to refuse a path inside an existing node.
pub fn looks_like_node(dir: &Path) -> bool {
    dir.join("node.toml").exists()
}
