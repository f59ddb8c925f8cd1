//! The commands that change what Tally counts: `/config` (admins) and
//! `/notify` (each member for themselves). Pure: their definitions, how
//! their options are read and checked, and the [`Activity`] an allowed,
//! valid invocation records. The shard hands that activity to the ledger
//! at the interaction's own place in the event stream, so a setting
//! applies from exactly the next event, on every replay alike; the command
//! handler reads the same options the same way to answer.

use twilight_interactions::command::{CommandInputData, CommandModel, CommandOption, CreateCommand, CreateOption};
use twilight_model::application::interaction::{Interaction, InteractionData};
use twilight_model::guild::Permissions;
use twilight_model::id::marker::{ChannelMarker, RoleMarker};
use twilight_model::id::Id;

use crate::domain::settings::{check_template, hundredths, SettingChange, Where, MAX_COOLDOWN_SECS, MAX_MESSAGE_XP};
use crate::domain::{Activity, Curve};

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
    };
    Ok(ConfigRequest::Change(change))
}

/// The activity an interaction records, if it is an allowed, valid
/// `/config` change or a `/notify`. Everything else records nothing.
pub fn translate_interaction(interaction: &Interaction) -> Vec<Activity> {
    let (Some(guild_id), Some(InteractionData::ApplicationCommand(data))) = (interaction.guild_id, &interaction.data)
    else {
        return Vec::new();
    };
    let guild_id = guild_id.get();
    let input = || CommandInputData::from(data.as_ref().clone());
    match data.name.as_str() {
        "config" if may_manage(interaction) => match ConfigCommand::from_interaction(input()).map(read_config) {
            Ok(Ok(ConfigRequest::Change(change))) => vec![Activity::Configure { guild_id, change }],
            _ => Vec::new(),
        },
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
