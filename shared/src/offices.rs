//! The office tree (cơ quan, đơn vị) and the network file that defines it.
//!
//! Offices form a tree of any depth read from configuration: province →
//! district → commune in the three-tier network of 2021, province → commune
//! since July 2025. Nothing here assumes a number of levels or a set of level
//! labels; the labels (`province`, `district`, `commune`, `agency`, …) are
//! data.
//!
//! A network file (`configs/networks/*.toml`) holds the network's name, its
//! calendar settings, its rule sets and its offices:
//!
//! ```toml
//! name = "Quảng Nam — ba cấp"
//! [calendar]
//! timezone = "Asia/Ho_Chi_Minh"
//! working_hours = ["07:00-11:30", "13:30-17:00"]
//! [[rule_set]]
//! id = "2018"
//! effective_from = "2018-06-21"
//! [[office]]
//! id = "province:quang-nam"
//! level = "province"
//! name = "Trung tâm Phục vụ hành chính công tỉnh Quảng Nam"
//! agency_code = "000.00.00.H49"
//! [[office]]
//! id = "province:quang-nam/cong-an-tinh"
//! level = "agency"
//! parent = "province:quang-nam"
//! name = "Công an tỉnh Quảng Nam"
//! agency_code = "000.00.20.H49"
//! served_by = "province:quang-nam"
//! returns_results_directly = true
//! ```

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::config_error::ConfigError;
use crate::directory::{self, DirectoryEntry, RawNode};
use crate::office_id::OfficeId;
use crate::rule_set::{RuleSet, RuleSetError, RuleSets};

/// One office: a commune or district People's Committee, the provincial
/// Center, or an agency (department, police) with a desk at one of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Office {
    pub id: OfficeId,
    /// Level label (`province`, `district`, `commune`, `agency`, …): data,
    /// used by route templates (`ancestor:district`) and reports.
    pub level: String,
    /// Display name in Vietnamese.
    pub name: String,
    /// `None` for the root (the province) only.
    pub parent: Option<OfficeId>,
    /// National identifier code (mã định danh), the first part of the
    /// dossier codes this office issues, e.g. `000.00.06.H49`.
    pub agency_code: String,
    /// The office whose node serves this one (itself for an office that runs
    /// its own node; the Center for departments with desks at the Center).
    pub served_by: OfficeId,
    /// RULES R2: this office returns its results to the applicant itself
    /// (the provincial Police) instead of through the receiving desk.
    pub returns_results_directly: bool,
    /// The node id (`lt1-…`) of the node serving this office, when the
    /// network file names it: the province-signed directory of issue 8
    /// (whose key may author changes for which offices). Checked by the node.
    pub node_id: Option<String>,
}

impl Office {
    /// True when this office runs its own node.
    pub fn serves_itself(&self) -> bool {
        self.served_by == self.id
    }
}

/// Which part of an office definition an [`OfficeTreeError`] is about, so a
/// file parser can point at the right line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfficeField {
    Id,
    Level,
    Name,
    Parent,
    AgencyCode,
    ServedBy,
}

/// Where an [`OfficeTreeError`] lies in the input of [`OfficeTree::with_aliases`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Culprit {
    /// A field of the office at this position in the `offices` list.
    Office { index: usize, field: OfficeField },
    /// The alias at this position in the `aliases` list.
    Alias { index: usize },
    /// The tree as a whole.
    Whole,
}

/// Why a list of offices is not a valid tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfficeTreeError {
    #[error("the network defines no office; add [[office]] entries, starting with the province")]
    NoOffices,
    #[error("office id `{id}` is defined twice; each [[office]] needs its own id")]
    DuplicateId { index: usize, id: OfficeId },
    #[error(
        "office `{id}` has the level `{level}`; a level is a label of lowercase letters, digits or hyphens such as province, district, commune or agency"
    )]
    InvalidLevel {
        index: usize,
        id: OfficeId,
        level: String,
    },
    #[error("office `{id}` has an empty name; give its Vietnamese display name")]
    EmptyName { index: usize, id: OfficeId },
    #[error(
        "office `{id}` has the agency code `{code}`; an agency code is ASCII letters, digits and dots in the national format such as 000.00.06.H49 (no spaces or hyphens: it starts every dossier code)"
    )]
    InvalidAgencyCode {
        index: usize,
        id: OfficeId,
        code: String,
    },
    #[error(
        "agency code `{code}` of office `{id}` is already used by office `{first}`; dossier codes must never repeat, so give each office its own code"
    )]
    DuplicateAgencyCode {
        index: usize,
        id: OfficeId,
        code: String,
        first: OfficeId,
    },
    #[error(
        "office `{id}` names parent `{parent}`, which is not defined; add an [[office]] with that id or fix the parent"
    )]
    UnknownParent {
        index: usize,
        id: OfficeId,
        parent: OfficeId,
    },
    #[error(
        "offices `{first}` and `{id}` both have no parent; a network has exactly one root (the province): give `{id}` a parent"
    )]
    SeveralRoots {
        index: usize,
        id: OfficeId,
        first: OfficeId,
    },
    #[error(
        "the parents of these offices form a cycle: {}; one of them must name an office closer to the province as its parent",
        display_cycle(.cycle)
    )]
    Cycle { index: usize, cycle: Vec<OfficeId> },
    #[error(
        "office `{id}` is served_by `{served_by}`, which is not defined; name an office of this network (or leave served_by out for an office with its own node)"
    )]
    UnknownServedBy {
        index: usize,
        id: OfficeId,
        served_by: OfficeId,
    },
    #[error(
        "office `{id}` is served_by `{served_by}`, but that office is itself served by `{server_of_server}`; served_by must name an office that runs its own node (write served_by = \"{server_of_server}\")"
    )]
    ServerNotSelfServing {
        index: usize,
        id: OfficeId,
        served_by: OfficeId,
        server_of_server: OfficeId,
    },
    #[error(
        "alias `{alias}` of office `{office}` is also {clash}; an alias must name no other office"
    )]
    AliasClash {
        index: usize,
        alias: OfficeId,
        office: OfficeId,
        clash: String,
    },
    #[error("alias `{alias}` names office `{office}`, which is not defined")]
    UnknownAliasTarget {
        index: usize,
        alias: OfficeId,
        office: OfficeId,
    },
}

fn display_cycle(cycle: &[OfficeId]) -> String {
    let mut text: Vec<String> = cycle.iter().map(|id| id.to_string()).collect();
    if let Some(first) = cycle.first() {
        text.push(first.to_string());
    }
    text.join(" → ")
}

