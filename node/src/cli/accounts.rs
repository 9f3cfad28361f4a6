//! `lienthong account`: the officers who may sign in to this node's console.

use std::io::BufRead;

use anyhow::{Context, Result, anyhow, bail};
use chrono::Utc;
use clap::{Args, Subcommand};

use super::args::DataArgs;
use super::messages::{CliMsg, parse_role, role_label};
use super::render;
use crate::i18n::Lang;
use crate::node::Node;
use crate::service::accounts::{self, Role};
use crate::service::refusals;

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account. The password is asked twice without echo at a
    /// terminal, or read from the first line of standard input when piped
    /// (e.g. `printf '%s\n' "$PASSWORD" | lienthong account add …`).
    Add(AddArgs),
    /// List the accounts of this node (never their passwords).
    List(DataArgs),
}

#[derive(Debug, Args)]
pub struct AddArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Sign-in name: lowercase letters, digits, `.`, `-`, `_`.
    #[arg(long)]
    pub name: String,
    /// The officer's full name, written on every event they record.
    #[arg(long = "full-name", value_name = "NAME")]
    pub full_name: String,
    /// desk (tiếp nhận, trả kết quả), processing, leader (phê duyệt) or admin.
    #[arg(long, value_parser = parse_role, value_name = "desk|processing|leader|admin")]
    pub role: Role,
}

pub fn run(command: &AccountCommand) -> Result<()> {
    match command {
        AccountCommand::Add(args) => add(args),
        AccountCommand::List(data) => list(data),
    }
}

/// The new password: typed twice at a terminal without echo, or the first
/// line of standard input when it is piped.
fn read_password() -> Result<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Mật khẩu mới / new password: ")
            .context("reading the password from the terminal")?;
        let again = rpassword::prompt_password("Nhập lại / again: ")
            .context("reading the password from the terminal")?;
        if first != again {
            bail!("{}", CliMsg::PasswordsDiffer.text(Lang::from_env()));
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(line)
}

fn add(args: &AddArgs) -> Result<()> {
    let mut node = Node::open(&args.data.data)?;
    let line = read_password()?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        bail!("{}", CliMsg::NoPassword.text(Lang::from_env()));
    }
    let account = accounts::add(
        &mut node,
        &args.name,
        &args.full_name,
        args.role,
        password,
        Utc::now(),
    )
    .map_err(|e| anyhow!(refusals::account_error(&node.locale(Lang::from_env()), &e)))?;
    println!(
        "{} ({}) — {}",
        account.name,
        account.display_name,
        role_label(account.role, Lang::from_env())
    );
    Ok(())
}

fn list(data: &DataArgs) -> Result<()> {
    let mut node = Node::open(&data.data)?;
    let listed = accounts::list(&mut node)?;
    let l = node.locale(Lang::from_env());
    let mut table = render::table(&[
        l.t(CliMsg::ColName),
        l.t(CliMsg::ColFullName),
        l.t(CliMsg::ColRole),
        l.t(CliMsg::ColLockedUntil),
    ]);
    for account in listed {
        table.add_row(vec![
            account.name,
            account.display_name,
            role_label(account.role, l.lang),
            account
                .locked_until
                .filter(|t| *t > Utc::now())
                .map_or(String::new(), |t| l.datetime(t)),
        ]);
    }
    println!("{table}");
    Ok(())
}
