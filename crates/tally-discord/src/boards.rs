//! Which board: how far back it looks ([`Period`]) and what it ranks by
//! ([`By`]). One pair of names for `/leaderboard`'s options, its buttons,
//! and the web page's `?period=&by=`, so the bot and the page always offer
//! the same boards.

use serde::{Deserialize, Serialize};
use twilight_interactions::command::{CommandOption, CreateOption};

use crate::domain::humanize::{duration_short, thousands};
use crate::store::{Measure, Span};

/// How far back a board looks. Windows are whole UTC days, today included.
#[derive(CommandOption, CreateOption, Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// Everything since Tally started counting.
    #[default]
    #[option(name = "all time", value = "all")]
    All,
    /// The last 7 days.
    #[option(name = "this week (7 days)", value = "week")]
    Week,
    /// The last 30 days.
    #[option(name = "this month (30 days)", value = "month")]
    Month,
}

impl Period {
    /// Every period, in the order they are offered.
    pub const ALL: [Self; 3] = [Self::All, Self::Week, Self::Month];

    /// Its name in buttons and addresses.
    pub fn key(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Week => "week",
            Self::Month => "month",
        }
    }

    /// The period a [`Period::key`] names.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.key() == key)
    }

    /// The days it adds up, up to `today` (days since the epoch).
    pub fn span(self, today: i64) -> Span {
        match self {
            Self::All => Span::AllTime,
            Self::Week => Span::Days { first: today - 6, last: today },
            Self::Month => Span::Days { first: today - 29, last: today },
        }
    }

    /// In a sentence: "all time", "last 7 days".
    pub fn words(self) -> &'static str {
        match self {
            Self::All => "all time",
            Self::Week => "last 7 days",
            Self::Month => "last 30 days",
        }
    }

    /// On a tab: "All time", "This week".
    pub fn title(self) -> &'static str {
        match self {
            Self::All => "All time",
            Self::Week => "This week",
            Self::Month => "This month",
        }
    }
}

/// What a board ranks by.
#[derive(CommandOption, CreateOption, Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum By {
    /// XP.
    #[default]
    #[option(name = "XP", value = "xp")]
    Xp,
    /// Messages posted.
    #[option(name = "messages", value = "messages")]
    Messages,
    /// Reactions others gave the member's messages.
    #[option(name = "reactions received", value = "reactions")]
    Reactions,
    /// Reactions the member gave.
    #[option(name = "reactions given", value = "reactions_given")]
    ReactionsGiven,
    /// Time in voice channels.
    #[option(name = "voice time", value = "voice")]
    Voice,
}

impl By {
    /// Every measure, in the order they are offered.
    pub const ALL: [Self; 5] = [Self::Xp, Self::Messages, Self::Reactions, Self::ReactionsGiven, Self::Voice];

    /// Its name in buttons and addresses.
    pub fn key(self) -> &'static str {
        match self {
            Self::Xp => "xp",
            Self::Messages => "messages",
            Self::Reactions => "reactions",
            Self::ReactionsGiven => "reactions_given",
            Self::Voice => "voice",
        }
    }

    /// The measure a [`By::key`] names.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.key() == key)
    }

    /// The stored figure it ranks by.
    pub fn measure(self) -> Measure {
        match self {
            Self::Xp => Measure::Xp,
            Self::Messages => Measure::Messages,
            Self::Reactions => Measure::ReactionsReceived,
            Self::ReactionsGiven => Measure::ReactionsGiven,
            Self::Voice => Measure::Voice,
        }
    }

    /// In a sentence: "messages", "voice time".
    pub fn words(self) -> &'static str {
        match self {
            Self::Xp => "XP",
            Self::Messages => "messages",
            Self::Reactions => "reactions received",
            Self::ReactionsGiven => "reactions given",
            Self::Voice => "voice time",
        }
    }

    /// On a tab: "Messages", "Voice time".
    pub fn title(self) -> &'static str {
        match self {
            Self::Xp => "XP",
            Self::Messages => "Messages",
            Self::Reactions => "Reactions received",
            Self::ReactionsGiven => "Reactions given",
            Self::Voice => "Voice time",
        }
    }

    /// A member's figure `n` in words (voice in ms): "1 message",
    /// "12 reactions received", "3 h 5 min in voice".
    pub fn count(self, n: u64) -> String {
        let (one, many) = match self {
            Self::Voice => return format!("{} in voice", duration_short(n)),
            Self::Xp => ("XP", "XP"),
            Self::Messages => ("message", "messages"),
            Self::Reactions => ("reaction received", "reactions received"),
            Self::ReactionsGiven => ("reaction given", "reactions given"),
        };
        format!("{} {}", thousands(n), if n == 1 { one } else { many })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_match_the_web_query() {
        for period in Period::ALL {
            assert_eq!(Period::from_key(period.key()), Some(period));
            assert_eq!(serde_json::to_value(period).unwrap(), period.key());
        }
        for by in By::ALL {
            assert_eq!(By::from_key(by.key()), Some(by));
            assert_eq!(serde_json::to_value(by).unwrap(), by.key());
        }
        assert_eq!(Period::Week.span(100), Span::Days { first: 94, last: 100 });
        assert_eq!(By::Messages.count(1), "1 message");
        assert_eq!(By::Voice.count(3_900_000), "1 h 5 min in voice");
    }
}