impl OfficeTreeError {
    /// Which input entry (and field) is at fault.
    pub fn culprit(&self) -> Culprit {
        use OfficeField as F;
        let office = |index: &usize, field| Culprit::Office {
            index: *index,
            field,
        };
        match self {
            Self::NoOffices => Culprit::Whole,
            Self::DuplicateId { index, .. } => office(index, F::Id),
            Self::InvalidLevel { index, .. } => office(index, F::Level),
            Self::EmptyName { index, .. } => office(index, F::Name),
            Self::InvalidAgencyCode { index, .. } | Self::DuplicateAgencyCode { index, .. } => {
                office(index, F::AgencyCode)
            }
            Self::UnknownParent { index, .. } | Self::Cycle { index, .. } => {
                office(index, F::Parent)
            }
            Self::SeveralRoots { index, .. } => office(index, F::Id),
            Self::UnknownServedBy { index, .. } | Self::ServerNotSelfServing { index, .. } => {
                office(index, F::ServedBy)
            }
            Self::AliasClash { index, .. } | Self::UnknownAliasTarget { index, .. } => {
                Culprit::Alias { index: *index }
            }
        }
    }
}

/// A validated tree of offices.
///
/// Invariants: ids and agency codes are unique, exactly one office (the
/// root) has no parent, every parent exists, parents form no cycle, and
/// every `served_by` names an office that serves itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeTree {
    /// In the order given (the order of the file).
    offices: Vec<Office>,
    by_id: HashMap<OfficeId, usize>,
    by_code: HashMap<String, usize>,
    /// Former ids (merged departments) → office index.
    aliases: Vec<(OfficeId, usize)>,
    parent_of: Vec<Option<usize>>,
    children_of: Vec<Vec<usize>>,
    root: usize,
}

fn is_label(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_agency_code(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
}

impl OfficeTree {
    /// Builds and validates a tree from offices in display order.
    pub fn new(offices: Vec<Office>) -> Result<Self, OfficeTreeError> {
        Self::with_aliases(offices, Vec::new())
    }

    /// Like [`OfficeTree::new`], with aliases: `(former id, office id)`
    /// pairs that make a route target naming a former office (a department
    /// merged into another in 2025) resolve to the office that took over its
    /// work. See [`OfficeTree::resolve`].
    pub fn with_aliases(
        offices: Vec<Office>,
        aliases: Vec<(OfficeId, OfficeId)>,
    ) -> Result<Self, OfficeTreeError> {
        if offices.is_empty() {
            return Err(OfficeTreeError::NoOffices);
        }
        let mut by_id = HashMap::with_capacity(offices.len());
        let mut by_code: HashMap<String, usize> = HashMap::with_capacity(offices.len());
        for (index, office) in offices.iter().enumerate() {
            let id = office.id.clone();
            if by_id.insert(id.clone(), index).is_some() {
                return Err(OfficeTreeError::DuplicateId { index, id });
            }
            if !is_label(&office.level) {
                return Err(OfficeTreeError::InvalidLevel {
                    index,
                    id,
                    level: office.level.clone(),
                });
            }
            if office.name.trim().is_empty() {
                return Err(OfficeTreeError::EmptyName { index, id });
            }
            if !is_agency_code(&office.agency_code) {
                return Err(OfficeTreeError::InvalidAgencyCode {
                    index,
                    id,
                    code: office.agency_code.clone(),
                });
            }
            if let Some(&first) = by_code.get(&office.agency_code) {
                return Err(OfficeTreeError::DuplicateAgencyCode {
                    index,
                    id,
                    code: office.agency_code.clone(),
                    first: offices[first].id.clone(),
                });
            }
            by_code.insert(office.agency_code.clone(), index);
        }

        let mut parent_of = Vec::with_capacity(offices.len());
        for (index, office) in offices.iter().enumerate() {
            let parent = match &office.parent {
                None => None,
                Some(parent) => match by_id.get(parent) {
                    Some(&p) => Some(p),
                    None => {
                        return Err(OfficeTreeError::UnknownParent {
                            index,
                            id: office.id.clone(),
                            parent: parent.clone(),
                        });
                    }
                },
            };
            parent_of.push(parent);
        }

        // Any cycle first: with every parent defined and no root at all,
        // there is necessarily one, and it explains the missing root.
        if let Some(cycle) = find_cycle(&parent_of) {
            let index = cycle.iter().copied().min().unwrap_or(0);
            return Err(OfficeTreeError::Cycle {
                index,
                cycle: rotate_to(&cycle, index)
                    .into_iter()
                    .map(|i| offices[i].id.clone())
                    .collect(),
            });
        }
        let mut roots = (0..offices.len()).filter(|&i| parent_of[i].is_none());
        // No cycle and a finite list: at least one root exists.
        let root = roots.next().unwrap_or(0);
        if let Some(second) = roots.next() {
            return Err(OfficeTreeError::SeveralRoots {
                index: second,
                id: offices[second].id.clone(),
                first: offices[root].id.clone(),
            });
        }

        for (index, office) in offices.iter().enumerate() {
            let Some(&server) = by_id.get(&office.served_by) else {
                return Err(OfficeTreeError::UnknownServedBy {
                    index,
                    id: office.id.clone(),
                    served_by: office.served_by.clone(),
                });
            };
            if !offices[server].serves_itself() {
                return Err(OfficeTreeError::ServerNotSelfServing {
                    index,
                    id: office.id.clone(),
                    served_by: office.served_by.clone(),
                    server_of_server: offices[server].served_by.clone(),
                });
            }
        }

        let mut resolved_aliases: Vec<(OfficeId, usize)> = Vec::with_capacity(aliases.len());
        for (index, (alias, target)) in aliases.into_iter().enumerate() {
            let Some(&target_index) = by_id.get(&target) else {
                return Err(OfficeTreeError::UnknownAliasTarget {
                    index,
                    alias,
                    office: target,
                });
            };
            let clash = if by_id.contains_key(&alias) {
                Some(format!("the id of an office (`{alias}`)"))
            } else {
                resolved_aliases
                    .iter()
                    .find(|(other, _)| *other == alias)
                    .map(|(_, other)| format!("an alias of office `{}`", offices[*other].id))
            };
            if let Some(clash) = clash {
                return Err(OfficeTreeError::AliasClash {
                    index,
                    alias,
                    office: target,
                    clash,
                });
            }
            resolved_aliases.push((alias, target_index));
        }

        let mut children_of = vec![Vec::new(); offices.len()];
        for (index, parent) in parent_of.iter().enumerate() {
            if let Some(parent) = parent {
                children_of[*parent].push(index);
            }
        }
        Ok(Self {
            offices,
            by_id,
            by_code,
            aliases: resolved_aliases,
            parent_of,
            children_of,
            root,
        })
    }

    fn index(&self, id: &OfficeId) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// The office with this id.
    pub fn get(&self, id: &OfficeId) -> Option<&Office> {
        self.index(id).map(|i| &self.offices[i])
    }

    /// The office with this id, or the office that took over the office
    /// formerly known by this id (an alias in the network file).
    pub fn resolve(&self, id: &OfficeId) -> Option<&Office> {
        self.get(id).or_else(|| {
            self.aliases
                .iter()
                .find(|(alias, _)| alias == id)
                .map(|(_, i)| &self.offices[*i])
        })
    }

    /// The former ids that resolve to this office.
    pub fn aliases_of(&self, id: &OfficeId) -> Vec<&OfficeId> {
        match self.index(id) {
            Some(index) => self
                .aliases
                .iter()
                .filter(|(_, i)| *i == index)
                .map(|(alias, _)| alias)
                .collect(),
            None => Vec::new(),
        }
    }

    pub fn contains(&self, id: &OfficeId) -> bool {
        self.by_id.contains_key(id)
    }

    /// The single office with no parent (the province).
    pub fn root(&self) -> &Office {
        &self.offices[self.root]
    }

    pub fn parent(&self, id: &OfficeId) -> Option<&Office> {
        let index = self.index(id)?;
        self.parent_of[index].map(|p| &self.offices[p])
    }

    /// Parent, grandparent, … up to the root: nearest first, without `id`
    /// itself. Empty for the root or an unknown id.
    pub fn ancestors(&self, id: &OfficeId) -> Vec<&Office> {
        let mut result = Vec::new();
        let mut current = self.index(id).and_then(|i| self.parent_of[i]);
        while let Some(index) = current {
            result.push(&self.offices[index]);
            current = self.parent_of[index];
        }
        result
    }

    /// Direct children in file order.
    pub fn children(&self, id: &OfficeId) -> Vec<&Office> {
        match self.index(id) {
            Some(index) => self.children_of[index]
                .iter()
                .map(|&c| &self.offices[c])
                .collect(),
            None => Vec::new(),
        }
    }

    /// Every office below `id` (depth first, children in file order),
    /// without `id` itself.
    pub fn descendants(&self, id: &OfficeId) -> Vec<&Office> {
        let mut result = Vec::new();
        let Some(start) = self.index(id) else {
            return result;
        };
        let mut stack: Vec<usize> = self.children_of[start].iter().rev().copied().collect();
        while let Some(index) = stack.pop() {
            result.push(&self.offices[index]);
            stack.extend(self.children_of[index].iter().rev().copied());
        }
        result
    }

    /// `from` itself if its level is `level`, else its nearest ancestor with
    /// that level; `None` if there is none (e.g. `district` in a two-tier
    /// network) or `from` is unknown.
    pub fn nearest_at_level(&self, from: &OfficeId, level: &str) -> Option<&Office> {
        let mut current = self.index(from);
        while let Some(index) = current {
            if self.offices[index].level == level {
                return Some(&self.offices[index]);
            }
            current = self.parent_of[index];
        }
        None
    }

    /// Whether `ancestor` is a strict ancestor of `id`.
    pub fn is_ancestor_of(&self, ancestor: &OfficeId, id: &OfficeId) -> bool {
        self.ancestors(id).iter().any(|o| &o.id == ancestor)
    }

    /// Distance from the root (the root is 0).
    pub fn depth(&self, id: &OfficeId) -> Option<usize> {
        self.index(id).map(|_| self.ancestors(id).len())
    }

    /// The office whose node serves `id`.
    pub fn served_by(&self, id: &OfficeId) -> Option<&OfficeId> {
        self.get(id).map(|o| &o.served_by)
    }

    /// Every office the node of `node_office` serves, itself included, in
    /// file order. Empty if `node_office` runs no node.
    pub fn offices_served_by(&self, node_office: &OfficeId) -> Vec<&Office> {
        self.offices
            .iter()
            .filter(|o| &o.served_by == node_office)
            .collect()
    }

    /// Offices that run their own node, in file order.
    pub fn node_offices(&self) -> Vec<&Office> {
        self.offices.iter().filter(|o| o.serves_itself()).collect()
    }

    /// Offices with this level label, in file order.
    pub fn at_level(&self, level: &str) -> Vec<&Office> {
        self.offices.iter().filter(|o| o.level == level).collect()
    }

    /// All offices in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Office> {
        self.offices.iter()
    }

    /// The office identified by this agency code (the first part of a dossier code).
    pub fn by_agency_code(&self, code: &str) -> Option<&Office> {
        self.by_code.get(code).map(|&i| &self.offices[i])
    }

    pub fn len(&self) -> usize {
        self.offices.len()
    }

    /// Always false: a tree has a root.
    pub fn is_empty(&self) -> bool {
        self.offices.is_empty()
    }
}

