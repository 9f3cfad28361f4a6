//! The procedure catalogue (danh mục thủ tục hành chính): what each
//! procedure is, who decides it, how long it may take, what it costs, which
//! papers it needs, and its liên thông route template.
//!
//! A catalogue file (`configs/catalogue.toml`):
//! ```toml
//! version = "2026.1"
//! [[procedure]]
//! code = "1.001193"
//! name = "Đăng ký khai sinh"
//! field = "Hộ tịch"
//! level = "commune"
//! agency = "origin"
//! same_day_cutoff = "15:00"      # or processing_days = 3 (exactly one)
//! fee_vnd = 0
//! fee_note = "Miễn lệ phí khi đăng ký đúng hạn"
//! result = "Giấy khai sinh"
//! electronic = false
//! [[procedure.component]]
//! name = "Tờ khai đăng ký khai sinh theo mẫu"
//! copies = 1
//! [[procedure.route]]
//! target = "ancestor:district"
//! task = "Thẩm định hồ sơ"
//! days = 10
//! lead = true
//! ```

mod route;

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};
use toml::Spanned;

pub use route::{
    DEFAULT_TASK, RouteError, RouteStep, RouteStepTemplate, RouteTarget, RouteTargetError,
    resolve_route,
};

use crate::config_error::ConfigError;
use crate::office_id::OfficeId;
use crate::offices::OfficeTree;

/// Processing time limit (thời hạn giải quyết).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProcessingTime {
    /// Counted in working days from receipt (RULES D1).
    WorkingDays(u32),
    /// RULES D2: received before `cutoff`, due at the end of the same
    /// working day; otherwise at the end of the next one.
    SameDay { cutoff: NaiveTime },
}

impl ProcessingTime {
    /// The number of working days, `None` for a same-day procedure.
    pub fn working_days(&self) -> Option<u32> {
        match self {
            Self::WorkingDays(days) => Some(*days),
            Self::SameDay { .. } => None,
        }
    }

    pub fn is_same_day(&self) -> bool {
        matches!(self, Self::SameDay { .. })
    }
}

impl fmt::Display for ProcessingTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WorkingDays(days) => write!(f, "{days} ngày làm việc"),
            Self::SameDay { cutoff } => {
                write!(f, "trong ngày (nhận trước {})", cutoff.format("%H:%M"))
            }
        }
    }
}

/// One paper the applicant submits (thành phần hồ sơ).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    pub name: String,
    pub copies: u32,
}

/// An administrative procedure (thủ tục hành chính).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Procedure {
    /// National procedure code, e.g. `1.001193`.
    pub code: String,
    pub name: String,
    /// Field (lĩnh vực), e.g. `Hộ tịch`.
    pub field: String,
    /// Level label of the office where it is decided (`commune`, `district`,
    /// `province`).
    pub level: String,
    /// The deciding office, relative to the receiving office.
    pub agency: RouteTarget,
    pub processing: ProcessingTime,
    pub fee_vnd: u64,
    pub fee_note: String,
    /// The result handed to the applicant (a certificate, licence, decision).
    pub result: String,
    /// Same-level liên thông: `true` sends the dossier to all participants
    /// at once, `false` passes it from one to the next in route order.
    pub electronic: bool,
    pub components: Vec<Component>,
    /// Liên thông template, in order; empty for a single-office procedure.
    pub route: Vec<RouteStepTemplate>,
}

/// Which field of a procedure a [`CatalogueError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcedureField {
    /// The procedure as a whole (its `[[procedure]]` line).
    Entry,
    Code,
    Name,
    Field,
    Level,
    Result,
    Processing,
}

/// Where a [`CatalogueError`] lies in the input of [`Catalogue::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogueCulprit {
    Whole,
    Procedure { index: usize, field: ProcedureField },
    Component { index: usize, component: usize },
    Step { index: usize, step: usize },
}

