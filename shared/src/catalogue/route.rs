//! Route targets and the resolution of a procedure's route (liên thông) in
//! an office tree.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{Procedure, ProcessingTime};
use crate::office_id::OfficeId;
use crate::offices::{Office, OfficeTree};

/// Who handles a route step (or decides a procedure), relative to the office
/// that received the dossier, so one catalogue serves every office and
/// every network shape.
///
/// Written as a string in the catalogue:
/// - `"origin"`: the receiving office;
/// - `"ancestor:LEVEL"`: the receiving office if its level is `LEVEL`, else
///   its nearest ancestor with that level (`ancestor:district`);
/// - `"agency:SLUG"`: the office `<root id>/<SLUG>`, a department at the
///   province (`agency:so-tu-phap` → `province:quang-nam/so-tu-phap`);
/// - `"agency-at:LEVEL:SLUG"`: the office `<nearest office at LEVEL>/<SLUG>`,
///   e.g. a district's Phòng LĐTBXH (`agency-at:district:phong-ldtbxh`);
/// - anything else: a literal office id (`province:quang-nam/so-xay-dung`).
///
/// Ids that do not exist are also looked up among the tree's aliases (former
/// ids of merged departments).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum RouteTarget {
    Origin,
    Ancestor { level: String },
    Agency { slug: String },
    AgencyAt { level: String, slug: String },
    Office(OfficeId),
}

/// Why a string is not a route target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{value}` is not a route target: {reason} (write \"origin\", \"ancestor:LEVEL\", \"agency:SLUG\", \"agency-at:LEVEL:SLUG\" or an office id such as \"province:quang-nam/so-tu-phap\")"
)]
pub struct RouteTargetError {
    pub value: String,
    pub reason: String,
}

fn is_label(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_slug_path(text: &str) -> bool {
    text.split('/').all(is_label)
}

impl FromStr for RouteTarget {
    type Err = RouteTargetError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let error = |reason: &str| RouteTargetError {
            value: value.to_string(),
            reason: reason.to_string(),
        };
        if value == "origin" {
            return Ok(Self::Origin);
        }
        if let Some(level) = value.strip_prefix("ancestor:") {
            if !is_label(level) {
                return Err(error(
                    "the level must be lowercase letters, digits or hyphens",
                ));
            }
            return Ok(Self::Ancestor {
                level: level.to_string(),
            });
        }
        if let Some(rest) = value.strip_prefix("agency-at:") {
            let Some((level, slug)) = rest.split_once(':') else {
                return Err(error("agency-at needs a level and a slug separated by ':'"));
            };
            if !is_label(level) || !is_slug_path(slug) {
                return Err(error(
                    "the level and the slug must be lowercase letters, digits or hyphens",
                ));
            }
            return Ok(Self::AgencyAt {
                level: level.to_string(),
                slug: slug.to_string(),
            });
        }
        if let Some(slug) = value.strip_prefix("agency:") {
            if !is_slug_path(slug) {
                return Err(error(
                    "the slug must be lowercase letters, digits or hyphens",
                ));
            }
            return Ok(Self::Agency {
                slug: slug.to_string(),
            });
        }
        value
            .parse::<OfficeId>()
            .map(Self::Office)
            .map_err(|e| error(e.reason))
    }
}

impl TryFrom<String> for RouteTarget {
    type Error = RouteTargetError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<RouteTarget> for String {
    fn from(target: RouteTarget) -> Self {
        target.to_string()
    }
}

impl fmt::Display for RouteTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Origin => f.write_str("origin"),
            Self::Ancestor { level } => write!(f, "ancestor:{level}"),
            Self::Agency { slug } => write!(f, "agency:{slug}"),
            Self::AgencyAt { level, slug } => write!(f, "agency-at:{level}:{slug}"),
            Self::Office(id) => write!(f, "{id}"),
        }
    }
}

