//! Calendar days as Tally counts them: whole UTC days since the Unix epoch,
//! the key of the per-day activity tables.

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// The day of a moment given in ms since the Unix epoch.
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// Now, by the system clock, in ms since the Unix epoch.
pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    now.as_millis() as i64
}

/// Today, by the system clock.
pub fn today() -> i64 {
    day_of(now_ms())
}

/// `YYYY-MM-DD` for a day.
pub fn date_of(day: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(day * 86_400)
        .map(|t| t.date().to_string())
        .unwrap_or_else(|_| day.to_string())
}

/// One server's activity on one day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GuildDay {
    /// Days since the Unix epoch (UTC).
    pub day: i64,
    /// Messages posted (by members, not bots).
    pub messages: u64,
    /// XP earned.
    pub xp: u64,
    /// Joins logged that day.
    pub joins: u64,
    /// Leaves logged that day.
    pub leaves: u64,
    /// Reactions given that day (by members, to members), still standing.
    pub reactions: u64,
    /// Time members spent in voice that day, ms.
    pub voice_ms: u64,
}

/// One member's activity on one day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemberDay {
    /// Days since the Unix epoch (UTC).
    pub day: i64,
    /// Messages posted.
    pub messages: u64,
    /// XP earned.
    pub xp: u64,
    /// Reactions given that day, still standing.
    pub reactions_given: u64,
    /// Reactions received that day, still standing.
    pub reactions_received: u64,
    /// Time in voice that day, ms.
    pub voice_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_dates() {
        assert_eq!(day_of(0), 0);
        assert_eq!(day_of(DAY_MS - 1), 0);
        assert_eq!(day_of(-1), -1);
        assert_eq!(date_of(day_of(1_700_000_000_000)), "2023-11-14");
    }
}
