//! Pure logic: what activity is, how XP and levels are computed, how time is
//! read from ids and put into words. Nothing here does I/O, so all of it is
//! unit-tested on its own and gives the same answer on replay.

pub mod activity;
pub mod days;
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