impl RouteTarget {
    /// The office this target names for a dossier received at `origin`, or
    /// `None` if it names no office of this tree (for example
    /// `ancestor:district` in a two-tier network) or `origin` is unknown.
    pub fn resolve<'t>(&self, tree: &'t OfficeTree, origin: &OfficeId) -> Option<&'t Office> {
        let origin_office = tree.get(origin)?;
        let child_of = |parent: &OfficeId, slug: &str| {
            format!("{parent}/{slug}")
                .parse::<OfficeId>()
                .ok()
                .and_then(|id| tree.resolve(&id))
        };
        match self {
            Self::Origin => Some(origin_office),
            Self::Ancestor { level } => tree.nearest_at_level(origin, level),
            Self::Agency { slug } => child_of(&tree.root().id, slug),
            Self::AgencyAt { level, slug } => {
                let at = tree.nearest_at_level(origin, level)?;
                child_of(&at.id, slug)
            }
            Self::Office(id) => tree.resolve(id),
        }
    }
}

/// One step of a procedure's route template in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteStepTemplate {
    pub target: RouteTarget,
    /// What the office does (Vietnamese), written on the transfer slip.
    pub task: String,
    /// Working-day allowance of this step.
    pub days: u32,
    /// The lead agency (cơ quan chủ trì); at most one per template.
    pub lead: bool,
}

/// One step of a concrete route: an office of the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteStep {
    pub office: OfficeId,
    pub task: String,
    pub days: u32,
    pub lead: bool,
}

/// Why a procedure has no route for a dossier received at an office.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error(
        "office `{origin}` is not in this network, so no route can start there; receive the dossier at an office of the network file"
    )]
    UnknownOrigin { origin: OfficeId },
    #[error(
        "procedure {procedure} is decided by `{agency}`, which names no office of this network for a dossier received at `{origin}`; add that office to the network file, or fix the procedure's agency (or give it a route) in the catalogue"
    )]
    AgencyNotFound {
        procedure: String,
        agency: RouteTarget,
        origin: OfficeId,
    },
    #[error(
        "no step of the route of procedure {procedure} ({}) names an office of this network for a dossier received at `{origin}`; add the offices to the network file or fix the route in the catalogue",
        targets.join(", ")
    )]
    NothingResolves {
        procedure: String,
        origin: OfficeId,
        targets: Vec<String>,
    },
}

/// Task written on the single step of a procedure that has no route template.
pub const DEFAULT_TASK: &str = "Thẩm định, giải quyết hồ sơ";

/// The concrete route of `procedure` for a dossier received at `origin`.
///
/// - With a template: each step's target is resolved in `tree`. A step
///   whose target names no office here (`ancestor:district` in a two-tier
///   network) is skipped as a step of its own: its work falls to the office
///   before it on the route (or, for a leading step, the one after it), which
///   takes over its task, days and lead flag, so the route still adds up to
///   the template (in a two-tier network the commune decides what the
///   district decided). Consecutive steps at the same office are merged the
///   same way. If no step is the lead, the last one is (it decides).
/// - Without a template: one lead step at the procedure's `agency` with the
///   whole processing time (0 days for a same-day procedure).
///
/// Errors when `origin` is not in the tree or nothing resolves.
pub fn resolve_route(
    tree: &OfficeTree,
    procedure: &Procedure,
    origin: &OfficeId,
) -> Result<Vec<RouteStep>, RouteError> {
    if !tree.contains(origin) {
        return Err(RouteError::UnknownOrigin {
            origin: origin.clone(),
        });
    }
    if procedure.route.is_empty() {
        let office =
            procedure
                .agency
                .resolve(tree, origin)
                .ok_or_else(|| RouteError::AgencyNotFound {
                    procedure: procedure.code.clone(),
                    agency: procedure.agency.clone(),
                    origin: origin.clone(),
                })?;
        let days = match procedure.processing {
            ProcessingTime::WorkingDays(days) => days,
            ProcessingTime::SameDay { .. } => 0,
        };
        return Ok(vec![RouteStep {
            office: office.id.clone(),
            task: DEFAULT_TASK.to_string(),
            days,
            lead: true,
        }]);
    }

    let mut steps: Vec<RouteStep> = Vec::with_capacity(procedure.route.len());
    // Skipped steps met before the first resolved one.
    let mut pending: Option<RouteStep> = None;
    for template in &procedure.route {
        let Some(office) = template.target.resolve(tree, origin) else {
            match steps.last_mut().or(pending.as_mut()) {
                Some(previous) => absorb(previous, &template.task, template.days, template.lead),
                None => {
                    pending = Some(RouteStep {
                        office: origin.clone(),
                        task: template.task.clone(),
                        days: template.days,
                        lead: template.lead,
                    });
                }
            }
            continue;
        };
        let mut step = RouteStep {
            office: office.id.clone(),
            task: template.task.clone(),
            days: template.days,
            lead: template.lead,
        };
        if let Some(mut earlier) = pending.take() {
            absorb(&mut earlier, &step.task, step.days, step.lead);
            earlier.office = step.office;
            step = earlier;
        }
        match steps.last_mut() {
            Some(last) if last.office == step.office => {
                absorb(last, &step.task, step.days, step.lead);
            }
            _ => steps.push(step),
        }
    }
    if !steps.iter().any(|s| s.lead) {
        match steps.last_mut() {
            Some(last) => last.lead = true,
            None => {
                return Err(RouteError::NothingResolves {
                    procedure: procedure.code.clone(),
                    origin: origin.clone(),
                    targets: procedure
                        .route
                        .iter()
                        .map(|s| s.target.to_string())
                        .collect(),
                });
            }
        }
    }
    Ok(steps)
}

