//! A server's leveling settings beyond the XP range: the curve, channels and
//! roles that earn no XP, multipliers, and where level-ups are announced.
//! Pure: the counting rules read these, `/config` changes them through the
//! ledger (as [`SettingChange`]s, in order with the events around them).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::level::Curve;
use super::rewards::RewardMode;
use crate::snowflake::Id;

/// A multiplier in hundredths: 100 is ×1, 250 is ×2.5, 0 earns nothing.
pub type Hundredths = u32;

/// The multiplier that changes nothing.
pub const NEUTRAL: Hundredths = 100;

/// The largest multiplier: ×10.
pub const MAX_MULTIPLIER: Hundredths = 1_000;

/// Everything `/config` sets besides the XP range, stored as one document
/// per server. Every field has its default, so a document written by an
/// older Tally still reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Leveling {
    /// The level curve.
    pub curve: Curve,
    /// Channels where messages earn no XP (still counted as messages).
    pub noxp_channels: BTreeSet<Id>,
    /// Roles whose members earn no XP.
    pub noxp_roles: BTreeSet<Id>,
    /// XP multipliers by channel.
    pub channel_multipliers: BTreeMap<Id, Hundredths>,
    /// XP multipliers by role.
    pub role_multipliers: BTreeMap<Id, Hundredths>,
    /// Where level-ups are announced.
    pub levelup: LevelUp,
    /// Role rewards: role → the level that earns it.
    pub rewards: BTreeMap<Id, u32>,
    /// Roles that were rewards and were removed: members who still hold
    /// them lose them at their next check.
    pub retired_rewards: BTreeSet<Id>,
    /// How rewards add up.
    pub reward_mode: RewardMode,
    /// Whether a member who comes back gets their rewards back.
    pub rewards_on_rejoin: bool,
    /// The join/leave log channel, if any.
    pub log_channel: Option<Id>,
    /// XP per minute in voice (0: none).
    pub voice_xp_per_minute: u32,
}

impl Default for Leveling {
    fn default() -> Self {
        Self {
            curve: Curve::default(),
            noxp_channels: BTreeSet::new(),
            noxp_roles: BTreeSet::new(),
            channel_multipliers: BTreeMap::new(),
            role_multipliers: BTreeMap::new(),
            levelup: LevelUp::default(),
            rewards: BTreeMap::new(),
            retired_rewards: BTreeSet::new(),
            reward_mode: RewardMode::default(),
            rewards_on_rejoin: true,
            log_channel: None,
            voice_xp_per_minute: 0,
        }
    }
}

/// Where a level-up is announced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Where {
    /// In the channel of the message that earned the level (MEE6's default).
    #[default]
    Current,
    /// In one configured channel.
    Channel,
    /// In a direct message to the member.
    Dm,
    /// Not at all.
    Off,
}

impl Where {
    /// The option value `/config levelup where:` takes.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "current" => Self::Current,
            "channel" => Self::Channel,
            "dm" => Self::Dm,
            "off" => Self::Off,
            _ => return None,
        })
    }

    /// As the option value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Channel => "channel",
            Self::Dm => "dm",
            Self::Off => "off",
        }
    }
}

/// How level-ups are announced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LevelUp {
    /// Where.
    #[serde(rename = "where")]
    pub place: Where,
    /// The channel, when `place` is [`Where::Channel`].
    pub channel: Option<Id>,
    /// The message template; None for [`DEFAULT_TEMPLATE`].
    pub message: Option<String>,
    /// Whether `{member}` pings the member (members can still turn pings off for themselves).
    pub ping: bool,
}

impl Default for LevelUp {
    fn default() -> Self {
        Self { place: Where::Current, channel: None, message: None, ping: true }
    }
}

impl LevelUp {
    /// Where a level-up earned in `current` (a text or voice channel) is
    /// announced: Some(Some(channel)), Some(None) for a direct message, or
    /// None when it is not announced.
    pub fn target(&self, current: Id) -> Option<Option<Id>> {
        match self.place {
            Where::Current => Some(Some(current)),
            Where::Channel => self.channel.map(Some),
            Where::Dm => Some(None),
            Where::Off => None,
        }
    }

