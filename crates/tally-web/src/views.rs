//! What the web pages and the JSON API show, read from the store. One query
//! per view, shared by both: the HTML page and `/api/...` are two renderings
//! of the same data, so they can never disagree.

use serde::Serialize;

use crate::domain::days::date_of;
use crate::domain::{activity::Id, Curve};
use crate::store::{every_day, Guild, Member, Reader, StoreError};
pub use tally_discord::boards::{By, Period};

/// Members on one page of the web board.
pub const PAGE_SIZE: u64 = 50;

/// Which board: its period and measure (the all-time XP board by default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Choice {
    /// How far back.
    pub period: Period,
    /// Ranked by what.
    pub by: By,
}

/// Why a view cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// Unknown server, a server that keeps its board private, or a member
    /// who is not on it. All look the same from outside, so a private
    /// server's existence is not revealed.
    #[error("not found")]
    NotFound,
    /// The address asks for something that cannot be (`?page=abc`, `?by=charisma`).
    #[error("{0}")]
    BadRequest(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A server, as the pages name it. Ids are strings, as in Discord's API,
/// because JavaScript numbers cannot hold a snowflake.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ServerView {
    /// The server's id.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// One member's line on the board or their own page.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MemberView {
    /// 1-based place on the board; None for members without XP yet.
    pub rank: Option<u64>,
    /// The member's id.
    pub user_id: String,
    /// The name the server shows.
    pub name: String,
    /// Their unique username.
    pub username: String,
    /// Their avatar's hash on Discord's CDN (`/avatars/{user_id}/{hash}.png`), if they have one.
    pub avatar: Option<String>,
    /// Level reached.
    pub level: u32,
    /// Total XP.
    pub xp: u64,
    /// XP earned within the current level.
    pub level_progress: u64,
    /// XP the current level takes in all.
    pub level_needed: u64,
    /// Messages posted.
    pub messages: u64,
    /// Reactions given to others' messages.
    pub reactions_given: u64,
    /// Reactions received on their messages.
    pub reactions_received: u64,
    /// Time in voice (finished sessions), seconds.
    pub voice_seconds: u64,
    /// When they joined, ms since the Unix epoch, when known.
    pub joined_at_ms: Option<i64>,
    /// What the board ranks them by, on boards other than all-time XP (voice in seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub figure: Option<u64>,
}

impl MemberView {
    fn new(member: &Member, rank: Option<u64>, curve: Curve) -> Self {
        let level = curve.level(member.xp);
        let name = if member.display_name.is_empty() { &member.username } else { &member.display_name };
        // Known only from an import, so far.
        let name = if name.is_empty() { format!("Member {}", member.user_id) } else { name.clone() };
        Self {
            rank,
            user_id: member.user_id.to_string(),
            name,
            username: member.username.clone(),
            avatar: member.avatar.clone(),
            level: level.level,
            xp: member.xp,
            level_progress: level.progress,
            level_needed: level.needed,
            messages: member.messages,
            reactions_given: member.reactions_given,
            reactions_received: member.reactions_received,
            voice_seconds: member.voice_ms / 1000,
            joined_at_ms: member.joined_at_ms,
            figure: None,
        }
    }

    /// Progress through the current level, 0 to 100.
    pub fn percent(&self) -> u64 {
        (self.level_progress * 100).checked_div(self.level_needed).unwrap_or(0)
    }
}

/// One page of a server's board.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BoardView {
    /// Whose board.
    pub server: ServerView,
    /// This page, from 1.
    pub page: u64,
    /// Pages in all (at least 1).
    pub pages: u64,
    /// Ranked members in all.
    pub total: u64,
    /// This page's members, best first.
    pub members: Vec<MemberView>,
    /// Which board this is.
    pub choice: Choice,
}

/// One member's page.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ProfileView {
    /// Their server.
    pub server: ServerView,
    /// Their figures.
    pub member: MemberView,
    /// Their last [`ACTIVITY_DAYS`] days, oldest first, quiet days included.
    pub days: Vec<MemberDayView>,
}

/// One day of a member's activity.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MemberDayView {
    /// The date (UTC), `YYYY-MM-DD`.
    pub date: String,
    /// Messages posted.
    pub messages: u64,
    /// XP earned.
    pub xp: u64,
    /// Reactions given, still standing.
    pub reactions_given: u64,
    /// Reactions received, still standing.
    pub reactions_received: u64,
    /// Time in voice, seconds.
    pub voice_seconds: u64,
}

/// Days shown in a server's activity chart.
pub const ACTIVITY_DAYS: i64 = 30;

