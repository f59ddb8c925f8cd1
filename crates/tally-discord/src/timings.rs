//! How long commands take, from the interaction's arrival to the answer
//! accepted by Discord, kept per command for benchmarks and metrics.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Most samples kept per command; older ones are dropped.
const MAX_SAMPLES: usize = 1 << 20;

/// Per command: answer times in microseconds, oldest first.
#[derive(Debug, Default)]
pub struct CommandTimings {
    samples: Mutex<HashMap<String, Vec<u32>>>,
}

impl CommandTimings {
    /// Records one answer.
    pub fn record(&self, command: &str, took: Duration) {
        let micros = u32::try_from(took.as_micros()).unwrap_or(u32::MAX);
        let mut samples = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        let list = samples.entry(command.to_owned()).or_default();
        if list.len() >= MAX_SAMPLES {
            list.drain(..MAX_SAMPLES / 2);
        }
        list.push(micros);
    }

    /// Takes every sample recorded for `command` so far, leaving none.
    pub fn take(&self, command: &str) -> Vec<Duration> {
        let mut samples = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        samples.remove(command).unwrap_or_default().into_iter().map(|m| Duration::from_micros(m.into())).collect()
    }
}

/// The `q` quantile (0.0 to 1.0) of `samples`, by nearest rank.
pub fn quantile(samples: &mut [Duration], q: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort_unstable();
    let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
    samples[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_quantiles() {
        let timings = CommandTimings::default();
        for ms in 1..=100 {
            timings.record("stats", Duration::from_millis(ms));
        }
        let mut samples = timings.take("stats");
        assert_eq!(samples.len(), 100);
        assert_eq!(quantile(&mut samples, 0.5), Duration::from_millis(50));
        assert_eq!(quantile(&mut samples, 0.99), Duration::from_millis(99));
        assert!(timings.take("stats").is_empty());
    }
}