impl<'a> IntoIterator for &'a OfficeTree {
    type Item = &'a Office;
    type IntoIter = std::slice::Iter<'a, Office>;
    fn into_iter(self) -> Self::IntoIter {
        self.offices.iter()
    }
}

/// Some cycle in the parent links (as office indices, in parent order), if any.
fn find_cycle(parent_of: &[Option<usize>]) -> Option<Vec<usize>> {
    // 0 = unvisited, 1 = on the current walk, 2 = known to reach a root.
    let mut state = vec![0u8; parent_of.len()];
    for start in 0..parent_of.len() {
        let mut walk = Vec::new();
        let mut current = Some(start);
        while let Some(index) = current {
            match state[index] {
                2 => break,
                1 => {
                    let from = walk.iter().position(|&i| i == index).unwrap_or(0);
                    return Some(walk[from..].to_vec());
                }
                _ => {
                    state[index] = 1;
                    walk.push(index);
                    current = parent_of[index];
                }
            }
        }
        for index in walk {
            state[index] = 2;
        }
    }
    None
}

fn rotate_to(cycle: &[usize], first: usize) -> Vec<usize> {
    let at = cycle.iter().position(|&i| i == first).unwrap_or(0);
    cycle[at..].iter().chain(&cycle[..at]).copied().collect()
}

/// Calendar settings of a network. The working hours stay text here; the
/// calendar module parses them (`WorkingHours::parse`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarSettings {
    pub timezone: chrono_tz::Tz,
    /// Working periods of a day, e.g. `["07:00-11:30", "13:30-17:00"]`.
    pub working_hours: Vec<String>,
}

impl Default for CalendarSettings {
    /// RULES D1: Asia/Ho_Chi_Minh, 07:00–11:30 and 13:30–17:00.
    fn default() -> Self {
        Self {
            timezone: chrono_tz::Asia::Ho_Chi_Minh,
            working_hours: default_working_hours(),
        }
    }
}

fn default_working_hours() -> Vec<String> {
    vec!["07:00-11:30".to_string(), "13:30-17:00".to_string()]
}

