//! What a test needs to bound *when* a bot received each event, for data
//! the bot dates on receipt (Discord's VOICE_STATE_UPDATE carries no time):
//! when each dispatch was last written to a socket, and each heartbeat with
//! the sequence it carried. A bot cannot have read an event before it was
//! written, and has read it before it sends a heartbeat carrying its
//! sequence number. Recorded only when [`crate::SimConfig::record_deliveries`]
//! is on.

use std::collections::HashMap;

/// Wall-clock milliseconds since the Unix epoch, as bots date events.
pub(crate) fn wall_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// One heartbeat as the simulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    /// The session of the connection it came on, once identified or resumed.
    pub session: Option<String>,
    /// When it arrived, wall-clock ms.
    pub at_ms: u64,
    /// The sequence number it carried (`d`), null before any dispatch.
    pub seq: Option<u64>,
}

/// Deliveries and heartbeats so far.
#[derive(Debug, Clone, Default)]
pub struct DeliveryLog {
    /// (session, sequence) → when it was last written to a connection, ms.
    /// A resume's replay writes an event again; the last write is the one a
    /// bot that stored its position after the event kept.
    pub written: HashMap<(String, u64), u64>,
    /// Every heartbeat, oldest first.
    pub heartbeats: Vec<Heartbeat>,
}

impl DeliveryLog {
    /// The sessions events were written to.
    pub fn sessions(&self) -> Vec<String> {
        let mut sessions: Vec<String> = self.written.keys().map(|(s, _)| s.clone()).collect();
        sessions.sort();
        sessions.dedup();
        sessions
    }

    /// When event `seq` of `session` was last written, and the first
    /// heartbeat after that which carried `seq` or later: the bot that
    /// kept the event read it in between. The second is None when no such
    /// heartbeat came (the connection ended first).
    pub fn read_between(&self, session: &str, seq: u64) -> Option<(u64, Option<u64>)> {
        let written = *self.written.get(&(session.to_owned(), seq))?;
        let acknowledged = self
            .heartbeats
            .iter()
            .find(|h| h.at_ms >= written && h.session.as_deref() == Some(session) && h.seq.is_some_and(|s| s >= seq))
            .map(|h| h.at_ms);
        Some((written, acknowledged))
    }
}
