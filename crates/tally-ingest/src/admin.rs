//! The commands that change what Tally counts: `/config` (admins) and
//! `/notify` (each member for themselves). Pure: their definitions, how
//! their options are read and checked, and the [`Activity`] an allowed,
//! valid invocation records. The shard hands that activity to the ledger
//! at the interaction's own place in the event stream, so a setting
//! applies from exactly the next event, on every replay alike; the command
//! handler reads the same options the same way to answer.

use twilight_interactions::command::{
    CommandInputData, CommandModel, CommandOption, CreateCommand, CreateOption, ResolvedUser,
};
use twilight_model::application::interaction::{Interaction, InteractionData};
use twilight_model::guild::Permissions;
use twilight_model::id::marker::{ChannelMarker, RoleMarker};
use twilight_model::id::Id;

use crate::domain::rewards::RewardMode;
use crate::domain::settings::{check_template, hundredths, SettingChange, Where, MAX_COOLDOWN_SECS, MAX_MESSAGE_XP};
use crate::domain::xp::XpChange;
use crate::domain::{snowflake, Activity, Curve};

/// Who may use the admin commands: Discord's Manage Server permission.
pub fn manage_server() -> Permissions {
    Permissions::MANAGE_GUILD
}

/// Whether the invoker of an interaction may change the server's settings.
/// Discord lets admins open a command to anyone, so the permissions the
/// interaction carries are checked here as well.
pub fn may_manage(interaction: &Interaction) -> bool {
    let permissions = interaction.member.as_ref().and_then(|m| m.permissions).unwrap_or(Permissions::empty());
    permissions.intersects(Permissions::MANAGE_GUILD | Permissions::ADMINISTRATOR)
}

/// `/config`: the server's leveling settings.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(
    name = "config",
    desc = "Show or change the server's leveling settings",
    default_permissions = "manage_server",
    contexts = "guild"
)]
pub enum ConfigCommand {
    /// Every setting.
    #[command(name = "show")]
    Show(ConfigShow),
    /// XP per message and the cooldown.
    #[command(name = "xp")]
    Xp(ConfigXp),
    /// The level curve.
    #[command(name = "curve")]
    Curve(ConfigCurve),
    /// Channels and roles that earn no XP.
    #[command(name = "noxp")]
    NoXp(ConfigNoXp),
    /// XP multipliers.
    #[command(name = "multiplier")]
    Multiplier(ConfigMultiplier),
    /// Level-up announcements.
    #[command(name = "levelup")]
    LevelUp(ConfigLevelUp),
    /// The join/leave log channel.
    #[command(name = "log")]
    Log(ConfigLog),
    /// XP for time in voice.
    #[command(name = "voicexp")]
    VoiceXp(ConfigVoiceXp),
}

/// `/config voicexp per_minute`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "voicexp", desc = "XP per minute in voice, with others, not muted (default 0: off)")]
pub struct ConfigVoiceXp {
    /// XP a minute.
    #[command(desc = "XP per minute, 0 to 100", min_value = 0, max_value = 100)]
    pub per_minute: i64,
}

/// `/config log [channel]`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "log", desc = "The join/leave log channel (no channel: off)")]
pub struct ConfigLog {
    /// The channel.
    #[command(desc = "Where joins and leaves are posted (leave out to turn the log off)")]
    pub channel: Option<Id<ChannelMarker>>,
}

/// `/rewards …`: roles members earn at levels.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(
    name = "rewards",
    desc = "Roles members earn at levels",
    default_permissions = "manage_server",
    contexts = "guild"
)]
pub enum RewardsCommand {
    /// Add a reward.
    #[command(name = "add")]
    Add(RewardsAdd),
    /// Remove a reward.
    #[command(name = "remove")]
    Remove(RewardsRemove),
    /// List the rewards.
    #[command(name = "list")]
    List(RewardsList),
    /// Stack or highest.
    #[command(name = "mode")]
    Mode(RewardsMode),
    /// Bring every member in line.
    #[command(name = "sync")]
    Sync(RewardsSync),
    /// Rewards back on rejoin.
    #[command(name = "rejoin")]
    Rejoin(RewardsRejoin),
}