/// A whole network file: name, calendar settings, rule sets and offices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkConfig {
    pub name: String,
    pub calendar: CalendarSettings,
    pub rule_sets: RuleSets,
    pub offices: OfficeTree,
    /// The `[[node]]` entries of the node directory (issue 8); see
    /// [`NetworkConfig::directory_entries`] for the whole directory.
    pub directory: Vec<DirectoryEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    name: Spanned<String>,
    #[serde(default)]
    calendar: Option<RawCalendar>,
    #[serde(default, rename = "rule_set")]
    rule_sets: Vec<Spanned<RuleSet>>,
    #[serde(default, rename = "office")]
    offices: Vec<Spanned<RawOffice>>,
    #[serde(default, rename = "node")]
    nodes: Vec<Spanned<RawNode>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    #[serde(default)]
    timezone: Option<Spanned<String>>,
    #[serde(default)]
    working_hours: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOffice {
    id: Spanned<OfficeId>,
    level: Spanned<String>,
    name: Spanned<String>,
    #[serde(default)]
    parent: Option<Spanned<OfficeId>>,
    agency_code: Spanned<String>,
    #[serde(default)]
    served_by: Option<Spanned<OfficeId>>,
    #[serde(default)]
    returns_results_directly: bool,
    /// Former ids (departments merged into this one) that resolve here.
    #[serde(default)]
    aliases: Vec<Spanned<OfficeId>>,
    #[serde(default)]
    node_id: Option<Spanned<String>>,
}

impl NetworkConfig {
    /// Parses a network file. `file` is only used in error messages.
    pub fn parse(file: &Path, source: &str) -> Result<Self, ConfigError> {
        let raw: RawNetwork =
            toml::from_str(source).map_err(|e| ConfigError::from_toml(file, source, &e))?;
        let at = |span: Range<usize>, message: String| {
            ConfigError::at_offset(file, source, span.start, message)
        };

        let name = raw.name.get_ref().trim().to_string();
        if name.is_empty() {
            return Err(at(
                raw.name.span(),
                "the network name is empty; give it a name officers recognise, e.g. \"Quảng Nam — ba cấp\"".into(),
            ));
        }

        let calendar = parse_calendar(raw.calendar, &at)?;
        let rule_sets = parse_rule_sets(file, source, raw.rule_sets)?;

        let mut offices = Vec::with_capacity(raw.offices.len());
        let mut aliases = Vec::new();
        let mut alias_spans = Vec::new();
        for entry in &raw.offices {
            let office = entry.get_ref();
            let id = office.id.get_ref().clone();
            for alias in &office.aliases {
                aliases.push((alias.get_ref().clone(), id.clone()));
                alias_spans.push(alias.span());
            }
            offices.push(Office {
                served_by: office
                    .served_by
                    .as_ref()
                    .map_or_else(|| id.clone(), |s| s.get_ref().clone()),
                id,
                level: office.level.get_ref().clone(),
                name: office.name.get_ref().trim().to_string(),
                parent: office.parent.as_ref().map(|p| p.get_ref().clone()),
                agency_code: office.agency_code.get_ref().clone(),
                returns_results_directly: office.returns_results_directly,
                node_id: office
                    .node_id
                    .as_ref()
                    .map(|n| n.get_ref().trim().to_string()),
            });
        }
        let tree = OfficeTree::with_aliases(offices, aliases).map_err(|error| {
            let span = match error.culprit() {
                Culprit::Whole => None,
                Culprit::Alias { index } => alias_spans.get(index).cloned(),
                Culprit::Office { index, field } => raw.offices.get(index).map(|entry| {
                    let office = entry.get_ref();
                    match field {
                        OfficeField::Id => office.id.span(),
                        OfficeField::Level => office.level.span(),
                        OfficeField::Name => office.name.span(),
                        OfficeField::AgencyCode => office.agency_code.span(),
                        OfficeField::Parent => office
                            .parent
                            .as_ref()
                            .map_or_else(|| office.id.span(), |p| p.span()),
                        OfficeField::ServedBy => office
                            .served_by
                            .as_ref()
                            .map_or_else(|| office.id.span(), |s| s.span()),
                    }
                }),
            };
            match span {
                Some(span) => at(span, error.to_string()),
                None => ConfigError::whole_file(file, error.to_string()),
            }
        })?;

        let directory = directory::parse(&raw.nodes, &tree, &at)?;
        for (entry, office) in tree.iter().filter_map(|o| Some((o.node_id.as_ref()?, o))) {
            if !directory::looks_like_node_id(entry) {
                let span = raw
                    .offices
                    .iter()
                    .find(|r| *r.get_ref().id.get_ref() == office.id)
                    .and_then(|r| r.get_ref().node_id.as_ref())
                    .map(|n| n.span());
                let message = format!(
                    "`{entry}` (the node_id of {}) is not a node id; copy the id `lienthong id --data DIR` prints on that node (lt1- and 13 groups of 4)",
                    office.id
                );
                return Err(match span {
                    Some(span) => at(span, message),
                    None => ConfigError::whole_file(file, message),
                });
            }
        }

        Ok(Self {
            name,
            calendar,
            rule_sets,
            offices: tree,
            directory,
        })
    }

    /// The whole node directory: each office's `node_id` (valid always),
    /// then the `[[node]]` entries.
    pub fn directory_entries(&self) -> Vec<DirectoryEntry> {
        let shorthand = self.offices.iter().filter_map(|office| {
            Some(DirectoryEntry {
                node_id: office.node_id.clone()?,
                office: office.id.clone(),
                from: None,
                until: None,
            })
        });
        shorthand.chain(self.directory.iter().cloned()).collect()
    }

    /// Reads and parses a network file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let source = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::whole_file(
                path,
                format!("cannot read the network file: {e}; check the path (examples are in configs/networks/)"),
            )
        })?;
        Self::parse(path, &source)
    }
}

