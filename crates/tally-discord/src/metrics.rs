//! Counters and histograms for `/metrics`, in Prometheus' text format.
//! Lock-free where the ledger and shards write; formatting is pure.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::domain::Activity;
use crate::ingest::histogram::{Histogram, SECONDS};
use crate::ingest::LedgerStats;

/// Where a gateway shard stands, for `/metrics` and `/healthz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardState {
    /// Connecting or reconnecting.
    Connecting,
    /// Receiving events (after READY or RESUMED).
    Connected,
    /// Closed; the shard will reconnect.
    Disconnected,
}

impl ShardState {
    /// Every state, in the order `/metrics` lists them.
    pub const ALL: [ShardState; 3] = [Self::Connecting, Self::Connected, Self::Disconnected];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Disconnected => "disconnected",
        }
    }
}

/// What shards and command handlers report about themselves; the ledger
/// keeps its own figures in [`LedgerStats`].
#[derive(Debug, Default)]
pub struct Metrics {
    /// Command answer times, by command name.
    commands: Mutex<BTreeMap<String, Histogram>>,
    /// Each shard's state.
    shards: Mutex<BTreeMap<u32, ShardState>>,
    /// Gateway payloads that could not be read.
    pub malformed: AtomicU64,
    /// Dispatches of event types this build does not know.
    pub unknown_events: AtomicU64,
}

impl Metrics {
    /// Records one command answer.
    pub fn command_answered(&self, command: &str, took: Duration) {
        let mut commands = self.commands.lock().unwrap_or_else(|p| p.into_inner());
        commands.entry(command.to_owned()).or_insert_with(|| Histogram::new(SECONDS)).observe_duration(took);
    }

    /// Records where a shard stands now.
    pub fn shard_state(&self, shard_id: u32, state: ShardState) {
        self.shards.lock().unwrap_or_else(|p| p.into_inner()).insert(shard_id, state);
    }

    /// Each shard's state, by shard number.
    pub fn shards(&self) -> BTreeMap<u32, ShardState> {
        self.shards.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The whole exposition, in Prometheus text format 0.0.4.
    pub fn render(&self, ledger: &LedgerStats) -> String {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::with_capacity(8 * 1024);
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        };
        counter(
            &mut out,
            "tally_events_committed_total",
            "Gateway events committed to the database.",
            load(&ledger.events),
        );
        counter(&mut out, "tally_commits_total", "Batches committed.", load(&ledger.commits));
        counter(
            &mut out,
            "tally_replays_skipped_total",
            "Replayed events already committed.",
            load(&ledger.replays_skipped),
        );
        counter(
            &mut out,
            "tally_commit_retries_total",
            "Commits retried after a database error.",
            load(&ledger.retries),
        );
        counter(
            &mut out,
            "tally_malformed_payloads_total",
            "Gateway payloads that could not be read.",
            load(&self.malformed),
        );
        counter(
            &mut out,
            "tally_unknown_events_total",
            "Dispatches of unknown event types.",
            load(&self.unknown_events),
        );

        out.push_str("# HELP tally_activities_total Activities committed, by kind.\n");
        out.push_str("# TYPE tally_activities_total counter\n");
        for (kind, count) in Activity::KINDS.iter().zip(&ledger.activities) {
            let _ = writeln!(out, "tally_activities_total{{kind=\"{kind}\"}} {}", count.load(Ordering::Relaxed));
        }

        out.push_str("# HELP tally_commit_batch_events Gateway events per committed batch.\n");
        out.push_str("# TYPE tally_commit_batch_events histogram\n");
        ledger.batch_events.write_prometheus(&mut out, "tally_commit_batch_events", "");
        out.push_str("# HELP tally_commit_seconds Time to commit one batch.\n");
        out.push_str("# TYPE tally_commit_seconds histogram\n");
        ledger.commit_seconds.write_prometheus(&mut out, "tally_commit_seconds", "");

        out.push_str("# HELP tally_command_seconds Time from interaction received to answer sent.\n");
        out.push_str("# TYPE tally_command_seconds histogram\n");
        for (command, histogram) in self.commands.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            histogram.write_prometheus(
                &mut out,
                "tally_command_seconds",
                &format!("command=\"{}\"", label_value(command)),
            );
        }

        out.push_str("# HELP tally_shard_state 1 for the state each gateway shard is in.\n");
        out.push_str("# TYPE tally_shard_state gauge\n");
        for (shard, state) in self.shards() {
            for candidate in ShardState::ALL {
                let on = u8::from(candidate == state);
                let _ = writeln!(out, "tally_shard_state{{shard=\"{shard}\",state=\"{}\"}} {on}", candidate.as_str());
            }
        }
        out
    }
}

/// Escapes a label value (backslash, quote, newline), as the format requires.
fn label_value(raw: &str) -> String {
    raw.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_names_shards_and_commands() {
        let m = Metrics::default();
        m.shard_state(0, ShardState::Connected);
        m.command_answered("st\"ats", Duration::from_micros(300));
        let ledger = LedgerStats::default();
        ledger.activities[4].fetch_add(7, Ordering::Relaxed);
        ledger.events.fetch_add(9, Ordering::Relaxed);
        let text = m.render(&ledger);
        assert!(text.contains("tally_events_committed_total 9\n"));
        assert!(text.contains("tally_activities_total{kind=\"message\"} 7\n"));
        assert!(text.contains("tally_shard_state{shard=\"0\",state=\"connected\"} 1\n"));
        assert!(text.contains("tally_shard_state{shard=\"0\",state=\"connecting\"} 0\n"));
        assert!(text.contains("tally_command_seconds_bucket{command=\"st\\\"ats\",le=\"0.0005\"} 1\n"), "{text}");
    }
}
