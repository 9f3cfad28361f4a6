//! `lienthong form`: print or reprint a dossier's forms from the command
//! line — the same HTML the console serves, or a PDF by headless Chromium.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use chrono::Utc;
use clap::Args;

use super::args::{DataArgs, parse_time};
use crate::forms::{self, FormInput, FormMsg, pdf};
use crate::i18n::Lang;
use crate::node::Node;
use crate::service;

#[derive(Debug, Args)]
pub struct FormArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The dossier: code, id or unique id prefix.
    #[arg(value_name = "DOSSIER")]
    pub dossier: String,
    /// The form, by its number in the dossier's rule set (`mau-01`); without
    /// it, the list of the dossier's forms and which it has now.
    #[arg(long, value_name = "FORM")]
    pub form: Option<String>,
    /// Write it here: `.pdf` prints with a headless Chromium, anything else
    /// is the HTML page. Default: the HTML on standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The officer printing it (a line at the foot of the form).
    #[arg(long, value_name = "NAME", env = "LIENTHONG_OFFICER")]
    pub officer: Option<String>,
    /// Print as of this time (local `YYYY-MM-DD HH:MM`) instead of now.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
}

pub fn form(args: &FormArgs) -> Result<()> {
    let lang = Lang::from_env();
    let mut node = Node::open(&args.data.data)?;
    let now = match &args.now {
        Some(t) => parse_time(t, node.calendar.timezone())?,
        None => Utc::now(),
    };
    let view = service::view(&mut node, &args.dossier, now)
        .map_err(|e| anyhow!(node.locale(lang).action_error(&e)))?;
    let authors = service::authors::event_authors(&mut node, &view.row.key)?;
    let input = FormInput {
        dossier: &view.dossier,
        state: &view.state,
        locale: node.locale(Lang::Vi),
        printed_by: args.officer.as_deref(),
        now,
        authors: &authors,
    };
    let Some(slug) = &args.form else {
        for (form, ready) in forms::forms_of(&input).map_err(|e| anyhow!(e.words(lang)))? {
            let state = match ready {
                Ok(()) => "✓".to_string(),
                Err(why) => why.words(lang),
            };
            println!("{}  {}  {state}", form.slug(), form.title().text(Lang::Vi));
        }
        return Ok(());
    };
    let html = forms::render(slug, &input)
        .map_err(|e| anyhow!(e.words(lang)))?
        .into_string();
    match &args.out {
        None => print!("{html}"),
        Some(path)
            if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("pdf")) =>
        {
            let Some(browser) = pdf::find_browser() else {
                bail!("{}", FormMsg::ErrNoBrowser.text(lang));
            };
            let bytes = pdf::print(&browser, &html).map_err(|e| {
                anyhow!(crate::i18n::fill(
                    FormMsg::ErrPdf.text(lang),
                    &[("detail", &e.to_string())]
                ))
            })?;
            std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("{}", path.display());
        }
        Some(path) => {
            std::fs::write(path, html).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("{}", path.display());
        }
    }
    Ok(())
}
