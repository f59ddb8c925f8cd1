//! Building and sending answers: an embed (or a notice only the asker sees),
//! sent at once when ready in time, otherwise deferred and then edited in.

use std::future::{Future, IntoFuture};
use std::time::Duration;

use tokio::time::Instant;

use twilight_model::application::interaction::{Interaction, InteractionType};
use twilight_model::channel::message::Component;
use twilight_model::channel::message::{Embed, MessageFlags};
use twilight_model::http::attachment::Attachment;
use twilight_model::http::interaction::{InteractionResponse, InteractionResponseData, InteractionResponseType};
use twilight_util::builder::embed::{EmbedBuilder, ImageSource};
use twilight_util::builder::interaction_response::{ChannelMessageBuilder, UpdateMessageBuilder};

use crate::context::Context;
use crate::retry::{self, CallError, Retry};

/// Tally's accent colour.
pub const ACCENT: u32 = 0x5865F2;
/// Colour of notices.
pub const NOTICE: u32 = 0xF0B232;

/// A command's answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The embeds to show.
    pub embeds: Vec<Embed>,
    /// Only the person who asked sees it.
    pub ephemeral: bool,
    /// Files sent with it (the rank card).
    pub attachments: Vec<Attachment>,
    /// Buttons under it (leaderboard pages).
    pub components: Vec<Component>,
    /// Replaces the message whose button was clicked, instead of posting.
    pub update: bool,
}

impl Reply {
    /// An answer everyone in the channel sees.
    pub fn embed(embed: Embed) -> Self {
        Self { embeds: vec![embed], ephemeral: false, attachments: Vec::new(), components: Vec::new(), update: false }
    }

    /// A short message only the asker sees: wrong place, unknown member, and so on.
    pub fn notice(text: impl Into<String>) -> Self {
        let embed = twilight_util::builder::embed::EmbedBuilder::new().color(NOTICE).description(text).build();
        Self { embeds: vec![embed], ephemeral: true, attachments: Vec::new(), components: Vec::new(), update: false }
    }

    /// An embed showing a drawn image, attached as `file`. When drawing
    /// failed the embed goes alone: the figures matter more than the picture.
    pub fn embed_with_image(
        embed: EmbedBuilder,
        file: &str,
        image: Result<Vec<u8>, crate::card::CardError>,
    ) -> anyhow::Result<Self> {
        Ok(match image {
            Ok(png) => {
                let mut reply = Self::embed(embed.image(ImageSource::attachment(file)?).build());
                reply.attachments.push(Attachment::from_bytes(file.to_owned(), png, 0));
                reply
            }
            Err(error) => {
                tracing::error!(%error, file, "could not draw an image; answering without it");
                Self::embed(embed.build())
            }
        })
    }
}

/// How an answer will be shown, decided before any slow work: Discord fixes
/// whether a deferred answer is ephemeral when it is deferred, and whether
/// it replaces the clicked message by the kind of deferral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Only the asker sees it.
    pub ephemeral: bool,
    /// It replaces the message whose button was clicked.
    pub update: bool,
}

impl Shape {
    /// A new message everyone in the channel sees.
    pub const PUBLIC: Self = Self { ephemeral: false, update: false };
    /// A new message only the asker sees.
    pub const PRIVATE: Self = Self { ephemeral: true, update: false };
    /// The clicked message, replaced.
    pub const UPDATE: Self = Self { ephemeral: false, update: true };

    fn of(reply: &Reply) -> Self {
        Self { ephemeral: reply.ephemeral, update: reply.update }
    }
}

/// How long an answer may take before Tally defers and edits it in later:
/// well inside Discord's 3 seconds, leaving room for the network.
const ANSWER_BUDGET: Duration = Duration::from_millis(1500);
/// How long after receipt the first response (answer or deferral) may still
/// be retried: Discord forgets the interaction 3 seconds after sending it.
const ACK_DEADLINE: Duration = Duration::from_millis(2700);
/// How long a deferred answer's edit may be retried (the interaction token
/// lives 15 minutes).
const EDIT_DEADLINE: Duration = Duration::from_secs(120);