/// Why a catalogue cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    #[error("the catalogue version is empty; set version, e.g. version = \"2026.1\"")]
    EmptyVersion,
    #[error(
        "procedure code `{code}` is not usable: a code is non-empty with no spaces, like the national code 1.001193"
    )]
    InvalidCode { index: usize, code: String },
    #[error("procedure code {code} is defined twice; each [[procedure]] needs its own code")]
    DuplicateCode { index: usize, code: String },
    #[error("procedure {code} has an empty {what}; fill it in (in Vietnamese)")]
    EmptyText {
        index: usize,
        code: String,
        what: &'static str,
    },
    #[error(
        "procedure {code} has the level `{level}`; a level is a label of lowercase letters, digits or hyphens such as commune, district or province"
    )]
    InvalidLevel {
        index: usize,
        code: String,
        level: String,
    },
    #[error(
        "procedure {code} has processing_days = 0; give at least 1 working day, or use same_day_cutoff = \"15:00\" for a same-day procedure"
    )]
    ZeroProcessingDays { index: usize, code: String },
    #[error(
        "component {} of procedure {code} is unusable: {why}",
        component + 1
    )]
    BadComponent {
        index: usize,
        component: usize,
        code: String,
        why: String,
    },
    #[error(
        "route step {} of procedure {code} has an empty task; say what the office does, e.g. \"Thẩm định hồ sơ\"",
        step + 1
    )]
    EmptyTask {
        index: usize,
        step: usize,
        code: String,
    },
    #[error(
        "route step {} of procedure {code} is a second lead; a route has at most one lead agency (cơ quan chủ trì), set lead = false on the others",
        step + 1
    )]
    SeveralLeads {
        index: usize,
        step: usize,
        code: String,
    },
    #[error(
        "the route of procedure {code} allows {total} working days in all, more than its processing time of {allowed}; shorten the steps' days or raise processing_days"
    )]
    RouteTooLong {
        index: usize,
        code: String,
        total: u64,
        allowed: u32,
    },
    #[error(
        "route step {} of procedure {code} has days = {days}, but the procedure is same-day; a same-day route step has days = 0",
        step + 1
    )]
    SameDayStepDays {
        index: usize,
        step: usize,
        code: String,
        days: u32,
    },
}

impl CatalogueError {
    pub fn culprit(&self) -> CatalogueCulprit {
        use CatalogueCulprit as C;
        use ProcedureField as F;
        match self {
            Self::EmptyVersion => C::Whole,
            Self::InvalidCode { index, .. } | Self::DuplicateCode { index, .. } => C::Procedure {
                index: *index,
                field: F::Code,
            },
            Self::EmptyText { index, what, .. } => C::Procedure {
                index: *index,
                field: match *what {
                    "name" => F::Name,
                    "field" => F::Field,
                    "result" => F::Result,
                    _ => F::Entry,
                },
            },
            Self::InvalidLevel { index, .. } => C::Procedure {
                index: *index,
                field: F::Level,
            },
            Self::ZeroProcessingDays { index, .. } | Self::RouteTooLong { index, .. } => {
                C::Procedure {
                    index: *index,
                    field: F::Processing,
                }
            }
            Self::BadComponent {
                index, component, ..
            } => C::Component {
                index: *index,
                component: *component,
            },
            Self::EmptyTask { index, step, .. }
            | Self::SeveralLeads { index, step, .. }
            | Self::SameDayStepDays { index, step, .. } => C::Step {
                index: *index,
                step: *step,
            },
        }
    }
}

/// A validated procedure catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalogue {
    /// Version label recorded in each dossier with the procedure code.
    pub version: String,
    procedures: Vec<Procedure>,
    by_code: HashMap<String, usize>,
}

