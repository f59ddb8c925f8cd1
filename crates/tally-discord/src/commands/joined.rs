//! `/joined [member]`: when someone joined, and how long ago in words.

use time::OffsetDateTime;
use twilight_interactions::command::{CommandModel, CreateCommand, ResolvedUser};
use twilight_util::builder::embed::EmbedBuilder;

use super::reply::{discord_date, ACCENT};
use super::{Reply, Request};
use crate::domain::humanize;

/// The `/joined` command.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "joined", desc = "When a member joined this server", contexts = "guild")]
pub struct JoinedCommand {
    /// Who (default: you).
    #[command(desc = "Who (default: you)")]
    pub member: Option<ResolvedUser>,
}

fn datetime(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub(crate) async fn run(request: &Request<'_>, command: JoinedCommand) -> anyhow::Result<Reply> {
    let user = command.member.map_or_else(|| request.invoker.clone(), |m| m.resolved);
    let (guild, user_id) = (request.guild_id.get(), user.id.get());
    let member = request.read(move |r| r.member(guild, user_id)).await?;
    let Some(member) = member else {
        return Ok(Reply::notice(format!("I have no record of {} in this server.", user.name)));
    };
    let name = if member.display_name.is_empty() { member.username.clone() } else { member.display_name.clone() };
    let now = OffsetDateTime::now_utc();
    let description = match (member.joined_at_ms, member.left_at_ms) {
        (Some(joined), None) => {
            format!("**{name}** joined on {} — {} ago.", discord_date(joined), humanize::since(datetime(joined), now))
        }
        (joined, Some(left)) => {
            let stayed = joined.map_or_else(String::new, |j| {
                format!(
                    " They had joined on {} and stayed {}.",
                    discord_date(j),
                    humanize::since(datetime(j), datetime(left))
                )
            });
            format!("**{name}** left on {} — {} ago.{stayed}", discord_date(left), humanize::since(datetime(left), now))
        }
        (None, None) => format!("I don't know yet when **{name}** joined."),
    };
    Ok(Reply::embed(EmbedBuilder::new().color(ACCENT).title("Membership").description(description).build()))
}
