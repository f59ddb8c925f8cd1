//! `/privacy`: each member's choices about what Tally holds on them in a
//! server. Pure, as `ingest::admin` is: the command's definition, its
//! delete confirmation's buttons, and the [`Activity`] an invocation or a
//! press records at its place in the event stream.

use twilight_interactions::command::{CommandInputData, CommandModel, CreateCommand};
use twilight_model::application::interaction::{Interaction, InteractionData};

use crate::domain::privacy::PrivacyChange;
use crate::domain::{snowflake, Activity};

/// `/privacy hide|show|stop|start|delete`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "privacy", desc = "What Tally shows and keeps about you in this server", contexts = "guild")]
pub enum PrivacyCommand {
    /// Hide.
    #[command(name = "hide")]
    Hide(PrivacyHide),
    /// Show.
    #[command(name = "show")]
    Show(PrivacyShow),
    /// Stop.
    #[command(name = "stop")]
    Stop(PrivacyStop),
    /// Start.
    #[command(name = "start")]
    Start(PrivacyStart),
    /// Delete.
    #[command(name = "delete")]
    Delete(PrivacyDelete),
}

/// `/privacy hide`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "hide", desc = "Take yourself off every leaderboard here (still counted; /stats still works)")]
pub struct PrivacyHide;

/// `/privacy show`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "show", desc = "Put yourself back on the leaderboards (the default)")]
pub struct PrivacyShow;

/// `/privacy stop`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "stop", desc = "Stop counting your messages, reactions and voice time here")]
pub struct PrivacyStop;

/// `/privacy start`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "start", desc = "Count your activity here again (the default)")]
pub struct PrivacyStart;

/// `/privacy delete`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "delete", desc = "Erase everything Tally holds about you in this server (asks first)")]
pub struct PrivacyDelete;

impl PrivacyCommand {
    /// The choice it makes; None for `delete`, which only asks.
    pub fn change(&self) -> Option<PrivacyChange> {
        match self {
            Self::Hide(_) => Some(PrivacyChange::Hide),
            Self::Show(_) => Some(PrivacyChange::Show),
            Self::Stop(_) => Some(PrivacyChange::Stop),
            Self::Start(_) => Some(PrivacyChange::Start),
            Self::Delete(_) => None,
        }
    }
}

/// The custom id prefix of the delete confirmation's button:
/// `privacy-delete:{member}:{deadline ms}`.
pub const DELETE_CONFIRM: &str = "privacy-delete:";
/// The custom id prefix of its cancel button: `privacy-keep:{member}`.
pub const DELETE_CANCEL: &str = "privacy-keep:";
/// How long the confirmation can be pressed.
pub const DELETE_WINDOW_MS: i64 = 120_000;

/// A press of the delete button, read from its custom id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeleteConfirm {
    /// The member who asked: only they may confirm.
    pub member: u64,
    /// Until when it may be pressed (ms since the Unix epoch).
    pub deadline_ms: i64,
}

/// Reads a delete button's custom id.
pub fn read_delete_confirm(custom_id: &str) -> Option<DeleteConfirm> {
    let (member, deadline) = custom_id.strip_prefix(DELETE_CONFIRM)?.split_once(':')?;
    Some(DeleteConfirm { member: member.parse().ok()?, deadline_ms: deadline.parse().ok()? })
}

/// Why a press of the delete button does nothing, if it does nothing.
pub fn delete_refusal(interaction: &Interaction, confirm: DeleteConfirm) -> Option<&'static str> {
    if interaction.author().map(|u| u.id.get()) != Some(confirm.member) {
        return Some("Only the member who asked can erase their own data.");
    }
    if snowflake::timestamp_ms(interaction.id.get()) > confirm.deadline_ms {
        return Some("This confirmation has expired (after two minutes). Run /privacy delete again.");
    }
    None
}

/// The activity a `/privacy` invocation or a delete press records.
pub fn translate(interaction: &Interaction) -> Vec<Activity> {
    let (Some(guild_id), Some(user)) = (interaction.guild_id, interaction.author()) else { return Vec::new() };
    let (guild_id, user_id) = (guild_id.get(), user.id.get());
    match &interaction.data {
        Some(InteractionData::MessageComponent(click)) => match read_delete_confirm(&click.custom_id) {
            Some(confirm) if delete_refusal(interaction, confirm).is_none() => {
                vec![Activity::Forget { guild_id, user_id, request_id: None }]
            }
            _ => Vec::new(),
        },
        Some(InteractionData::ApplicationCommand(data)) if data.name == "privacy" => {
            let input = CommandInputData::from(data.as_ref().clone());
            match PrivacyCommand::from_interaction(input).ok().and_then(|c| c.change()) {
                Some(change) => vec![Activity::Privacy {
                    guild_id,
                    user_id,
                    change,
                    at_ms: snowflake::timestamp_ms(interaction.id.get()),
                }],
                None => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}