fn is_label(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Catalogue {
    /// Builds and validates a catalogue: non-empty version, unique codes,
    /// non-empty texts, a route within the processing time and with at most
    /// one lead.
    pub fn new(version: String, procedures: Vec<Procedure>) -> Result<Self, CatalogueError> {
        if version.trim().is_empty() {
            return Err(CatalogueError::EmptyVersion);
        }
        let mut by_code = HashMap::with_capacity(procedures.len());
        for (index, p) in procedures.iter().enumerate() {
            validate_procedure(index, p)?;
            if by_code.insert(p.code.clone(), index).is_some() {
                return Err(CatalogueError::DuplicateCode {
                    index,
                    code: p.code.clone(),
                });
            }
        }
        Ok(Self {
            version,
            procedures,
            by_code,
        })
    }

    /// Parses a catalogue file. `file` is only used in error messages.
    pub fn parse(file: &Path, source: &str) -> Result<Self, ConfigError> {
        let raw: RawCatalogue =
            toml::from_str(source).map_err(|e| ConfigError::from_toml(file, source, &e))?;
        let at = |span: Range<usize>, message: String| {
            ConfigError::at_offset(file, source, span.start, message)
        };
        let mut procedures = Vec::with_capacity(raw.procedures.len());
        for entry in &raw.procedures {
            procedures.push(entry.get_ref().to_procedure(entry.span(), &at)?);
        }
        Self::new(raw.version.get_ref().clone(), procedures).map_err(|error| {
            let message = error.to_string();
            let span = match error.culprit() {
                CatalogueCulprit::Whole => Some(raw.version.span()),
                CatalogueCulprit::Procedure { index, field } => {
                    raw.procedures.get(index).map(|entry| {
                        let p = entry.get_ref();
                        match field {
                            ProcedureField::Entry => entry.span(),
                            ProcedureField::Code => p.code.span(),
                            ProcedureField::Name => p.name.span(),
                            ProcedureField::Field => p.field.span(),
                            ProcedureField::Level => p.level.span(),
                            ProcedureField::Result => p.result.span(),
                            ProcedureField::Processing => p
                                .processing_days
                                .as_ref()
                                .map_or_else(|| entry.span(), |d| d.span()),
                        }
                    })
                }
                CatalogueCulprit::Component { index, component } => raw
                    .procedures
                    .get(index)
                    .and_then(|p| p.get_ref().components.get(component))
                    .map(|c| c.span()),
                CatalogueCulprit::Step { index, step } => raw
                    .procedures
                    .get(index)
                    .and_then(|p| p.get_ref().route.get(step))
                    .map(|s| s.span()),
            };
            match span {
                Some(span) => at(span, message),
                None => ConfigError::whole_file(file, message),
            }
        })
    }

    /// Reads and parses a catalogue file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let source = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::whole_file(
                path,
                format!(
                    "cannot read the catalogue file: {e}; check the path (the example is configs/catalogue.toml)"
                ),
            )
        })?;
        Self::parse(path, &source)
    }

    /// The catalogue compiled into the binary (`configs/catalogue.toml`).
    pub fn builtin() -> Self {
        crate::builtin::catalogue()
    }

    pub fn get(&self, code: &str) -> Option<&Procedure> {
        self.by_code.get(code).map(|&i| &self.procedures[i])
    }

    /// Procedures in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Procedure> {
        self.procedures.iter()
    }

    pub fn len(&self) -> usize {
        self.procedures.len()
    }

    pub fn is_empty(&self) -> bool {
        self.procedures.is_empty()
    }

    /// Route targets and agencies that look like mistakes in `tree`: a
    /// literal office id or an `agency:` that names no office of the tree, an
    /// `agency-at:` missing under some office of its level. (An
    /// `ancestor:LEVEL` or `agency-at:LEVEL:…` whose level the tree lacks is
    /// not reported: a two-tier network has no district by design.) Run it
    /// when a node starts with a catalogue and a network that were not
    /// tested together.
    pub fn check_targets(&self, tree: &OfficeTree) -> Vec<TargetProblem> {
        let mut problems = Vec::new();
        for p in &self.procedures {
            let targets = std::iter::once(&p.agency).chain(p.route.iter().map(|s| &s.target));
            for target in targets {
                if let Some(reason) = target_problem(tree, target)
                    && !problems
                        .iter()
                        .any(|t: &TargetProblem| t.procedure == p.code && &t.target == target)
                {
                    problems.push(TargetProblem {
                        procedure: p.code.clone(),
                        target: target.clone(),
                        reason,
                    });
                }
            }
        }
        problems
    }

    /// The catalogue as a catalogue file, which [`Catalogue::parse`] reads
    /// back to an equal catalogue (for replicating it as text).
    pub fn to_toml(&self) -> String {
        let raw = OutCatalogue {
            version: &self.version,
            procedure: self.procedures.iter().map(OutProcedure::from).collect(),
        };
        // Plain strings, numbers, booleans and tables: serialising cannot fail.
        toml::to_string(&raw).unwrap_or_default()
    }
}