/// `/rewards add level role`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "add", desc = "Give a role at a level")]
pub struct RewardsAdd {
    /// The level.
    #[command(desc = "The level that earns the role", min_value = 1, max_value = 1000)]
    pub level: i64,
    /// The role.
    #[command(desc = "The role")]
    pub role: twilight_model::guild::Role,
}

/// `/rewards remove role`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "remove", desc = "Stop giving a role (members who hold it lose it)")]
pub struct RewardsRemove {
    /// The role.
    #[command(desc = "The role")]
    pub role: Id<RoleMarker>,
}

/// `/rewards list`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "list", desc = "The rewards and how they add up")]
pub struct RewardsList;

/// How rewards add up.
#[derive(CommandOption, CreateOption, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeOption {
    /// Every reward reached.
    #[option(name = "stack", value = "stack")]
    Stack,
    /// Only the highest reached.
    #[option(name = "highest", value = "highest")]
    Highest,
}

/// `/rewards mode mode`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "mode", desc = "stack: every reward reached; highest: only the highest")]
pub struct RewardsMode {
    /// The mode.
    #[command(desc = "stack (default) or highest")]
    pub mode: ModeOption,
}

/// `/rewards sync`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "sync", desc = "Bring every member's reward roles in line now")]
pub struct RewardsSync;

/// `/rewards rejoin on|off`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "rejoin", desc = "Whether members who come back get their rewards back")]
pub enum RewardsRejoin {
    /// On.
    #[command(name = "on")]
    On(RejoinOn),
    /// Off.
    #[command(name = "off")]
    Off(RejoinOff),
}

/// `/rewards rejoin on`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "on", desc = "Members who come back get their rewards back (the default)")]
pub struct RejoinOn;

/// `/rewards rejoin off`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "off", desc = "Members who come back earn their rewards again (for servers that verify first)")]
pub struct RejoinOff;

/// What a `/rewards` invocation does, once read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RewardsRequest {
    /// `/rewards list`.
    List,
    /// `/rewards sync`.
    Sync,
    /// A change.
    Change(SettingChange),
}

/// Reads and checks `/rewards` options (`guild_id`: @everyone cannot be a reward).
pub fn read_rewards(command: RewardsCommand, guild_id: u64) -> Result<RewardsRequest, String> {
    Ok(match command {
        RewardsCommand::List(_) => RewardsRequest::List,
        RewardsCommand::Sync(_) => RewardsRequest::Sync,
        RewardsCommand::Add(RewardsAdd { level, role }) => {
            if role.id.get() == guild_id {
                return Err("@everyone cannot be a reward: everyone has it already.".into());
            }
            if role.managed {
                return Err(format!("{} is managed by an integration; Discord lets no one give it.", role.name));
            }
            if !(1..=1000).contains(&level) {
                return Err("The level must be between 1 and 1000.".into());
            }
            RewardsRequest::Change(SettingChange::RewardAdd { level: level as u32, role: role.id.get() })
        }
        RewardsCommand::Remove(RewardsRemove { role }) => {
            RewardsRequest::Change(SettingChange::RewardRemove { role: role.get() })
        }
        RewardsCommand::Mode(RewardsMode { mode }) => RewardsRequest::Change(SettingChange::RewardMode(match mode {
            ModeOption::Stack => RewardMode::Stack,
            ModeOption::Highest => RewardMode::Highest,
        })),
        RewardsCommand::Rejoin(rejoin) => {
            RewardsRequest::Change(SettingChange::RewardRejoin(matches!(rejoin, RewardsRejoin::On(_))))
        }
    })
}

/// `/config show`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "show", desc = "Show every leveling setting of this server")]
pub struct ConfigShow;

/// `/config xp [min] [max] [cooldown]`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "xp", desc = "XP per message (default 15-25) and the cooldown (default 60 s)")]
pub struct ConfigXp {
    /// Least XP a message earns.
    #[command(desc = "Least XP a message earns (default 15)", min_value = 0, max_value = 1000)]
    pub min: Option<i64>,
    /// Most XP a message earns.
    #[command(desc = "Most XP a message earns (default 25)", min_value = 0, max_value = 1000)]
    pub max: Option<i64>,
    /// Seconds after an XP-earning message during which more messages earn none.
    #[command(
        desc = "Seconds before a member's next message earns XP again (default 60)",
        min_value = 0,
        max_value = 86400
    )]
    pub cooldown: Option<i64>,
}

