//! `lienthong api-token`: the JSON API's bearer tokens (add, list, revoke).

use anyhow::{Result, anyhow};
use chrono::Utc;
use clap::{Args, Subcommand};

use super::args::DataArgs;
use super::messages::{CliMsg, parse_role, role_label};
use super::render;
use crate::i18n::Lang;
use crate::node::Node;
use crate::service::accounts::Role;
use crate::service::api_tokens::{self, TokenError};
use crate::service::refusals;

#[derive(Debug, Subcommand)]
pub enum ApiTokenCommand {
    /// Create a token for an integrator; it is printed once, stored only hashed.
    Add(AddTokenArgs),
    /// List this node's tokens (never the tokens themselves).
    List(DataArgs),
    /// Revoke a token by name; requests carrying it are refused from now on.
    Revoke(RevokeTokenArgs),
}

#[derive(Debug, Args)]
pub struct AddTokenArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The integrator's name, recorded as the officer on every event it makes.
    #[arg(long)]
    pub name: String,
    /// What the token may record: desk (receive, forward, return…),
    /// processing, leader (approve, issue) or admin (read only).
    #[arg(long, value_parser = parse_role, value_name = "desk|processing|leader|admin", default_value = "desk")]
    pub role: Role,
}

#[derive(Debug, Args)]
pub struct RevokeTokenArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[arg(long)]
    pub name: String,
}

pub fn run(command: &ApiTokenCommand) -> Result<()> {
    match command {
        ApiTokenCommand::Add(args) => {
            let mut node = Node::open(&args.data.data)?;
            let (client, token) = api_tokens::add(&mut node, &args.name, args.role, Utc::now())
                .map_err(|e| worded(&node, &e))?;
            let lang = Lang::from_env();
            eprintln!(
                "{}",
                crate::i18n::fill(
                    CliMsg::TokenCreated.text(lang),
                    &[
                        ("name", &client.name),
                        ("role", &role_label(client.role, lang))
                    ]
                )
            );
            println!("{token}");
            Ok(())
        }
        ApiTokenCommand::List(data) => {
            let mut node = Node::open(&data.data)?;
            let clients = api_tokens::list(&mut node).map_err(|e| worded(&node, &e))?;
            let l = node.locale(Lang::from_env());
            let mut table = render::table(&[
                l.t(CliMsg::ColName),
                l.t(CliMsg::ColRole),
                l.t(CliMsg::ColCreated),
                l.t(CliMsg::ColRevoked),
            ]);
            for client in clients {
                table.add_row(vec![
                    client.name,
                    role_label(client.role, l.lang),
                    l.datetime(client.created_at),
                    client.revoked_at.map_or(String::new(), |t| l.datetime(t)),
                ]);
            }
            println!("{table}");
            Ok(())
        }
        ApiTokenCommand::Revoke(args) => {
            let mut node = Node::open(&args.data.data)?;
            api_tokens::revoke(&mut node, &args.name, Utc::now()).map_err(|e| worded(&node, &e))?;
            println!(
                "{}",
                crate::i18n::fill(
                    CliMsg::TokenRevoked.text(Lang::from_env()),
                    &[("name", &args.name)]
                )
            );
            Ok(())
        }
    }
}

/// A token refusal in `LIENTHONG_LANG`, from the service's catalogue.
fn worded(node: &Node, error: &TokenError) -> anyhow::Error {
    anyhow!(refusals::token_error(&node.locale(Lang::from_env()), error))
}