impl<'a> IntoIterator for &'a Catalogue {
    type Item = &'a Procedure;
    type IntoIter = std::slice::Iter<'a, Procedure>;
    fn into_iter(self) -> Self::IntoIter {
        self.procedures.iter()
    }
}

/// A route target that names no office of a network (see
/// [`Catalogue::check_targets`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "procedure {procedure}: `{target}` {reason}; fix the target in the catalogue or add the office to the network file"
)]
pub struct TargetProblem {
    pub procedure: String,
    pub target: RouteTarget,
    pub reason: String,
}

fn target_problem(tree: &OfficeTree, target: &RouteTarget) -> Option<String> {
    let child = |parent: &OfficeId, slug: &str| {
        format!("{parent}/{slug}")
            .parse::<OfficeId>()
            .ok()
            .and_then(|id| tree.resolve(&id))
    };
    match target {
        RouteTarget::Origin | RouteTarget::Ancestor { .. } => None,
        RouteTarget::Office(id) => tree
            .resolve(id)
            .is_none()
            .then(|| "names no office of this network".to_string()),
        RouteTarget::Agency { slug } => {
            let root = &tree.root().id;
            child(root, slug)
                .is_none()
                .then(|| format!("names no office: there is no `{root}/{slug}`"))
        }
        RouteTarget::AgencyAt { level, slug } => tree
            .at_level(level)
            .into_iter()
            .find(|at| child(&at.id, slug).is_none())
            .map(|at| {
                format!(
                    "names no office under `{}`: there is no `{}/{slug}`",
                    at.id, at.id
                )
            }),
    }
}