    /// The template in force.
    pub fn template(&self) -> &str {
        self.message.as_deref().unwrap_or(DEFAULT_TEMPLATE)
    }
}

/// The level-up message until an admin sets one, as MEE6's.
pub const DEFAULT_TEMPLATE: &str = "GG {member}, you reached level {level}!";

/// The placeholders a level-up template may use.
pub const PLACEHOLDERS: [&str; 7] = ["member", "name", "level", "old_level", "xp", "rank", "server"];

/// Longest template accepted: with the longest names filled in, the message
/// stays well under Discord's 2,000 characters.
pub const MAX_TEMPLATE_CHARS: usize = 1_000;

/// Checks a level-up template: every `{…}` must be a known placeholder.
pub fn check_template(template: &str) -> Result<(), String> {
    if template.trim().is_empty() {
        return Err("The level-up message cannot be empty.".into());
    }
    if template.chars().count() > MAX_TEMPLATE_CHARS {
        return Err(format!("The level-up message can be at most {MAX_TEMPLATE_CHARS} characters."));
    }
    for name in placeholders(template) {
        if !PLACEHOLDERS.contains(&name) {
            let known: Vec<String> = PLACEHOLDERS.iter().map(|p| format!("{{{p}}}")).collect();
            return Err(format!(
                "Unknown placeholder {{{name}}} in the level-up message. Known: {}.",
                known.join(", ")
            ));
        }
    }
    Ok(())
}

