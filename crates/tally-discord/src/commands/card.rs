//! `/card [colour]`: a member picks the accent colour of their rank card.

use twilight_interactions::command::{CommandModel, CreateCommand};

use super::{Reply, Request};
use crate::card::{parse_colour, NAMED_COLOURS};

/// The `/card` command.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "card", desc = "Choose the colour of your rank card", contexts = "guild")]
pub struct CardCommand {
    /// A colour: #RRGGBB or a name. Leave out to go back to the default.
    #[command(
        desc = "#RRGGBB, or blurple, green, yellow, fuchsia, red, orange, teal, sky, purple, white",
        max_length = 16
    )]
    pub colour: Option<String>,
}

pub(crate) async fn run(request: &Request<'_>, command: CardCommand) -> anyhow::Result<Reply> {
    let accent = match command.colour.as_deref() {
        None => None,
        Some(text) => match parse_colour(text) {
            Some(colour) => Some(colour),
            None => {
                let names: Vec<&str> = NAMED_COLOURS.iter().map(|(name, _)| *name).collect();
                return Ok(Reply::notice(format!(
                    "I can't read {text:?} as a colour. Use #RRGGBB (like #5865F2) or one of: {}.",
                    names.join(", ")
                )));
            }
        },
    };
    let database = request.context.database.clone();
    let user_id = request.invoker.id.get();
    tokio::task::spawn_blocking(move || database.set_card_accent(user_id, accent)).await??;
    Ok(Reply::notice(match accent {
        Some(colour) => format!("Your rank card is now #{colour:06X}. Try /stats to see it."),
        None => "Your rank card is back to the default colour.".to_owned(),
    }))
}