/// The kinds of curve.
#[derive(CommandOption, CreateOption, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurveKind {
    /// 5·L² + 50·L + 100, as MEE6.
    #[option(name = "mee6", value = "mee6")]
    Mee6,
    /// b·L + c.
    #[option(name = "linear", value = "linear")]
    Linear,
    /// a·L² + b·L + c.
    #[option(name = "custom", value = "custom")]
    Custom,
}

/// `/config curve kind [a] [b] [c]`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "curve", desc = "XP from level L to L+1 = a·L² + b·L + c (re-levels everyone; XP is kept)")]
pub struct ConfigCurve {
    /// Which curve.
    #[command(desc = "mee6 (5, 50, 100), linear (a = 0) or custom")]
    pub kind: CurveKind,
    /// The square term.
    #[command(desc = "a (custom only; default 5)", min_value = 0, max_value = 1000000)]
    pub a: Option<i64>,
    /// The linear term.
    #[command(desc = "b (default 50)", min_value = 0, max_value = 1000000)]
    pub b: Option<i64>,
    /// The constant term.
    #[command(desc = "c (default 100; at least 1)", min_value = 1, max_value = 1000000)]
    pub c: Option<i64>,
}

/// `/config noxp [channel] [role] on`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "noxp", desc = "Channels and roles that earn no XP (messages still count)")]
pub struct ConfigNoXp {
    /// Whether they earn nothing.
    #[command(desc = "true: earns no XP; false: earns XP again")]
    pub on: bool,
    /// A channel.
    #[command(desc = "A channel")]
    pub channel: Option<Id<ChannelMarker>>,
    /// A role.
    #[command(desc = "A role")]
    pub role: Option<Id<RoleMarker>>,
}

/// `/config multiplier [channel] [role] factor`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "multiplier", desc = "XP multiplier of a channel or role (1 removes it)")]
pub struct ConfigMultiplier {
    /// The factor.
    #[command(desc = "0.0 to 10.0; 1 removes the multiplier", min_value = 0.0, max_value = 10.0)]
    pub factor: f64,
    /// A channel.
    #[command(desc = "A channel")]
    pub channel: Option<Id<ChannelMarker>>,
    /// A role.
    #[command(desc = "A role")]
    pub role: Option<Id<RoleMarker>>,
}

/// Where level-ups go.
#[derive(CommandOption, CreateOption, Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhereOption {
    /// The channel of the message that earned it.
    #[option(name = "current", value = "current")]
    Current,
    /// One channel.
    #[option(name = "channel", value = "channel")]
    Channel,
    /// A direct message.
    #[option(name = "dm", value = "dm")]
    Dm,
    /// Nowhere.
    #[option(name = "off", value = "off")]
    Off,
}

/// `/config levelup where [channel] [message] [ping]`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "levelup", desc = "Where and how level-ups are announced")]
pub struct ConfigLevelUp {
    /// Where.
    #[command(rename = "where", desc = "current (default), channel, dm or off")]
    pub place: WhereOption,
    /// The channel, for `where:channel`.
    #[command(desc = "The channel, for where:channel")]
    pub channel: Option<Id<ChannelMarker>>,
    /// The template.
    #[command(
        desc = "Template with {member} {name} {level} {old_level} {xp} {rank} {server}; 'default' restores",
        max_length = 1000
    )]
    pub message: Option<String>,
    /// Whether `{member}` pings.
    #[command(desc = "Whether {member} pings the member (default true)")]
    pub ping: Option<bool>,
}

/// `/notify off|on`: level-up pings to oneself.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "notify", desc = "Turn level-up pings to you off or on", contexts = "guild")]
pub enum NotifyCommand {
    /// Off.
    #[command(name = "off")]
    Off(NotifyOff),
    /// On.
    #[command(name = "on")]
    On(NotifyOn),
}

/// `/notify off`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "off", desc = "Level-ups name you without pinging you")]
pub struct NotifyOff;

/// `/notify on`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "on", desc = "Level-ups ping you (the default)")]
pub struct NotifyOn;