fn validate_procedure(index: usize, p: &Procedure) -> Result<(), CatalogueError> {
    let code = || p.code.clone();
    if p.code.is_empty() || p.code.chars().any(char::is_whitespace) {
        return Err(CatalogueError::InvalidCode {
            index,
            code: code(),
        });
    }
    for (what, text) in [
        ("name", &p.name),
        ("field", &p.field),
        ("result", &p.result),
    ] {
        if text.trim().is_empty() {
            return Err(CatalogueError::EmptyText {
                index,
                code: code(),
                what,
            });
        }
    }
    if !is_label(&p.level) {
        return Err(CatalogueError::InvalidLevel {
            index,
            code: code(),
            level: p.level.clone(),
        });
    }
    if p.processing == ProcessingTime::WorkingDays(0) {
        return Err(CatalogueError::ZeroProcessingDays {
            index,
            code: code(),
        });
    }
    for (component, c) in p.components.iter().enumerate() {
        let why = if c.name.trim().is_empty() {
            "its name is empty; name the paper the applicant submits"
        } else if c.copies == 0 {
            "copies = 0; ask for at least 1 copy (or drop the component)"
        } else {
            continue;
        };
        return Err(CatalogueError::BadComponent {
            index,
            component,
            code: code(),
            why: why.to_string(),
        });
    }
    let mut lead_seen = false;
    for (step, s) in p.route.iter().enumerate() {
        if s.task.trim().is_empty() {
            return Err(CatalogueError::EmptyTask {
                index,
                step,
                code: code(),
            });
        }
        if s.lead {
            if lead_seen {
                return Err(CatalogueError::SeveralLeads {
                    index,
                    step,
                    code: code(),
                });
            }
            lead_seen = true;
        }
        if p.processing.is_same_day() && s.days > 0 {
            return Err(CatalogueError::SameDayStepDays {
                index,
                step,
                code: code(),
                days: s.days,
            });
        }
    }
    if let ProcessingTime::WorkingDays(allowed) = p.processing {
        let total: u64 = p.route.iter().map(|s| u64::from(s.days)).sum();
        if total > u64::from(allowed) {
            return Err(CatalogueError::RouteTooLong {
                index,
                code: code(),
                total,
                allowed,
            });
        }
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogue {
    version: Spanned<String>,
    #[serde(default, rename = "procedure")]
    procedures: Vec<Spanned<RawProcedure>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProcedure {
    code: Spanned<String>,
    name: Spanned<String>,
    field: Spanned<String>,
    level: Spanned<String>,
    agency: RouteTarget,
    #[serde(default)]
    same_day_cutoff: Option<Spanned<String>>,
    #[serde(default)]
    processing_days: Option<Spanned<u32>>,
    #[serde(default)]
    fee_vnd: u64,
    #[serde(default)]
    fee_note: String,
    result: Spanned<String>,
    #[serde(default)]
    electronic: bool,
    #[serde(default, rename = "component")]
    components: Vec<Spanned<RawComponent>>,
    #[serde(default, rename = "route")]
    route: Vec<Spanned<RawStep>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComponent {
    name: String,
    #[serde(default = "one")]
    copies: u32,
}

fn one() -> u32 {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    target: RouteTarget,
    task: String,
    days: u32,
    #[serde(default)]
    lead: bool,
}

impl RawProcedure {
    fn to_procedure(
        &self,
        entry: Range<usize>,
        at: &impl Fn(Range<usize>, String) -> ConfigError,
    ) -> Result<Procedure, ConfigError> {
        let code = self.code.get_ref();
        let processing = match (&self.processing_days, &self.same_day_cutoff) {
            (Some(_), Some(cutoff)) => {
                return Err(at(
                    cutoff.span(),
                    format!(
                        "procedure {code} sets both processing_days and same_day_cutoff; keep exactly one (same_day_cutoff for a same-day procedure)"
                    ),
                ));
            }
            (None, None) => {
                return Err(at(
                    entry,
                    format!(
                        "procedure {code} has no processing time; add processing_days = N (working days) or same_day_cutoff = \"15:00\" (same-day)"
                    ),
                ));
            }
            (Some(days), None) => ProcessingTime::WorkingDays(*days.get_ref()),
            (None, Some(cutoff)) => {
                let text = cutoff.get_ref().trim();
                let parsed = NaiveTime::parse_from_str(text, "%H:%M")
                    .ok()
                    .filter(|_| text.len() == 5);
                let Some(cutoff_time) = parsed else {
                    return Err(at(
                        cutoff.span(),
                        format!(
                            "same_day_cutoff `{text}` of procedure {code} is not a time; write it as \"HH:MM\", e.g. \"15:00\""
                        ),
                    ));
                };
                ProcessingTime::SameDay {
                    cutoff: cutoff_time,
                }
            }
        };
        Ok(Procedure {
            code: code.trim().to_string(),
            name: self.name.get_ref().trim().to_string(),
            field: self.field.get_ref().trim().to_string(),
            level: self.level.get_ref().clone(),
            agency: self.agency.clone(),
            processing,
            fee_vnd: self.fee_vnd,
            fee_note: self.fee_note.trim().to_string(),
            result: self.result.get_ref().trim().to_string(),
            electronic: self.electronic,
            components: self
                .components
                .iter()
                .map(|c| Component {
                    name: c.get_ref().name.trim().to_string(),
                    copies: c.get_ref().copies,
                })
                .collect(),
            route: self
                .route
                .iter()
                .map(|s| {
                    let s = s.get_ref();
                    RouteStepTemplate {
                        target: s.target.clone(),
                        task: s.task.trim().to_string(),
                        days: s.days,
                        lead: s.lead,
                    }
                })
                .collect(),
        })
    }
}

#[derive(Serialize)]
struct OutCatalogue<'a> {
    version: &'a str,
    procedure: Vec<OutProcedure<'a>>,
}

#[derive(Serialize)]
struct OutProcedure<'a> {
    code: &'a str,
    name: &'a str,
    field: &'a str,
    level: &'a str,
    agency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    same_day_cutoff: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    processing_days: Option<u32>,
    fee_vnd: u64,
    fee_note: &'a str,
    result: &'a str,
    electronic: bool,
    component: Vec<OutComponent<'a>>,
    route: Vec<OutStep<'a>>,
}

#[derive(Serialize)]
struct OutComponent<'a> {
    name: &'a str,
    copies: u32,
}

#[derive(Serialize)]
struct OutStep<'a> {
    target: String,
    task: &'a str,
    days: u32,
    lead: bool,
}