fn parse_calendar(
    raw: Option<RawCalendar>,
    at: &impl Fn(Range<usize>, String) -> ConfigError,
) -> Result<CalendarSettings, ConfigError> {
    let mut settings = CalendarSettings::default();
    let Some(raw) = raw else {
        return Ok(settings);
    };
    if let Some(timezone) = raw.timezone {
        settings.timezone = timezone.get_ref().parse().map_err(|_| {
            at(
                timezone.span(),
                format!(
                    "unknown time zone `{}`; use an IANA time zone name such as \"Asia/Ho_Chi_Minh\"",
                    timezone.get_ref()
                ),
            )
        })?;
    }
    if let Some(hours) = raw.working_hours {
        if hours.get_ref().is_empty() {
            return Err(at(
                hours.span(),
                "working_hours is empty; list the working periods of a day, e.g. [\"07:00-11:30\", \"13:30-17:00\"]".into(),
            ));
        }
        let mut previous_end: Option<(chrono::NaiveTime, &str)> = None;
        for period in hours.get_ref() {
            let text = period.get_ref().as_str();
            let bad = |why: &str| {
                at(
                    period.span(),
                    format!(
                        "working period `{text}` {why}; write periods as \"HH:MM-HH:MM\" in order, e.g. [\"07:00-11:30\", \"13:30-17:00\"]"
                    ),
                )
            };
            let (start, end) = text
                .split_once('-')
                .ok_or_else(|| bad("has no '-' between start and end"))?;
            let parse = |t: &str| chrono::NaiveTime::parse_from_str(t.trim(), "%H:%M");
            let (Ok(start), Ok(end)) = (parse(start), parse(end)) else {
                return Err(bad("is not two HH:MM times"));
            };
            if start >= end {
                return Err(bad("ends before it starts"));
            }
            if let Some((previous, previous_text)) = previous_end
                && start < previous
            {
                return Err(bad(&format!(
                    "starts before the previous period `{previous_text}` ends"
                )));
            }
            previous_end = Some((end, text));
        }
        settings.working_hours = hours
            .into_inner()
            .into_iter()
            .map(|p| p.into_inner().trim().to_string())
            .collect();
    }
    Ok(settings)
}

fn parse_rule_sets(
    file: &Path,
    source: &str,
    raw: Vec<Spanned<RuleSet>>,
) -> Result<RuleSets, ConfigError> {
    let starts: Vec<usize> = raw.iter().map(|entry| entry.span().start).collect();
    let sets: Vec<RuleSet> = raw.into_iter().map(Spanned::into_inner).collect();
    // Point at the offending key inside the offending [[rule_set]] table.
    let key = match &RuleSets::new(sets.clone()) {
        Ok(_) => None,
        Err(RuleSetError::Empty) => None,
        Err(RuleSetError::EmptyId { .. } | RuleSetError::DuplicateId { .. }) => Some("id"),
        Err(RuleSetError::DuplicateDate { .. }) => Some("effective_from"),
        Err(RuleSetError::ZeroSupplementDays { .. }) => Some("supplement_request_within_days"),
    };
    RuleSets::new(sets).map_err(|error| {
        let message = error.to_string();
        match error.index().and_then(|i| starts.get(i)) {
            Some(&start) => {
                let offset = key
                    .and_then(|key| key_offset(source, start, key))
                    .unwrap_or(start);
                ConfigError::at_offset(file, source, offset, message)
            }
            None => ConfigError::whole_file(file, message),
        }
    })
}

/// Offset of the line `key = …` in the table whose header starts at `start`.
fn key_offset(source: &str, start: usize, key: &str) -> Option<usize> {
    let mut offset = start;
    for (n, line) in source.get(start..)?.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_start();
        if n > 0 && trimmed.starts_with('[') {
            return None;
        }
        if let Some(rest) = trimmed.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return Some(offset + (line.len() - trimmed.len()));
        }
        offset += line.len();
    }
    None
}

impl fmt::Display for Office {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::{da_nang_2tier, quang_nam_3tier};

    fn id(text: &str) -> OfficeId {
        text.parse().unwrap()
    }