/// `/xp …`: admins' tools for members' XP.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(
    name = "xp",
    desc = "Change members' XP, or see who changed it",
    default_permissions = "manage_server",
    contexts = "guild"
)]
pub enum XpCommand {
    /// Add XP.
    #[command(name = "add")]
    Add(XpAdd),
    /// Take XP away.
    #[command(name = "remove")]
    Remove(XpRemove),
    /// Set XP.
    #[command(name = "set")]
    Set(XpSet),
    /// XP back to zero.
    #[command(name = "reset")]
    Reset(XpReset),
    /// Everyone's XP back to zero.
    #[command(name = "reset-server")]
    ResetServer(XpResetServer),
    /// The latest changes.
    #[command(name = "log")]
    Log(XpLog),
}

/// `/xp add member amount`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "add", desc = "Give a member XP")]
pub struct XpAdd {
    /// Who.
    #[command(desc = "The member")]
    pub member: ResolvedUser,
    /// How much.
    #[command(desc = "XP to add", min_value = 1, max_value = 1000000000)]
    pub amount: i64,
}

/// `/xp remove member amount`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "remove", desc = "Take XP from a member (never below zero)")]
pub struct XpRemove {
    /// Who.
    #[command(desc = "The member")]
    pub member: ResolvedUser,
    /// How much.
    #[command(desc = "XP to take away", min_value = 1, max_value = 1000000000)]
    pub amount: i64,
}

/// `/xp set member amount`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "set", desc = "Set a member's XP")]
pub struct XpSet {
    /// Who.
    #[command(desc = "The member")]
    pub member: ResolvedUser,
    /// The new total.
    #[command(desc = "Their new XP", min_value = 0, max_value = 1000000000)]
    pub amount: i64,
}

/// `/xp reset member`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "reset", desc = "Set a member's XP back to zero")]
pub struct XpReset {
    /// Who.
    #[command(desc = "The member")]
    pub member: ResolvedUser,
}

/// `/xp reset-server`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "reset-server", desc = "Set every member's XP back to zero (asks to confirm)")]
pub struct XpResetServer;

/// `/xp log [member]`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "log", desc = "The latest XP changes by admins")]
pub struct XpLog {
    /// Only this member's.
    #[command(desc = "Only this member's (default: everyone's)")]
    pub member: Option<ResolvedUser>,
}

/// The custom id prefix of `/xp reset-server`'s confirm button:
/// `xpreset:{admin}:{deadline ms}`.
pub const RESET_CONFIRM: &str = "xpreset:";
/// The custom id prefix of its cancel button: `xpcancel:{admin}`.
pub const RESET_CANCEL: &str = "xpcancel:";
/// How long the confirmation can be pressed.
pub const RESET_WINDOW_MS: i64 = 60_000;

/// A press of `/xp reset-server`'s confirm button, read from its custom id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResetConfirm {
    /// The admin who asked: only they may confirm.
    pub admin: u64,
    /// Until when it may be pressed (ms since the Unix epoch).
    pub deadline_ms: i64,
}

/// Reads a confirm button's custom id.
pub fn read_reset_confirm(custom_id: &str) -> Option<ResetConfirm> {
    let (admin, deadline) = custom_id.strip_prefix(RESET_CONFIRM)?.split_once(':')?;
    Some(ResetConfirm { admin: admin.parse().ok()?, deadline_ms: deadline.parse().ok()? })
}

/// Why a press of the confirm button does nothing, if it does nothing.
pub fn reset_refusal(interaction: &Interaction, confirm: ResetConfirm) -> Option<&'static str> {
    let presser = interaction.author().map(|u| u.id.get());
    if presser != Some(confirm.admin) {
        return Some("Only the admin who ran /xp reset-server can confirm it.");
    }
    if !may_manage(interaction) {
        return Some("Only members with the Manage Server permission can change Tally's settings.");
    }
    if snowflake::timestamp_ms(interaction.id.get()) > confirm.deadline_ms {
        return Some("This confirmation has expired (after a minute). Run /xp reset-server again.");
    }
    None
}

