//! Tally's pure rules: what activity is ([`activity`]), how XP and levels
//! are computed ([`xp`], [`level`]), a server's settings and reward roles
//! ([`settings`], [`rewards`]), the order-statistic standings, which shard
//! holds a server, and how time is read from ids and put into words.
//!
//! Depends on nothing of Tally's, and on no database, Discord client or
//! async runtime: no I/O but reading the clock ([`days::now_ms`]), so all of
//! it is unit-tested on its own and gives the same answer on replay. Start
//! with [`Activity`], what the gateway translator produces and the ledger
//! counts, then [`xp`].

pub mod activity;
pub mod days;
pub mod dice;
pub mod humanize;
pub mod import;
pub mod level;
pub mod privacy;
pub mod rewards;
pub mod settings;
pub mod shards;
pub mod snowflake;
pub mod standings;
pub mod xp;

pub use activity::{Activity, MemberProfile, ReactionKey};
pub use level::{Curve, Level};
pub use settings::{Leveling, SettingChange};
pub use xp::XpSettings;