impl<'a> From<&'a Procedure> for OutProcedure<'a> {
    fn from(p: &'a Procedure) -> Self {
        Self {
            code: &p.code,
            name: &p.name,
            field: &p.field,
            level: &p.level,
            agency: p.agency.to_string(),
            same_day_cutoff: match p.processing {
                ProcessingTime::SameDay { cutoff } => Some(cutoff.format("%H:%M").to_string()),
                ProcessingTime::WorkingDays(_) => None,
            },
            processing_days: p.processing.working_days(),
            fee_vnd: p.fee_vnd,
            fee_note: &p.fee_note,
            result: &p.result,
            electronic: p.electronic,
            component: p
                .components
                .iter()
                .map(|c| OutComponent {
                    name: &c.name,
                    copies: c.copies,
                })
                .collect(),
            route: p
                .route
                .iter()
                .map(|s| OutStep {
                    target: s.target.to_string(),
                    task: &s.task,
                    days: s.days,
                    lead: s.lead,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The procedures of `shared/domain/EXAMPLES.md`, in its order, plus khai tử.
    const EXPECTED: [(&str, &str); 13] = [
        ("1.001193", "Đăng ký khai sinh"),
        ("2.000815", "Chứng thực bản sao từ bản chính"),
        ("1.000894", "Đăng ký kết hôn"),
        ("1.010897", "Liên thông"),
        ("1.001776", "trợ cấp xã hội hằng tháng"),
        ("1.001612", "Đăng ký thành lập hộ kinh doanh"),
        ("1.009994", "giấy phép xây dựng"),
        ("1.004227", "Giấy chứng nhận quyền sử dụng đất"),
        ("2.001199", "Đăng ký thành lập công ty"),
        ("2.000488", "Cấp Phiếu lý lịch tư pháp"),
        ("1.002804", "Đổi giấy phép lái xe"),
        ("2.002006", "Cấp hộ chiếu phổ thông"),
        ("1.000656", "Đăng ký khai tử"),
    ];

    #[test]
    fn builtin_has_every_example_procedure() {
        let catalogue = Catalogue::builtin();
        assert_eq!(catalogue.version, "2026.1");
        assert_eq!(catalogue.len(), EXPECTED.len());
        for (code, name) in EXPECTED {
            let p = catalogue
                .get(code)
                .unwrap_or_else(|| panic!("{code} missing"));
            assert!(p.name.contains(name), "{code}: {}", p.name);
            for text in [&p.name, &p.field, &p.result] {
                assert!(
                    !text.trim().is_empty() && !text.is_ascii(),
                    "{code}: `{text}`"
                );
            }
            assert!((2..=4).contains(&p.components.len()), "{code}: components");
            assert!(
                p.components
                    .iter()
                    .all(|c| !c.name.is_ascii() && c.copies >= 1)
            );
        }
        let codes: Vec<_> = catalogue.iter().map(|p| p.code.as_str()).collect();
        assert_eq!(codes[0], "1.001193", "file order");
        assert!(catalogue.get("9.999999").is_none());
    }

    #[test]
    fn builtin_processing_times_and_routes() {
        let catalogue = Catalogue::builtin();
        let get = |code| catalogue.get(code).unwrap();
        let fifteen = NaiveTime::from_hms_opt(15, 0, 0).unwrap();
        for same_day in ["1.001193", "2.000815", "1.000656"] {
            assert_eq!(
                get(same_day).processing,
                ProcessingTime::SameDay { cutoff: fifteen }
            );
        }
        for (code, days) in [
            ("1.000894", 1),
            ("1.010897", 7),
            ("1.001776", 20),
            ("1.001612", 3),
            ("1.009994", 15),
            ("1.004227", 30),
            ("2.001199", 3),
            ("2.000488", 10),
            ("1.002804", 5),
            ("2.002006", 8),
        ] {
            assert_eq!(
                get(code).processing,
                ProcessingTime::WorkingDays(days),
                "{code}"
            );
        }
        let birth = get("1.010897");
        assert!(birth.electronic);
        assert_eq!(birth.route.len(), 3);
        assert_eq!(birth.route[1].target.to_string(), "agency:cong-an-tinh");
        assert_eq!(get("2.000815").fee_vnd, 2000);
        assert_eq!(get("2.002006").agency.to_string(), "agency:cong-an-tinh");
        assert!(get("2.002006").route.is_empty());
        assert_eq!(
            get("1.001193").processing.to_string(),
            "trong ngày (nhận trước 15:00)"
        );
        assert_eq!(get("1.004227").processing.to_string(), "30 ngày làm việc");
    }

    #[test]
    fn check_targets_finds_typos_not_missing_levels() {
        for network in [
            crate::builtin::quang_nam_3tier(),
            crate::builtin::da_nang_2tier(),
        ] {
            let problems = Catalogue::builtin().check_targets(&network.offices);
            assert!(problems.is_empty(), "{}: {problems:?}", network.name);
        }
        let tree = crate::builtin::quang_nam_3tier().offices;
        let mut p = Catalogue::builtin().get("1.001776").unwrap().clone();
        p.route[0].target = "ancestr:district".parse().unwrap();
        p.route[1].target = "agency-at:district:phong-lao-dong".parse().unwrap();
        p.agency = "agency:so-tai-chinh".parse().unwrap();
        let catalogue = Catalogue::new("t".into(), vec![p]).unwrap();
        let problems = catalogue.check_targets(&tree);
        let targets: Vec<_> = problems.iter().map(|t| t.target.to_string()).collect();
        assert_eq!(
            targets,
            [
                "agency:so-tai-chinh",
                "ancestr:district",
                "agency-at:district:phong-lao-dong"
            ]
        );
        assert!(
            problems[2]
                .to_string()
                .contains("district:dien-ban/phong-lao-dong")
        );
    }

    #[test]
    fn to_toml_round_trips() {
        let catalogue = Catalogue::builtin();
        let text = catalogue.to_toml();
        let back = Catalogue::parse(Path::new("out.toml"), &text).unwrap();
        assert_eq!(back, catalogue);
    }

    // ── Catalogue file errors, each at its line ───────────────────────────

    const BASE: &str = r#"version = "t"
[[procedure]]
code = "1.000001"
name = "Thủ tục A"
field = "Lĩnh vực"
level = "commune"
agency = "origin"
processing_days = 5
result = "Kết quả"
"#;

    fn error(extra: &str) -> (Option<usize>, String) {
        let source = format!("{BASE}{extra}");
        let error = Catalogue::parse(Path::new("cat.toml"), &source).unwrap_err();
        assert!(error.to_string().starts_with("cat.toml:"), "{error}");
        (error.line, error.message)
    }

    /// A second procedure from line 10, with `processing` and `more` lines.
    fn second(processing: &str, more: &str) -> String {
        format!(
            "[[procedure]]\ncode = \"1.000002\"\nname = \"Thủ tục B\"\nfield = \"Lĩnh vực\"\nlevel = \"district\"\nagency = \"ancestor:district\"\nresult = \"Kết quả\"\n{processing}\n{more}"
        )
    }

    #[test]
    fn base_parses_with_defaults() {
        let catalogue = Catalogue::parse(Path::new("cat.toml"), BASE).unwrap();
        let p = catalogue.get("1.000001").unwrap();
        assert_eq!(p.fee_vnd, 0);
        assert_eq!(p.fee_note, "");
        assert!(!p.electronic);
        assert!(p.components.is_empty() && p.route.is_empty());
        assert_eq!(p.agency, RouteTarget::Origin);
        let with_component = format!("{BASE}[[procedure.component]]\nname = \"Tờ khai\"\n");
        let catalogue = Catalogue::parse(Path::new("cat.toml"), &with_component).unwrap();
        assert_eq!(catalogue.get("1.000001").unwrap().components[0].copies, 1);
    }

    #[test]
    fn duplicate_code_at_the_second_definition() {
        let extra = second("processing_days = 1", "").replace("1.000002", "1.000001");
        let (line, message) = error(&extra);
        assert_eq!(line, Some(11));
        assert!(message.contains("defined twice"), "{message}");
    }

    #[test]
    fn processing_time_errors_at_their_line() {
        let (line, message) = error(&second(
            "processing_days = 2\nsame_day_cutoff = \"15:00\"",
            "",
        ));
        assert_eq!(line, Some(18));
        assert!(message.contains("exactly one"), "{message}");
        let (line, message) = error(&second("", ""));
        assert_eq!(line, Some(10));
        assert!(message.contains("no processing time"), "{message}");
        let (line, message) = error(&second("same_day_cutoff = \"3pm\"", ""));
        assert_eq!(line, Some(17));
        assert!(message.contains("HH:MM"), "{message}");
        let (line, _) = error(&second("same_day_cutoff = \"25:00\"", ""));
        assert_eq!(line, Some(17));
        let (line, message) = error(&second("processing_days = 0", ""));
        assert_eq!(line, Some(17));
        assert!(message.contains("same_day_cutoff"), "{message}");
    }

    #[test]
    fn route_errors_at_their_line() {
        let step = |target: &str, days: u32, lead: bool| {
            format!(
                "[[procedure.route]]\ntarget = \"{target}\"\ntask = \"Việc\"\ndays = {days}\nlead = {lead}\n"
            )
        };
        // Days add up to more than the processing time: at processing_days.
        let routes = step("origin", 2, false) + &step("ancestor:district", 2, true);
        let (line, message) = error(&second("processing_days = 3", &routes));
        assert_eq!(line, Some(17));
        assert!(message.contains("4 working days"), "{message}");
        // Equal is fine.
        let ok = format!("{BASE}{}", second("processing_days = 4", &routes));
        assert!(Catalogue::parse(Path::new("cat.toml"), &ok).is_ok());
        // A second lead: at that step's header.
        let routes = step("origin", 1, true) + &step("ancestor:district", 1, true);
        let (line, message) = error(&second("processing_days = 3", &routes));
        assert_eq!(line, Some(23));
        assert!(message.contains("lead"), "{message}");
        // Days on a same-day procedure.
        let (line, _) = error(&second(
            "same_day_cutoff = \"15:00\"",
            &step("origin", 1, true),
        ));
        assert_eq!(line, Some(18));
        // A malformed target: at its value.
        let (line, message) = error(&second(
            "processing_days = 3",
            &step("ancestor:Huyện", 1, true),
        ));
        assert_eq!(line, Some(19));
        assert!(
            message.contains("not a route target") || message.contains("not an office id"),
            "{message}"
        );
        // A typo in a key.
        let (line, message) = error(&second(
            "processing_days = 3",
            "[[procedure.route]]\ntarget = \"origin\"\ntask = \"x\"\nday = 1\n",
        ));
        assert_eq!(line, Some(21));
        assert!(message.contains("day"), "{message}");
    }

    #[test]
    fn other_errors_at_their_line() {
        let (line, message) = error(&second(
            "processing_days = 3",
            "[[procedure.component]]\nname = \"Tờ khai\"\ncopies = 0\n",
        ));
        assert_eq!(line, Some(18));
        assert!(message.contains("copies = 0"), "{message}");
        let (line, _) =
            error(&second("processing_days = 3", "").replace("\"Thủ tục B\"", "\"  \""));
        assert_eq!(line, Some(12));
        let (line, _) = error(
            &second("processing_days = 3", "").replace("level = \"district\"", "level = \"Huyện\""),
        );
        assert_eq!(line, Some(14));
        let (line, message) = error(&second("processing_days = 3", "").replace(
            "agency = \"ancestor:district\"",
            "agency = \"agency-at:district\"",
        ));
        assert_eq!(line, Some(15));
        assert!(message.contains("agency-at"), "{message}");
        let (line, message) = error(&second("processing_days = 3", "fees = 1\n"));
        assert_eq!(line, Some(18));
        assert!(message.contains("fees"), "{message}");
        let (line, _) = error(&second("processing_days = 3", "").replace("1.000002", "1 000002"));
        assert_eq!(line, Some(11));
        let empty =
            Catalogue::parse(Path::new("cat.toml"), &BASE.replace("\"t\"", "\"\"")).unwrap_err();
        assert_eq!(empty.line, Some(1));
        let missing = Catalogue::load(Path::new("/nonexistent/catalogue.toml")).unwrap_err();
        assert!(missing.message.contains("cannot read"), "{missing}");
    }
}