    fn ids<'a>(offices: impl IntoIterator<Item = &'a Office>) -> Vec<&'a str> {
        offices.into_iter().map(|o| o.id.as_str()).collect()
    }

    fn office(text: &str, level: &str, parent: Option<&str>, code: &str) -> Office {
        Office {
            id: id(text),
            level: level.into(),
            name: format!("Đơn vị {text}"),
            parent: parent.map(id),
            agency_code: code.into(),
            served_by: id(text),
            returns_results_directly: false,
            node_id: None,
        }
    }

    #[test]
    fn three_tier_queries() {
        let network = quang_nam_3tier();
        let tree = &network.offices;
        assert_eq!(tree.root().id.as_str(), "province:quang-nam");
        let dien_phuong = id("commune:dien-ban/dien-phuong");
        assert_eq!(
            ids(tree.ancestors(&dien_phuong)),
            ["district:dien-ban", "province:quang-nam"]
        );
        assert!(tree.ancestors(&id("province:quang-nam")).is_empty());
        assert_eq!(
            tree.parent(&dien_phuong).unwrap().id.as_str(),
            "district:dien-ban"
        );
        assert!(tree.parent(&id("province:quang-nam")).is_none());
        assert_eq!(
            tree.nearest_at_level(&dien_phuong, "district")
                .unwrap()
                .id
                .as_str(),
            "district:dien-ban"
        );
        assert_eq!(
            tree.nearest_at_level(&dien_phuong, "commune").unwrap().id,
            dien_phuong
        );
        assert_eq!(
            tree.nearest_at_level(&dien_phuong, "province")
                .unwrap()
                .id
                .as_str(),
            "province:quang-nam"
        );
        assert!(
            tree.nearest_at_level(&id("province:quang-nam"), "district")
                .is_none()
        );
        assert!(
            tree.nearest_at_level(&id("commune:nowhere"), "district")
                .is_none()
        );
        assert_eq!(
            tree.nearest_at_level(&id("district:duy-xuyen/phong-ldtbxh"), "district")
                .unwrap()
                .id
                .as_str(),
            "district:duy-xuyen"
        );
        assert_eq!(
            ids(tree.children(&id("district:duy-xuyen"))),
            [
                "district:duy-xuyen/phong-ldtbxh",
                "commune:duy-xuyen/duy-son",
                "commune:duy-xuyen/duy-trinh"
            ]
        );
        assert_eq!(
            tree.descendants(&id("province:quang-nam")).len(),
            tree.len() - 1
        );
        assert_eq!(
            ids(tree.at_level("commune")),
            [
                "commune:dien-ban/dien-phuong",
                "commune:dien-ban/dien-minh",
                "commune:duy-xuyen/duy-son",
                "commune:duy-xuyen/duy-trinh"
            ]
        );
        assert_eq!(tree.depth(&dien_phuong), Some(2));
        assert!(tree.is_ancestor_of(&id("province:quang-nam"), &dien_phuong));
        assert!(!tree.is_ancestor_of(&id("district:duy-xuyen"), &dien_phuong));
        assert!(!tree.is_ancestor_of(&dien_phuong, &dien_phuong));

        // Custody of nodes: departments sit at the Center's node.
        let police = id("province:quang-nam/cong-an-tinh");
        assert_eq!(
            tree.served_by(&police).unwrap().as_str(),
            "province:quang-nam"
        );
        assert_eq!(tree.served_by(&dien_phuong), Some(&dien_phuong));
        let center = tree.offices_served_by(&id("province:quang-nam"));
        assert_eq!(center.len(), 11);
        assert_eq!(center[0].id.as_str(), "province:quang-nam");
        assert!(
            center
                .iter()
                .all(|o| o.level != "district" && o.level != "commune")
        );
        assert_eq!(
            ids(tree.offices_served_by(&id("district:dien-ban"))),
            ["district:dien-ban", "district:dien-ban/phong-ldtbxh"]
        );
        assert!(tree.offices_served_by(&police).is_empty());
        assert_eq!(tree.node_offices().len(), 7);
        assert_eq!(tree.by_agency_code("000.00.20.H49").unwrap().id, police);
        assert!(tree.by_agency_code("000.00.99.H49").is_none());
        let direct: Vec<_> = tree.iter().filter(|o| o.returns_results_directly).collect();
        assert_eq!(ids(direct), ["province:quang-nam/cong-an-tinh"]);

        // Stable order: as in the file; every office has a unique code.
        let first: Vec<_> = ids(tree.iter()).into_iter().take(2).collect();
        assert_eq!(
            first,
            ["province:quang-nam", "province:quang-nam/van-phong-ubnd"]
        );
        let mut codes: Vec<_> = tree.iter().map(|o| o.agency_code.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), tree.len());
        assert!(
            tree.iter().all(|o| !o.name.is_ascii()),
            "names are Vietnamese"
        );
    }

    #[test]
    fn two_tier_queries() {
        let network = da_nang_2tier();
        let tree = &network.offices;
        assert_eq!(tree.root().id.as_str(), "province:da-nang");
        let hoi_an = id("commune:hoi-an");
        assert_eq!(ids(tree.ancestors(&hoi_an)), ["province:da-nang"]);
        assert!(tree.nearest_at_level(&hoi_an, "district").is_none());
        assert!(tree.at_level("district").is_empty());
        assert_eq!(tree.at_level("commune").len(), 5);
        assert_eq!(tree.depth(&hoi_an), Some(1));
        assert_eq!(tree.node_offices().len(), 6);
        assert_eq!(tree.offices_served_by(&id("province:da-nang")).len(), 10);
        // Merged departments answer to their former ids.
        let former = id("province:da-nang/so-tai-nguyen-moi-truong");
        assert!(tree.get(&former).is_none());
        assert_eq!(
            tree.resolve(&former).unwrap().id.as_str(),
            "province:da-nang/so-nong-nghiep-moi-truong"
        );
        assert_eq!(
            tree.aliases_of(&id("province:da-nang/cong-an-thanh-pho")),
            [&id("province:da-nang/cong-an-tinh")]
        );
        assert!(
            tree.get(&id("province:da-nang/cong-an-thanh-pho"))
                .unwrap()
                .returns_results_directly
        );
        assert_eq!(tree.resolve(&hoi_an).unwrap().id, hoi_an);
        assert!(tree.resolve(&id("commune:nowhere")).is_none());
    }

    /// province → region → district → commune → village, with an agency
    /// served by the district: nothing assumes three levels.
    #[test]
    fn five_level_tree() {
        let mut agency = office("district:r/d/phong", "agency", Some("district:r/d"), "A6");
        agency.served_by = id("district:r/d");
        let tree = OfficeTree::new(vec![
            office("province:p", "province", None, "A1"),
            office("region:r", "region", Some("province:p"), "A2"),
            office("district:r/d", "district", Some("region:r"), "A3"),
            office("commune:r/d/c", "commune", Some("district:r/d"), "A4"),
            office("village:r/d/c/v", "village", Some("commune:r/d/c"), "A5"),
            agency,
            office("village:r/d/c/w", "village", Some("commune:r/d/c"), "A7"),
        ])
        .unwrap();
        let village = id("village:r/d/c/v");
        assert_eq!(
            ids(tree.ancestors(&village)),
            ["commune:r/d/c", "district:r/d", "region:r", "province:p"]
        );
        assert_eq!(
            tree.nearest_at_level(&village, "region")
                .unwrap()
                .id
                .as_str(),
            "region:r"
        );
        assert_eq!(
            tree.nearest_at_level(&village, "village").unwrap().id,
            village
        );
        assert!(tree.nearest_at_level(&village, "agency").is_none());
        assert_eq!(tree.depth(&village), Some(4));
        assert_eq!(
            ids(tree.descendants(&id("region:r"))),
            [
                "district:r/d",
                "commune:r/d/c",
                "village:r/d/c/v",
                "village:r/d/c/w",
                "district:r/d/phong"
            ]
        );
        assert_eq!(
            ids(tree.children(&id("commune:r/d/c"))),
            ["village:r/d/c/v", "village:r/d/c/w"]
        );
        assert_eq!(
            ids(tree.offices_served_by(&id("district:r/d"))),
            ["district:r/d", "district:r/d/phong"]
        );
        assert!(tree.children(&id("nothing:x")).is_empty());
        assert!(tree.descendants(&id("nothing:x")).is_empty());
    }

    #[test]
    fn tree_errors() {
        let p = || office("province:p", "province", None, "C1");
        let err = |offices| OfficeTree::new(offices).unwrap_err();
        assert_eq!(err(vec![]), OfficeTreeError::NoOffices);
        assert!(matches!(
            err(vec![p(), office("province:p", "province", None, "C2")]),
            OfficeTreeError::DuplicateId { index: 1, .. }
        ));
        assert!(matches!(
            err(vec![
                p(),
                office("district:d", "district", Some("province:p"), "C1")
            ]),
            OfficeTreeError::DuplicateAgencyCode { index: 1, .. }
        ));
        assert!(matches!(
            err(vec![
                p(),
                office("district:d", "district", Some("province:x"), "C2")
            ]),
            OfficeTreeError::UnknownParent { index: 1, .. }
        ));
        assert!(matches!(
            err(vec![p(), office("province:q", "province", None, "C2")]),
            OfficeTreeError::SeveralRoots { index: 1, .. }
        ));
        let cycle = err(vec![
            p(),
            office("district:a", "district", Some("district:b"), "C2"),
            office("district:b", "district", Some("district:a"), "C3"),
        ]);
        assert_eq!(
            cycle,
            OfficeTreeError::Cycle {
                index: 1,
                cycle: vec![id("district:a"), id("district:b")]
            }
        );
        assert!(
            cycle
                .to_string()
                .contains("district:a → district:b → district:a")
        );
        // Every office has a parent: the cycle explains the missing root.
        assert!(matches!(
            err(vec![office(
                "province:p",
                "province",
                Some("province:p"),
                "C1"
            )]),
            OfficeTreeError::Cycle { index: 0, .. }
        ));
        let mut served = office("district:d", "district", Some("province:p"), "C2");
        served.served_by = id("district:zzz");
        assert!(matches!(
            err(vec![p(), served.clone()]),
            OfficeTreeError::UnknownServedBy { index: 1, .. }
        ));
        served.served_by = id("province:p");
        let mut second = office("agency:x", "agency", Some("district:d"), "C3");
        second.served_by = id("district:d");
        assert!(matches!(
            err(vec![p(), served, second]),
            OfficeTreeError::ServerNotSelfServing { index: 2, .. }
        ));
        assert!(matches!(
            err(vec![
                p(),
                office("district:d", "Huyện", Some("province:p"), "C2")
            ]),
            OfficeTreeError::InvalidLevel { index: 1, .. }
        ));
        assert!(matches!(
            err(vec![office("province:p", "province", None, "000-1")]),
            OfficeTreeError::InvalidAgencyCode { index: 0, .. }
        ));
        let mut unnamed = p();
        unnamed.name = " ".into();
        assert!(matches!(
            err(vec![unnamed]),
            OfficeTreeError::EmptyName { index: 0, .. }
        ));
        let with_aliases = |aliases| OfficeTree::with_aliases(vec![p()], aliases).unwrap_err();
        assert!(matches!(
            with_aliases(vec![(id("province:p"), id("province:p"))]),
            OfficeTreeError::AliasClash { index: 0, .. }
        ));
        assert!(matches!(
            with_aliases(vec![
                (id("old:x"), id("province:p")),
                (id("old:x"), id("province:p"))
            ]),
            OfficeTreeError::AliasClash { index: 1, .. }
        ));
        assert!(matches!(
            with_aliases(vec![(id("old:x"), id("province:zzz"))]),
            OfficeTreeError::UnknownAliasTarget { index: 0, .. }
        ));
    }

    // ── Network file errors, each at its line ─────────────────────────────

    const BASE: &str = r#"name = "Mạng thử"