/// Folds the work of another step into `step`.
fn absorb(step: &mut RouteStep, task: &str, days: u32, lead: bool) {
    if !step.task.split("; ").any(|t| t == task) {
        step.task = format!("{}; {}", step.task, task);
    }
    step.days = step.days.saturating_add(days);
    step.lead |= lead;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::{da_nang_2tier, quang_nam_3tier};
    use crate::catalogue::{Catalogue, Component};

    fn id(text: &str) -> OfficeId {
        text.parse().unwrap()
    }

    /// `(office, days, lead)` of each step.
    fn shape(steps: &[RouteStep]) -> Vec<(&str, u32, bool)> {
        steps
            .iter()
            .map(|s| (s.office.as_str(), s.days, s.lead))
            .collect()
    }

    fn route(tree: &OfficeTree, code: &str, origin: &str) -> Vec<RouteStep> {
        let catalogue = Catalogue::builtin();
        resolve_route(tree, catalogue.get(code).unwrap(), &id(origin)).unwrap()
    }

    fn procedure(agency: &str, days: u32, route: &[(&str, &str, u32, bool)]) -> Procedure {
        Procedure {
            code: "0.000001".into(),
            name: "Thủ tục thử".into(),
            field: "Thử".into(),
            level: "commune".into(),
            agency: agency.parse().unwrap(),
            processing: ProcessingTime::WorkingDays(days),
            fee_vnd: 0,
            fee_note: String::new(),
            result: "Kết quả".into(),
            electronic: false,
            components: vec![Component {
                name: "Tờ khai".into(),
                copies: 1,
            }],
            route: route
                .iter()
                .map(|(target, task, days, lead)| RouteStepTemplate {
                    target: target.parse().unwrap(),
                    task: (*task).into(),
                    days: *days,
                    lead: *lead,
                })
                .collect(),
        }
    }

    #[test]
    fn targets_parse_and_print() {
        for (text, target) in [
            ("origin", RouteTarget::Origin),
            (
                "ancestor:district",
                RouteTarget::Ancestor {
                    level: "district".into(),
                },
            ),
            (
                "agency:so-tu-phap",
                RouteTarget::Agency {
                    slug: "so-tu-phap".into(),
                },
            ),
            (
                "agency-at:district:phong-ldtbxh",
                RouteTarget::AgencyAt {
                    level: "district".into(),
                    slug: "phong-ldtbxh".into(),
                },
            ),
            (
                "province:quang-nam/so-xay-dung",
                RouteTarget::Office(id("province:quang-nam/so-xay-dung")),
            ),
        ] {
            assert_eq!(text.parse::<RouteTarget>().unwrap(), target);
            assert_eq!(target.to_string(), text);
        }
        for bad in [
            "",
            "Origin",
            "ancestor:",
            "ancestor:Huyện",
            "agency:",
            "agency-at:district",
            "agency-at::x",
            "quận 1",
        ] {
            let error = bad.parse::<RouteTarget>().unwrap_err();
            assert!(
                error.to_string().contains("ancestor:LEVEL"),
                "{bad}: {error}"
            );
        }
        let json = serde_json::to_string(&RouteTarget::Agency {
            slug: "bhxh".into(),
        })
        .unwrap();
        assert_eq!(json, "\"agency:bhxh\"");
        assert!(serde_json::from_str::<RouteTarget>("\"agency:\"").is_err());
    }

    #[test]
    fn land_certificate_crosses_levels() {
        let three = quang_nam_3tier().offices;
        let steps = route(&three, "1.004227", "commune:dien-ban/dien-minh");
        assert_eq!(
            shape(&steps),
            [
                ("commune:dien-ban/dien-minh", 10, false),
                ("district:dien-ban", 8, false),
                ("province:quang-nam/cuc-thue", 5, false),
                ("province:quang-nam/so-tai-nguyen-moi-truong", 7, true),
            ]
        );
        // Two tiers: no district; the commune takes over its work, the
        // merged departments answer to the former ids.
        let two = da_nang_2tier().offices;
        let steps = route(&two, "1.004227", "commune:dien-ban");
        assert_eq!(
            shape(&steps),
            [
                ("commune:dien-ban", 18, false),
                ("province:da-nang/thue", 5, false),
                ("province:da-nang/so-nong-nghiep-moi-truong", 7, true),
            ]
        );
        assert!(steps[0].task.contains("niêm yết") && steps[0].task.contains("hồ sơ địa chính"));
    }

    #[test]
    fn social_allowance_goes_to_the_district_office() {
        let three = quang_nam_3tier().offices;
        let steps = route(&three, "1.001776", "commune:duy-xuyen/duy-son");
        assert_eq!(
            shape(&steps),
            [
                ("commune:duy-xuyen/duy-son", 12, false),
                ("district:duy-xuyen/phong-ldtbxh", 8, true),
            ]
        );
        // The other district's office for the other district's communes.
        let steps = route(&three, "1.001776", "commune:dien-ban/dien-phuong");
        assert_eq!(steps[1].office.as_str(), "district:dien-ban/phong-ldtbxh");
        // Two tiers: the commune decides, with the whole allowance.
        let two = da_nang_2tier().offices;
        assert_eq!(
            shape(&route(&two, "1.001776", "commune:hoi-an")),
            [("commune:hoi-an", 20, true)]
        );
    }

    #[test]
    fn same_office_steps_merge() {
        let three = quang_nam_3tier().offices;
        // Household business received at the district itself: one step.
        let steps = route(&three, "1.001612", "district:dien-ban");
        assert_eq!(shape(&steps), [("district:dien-ban", 3, true)]);
        assert_eq!(
            steps[0].task,
            "Tiếp nhận, kiểm tra và chuyển hồ sơ; Thẩm định, cấp Giấy chứng nhận đăng ký hộ kinh doanh"
        );
        assert_eq!(
            shape(&route(&three, "1.001612", "commune:dien-ban/dien-phuong")),
            [
                ("commune:dien-ban/dien-phuong", 0, false),
                ("district:dien-ban", 3, true)
            ]
        );
        let two = da_nang_2tier().offices;
        assert_eq!(
            shape(&route(&two, "1.009994", "commune:son-tra")),
            [("commune:son-tra", 15, true)]
        );
    }

    #[test]
    fn same_level_routes_at_the_province() {
        let three = quang_nam_3tier().offices;
        let steps = route(&three, "2.000488", "province:quang-nam");
        assert_eq!(
            shape(&steps),
            [
                ("province:quang-nam/so-tu-phap", 2, true),
                ("province:quang-nam/cong-an-tinh", 6, false),
                ("province:quang-nam/so-tu-phap", 2, false),
            ]
        );
        let two = da_nang_2tier().offices;
        let steps = route(&two, "2.000488", "province:da-nang");
        assert_eq!(
            steps[1].office.as_str(),
            "province:da-nang/cong-an-thanh-pho"
        );
        // Birth, residence and health insurance: electronic, three offices.
        let steps = route(&three, "1.010897", "commune:duy-xuyen/duy-trinh");
        assert_eq!(
            shape(&steps),
            [
                ("commune:duy-xuyen/duy-trinh", 1, true),
                ("province:quang-nam/cong-an-tinh", 3, false),
                ("province:quang-nam/bhxh", 3, false),
            ]
        );
        let steps = route(&two, "1.010897", "commune:hai-chau");
        assert_eq!(steps[2].office.as_str(), "province:da-nang/bhxh");
    }

    #[test]
    fn procedures_without_template_go_to_their_agency() {
        let three = quang_nam_3tier().offices;
        let steps = route(&three, "2.002006", "province:quang-nam");
        assert_eq!(
            shape(&steps),
            [("province:quang-nam/cong-an-tinh", 8, true)]
        );
        assert_eq!(steps[0].task, DEFAULT_TASK);
        assert!(
            three
                .get(&steps[0].office)
                .unwrap()
                .returns_results_directly
        );
        let two = da_nang_2tier().offices;
        let steps = route(&two, "2.002006", "commune:tam-ky");
        assert_eq!(
            shape(&steps),
            [("province:da-nang/cong-an-thanh-pho", 8, true)]
        );
        assert!(two.get(&steps[0].office).unwrap().returns_results_directly);
        // Same-day at the commune: the commune, no extra days.
        assert_eq!(
            shape(&route(&three, "1.001193", "commune:dien-ban/dien-minh")),
            [("commune:dien-ban/dien-minh", 0, true)]
        );
        assert_eq!(
            shape(&route(&two, "2.001199", "province:da-nang")),
            [("province:da-nang/so-tai-chinh", 3, true)]
        );
        assert_eq!(
            shape(&route(&three, "2.001199", "commune:dien-ban/dien-minh")),
            [("province:quang-nam/so-ke-hoach-dau-tu", 3, true)]
        );
    }

    #[test]
    fn every_builtin_procedure_routes_from_every_commune() {
        let catalogue = Catalogue::builtin();
        for network in [quang_nam_3tier(), da_nang_2tier()] {
            let tree = &network.offices;
            for commune in tree.at_level("commune") {
                for p in &catalogue {
                    let steps = resolve_route(tree, p, &commune.id)
                        .unwrap_or_else(|e| panic!("{}: {e}", network.name));
                    assert_eq!(steps.iter().filter(|s| s.lead).count(), 1, "{}", p.code);
                    if let Some(days) = p.processing.working_days() {
                        let total: u32 = steps.iter().map(|s| s.days).sum();
                        assert!(total <= days, "{} {}", p.code, commune.id);
                    }
                }
            }
        }
    }

    #[test]
    fn skipped_leading_steps_fall_to_the_next_office() {
        let three = quang_nam_3tier().offices;
        let p = procedure(
            "origin",
            10,
            &[
                ("ancestor:region", "Việc vùng", 2, true),
                ("agency:so-xay-dung", "Việc sở", 3, false),
            ],
        );
        let steps = resolve_route(&three, &p, &id("province:quang-nam")).unwrap();
        assert_eq!(shape(&steps), [("province:quang-nam/so-xay-dung", 5, true)]);
        assert_eq!(steps[0].task, "Việc vùng; Việc sở");
        // Literal ids and agency-at resolve too.
        let p = procedure(
            "origin",
            10,
            &[
                ("agency-at:district:phong-ldtbxh", "A", 1, false),
                ("province:quang-nam/so-xay-dung", "B", 1, false),
            ],
        );
        let steps = resolve_route(&three, &p, &id("commune:dien-ban/dien-minh")).unwrap();
        assert_eq!(
            shape(&steps),
            [
                ("district:dien-ban/phong-ldtbxh", 1, false),
                ("province:quang-nam/so-xay-dung", 1, true),
            ]
        );
    }

    #[test]
    fn route_errors() {
        let three = quang_nam_3tier().offices;
        let p = procedure("origin", 5, &[("ancestor:region", "Việc", 1, true)]);
        let error = resolve_route(&three, &p, &id("commune:nowhere")).unwrap_err();
        assert!(matches!(error, RouteError::UnknownOrigin { .. }));
        assert!(error.to_string().contains("commune:nowhere"));
        let error = resolve_route(&three, &p, &id("commune:dien-ban/dien-minh")).unwrap_err();
        assert!(matches!(error, RouteError::NothingResolves { .. }));
        assert!(error.to_string().contains("ancestor:region"), "{error}");
        let p = procedure("agency:so-khong-co", 5, &[]);
        let error = resolve_route(&three, &p, &id("province:quang-nam")).unwrap_err();
        assert!(matches!(error, RouteError::AgencyNotFound { .. }));
        assert!(error.to_string().contains("agency:so-khong-co"), "{error}");
    }
}