/// The names inside `{…}` in a template (text without a closing brace is literal).
fn placeholders(template: &str) -> impl Iterator<Item = &str> {
    template.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

/// Fills a template: `value` gives each placeholder's text.
pub fn render(template: &str, value: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.split_once('}') {
            Some((name, tail)) if PLACEHOLDERS.contains(&name) => {
                out.push_str(&value(name));
                rest = tail;
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A change `/config` makes, applied by the ledger at the command's place
/// in the event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingChange {
    /// `/config xp`: the bounds and cooldown given (None: unchanged).
    Xp {
        /// Least XP a message earns.
        min: Option<u32>,
        /// Most XP a message earns.
        max: Option<u32>,
        /// Seconds between XP-earning messages.
        cooldown: Option<u32>,
    },
    /// `/config curve`.
    Curve(Curve),
    /// `/config noxp`: the channel and/or role earn no XP (`on`) or do again.
    NoXp {
        /// A channel.
        channel: Option<Id>,
        /// A role.
        role: Option<Id>,
        /// Whether they earn nothing.
        on: bool,
    },
    /// `/config multiplier`: the channel's and/or role's factor (100: removed).
    Multiplier {
        /// A channel.
        channel: Option<Id>,
        /// A role.
        role: Option<Id>,
        /// The factor.
        factor: Hundredths,
    },
    /// `/config levelup`.
    LevelUp {
        /// Where.
        place: Where,
        /// The channel, for [`Where::Channel`] (None: unchanged).
        channel: Option<Id>,
        /// A new template; `Some(None)` restores the default; None: unchanged.
        message: Option<Option<String>>,
        /// Whether to ping (None: unchanged).
        ping: Option<bool>,
    },
    /// `/rewards add`: `role` is given at `level` (replacing its old level).
    RewardAdd {
        /// The level.
        level: u32,
        /// The role.
        role: Id,
    },
    /// `/rewards remove`.
    RewardRemove {
        /// The role.
        role: Id,
    },
    /// `/rewards mode`.
    RewardMode(RewardMode),
    /// `/rewards rejoin on|off`.
    RewardRejoin(bool),
    /// `/config log [channel]` (None: off).
    LogChannel(Option<Id>),
    /// `/config voicexp per_minute`.
    VoiceXp(u32),
}

impl SettingChange {
    /// Whether the change can alter which reward roles members should hold,
    /// so every member's roles are brought in line afterwards.
    pub fn moves_rewards(&self) -> bool {
        matches!(self, Self::Curve(_) | Self::RewardAdd { .. } | Self::RewardRemove { .. } | Self::RewardMode(_))
    }
}

/// Largest per-message XP bound `/config xp` accepts.
pub const MAX_MESSAGE_XP: u32 = 1_000;
/// Longest cooldown `/config xp` accepts: a day.
pub const MAX_COOLDOWN_SECS: u32 = 86_400;

impl Leveling {
    /// Every role Tally manages as a reward: today's and retired ones.
    /// Roles outside this set are never touched.
    pub fn reward_roles(&self) -> BTreeMap<Id, u32> {
        let mut all = self.rewards.clone();
        for role in &self.retired_rewards {
            all.entry(*role).or_insert(u32::MAX);
        }
        all
    }

    /// Applies a change (other than the XP range, which [`super::XpSettings`] holds).
    pub fn apply(&mut self, change: &SettingChange) {
        match change {
            SettingChange::Xp { .. } => {}
            SettingChange::Curve(curve) => self.curve = *curve,
            SettingChange::NoXp { channel, role, on } => {
                for (set, id) in [(&mut self.noxp_channels, channel), (&mut self.noxp_roles, role)] {
                    if let Some(id) = id {
                        if *on {
                            set.insert(*id);
                        } else {
                            set.remove(id);
                        }
                    }
                }
            }
            SettingChange::Multiplier { channel, role, factor } => {
                for (map, id) in [(&mut self.channel_multipliers, channel), (&mut self.role_multipliers, role)] {
                    if let Some(id) = id {
                        if *factor == NEUTRAL {
                            map.remove(id);
                        } else {
                            map.insert(*id, *factor);
                        }
                    }
                }
            }
            SettingChange::LevelUp { place, channel, message, ping } => {
                self.levelup.place = *place;
                if channel.is_some() {
                    self.levelup.channel = *channel;
                }
                if let Some(message) = message {
                    self.levelup.message.clone_from(message);
                }
                if let Some(ping) = ping {
                    self.levelup.ping = *ping;
                }
            }
            SettingChange::RewardAdd { level, role } => {
                self.rewards.insert(*role, *level);
                self.retired_rewards.remove(role);
            }
            SettingChange::RewardRemove { role } => {
                if self.rewards.remove(role).is_some() {
                    self.retired_rewards.insert(*role);
                }
            }
            SettingChange::RewardMode(mode) => self.reward_mode = *mode,
            SettingChange::RewardRejoin(on) => self.rewards_on_rejoin = *on,
            SettingChange::LogChannel(channel) => self.log_channel = *channel,
            SettingChange::VoiceXp(per_minute) => self.voice_xp_per_minute = *per_minute,
        }
    }

    /// Whether a message in `channel` by a member with `roles` earns no XP.
    pub fn earns_nothing(&self, channel: Id, roles: &[Id]) -> bool {
        self.noxp_channels.contains(&channel) || roles.iter().any(|r| self.noxp_roles.contains(r))
    }

    /// The multiplier for a message in `channel` by a member with `roles`:
    /// the member's highest role multiplier (×1 without one) times the
    /// channel's (×1 without one).
    pub fn multiplier(&self, channel: Id, roles: &[Id]) -> (Hundredths, Hundredths) {
        let role = roles.iter().filter_map(|r| self.role_multipliers.get(r)).copied().max().unwrap_or(NEUTRAL);
        let channel = self.channel_multipliers.get(&channel).copied().unwrap_or(NEUTRAL);
        (role, channel)
    }

    /// The XP a message earns from `base` under these settings: 0 in a
    /// no-XP channel or for a no-XP role, else `base × role × channel`
    /// rounded to the nearest whole XP (halves up).
    pub fn message_xp(&self, base: u32, channel: Id, roles: &[Id]) -> u64 {
        if self.earns_nothing(channel, roles) {
            return 0;
        }
        let (role, channel) = self.multiplier(channel, roles);
        (u64::from(base) * u64::from(role) * u64::from(channel) + 5_000) / 10_000
    }
}

/// A factor as `/config multiplier factor:` gives it (0.0–10.0), in hundredths.
pub fn hundredths(factor: f64) -> Option<Hundredths> {
    (factor.is_finite() && (0.0..=10.0).contains(&factor)).then(|| (factor * 100.0).round() as Hundredths)
}

/// A multiplier as a person reads it: `×2.5`.
pub fn factor_text(h: Hundredths) -> String {
    let whole = h / 100;
    match h % 100 {
        0 => format!("×{whole}"),
        f if f % 10 == 0 => format!("×{whole}.{}", f / 10),
        f => format!("×{whole}.{f:02}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_placeholders_are_named() {
        assert!(check_template(DEFAULT_TEMPLATE).is_ok());
        assert!(check_template("{member} hit {level} (was {old_level}), {xp} XP, #{rank} in {server}, {name}").is_ok());
        let error = check_template("GG {member}, level {lvl}!").unwrap_err();
        assert!(error.contains("{lvl}"), "{error}");
        assert!(check_template("   ").is_err());
        assert!(check_template(&"x".repeat(MAX_TEMPLATE_CHARS + 1)).is_err());
        // A brace that opens nothing is text.
        assert!(check_template("smile :{ {member}").is_ok(), "a lone brace is text");
        assert!(check_template("level {level} :}").is_ok());
    }

    #[test]
    fn rendering_fills_known_placeholders_only() {
        let text = render("GG {member}, level {level} {nope} {", |p| format!("<{p}>"));
        assert_eq!(text, "GG <member>, level <level> {nope} {");
    }

    #[test]
    fn highest_role_multiplier_times_the_channel() {
        let mut s = Leveling::default();
        s.apply(&SettingChange::Multiplier { channel: None, role: Some(1), factor: 150 });
        s.apply(&SettingChange::Multiplier { channel: None, role: Some(2), factor: 300 });
        s.apply(&SettingChange::Multiplier { channel: Some(9), role: None, factor: 50 });
        assert_eq!(s.multiplier(9, &[1, 2]), (300, 50));
        // 21 × 3 × 0.5 = 31.5, rounded half up.
        assert_eq!(s.message_xp(21, 9, &[1, 2]), 32);
        assert_eq!(s.message_xp(21, 8, &[1]), 32); // 31.5 again
        assert_eq!(s.message_xp(20, 8, &[]), 20);
        // Factor 1 removes the multiplier.
        s.apply(&SettingChange::Multiplier { channel: None, role: Some(2), factor: NEUTRAL });
        assert!(!s.role_multipliers.contains_key(&2));
    }

    #[test]
    fn noxp_beats_multipliers_and_can_be_undone() {
        let mut s = Leveling::default();
        s.apply(&SettingChange::NoXp { channel: Some(5), role: Some(6), on: true });
        assert_eq!(s.message_xp(20, 5, &[]), 0);
        assert_eq!(s.message_xp(20, 4, &[6]), 0);
        s.apply(&SettingChange::NoXp { channel: Some(5), role: None, on: false });
        assert_eq!(s.message_xp(20, 5, &[]), 20);
    }

    #[test]
    fn factors_read_and_print() {
        assert_eq!(hundredths(2.5), Some(250));
        assert_eq!(hundredths(0.0), Some(0));
        assert_eq!(hundredths(10.01), None);
        assert_eq!(hundredths(f64::NAN), None);
        assert_eq!(factor_text(250), "×2.5");
        assert_eq!(factor_text(1000), "×10");
        assert_eq!(factor_text(125), "×1.25");
    }

    #[test]
    fn an_old_document_reads_with_defaults() {
        let s: Leveling = serde_json::from_str(r#"{"curve":{"a":0,"b":10,"c":100}}"#).unwrap();
        assert_eq!(s.levelup, LevelUp::default());
        assert_eq!(s.curve.a, 0);
    }
}
