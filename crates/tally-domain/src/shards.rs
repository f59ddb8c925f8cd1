//! Which shard a server is on, and which shards a process runs. Discord
//! puts a server on shard `(guild_id >> 22) % shard_count`, so each server's
//! events, and its commands, reach exactly one process.

use crate::snowflake::Id;

/// The shard Discord delivers a server's events on.
pub fn shard_of(guild_id: Id, total: u32) -> u32 {
    ((guild_id >> 22) % u64::from(total.max(1))) as u32
}

/// The shards one process runs: `first..=last` of `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShardRange {
    /// The first shard this process runs.
    pub first: u32,
    /// The last shard this process runs (inclusive).
    pub last: u32,
    /// Shards across every process.
    pub total: u32,
}

impl ShardRange {
    /// Every shard of `total`, in one process.
    pub fn all(total: u32) -> Self {
        Self { first: 0, last: total.max(1) - 1, total: total.max(1) }
    }

    /// Reads `0-3` (or `5`, one shard) of `total` shards.
    pub fn parse(raw: &str, total: u32) -> Result<Self, String> {
        let raw = raw.trim();
        let (first, last) = raw.split_once('-').unwrap_or((raw, raw));
        let number = |s: &str| {
            s.trim().parse::<u32>().map_err(|_| format!("{raw:?} is not a shard range: use FIRST-LAST, like 0-3"))
        };
        let (first, last) = (number(first)?, number(last)?);
        if total == 0 {
            return Err("the total number of shards must be at least 1".into());
        }
        if first > last {
            return Err(format!("{raw:?}: the first shard is after the last"));
        }
        if last >= total {
            return Err(format!("{raw:?}: shards are numbered 0 to {} when there are {total}", total - 1));
        }
        Ok(Self { first, last, total })
    }

    /// Whether a server's events come to this process.
    pub fn owns(&self, guild_id: Id) -> bool {
        (self.first..=self.last).contains(&shard_of(guild_id, self.total))
    }

    /// The shard numbers this process runs.
    pub fn shards(&self) -> impl Iterator<Item = u32> {
        self.first..=self.last
    }

    /// Whether this is every shard.
    pub fn is_all(&self) -> bool {
        self.first == 0 && self.last + 1 == self.total
    }
}

impl std::fmt::Display for ShardRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "shards {}-{} of {}", self.first, self.last, self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_belong_to_the_shard_discord_computes() {
        // Discord's documented example: shard_id = (guild_id >> 22) % num_shards.
        let guild: Id = 197_038_439_483_310_086;
        assert_eq!(shard_of(guild, 4), ((guild >> 22) % 4) as u32);
        let range = ShardRange::parse("2-3", 4).unwrap();
        assert_eq!(range.owns(guild), shard_of(guild, 4) >= 2);
        assert!(ShardRange::all(4).owns(guild));
    }

    #[test]
    fn ranges_are_checked() {
        assert_eq!(ShardRange::parse("0-3", 8).unwrap(), ShardRange { first: 0, last: 3, total: 8 });
        assert_eq!(ShardRange::parse("5", 8).unwrap(), ShardRange { first: 5, last: 5, total: 8 });
        assert!(ShardRange::parse("3-1", 8).is_err());
        assert!(ShardRange::parse("0-8", 8).unwrap_err().contains("0 to 7"));
        assert!(ShardRange::parse("a-b", 8).is_err());
        assert!(ShardRange::all(8).is_all() && !ShardRange::parse("0-3", 8).unwrap().is_all());
    }
}
