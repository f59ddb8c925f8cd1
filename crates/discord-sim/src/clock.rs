//! The simulator's clock and id factory. Time moves only when told
//! ([`Clock::advance`]), so scripted scenarios are exact: a test that needs
//! 61 seconds between two messages says so instead of sleeping.

/// Milliseconds between the Unix epoch and Discord's epoch (2015-01-01).
pub const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// A virtual clock that also mints snowflake ids stamped with its time.
#[derive(Debug, Clone)]
pub struct Clock {
    now_ms: u64,
    increment: u64,
}

impl Clock {
    /// A clock showing `now_ms` (Unix milliseconds).
    pub fn new(now_ms: u64) -> Self {
        Self { now_ms, increment: 0 }
    }

    /// Current virtual time, Unix milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Moves time forward.
    pub fn advance_ms(&mut self, ms: u64) {
        self.now_ms += ms;
    }

    /// Moves time forward to `ms` if it is later.
    pub fn catch_up_to(&mut self, ms: u64) {
        self.now_ms = self.now_ms.max(ms);
    }

    /// A new id created "now". Within one millisecond the 12-bit increment
    /// distinguishes ids; past 4096 the clock ticks one millisecond.
    pub fn next_id(&mut self) -> u64 {
        if self.increment >= 4096 {
            self.increment = 0;
            self.now_ms += 1;
        }
        let id = ((self.now_ms - DISCORD_EPOCH_MS) << 22) | (1 << 17) | self.increment;
        self.increment += 1;
        id
    }

    /// An id for something created at `ms` in the past (members, servers).
    pub fn id_at(&mut self, ms: u64) -> u64 {
        let id = ((ms.max(DISCORD_EPOCH_MS) - DISCORD_EPOCH_MS) << 22) | (2 << 17) | (self.increment & 0xFFF);
        self.increment += 1;
        id
    }
}

/// Creation time of a snowflake, Unix milliseconds.
pub fn timestamp_ms(id: u64) -> u64 {
    (id >> 22) + DISCORD_EPOCH_MS
}

/// RFC 3339 with milliseconds, as Discord writes timestamps.
pub fn iso8601(ms: u64) -> String {
    let secs = (ms / 1000) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}000+00:00", rem / 3600, (rem % 3600) / 60, rem % 60, ms % 1000)
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_the_clock_time_and_are_unique() {
        let mut clock = Clock::new(1_700_000_000_000);
        let a = clock.next_id();
        let b = clock.next_id();
        assert_ne!(a, b);
        assert_eq!(timestamp_ms(a), 1_700_000_000_000);
        clock.advance_ms(61_000);
        assert_eq!(timestamp_ms(clock.next_id()), 1_700_000_061_000);
    }

    #[test]
    fn increment_overflow_ticks_the_clock() {
        let mut clock = Clock::new(1_700_000_000_000);
        let ids: Vec<u64> = (0..5000).map(|_| clock.next_id()).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 5000);
        assert_eq!(clock.now_ms(), 1_700_000_000_001);
    }

    #[test]
    fn formats_discord_timestamps() {
        assert_eq!(iso8601(1_462_015_105_796), "2016-04-30T11:18:25.796000+00:00");
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000000+00:00");
    }
}
