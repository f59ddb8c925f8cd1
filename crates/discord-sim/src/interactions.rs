//! Slash-command invocations: the INTERACTION_CREATE the simulator sends,
//! and the bot's answer it waits for (a message, or a deferral and then an
//! edit of the original response), with Discord's 3-second deadline.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::oneshot;

/// How long a bot has to acknowledge an interaction.
pub const ACK_DEADLINE: Duration = Duration::from_secs(3);
/// How long a deferred answer may take (the token lives 15 minutes on Discord).
pub const EDIT_DEADLINE: Duration = Duration::from_secs(15 * 60);

/// A slash command to invoke.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The server.
    pub guild_id: u64,
    /// The channel, or the server's first channel when None.
    pub channel_id: Option<u64>,
    /// Who types the command.
    pub user_id: u64,
    /// The command's name.
    pub name: String,
    /// Options by name, with their values (ids of users as numbers).
    pub options: Vec<(String, Value)>,
    /// Sent from a direct message with the bot rather than in the server.
    pub in_dm: bool,
    /// Sent even if the bot never registered the command (a stale client),
    /// with option types taken from the JSON values as given.
    pub unchecked: bool,
    /// The subcommand group and subcommand, outermost first.
    pub path: Vec<String>,
    /// An admin opened the command to members without its default
    /// permissions (Server Settings > Integrations), so Discord delivers it.
    pub permission_override: bool,
}

impl Invocation {
    /// `/name` by `user_id` in `guild_id`, without options.
    pub fn new(guild_id: u64, user_id: u64, name: &str) -> Self {
        Self {
            guild_id,
            channel_id: None,
            user_id,
            name: name.to_owned(),
            options: Vec::new(),
            in_dm: false,
            unchecked: false,
            path: Vec::new(),
            permission_override: false,
        }
    }

    /// Picks a subcommand (or, called twice, a group and its subcommand).
    pub fn subcommand(mut self, name: &str) -> Self {
        self.path.push(name.to_owned());
        self
    }

    /// As if an admin had opened the command to everyone in the server.
    pub fn overridden(mut self) -> Self {
        self.permission_override = true;
        self
    }

    /// `/name` typed by `user_id` in a direct message with the bot.
    pub fn in_dm(user_id: u64, name: &str) -> Self {
        Self { in_dm: true, ..Self::new(0, user_id, name) }
    }

    /// Skips the registration check and sends options exactly as given:
    /// for commands the bot no longer has, or options of the wrong type.
    pub fn unchecked(mut self) -> Self {
        self.unchecked = true;
        self
    }

    /// Adds an option.
    pub fn option(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.options.push((name.to_owned(), value.into()));
        self
    }
}

/// What the bot answered.
#[derive(Debug, Clone)]
pub struct InteractionReply {
    /// Whether the bot deferred first (type 5) and edited the answer in later.
    pub deferred: bool,
    /// The message data: `content`, `embeds`, `flags`, `components`...
    pub data: Value,
    /// Attached files: (form field, filename, bytes).
    pub files: Vec<(String, String, Vec<u8>)>,
    /// The answer replaced the message whose button was clicked (response
    /// types 7 and 6) instead of posting a new one.
    pub updates_message: bool,
    /// Time from dispatch to the first acknowledgement.
    pub ack_after: Duration,
    /// The answer came as a follow-up message (`POST /webhooks/…`) after a
    /// deferral: the deferred original was deleted, or a deferred update
    /// left the clicked message as it was.
    pub followup: bool,
}

impl InteractionReply {
    /// True when only the invoker sees the answer (EPHEMERAL flag).
    pub fn is_ephemeral(&self) -> bool {
        self.data["flags"].as_u64().is_some_and(|f| f & (1 << 6) != 0)
    }

    /// The first embed, or Null.
    pub fn embed(&self) -> &Value {
        &self.data["embeds"][0]
    }

    /// All text a person would read: content, embed titles, descriptions,
    /// field names and values, footers.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if let Some(c) = self.data["content"].as_str() {
            out.push_str(c);
            out.push('\n');
        }
        for embed in self.data["embeds"].as_array().into_iter().flatten() {
            for key in ["title", "description"] {
                if let Some(s) = embed[key].as_str() {
                    out.push_str(s);
                    out.push('\n');
                }
            }
            for field in embed["fields"].as_array().into_iter().flatten() {
                out.push_str(field["name"].as_str().unwrap_or_default());
                out.push_str(": ");
                out.push_str(field["value"].as_str().unwrap_or_default());
                out.push('\n');
            }
            if let Some(s) = embed["footer"]["text"].as_str() {
                out.push_str(s);
                out.push('\n');
            }
        }
        out
    }

    /// The value of the first embed's field called `name`.
    pub fn field(&self, name: &str) -> Option<String> {
        self.embed()["fields"]
            .as_array()?
            .iter()
            .find(|f| f["name"] == name)
            .and_then(|f| f["value"].as_str())
            .map(str::to_owned)
    }
}

/// An interaction waiting for the bot.
pub(crate) struct Pending {
    pub id: u64,
    /// The interaction's type: 2 for a command, 3 for a component.
    pub kind: u64,
    pub channel_id: u64,
    pub created: Instant,
    pub acknowledged: Option<(Instant, bool)>,
    pub updates_message: bool,
    /// The flags a deferral (type 5) set: its EPHEMERAL bit holds for the
    /// answer edited in later, as on Discord.
    pub deferred_flags: u64,
    /// The bot deleted the original response.
    pub original_deleted: bool,
    pub done: Option<oneshot::Sender<InteractionReply>>,
}

impl Pending {
    pub fn new(id: u64, kind: u64, channel_id: u64, done: oneshot::Sender<InteractionReply>) -> Self {
        Self {
            id,
            kind,
            channel_id,
            created: Instant::now(),
            acknowledged: None,
            updates_message: false,
            deferred_flags: 0,
            original_deleted: false,
            done: Some(done),
        }
    }

    /// Completes the wait with the answer (`followup`: sent as a follow-up message).
    pub fn finish(&mut self, data: Value, files: Vec<(String, String, Vec<u8>)>, followup: bool) {
        let (at, deferred) = self.acknowledged.unwrap_or((Instant::now(), false));
        if let Some(done) = self.done.take() {
            let updates_message = self.updates_message && !followup;
            let ack_after = at - self.created;
            let _ = done.send(InteractionReply { deferred, data, files, updates_message, ack_after, followup });
        }
    }
}