[[rule_set]]
id = "2018"
effective_from = "2018-06-21"
[[office]]
id = "province:p"
level = "province"
name = "Tỉnh P"
agency_code = "000.00.00.H01"
[[office]]
id = "district:d"
level = "district"
parent = "province:p"
name = "Huyện D"
agency_code = "000.00.30.H01"
"#;

    fn parse(extra: &str) -> Result<NetworkConfig, ConfigError> {
        NetworkConfig::parse(Path::new("net.toml"), &format!("{BASE}{extra}"))
    }

    /// Line and message of the error that `extra` (appended from line 16) causes.
    fn error(extra: &str) -> (Option<usize>, String) {
        let error = parse(extra).unwrap_err();
        assert!(error.to_string().starts_with("net.toml"), "{error}");
        (error.line, error.message)
    }

    fn commune(parent: &str, code: &str, more: &str) -> String {
        format!(
            "[[office]]\nid = \"commune:d/c\"\nlevel = \"commune\"\nparent = \"{parent}\"\nname = \"Xã C\"\nagency_code = \"{code}\"\n{more}"
        )
    }

    #[test]
    fn base_parses_with_defaults() {
        let network = parse("").unwrap();
        assert_eq!(network.name, "Mạng thử");
        assert_eq!(network.calendar, CalendarSettings::default());
        assert_eq!(network.offices.len(), 2);
        let with_commune = parse(&commune("district:d", "000.01.30.H01", "")).unwrap();
        assert_eq!(
            with_commune.offices.served_by(&id("commune:d/c")),
            Some(&id("commune:d/c"))
        );
    }

    #[test]
    fn unknown_parent_at_its_line() {
        let (line, message) = error(&commune("district:dien-ban", "000.01.30.H01", ""));
        assert_eq!(line, Some(19));
        assert!(message.contains("district:dien-ban"), "{message}");
        assert!(message.contains("not defined"), "{message}");
    }

    #[test]
    fn duplicate_id_at_the_second_definition() {
        let extra = "[[office]]\nid = \"district:d\"\nlevel = \"district\"\nparent = \"province:p\"\nname = \"X\"\nagency_code = \"X1\"\n";
        let (line, message) = error(extra);
        assert_eq!(line, Some(17));
        assert!(message.contains("defined twice"), "{message}");
    }

    #[test]
    fn agency_code_errors_at_their_line() {
        let (line, message) = error(&commune("district:d", "000.00.30.H01", ""));
        assert_eq!(line, Some(21));
        assert!(
            message.contains("already used by office `district:d`"),
            "{message}"
        );
        let (line, message) = error(&commune("district:d", "000 00", ""));
        assert_eq!(line, Some(21));
        assert!(message.contains("national format"), "{message}");
    }

    #[test]
    fn second_root_and_cycle_at_their_line() {
        let extra = "[[office]]\nid = \"province:q\"\nlevel = \"province\"\nname = \"Tỉnh Q\"\nagency_code = \"Q1\"\n";
        let (line, message) = error(extra);
        assert_eq!(line, Some(17));
        assert!(message.contains("exactly one root"), "{message}");
        let (line, message) = error(&commune("commune:d/c", "000.01.30.H01", ""));
        assert_eq!(line, Some(19));
        assert!(message.contains("cycle"), "{message}");
    }

    #[test]
    fn served_by_errors_at_their_line() {
        let (line, message) = error(&commune(
            "district:d",
            "C1",
            "served_by = \"district:nowhere\"\n",
        ));
        assert_eq!(line, Some(22));
        assert!(message.contains("district:nowhere"), "{message}");
        // The commune is served by the district; an agency served by the commune is wrong.
        let extra = commune("district:d", "C1", "served_by = \"district:d\"\n")
            + "[[office]]\nid = \"commune:d/c/x\"\nlevel = \"agency\"\nparent = \"commune:d/c\"\nname = \"Tổ X\"\nagency_code = \"C2\"\nserved_by = \"commune:d/c\"\n";
        let (line, message) = error(&extra);
        assert_eq!(line, Some(29));
        assert!(message.contains("served_by = \"district:d\""), "{message}");
    }

    #[test]
    fn field_errors_at_their_line() {
        // A typo in a key (deny_unknown_fields).
        let (line, message) = error(&commune(
            "district:d",
            "C1",
            "serverd_by = \"district:d\"\n",
        ));
        assert_eq!(line, Some(22));
        assert!(message.contains("serverd_by"), "{message}");
        // A malformed office id.
        let (line, message) = error("[[office]]\nid = \"Xã:C\"\n");
        assert_eq!(line, Some(17));
        assert!(message.contains("not an office id"), "{message}");
        // A level that is not a label.
        let extra = "[[office]]\nid = \"commune:x\"\nlevel = \"Xã\"\nparent = \"district:d\"\nname = \"X\"\nagency_code = \"X1\"\n";
        let (line, message) = error(extra);
        assert_eq!(line, Some(18));
        assert!(message.contains("level"), "{message}");
        // A missing field.
        let (line, message) = error("[[office]]\nid = \"commune:x\"\nlevel = \"commune\"\n");
        assert_eq!(line, Some(16));
        assert!(message.contains("missing field"), "{message}");
        // An alias that is some office's id.
        let (line, message) = error(&commune("district:d", "C1", "aliases = [\"district:d\"]\n"));
        assert_eq!(line, Some(22));
        assert!(message.contains("alias"), "{message}");
    }

    #[test]
    fn calendar_errors_at_their_line() {
        let with_calendar = |calendar: &str| {
            let source = format!(
                "name = \"N\"\n[calendar]\n{calendar}\n{}",
                &BASE[BASE.find("[[rule_set]]").unwrap()..]
            );
            NetworkConfig::parse(Path::new("net.toml"), &source)
        };
        let error = with_calendar("timezone = \"Asia/Saigonn\"").unwrap_err();
        assert_eq!(error.line, Some(3));
        assert!(error.message.contains("Asia/Ho_Chi_Minh"), "{error}");
        let error = with_calendar("timezone = \"Asia/Ho_Chi_Minh\"\nworking_hours = [\n  \"07:00-11:30\",\n  \"13:00-12:00\",\n]").unwrap_err();
        assert_eq!(error.line, Some(6));
        assert!(error.message.contains("ends before it starts"), "{error}");
        let error =
            with_calendar("working_hours = [\"07:00-11:30\", \"11:00-17:00\"]").unwrap_err();
        assert_eq!(error.line, Some(3));
        assert!(error.message.contains("previous period"), "{error}");
        let error = with_calendar("working_hours = [\"7h-11h\"]").unwrap_err();
        assert!(error.message.contains("HH:MM"), "{error}");
        let error = with_calendar("working_hours = []").unwrap_err();
        assert_eq!(error.line, Some(3));
        let error = with_calendar("time_zone = \"Asia/Ho_Chi_Minh\"").unwrap_err();
        assert_eq!(error.line, Some(3));
        let ok = with_calendar(
            "timezone = \"Asia/Bangkok\"\nworking_hours = [\"08:00-12:00\", \"13:00-17:00\"]",
        )
        .unwrap();
        assert_eq!(ok.calendar.timezone, chrono_tz::Asia::Bangkok);
        assert_eq!(ok.calendar.working_hours, ["08:00-12:00", "13:00-17:00"]);
    }

    #[test]
    fn rule_set_errors_at_their_line() {
        let duplicate = "[[rule_set]]\nid = \"2018\"\neffective_from = \"2025-07-01\"\n";
        let (line, message) = error(duplicate);
        assert_eq!(line, Some(17));
        assert!(message.contains("defined twice"), "{message}");
        let same_day = "[[rule_set]]\nid = \"2025\"\neffective_from = \"2018-06-21\"\n";
        let (line, message) = error(same_day);
        assert_eq!(line, Some(18));
        assert!(message.contains("2018-06-21"), "{message}");
        let bad_date = "[[rule_set]]\nid = \"2025\"\neffective_from = \"2025-07-32\"\n";
        let (line, message) = error(bad_date);
        assert_eq!(line, Some(18));
        assert!(message.contains("YYYY-MM-DD"), "{message}");
        let zero = "[[rule_set]]\nid = \"2025\"\neffective_from = \"2025-07-01\"\nsupplement_request_within_days = 0\n";
        let (line, _) = error(zero);
        assert_eq!(line, Some(19));
        let bad_clock = "[[rule_set]]\nid = \"2025\"\neffective_from = \"2025-07-01\"\nsupplement_clock = \"pause\"\n";
        let (line, _) = error(bad_clock);
        assert_eq!(line, Some(19));
        let two = parse("[[rule_set]]\nid = \"2025\"\neffective_from = 2025-07-01\nsupplement_clock = \"extend\"\n").unwrap();
        assert_eq!(two.rule_sets.len(), 2);
    }

    #[test]
    fn whole_file_errors() {
        let no_offices = NetworkConfig::parse(
            Path::new("net.toml"),
            "name = \"N\"\n[[rule_set]]\nid = \"2018\"\neffective_from = \"2018-06-21\"\n",
        )
        .unwrap_err();
        assert_eq!(no_offices.line, None);
        assert!(no_offices.message.contains("[[office]]"), "{no_offices}");
        let no_rules = NetworkConfig::parse(
            Path::new("net.toml"),
            &BASE.replace(
                "[[rule_set]]\nid = \"2018\"\neffective_from = \"2018-06-21\"\n",
                "",
            ),
        )
        .unwrap_err();
        assert!(no_rules.message.contains("[[rule_set]]"), "{no_rules}");
        let blank = NetworkConfig::parse(Path::new("net.toml"), &BASE.replace("Mạng thử", " "))
            .unwrap_err();
        assert_eq!(blank.line, Some(1));
        let missing = NetworkConfig::load(Path::new("/nonexistent/net.toml")).unwrap_err();
        assert_eq!(missing.line, None);
        assert!(missing.message.contains("cannot read"), "{missing}");
    }

    proptest::proptest! {
        /// Random trees of any shape: ancestors, descendants and
        /// nearest_at_level agree with each other.
        #[test]
        fn tree_queries_agree(parents in proptest::collection::vec(0usize..1000, 0..40)) {
            let mut offices = vec![office("l0:n0", "l0", None, "N0")];
            let mut depth = vec![0usize];
            for (i, choice) in parents.iter().enumerate() {
                let n = i + 1;
                let parent = choice % n;
                depth.push(depth[parent] + 1);
                let level = format!("l{}", depth[n]);
                offices.push(office(
                    &format!("{level}:n{n}"),
                    &level,
                    Some(offices[parent].id.as_str()),
                    &format!("N{n}"),
                ));
            }
            let tree = OfficeTree::new(offices.clone()).unwrap();
            for a in &offices {
                let ancestors = tree.ancestors(&a.id);
                proptest::prop_assert_eq!(ancestors.len(), tree.depth(&a.id).unwrap());
                proptest::prop_assert_eq!(
                    ancestors.last().map_or(&a.id, |o| &o.id),
                    &tree.root().id
                );
                for b in &offices {
                    let below = tree.descendants(&a.id).iter().any(|o| o.id == b.id);
                    proptest::prop_assert_eq!(below, tree.is_ancestor_of(&a.id, &b.id));
                }
                for (k, ancestor) in ancestors.iter().enumerate() {
                    let found = tree.nearest_at_level(&a.id, &ancestor.level).unwrap();
                    proptest::prop_assert_eq!(&found.id, &ancestor.id);
                    proptest::prop_assert_eq!(tree.depth(&found.id), Some(ancestors.len() - k - 1));
                }
            }
        }
    }
}
