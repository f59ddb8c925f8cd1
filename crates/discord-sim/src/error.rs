//! What can go wrong when a test or the demo drives the simulator: a type
//! of its own, so the scenario API and the pieces it calls (options) share
//! it without importing each other.

/// What can go wrong in a scenario.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The server, user, member or message does not exist.
    #[error("unknown {0}")]
    Unknown(&'static str),
    /// The command was never registered by the bot.
    #[error("the bot has not registered /{0}")]
    CommandNotRegistered(String),
    /// No session would receive the event: the bot is not connected.
    #[error("no gateway session for this server's shard: is the bot connected?")]
    NoSession,
    /// The bot did not answer in time.
    #[error("the bot did not answer /{0} in time")]
    NoAnswer(String),
    /// Waited too long for something.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    /// Discord's client would not let the member do this.
    #[error("Discord would not allow this: {0}")]
    Refused(&'static str),
    /// An option Discord's client would not send as given.
    #[error("bad option: {0}")]
    BadOption(String),
}