/// What an `/xp` change does, and to whom, once read and checked.
pub fn read_xp_change(command: &XpCommand) -> Option<Result<(u64, XpChange), String>> {
    let (member, change) = match command {
        XpCommand::Add(XpAdd { member, amount }) => (member, XpChange::Add(*amount as u64)),
        XpCommand::Remove(XpRemove { member, amount }) => (member, XpChange::Remove(*amount as u64)),
        XpCommand::Set(XpSet { member, amount }) => (member, XpChange::Set(*amount as u64)),
        XpCommand::Reset(XpReset { member }) => (member, XpChange::Reset),
        XpCommand::ResetServer(_) | XpCommand::Log(_) => return None,
    };
    let negative = matches!(command, XpCommand::Add(XpAdd { amount, .. }) | XpCommand::Remove(XpRemove { amount, .. }) | XpCommand::Set(XpSet { amount, .. }) if *amount < 0);
    Some(if member.resolved.bot {
        Err(format!("{} is a bot, and bots don't earn XP.", member.resolved.name))
    } else if negative {
        Err("The amount cannot be negative.".to_owned())
    } else {
        Ok((member.resolved.id.get(), change))
    })
}

/// What a `/config` invocation asks for, once read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigRequest {
    /// `/config show`.
    Show,
    /// A change.
    Change(SettingChange),
}

/// Reads and checks `/config` options. The error is the message for the admin.
pub fn read_config(command: ConfigCommand) -> Result<ConfigRequest, String> {
    let change = match command {
        ConfigCommand::Show(_) => return Ok(ConfigRequest::Show),
        ConfigCommand::Xp(ConfigXp { min, max, cooldown }) => {
            let bounded = |v: Option<i64>, most: u32, what: &str| match v {
                None => Ok(None),
                Some(v) if (0..=i64::from(most)).contains(&v) => Ok(Some(v as u32)),
                Some(_) => Err(format!("{what} must be between 0 and {most}.")),
            };
            let min = bounded(min, MAX_MESSAGE_XP, "min")?;
            let max = bounded(max, MAX_MESSAGE_XP, "max")?;
            let cooldown = bounded(cooldown, MAX_COOLDOWN_SECS, "cooldown")?;
            if let (Some(low), Some(high)) = (min, max) {
                if low > high {
                    return Err(format!("min ({low}) cannot be more than max ({high})."));
                }
            }
            if (min, max, cooldown) == (None, None, None) {
                return Err("Give at least one of min, max or cooldown.".into());
            }
            SettingChange::Xp { min, max, cooldown }
        }
        ConfigCommand::Curve(ConfigCurve { kind, a, b, c }) => {
            let term = |v: Option<i64>, default: u64, least: i64, what: &str| match v {
                None => Ok(default),
                Some(v) if (least..=Curve::MAX_TERM as i64).contains(&v) => Ok(v as u64),
                Some(_) => Err(format!("{what} must be between {least} and {}.", Curve::MAX_TERM)),
            };
            let m = Curve::MEE6;
            let curve = match kind {
                CurveKind::Mee6 => m,
                CurveKind::Linear if a.is_some_and(|a| a != 0) => {
                    return Err("A linear curve has a = 0; use kind:custom for a square term.".into())
                }
                CurveKind::Linear => Curve { a: 0, b: term(b, m.b, 0, "b")?, c: term(c, m.c, 1, "c")? },
                CurveKind::Custom => {
                    Curve { a: term(a, m.a, 0, "a")?, b: term(b, m.b, 0, "b")?, c: term(c, m.c, 1, "c")? }
                }
            };
            SettingChange::Curve(curve)
        }
        ConfigCommand::NoXp(ConfigNoXp { on, channel, role }) => {
            if channel.is_none() && role.is_none() {
                return Err("Give a channel, a role, or both.".into());
            }
            SettingChange::NoXp { channel: channel.map(Id::get), role: role.map(Id::get), on }
        }
        ConfigCommand::Multiplier(ConfigMultiplier { factor, channel, role }) => {
            if channel.is_none() == role.is_none() {
                return Err("Give either a channel or a role (one multiplier at a time).".into());
            }
            let factor = hundredths(factor).ok_or("The factor must be between 0.0 and 10.0.")?;
            SettingChange::Multiplier { channel: channel.map(Id::get), role: role.map(Id::get), factor }
        }
        ConfigCommand::LevelUp(ConfigLevelUp { place, channel, message, ping }) => {
            let place = match place {
                WhereOption::Current => Where::Current,
                WhereOption::Channel => Where::Channel,
                WhereOption::Dm => Where::Dm,
                WhereOption::Off => Where::Off,
            };
            if place == Where::Channel && channel.is_none() {
                return Err("where:channel needs the channel option.".into());
            }
            let message = match message {
                None => None,
                Some(text) if text.trim().eq_ignore_ascii_case("default") => Some(None),
                Some(text) => {
                    check_template(&text)?;
                    Some(Some(text))
                }
            };
            SettingChange::LevelUp { place, channel: channel.map(Id::get), message, ping }
        }
        ConfigCommand::Log(ConfigLog { channel }) => SettingChange::LogChannel(channel.map(Id::get)),
        ConfigCommand::VoiceXp(ConfigVoiceXp { per_minute }) => match u32::try_from(per_minute) {
            Ok(n) if n <= 100 => SettingChange::VoiceXp(n),
            _ => return Err("per_minute must be between 0 and 100.".into()),
        },
    };
    Ok(ConfigRequest::Change(change))
}