/// Sends `work`'s answer to the interaction received at `received`, shaped
/// as `shape` if it has to be deferred. Server errors and network failures
/// are retried while Discord would still take the answer; rate limits are
/// waited out by twilight.
pub async fn respond(
    context: &Context,
    interaction: &Interaction,
    received: Instant,
    shape: Shape,
    work: impl Future<Output = Reply>,
) -> Result<(), CallError> {
    let client = context.http.interaction(context.application_id);
    let ack_deadline = received + ACK_DEADLINE;
    tokio::pin!(work);
    // Only a button's answer can replace the message it sits on.
    let shape = Shape { update: shape.update && interaction.kind == InteractionType::MessageComponent, ..shape };
    match tokio::time::timeout_at(received + ANSWER_BUDGET, &mut work).await {
        Ok(reply) => {
            let response = if reply.update {
                UpdateMessageBuilder::new().embeds(reply.embeds).components(reply.components).build()
            } else {
                let mut message = ChannelMessageBuilder::new().embeds(reply.embeds);
                if !reply.attachments.is_empty() {
                    message = message.attachments(reply.attachments);
                }
                if !reply.components.is_empty() {
                    message = message.components(reply.components);
                }
                if reply.ephemeral {
                    message = message.flags(MessageFlags::EPHEMERAL);
                }
                message.build()
            };
            acknowledge(ack_deadline, "answering a command", || {
                client.create_response(interaction.id, &interaction.token, &response).into_future()
            })
            .await?;
        }
        Err(_) => {
            let kind = if shape.update {
                InteractionResponseType::DeferredUpdateMessage
            } else {
                InteractionResponseType::DeferredChannelMessageWithSource
            };
            let data = (shape.ephemeral && !shape.update)
                .then(|| InteractionResponseData { flags: Some(MessageFlags::EPHEMERAL), ..Default::default() });
            let response = InteractionResponse { kind, data };
            acknowledge(ack_deadline, "deferring a command", || {
                client.create_response(interaction.id, &interaction.token, &response).into_future()
            })
            .await?;
            let reply = work.await;
            let edit_deadline = received + EDIT_DEADLINE;
            if Shape::of(&reply) == shape {
                retry::until(edit_deadline, Retry::ServerAndNetworkErrors, "editing in an answer", || {
                    client
                        .update_response(&interaction.token)
                        .embeds(Some(&reply.embeds))
                        .components(Some(&reply.components))
                        .attachments(&reply.attachments)
                        .into_future()
                })
                .await?;
            } else {
                // The answer turned out otherwise than deferred (a notice
                // after a public deferral, say): an edit cannot change that,
                // so the placeholder goes (a deferred update has none; the
                // clicked message stays as it was) and the answer follows
                // as a message of its own, shown as it should be.
                if !shape.update {
                    retry::until(edit_deadline, Retry::ServerAndNetworkErrors, "removing a placeholder", || {
                        client.delete_response(&interaction.token).into_future()
                    })
                    .await?;
                }
                let flags = if reply.ephemeral { MessageFlags::EPHEMERAL } else { MessageFlags::empty() };
                retry::until(edit_deadline, Retry::ServerAndNetworkErrors, "sending an answer", || {
                    client
                        .create_followup(&interaction.token)
                        .embeds(&reply.embeds)
                        .components(&reply.components)
                        .attachments(&reply.attachments)
                        .flags(flags)
                        .into_future()
                })
                .await?;
            }
        }
    }
    Ok(())
}

/// Sends an interaction's first response with retries. An attempt that
/// reached Discord although its answer was lost makes the next one fail with
/// "already acknowledged" (40060): that is success.
async fn acknowledge<T, F, Fut>(deadline: Instant, what: &str, call: F) -> Result<(), CallError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, twilight_http::Error>>,
{
    match retry::until(deadline, Retry::ServerAndNetworkErrors, what, call).await {
        Ok(_) => Ok(()),
        Err(CallError::Discord(error)) if retry::discord_code(&error) == Some(ALREADY_ACKNOWLEDGED) => Ok(()),
        Err(error) => Err(error),
    }
}

/// Discord's error code for a second response to one interaction.
const ALREADY_ACKNOWLEDGED: u64 = 40060;

/// A text progress bar: `▰▰▰▱▱▱▱▱▱▱`.
pub fn progress_bar(done: u64, total: u64, width: usize) -> String {
    let filled = (done.min(total) * width as u64).checked_div(total).unwrap_or(0) as usize;
    format!("{}{}", "▰".repeat(filled), "▱".repeat(width - filled))
}

pub use crate::domain::humanize::thousands;

/// A Discord timestamp tag: each reader sees it in their own time zone.
pub fn discord_date(ms: i64) -> String {
    format!("<t:{}:D>", ms.div_euclid(1000))
}

/// A button with a custom id (the confirmations' Confirm and Cancel).
pub fn button(
    label: &str,
    custom_id: String,
    style: twilight_model::channel::message::component::ButtonStyle,
) -> Component {
    Component::Button(twilight_model::channel::message::component::Button {
        custom_id: Some(custom_id),
        disabled: false,
        emoji: None,
        id: None,
        label: Some(label.to_owned()),
        sku_id: None,
        style,
        url: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_and_numbers() {
        assert_eq!(progress_bar(0, 100, 4), "▱▱▱▱");
        assert_eq!(progress_bar(50, 100, 4), "▰▰▱▱");
        assert_eq!(progress_bar(100, 100, 4), "▰▰▰▰");
        assert_eq!(progress_bar(5, 0, 2), "▱▱");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(discord_date(1_700_000_000_999), "<t:1700000000:D>");
    }
}