/// One day of a server's activity.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DayView {
    /// The date (UTC), `YYYY-MM-DD`.
    pub date: String,
    /// Messages posted.
    pub messages: u64,
    /// XP earned.
    pub xp: u64,
    /// Members who joined.
    pub joins: u64,
    /// Members who left.
    pub leaves: u64,
    /// Reactions given, still standing.
    pub reactions: u64,
    /// Time members spent in voice, seconds.
    pub voice_seconds: u64,
}

/// A server's activity over the last days, one entry a day, oldest first.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ActivityView {
    /// Whose.
    pub server: ServerView,
    /// Every day of the period, quiet ones included.
    pub days: Vec<DayView>,
}

/// The last `days` days of a public server's activity, up to `today` (days
/// since the Unix epoch, UTC).
pub fn activity(reader: &dyn Reader, guild_id: Id, today: i64, days: i64) -> Result<ActivityView, ViewError> {
    let server = public_server(reader, guild_id)?;
    let first = today - days.clamp(1, 366) + 1;
    let stored = reader.guild_days(guild_id, first, today)?;
    let days = every_day(first, today, &stored)
        .into_iter()
        .map(|d| DayView {
            date: date_of(d.day),
            messages: d.messages,
            xp: d.xp,
            joins: d.joins,
            leaves: d.leaves,
            reactions: d.reactions,
            voice_seconds: d.voice_ms / 1000,
        })
        .collect();
    Ok(ActivityView { server, days })
}

/// The servers whose board is public.
pub fn servers(reader: &dyn Reader) -> Result<Vec<ServerView>, StoreError> {
    Ok(reader.public_guilds()?.into_iter().map(server_view).collect())
}

fn server_view(guild: Guild) -> ServerView {
    let name = if guild.name.is_empty() { format!("Server {}", guild.guild_id) } else { guild.name };
    ServerView { id: guild.guild_id.to_string(), name }
}

fn public_server(reader: &dyn Reader, guild_id: Id) -> Result<ServerView, ViewError> {
    match reader.guild(guild_id)? {
        Some(guild) if guild.web_public => Ok(server_view(guild)),
        _ => Err(ViewError::NotFound),
    }
}

/// Page `page` (from 1) of a public server's board `choice`, with days up
/// to `today`. A page past the end is not found, so links can never lead to
/// an empty board by mistake.
pub fn board(reader: &dyn Reader, guild_id: Id, page: u64, choice: Choice, today: i64) -> Result<BoardView, ViewError> {
    let server = public_server(reader, guild_id)?;
    let page = page.max(1);
    let first = (page - 1).saturating_mul(PAGE_SIZE);
    let rank = |i: usize| Some(first + i as u64 + 1);
    let curve = reader.settings(guild_id)?.leveling.curve;
    let (members, total): (Vec<MemberView>, u64) = if choice == Choice::default() {
        let found = reader.leaderboard(guild_id, first, PAGE_SIZE)?;
        (found.members.iter().enumerate().map(|(i, m)| MemberView::new(m, rank(i), curve)).collect(), found.total)
    } else {
        let found = reader.period_board(guild_id, choice.period.span(today), choice.by.measure(), first, PAGE_SIZE)?;
        let figure = |n: u64| if choice.by == By::Voice { n / 1000 } else { n };
        let members = found
            .rows
            .iter()
            .enumerate()
            .map(|(i, (m, n))| MemberView { figure: Some(figure(*n)), ..MemberView::new(m, rank(i), curve) })
            .collect();
        (members, found.total)
    };
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    if page > pages {
        return Err(ViewError::NotFound);
    }
    Ok(BoardView { server, page, pages, total, members, choice })
}

/// A member's page, on a public server, with their days up to `today`.
/// Members who left, and bots, are never shown.
pub fn profile(reader: &dyn Reader, guild_id: Id, user_id: Id, today: i64) -> Result<ProfileView, ViewError> {
    let server = public_server(reader, guild_id)?;
    let member = match reader.member(guild_id, user_id)? {
        Some(m) if m.left_at_ms.is_none() && !m.bot && !m.hidden => m,
        _ => return Err(ViewError::NotFound),
    };
    let rank = reader.rank(guild_id, user_id)?;
    let first = today - ACTIVITY_DAYS + 1;
    let stored = reader.member_days(guild_id, user_id, first, today)?;
    let days = every_day(first, today, &stored)
        .into_iter()
        .map(|d| MemberDayView {
            date: date_of(d.day),
            messages: d.messages,
            xp: d.xp,
            reactions_given: d.reactions_given,
            reactions_received: d.reactions_received,
            voice_seconds: d.voice_ms / 1000,
        })
        .collect();
    let curve = reader.settings(guild_id)?.leveling.curve;
    Ok(ProfileView { server, member: MemberView::new(&member, rank, curve), days })
}