/// The activity an interaction records, if it is an allowed, valid
/// `/config` change, a `/notify` or a `/privacy` choice. Everything else
/// records nothing.
pub fn translate_interaction(interaction: &Interaction) -> Vec<Activity> {
    let Some(guild_id) = interaction.guild_id else { return Vec::new() };
    let privacy = match &interaction.data {
        Some(InteractionData::MessageComponent(click)) => click.custom_id.starts_with(super::privacy::DELETE_CONFIRM),
        Some(InteractionData::ApplicationCommand(data)) => data.name == "privacy",
        _ => false,
    };
    if privacy {
        return super::privacy::translate(interaction);
    }
    if let Some(InteractionData::MessageComponent(click)) = &interaction.data {
        return match read_reset_confirm(&click.custom_id) {
            Some(confirm) if reset_refusal(interaction, confirm).is_none() => vec![Activity::ResetServerXp {
                guild_id: guild_id.get(),
                by: confirm.admin,
                interaction_id: interaction.id.get(),
            }],
            _ => Vec::new(),
        };
    }
    let Some(InteractionData::ApplicationCommand(data)) = &interaction.data else { return Vec::new() };
    let guild_id = guild_id.get();
    let input = || CommandInputData::from(data.as_ref().clone());
    match data.name.as_str() {
        "config" if may_manage(interaction) => match ConfigCommand::from_interaction(input()).map(read_config) {
            Ok(Ok(ConfigRequest::Change(change))) => vec![Activity::Configure { guild_id, change }],
            _ => Vec::new(),
        },
        "xp" if may_manage(interaction) => {
            let Some(admin) = interaction.author() else { return Vec::new() };
            match XpCommand::from_interaction(input()).ok().as_ref().and_then(read_xp_change) {
                Some(Ok((user_id, change))) => vec![Activity::AdjustXp {
                    guild_id,
                    user_id,
                    change,
                    by: admin.id.get(),
                    interaction_id: interaction.id.get(),
                }],
                _ => Vec::new(),
            }
        }
        "rewards" if may_manage(interaction) => {
            match RewardsCommand::from_interaction(input()).map(|c| read_rewards(c, guild_id)) {
                Ok(Ok(RewardsRequest::Change(change))) => vec![Activity::Configure { guild_id, change }],
                Ok(Ok(RewardsRequest::Sync)) => vec![Activity::SyncRewards { guild_id }],
                _ => Vec::new(),
            }
        }
        "notify" => {
            let Some(user) = interaction.author() else { return Vec::new() };
            match NotifyCommand::from_interaction(input()) {
                Ok(command) => vec![Activity::Notify {
                    guild_id,
                    user_id: user.id.get(),
                    pings: matches!(command, NotifyCommand::On(_)),
                }],
                Err(_) => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

/// The curve's formula as a person reads it.
pub fn curve_text(curve: Curve) -> String {
    let name = match curve {
        c if c == Curve::MEE6 => " (MEE6)",
        Curve { a: 0, .. } => " (linear)",
        _ => "",
    };
    format!("{}·L² + {}·L + {}{name}", curve.a, curve.b, curve.c)
}
