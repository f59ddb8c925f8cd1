//! Discord ids carry their creation time: the top 42 bits are milliseconds
//! since Discord's epoch. Tally measures cooldowns with these timestamps, never
//! with the wall clock, so a replayed event earns exactly what it earned first.

/// A Discord id (server, member, channel, message). Plain `u64` so the pure
/// core does not depend on any Discord library.
pub type Id = u64;

/// Milliseconds between the Unix epoch and Discord's epoch (2015-01-01).
pub const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

/// Creation time of a Discord id, in milliseconds since the Unix epoch.
pub fn timestamp_ms(id: u64) -> i64 {
    (id >> 22) as i64 + DISCORD_EPOCH_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_creation_time_of_a_known_id() {
        // Id 175928847299117063 was created at 2016-04-30T11:18:25.796Z.
        assert_eq!(timestamp_ms(175_928_847_299_117_063), 1_462_015_105_796);
    }

    #[test]
    fn id_zero_is_the_discord_epoch() {
        assert_eq!(timestamp_ms(0), DISCORD_EPOCH_MS);
    }
}
