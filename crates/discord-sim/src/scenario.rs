//! The scenario API: build servers and members, make things happen, invoke
//! slash commands and read what the bot sent. Every event goes out over the
//! real gateway connection, exactly as Discord would send it.

use crate::error::SimError;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::interactions::{InteractionReply, Invocation, Pending, EDIT_DEADLINE};
use crate::state::{Recorded, State};
use crate::world::{permissions, Guild, Member, MessageInfo, Role, User};
use crate::{intents, payloads, Simulator};

/// Discord's message types the scenario posts (`type` of a message object).
pub mod message_type {
    /// A member's own message.
    pub const DEFAULT: u8 = 0;
    /// "<member> pinned a message."
    pub const CHANNEL_PINNED_MESSAGE: u8 = 6;
    /// "<member> joined the server." in the system channel.
    pub const USER_JOIN: u8 = 7;
    /// "<member> just boosted the server!"
    pub const GUILD_BOOST: u8 = 8;
    /// "<member> started a thread."
    pub const THREAD_CREATED: u8 = 18;
    /// A member's reply to another message.
    pub const REPLY: u8 = 19;
}

impl Simulator {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.shared.lock())
    }

    fn dispatch(
        &self,
        state: &mut State,
        guild_id: u64,
        intent: u64,
        event: &str,
        data: Value,
    ) -> Result<u64, SimError> {
        // Discord sends nothing about a server the bot is not in, or one in an outage.
        let reachable =
            state.world.guilds.get(&guild_id).is_none_or(|g| g.members.contains_key(&self.shared.bot.id) && !g.outage);
        if !reachable {
            return Err(SimError::Unknown("server the bot can see"));
        }
        state.dispatch(self.shared.config.shards, guild_id, intent, event, data).ok_or(SimError::NoSession)
    }

    /// The bot's user id (also its application id).
    pub fn bot_user_id(&self) -> u64 {
        self.shared.bot.id
    }

    /// The virtual time, Unix ms.
    pub fn now_ms(&self) -> u64 {
        self.with(|s| s.clock.now_ms())
    }

    /// Moves the virtual clock forward: the next ids carry the later time.
    pub fn advance(&self, by: Duration) {
        self.with(|s| s.clock.advance_ms(by.as_millis() as u64));
    }

    /// Moves the virtual clock to at least `ms`.
    pub fn catch_up_to(&self, ms: u64) {
        self.with(|s| s.clock.catch_up_to(ms));
    }

    /// Creates a server with one text channel; the bot and the owner are
    /// members. Sent to the bot only when it next identifies (as if the bot
    /// had been in it all along).
    pub fn add_guild(&self, name: &str) -> u64 {
        let (bot, owner) = (self.shared.bot.id, self.shared.owner.id);
        self.with(|s| {
            let now = s.clock.now_ms();
            // Each server created at its own millisecond, so servers spread over shards.
            let created = now.saturating_sub(1000 * 86_400_000) + s.world.guilds.len() as u64 * 7_919;
            let id = s.clock.id_at(created);
            let channel = s.clock.id_at(created + 1);
            let voice_channels = vec![s.clock.id_at(created + 2), s.clock.id_at(created + 3)];
            // The bot's own role, as an invite with Administrator would give it.
            let bot_role = s.clock.id_at(created + 4);
            let roles = vec![
                Role {
                    id,
                    name: "@everyone".into(),
                    permissions: permissions::EVERYONE_DEFAULT,
                    position: 0,
                    bot_id: None,
                },
                Role {
                    id: bot_role,
                    name: self.shared.config.bot_name.clone(),
                    permissions: permissions::ADMINISTRATOR,
                    position: 1,
                    bot_id: Some(bot),
                },
            ];
            let mut members = std::collections::BTreeMap::new();
            members
                .insert(bot, Member { roles: vec![bot_role], ..Member::new(bot, now.saturating_sub(30 * 86_400_000)) });
            members.insert(
                owner,
                Member {
                    user_id: owner,
                    nick: None,
                    joined_at_ms: created,
                    voice_channel: None,
                    roles: Vec::new(),
                    self_mute: false,
                },
            );
            s.world.guilds.insert(
                id,
                Guild {
                    id,
                    name: name.to_owned(),
                    owner_id: owner,
                    channels: vec![channel],
                    voice_channels,
                    members,
                    roles,
                    overwrites: Default::default(),
                    bot_joined_at_ms: now,
                    outage: false,
                },
            );
            id
        })
    }

    /// The bot is removed from the server (kicked, or an admin removed the
    /// app): it is no longer a member, and gets GUILD_DELETE without
    /// `unavailable`, as Discord sends it. Returns the sequence, or None
    /// when the bot has no gateway session to tell (it is removed all the
    /// same, as on Discord, and its next READY no longer lists the server).
    pub fn remove_bot(&self, guild_id: u64) -> Result<Option<u64>, SimError> {
        let bot = self.shared.bot.id;
        self.with(|s| {
            let data = json!({ "id": guild_id.to_string() });
            let seq = match self.dispatch(s, guild_id, intents::GUILDS, "GUILD_DELETE", data) {
                Ok(seq) => Some(seq),
                Err(SimError::NoSession) => None,
                Err(other) => return Err(other),
            };
            let guild = s.world.guilds.get_mut(&guild_id).ok_or(SimError::Unknown("server"))?;
            guild.members.remove(&bot).ok_or(SimError::Unknown("member"))?;
            Ok(seq)
        })
    }

    /// The bot is invited back: a member again, with its role, and a
    /// GUILD_CREATE as for any server it joins.
    pub fn add_bot(&self, guild_id: u64) -> Result<u64, SimError> {
        let bot = self.shared.bot.id;
        self.with(|s| {
            let now = s.clock.now_ms();
            let guild = s.world.guilds.get_mut(&guild_id).ok_or(SimError::Unknown("server"))?;
            let role = guild.roles.iter().find(|r| r.bot_id == Some(bot)).map(|r| r.id);
            guild.members.insert(bot, Member { roles: role.into_iter().collect(), ..Member::new(bot, now) });
            guild.bot_joined_at_ms = now;
            self.send_guild_create(s, guild_id)
        })
    }

    /// The server becomes unavailable (a Discord outage): GUILD_DELETE with
    /// `unavailable: true`; nothing else is sent for it until [`Self::end_outage`],
    /// and READY lists it as unavailable with no GUILD_CREATE after. Returns
    /// the sequence, or None when the bot has no gateway session to tell.
    pub fn start_outage(&self, guild_id: u64) -> Result<Option<u64>, SimError> {
        self.with(|s| {
            let data = json!({ "id": guild_id.to_string(), "unavailable": true });
            let seq = match self.dispatch(s, guild_id, intents::GUILDS, "GUILD_DELETE", data) {
                Ok(seq) => Some(seq),
                Err(SimError::NoSession) => None,
                Err(other) => return Err(other),
            };
            s.world.guilds.get_mut(&guild_id).ok_or(SimError::Unknown("server"))?.outage = true;
            Ok(seq)
        })
    }

    /// The outage ends: GUILD_CREATE, as when the server first becomes available.
    pub fn end_outage(&self, guild_id: u64) -> Result<u64, SimError> {
        self.with(|s| {
            s.world.guilds.get_mut(&guild_id).ok_or(SimError::Unknown("server"))?.outage = false;
            self.send_guild_create(s, guild_id)
        })
    }

    fn send_guild_create(&self, s: &mut State, guild_id: u64) -> Result<u64, SimError> {
        let shard = crate::state::shard_for(guild_id, self.shared.config.shards);
        let session_id = s.active.get(&shard).cloned().ok_or(SimError::NoSession)?;
        let requested = s.sessions.get(&session_id).map(|session| session.intents).ok_or(SimError::NoSession)?;
        let data = crate::gateway::guild_create_payload(&self.shared, s, guild_id, requested);
        s.dispatch_to(&session_id, intents::GUILDS, "GUILD_CREATE", data).ok_or(SimError::NoSession)
    }

    /// A file a member is about to attach to a command in `guild_id`'s first
    /// channel; give the returned id as the value of an attachment option.
    pub fn upload(&self, guild_id: u64, filename: &str, content_type: &str, bytes: Vec<u8>) -> Result<u64, SimError> {
        let channel_id = self.channel_of(guild_id)?;
        self.with(|s| {
            let now = s.clock.now_ms();
            let id = s.clock.id_at(now);
            let file = crate::world::Attachment {
                filename: filename.to_owned(),
                content_type: content_type.to_owned(),
                bytes,
                channel_id,
            };
            s.attachments.insert(id, file);
            Ok(id)
        })
    }

    /// Attachment fetches so far: (attachment id, whether it was served).
    pub fn attachment_fetches(&self) -> Vec<(u64, bool)> {
        self.with(|s| s.attachment_fetches.clone())
    }

    /// The server's owner (a human member of every server).
    pub fn owner_id(&self) -> u64 {
        self.shared.owner.id
    }

    /// The server's first text channel.
    pub fn channel_of(&self, guild_id: u64) -> Result<u64, SimError> {
        self.with(|s| {
            s.world.guilds.get(&guild_id).and_then(|g| g.channels.first().copied()).ok_or(SimError::Unknown("server"))
        })
    }

    /// The server's voice channels: `[lounge, afk]`, the second being its AFK channel.
    pub fn voice_channels_of(&self, guild_id: u64) -> Result<Vec<u64>, SimError> {
        self.with(|s| {
            s.world.guilds.get(&guild_id).map(|g| g.voice_channels.clone()).ok_or(SimError::Unknown("server"))
        })
    }

    /// The member joins or moves to voice channel `channel`, or leaves voice
    /// (None): VOICE_STATE_UPDATE.
    pub fn set_voice(&self, guild_id: u64, user_id: u64, channel: Option<u64>) -> Result<u64, SimError> {
        self.with(|s| {
            let data = Self::move_voice(s, guild_id, user_id, channel)?;
            self.dispatch(s, guild_id, intents::GUILD_VOICE_STATES, "VOICE_STATE_UPDATE", data)
        })
    }

    /// The member, in voice, mutes or unmutes themselves: VOICE_STATE_UPDATE.
    pub fn set_self_mute(&self, guild_id: u64, user_id: u64, muted: bool) -> Result<u64, SimError> {
        self.with(|s| {
            let user = s.world.users.get(&user_id).cloned().ok_or(SimError::Unknown("user"))?;
            let guild = s.world.guilds.get_mut(&guild_id).ok_or(SimError::Unknown("server"))?;
            let member = guild.members.get_mut(&user_id).ok_or(SimError::Unknown("member"))?;
            let channel = member.voice_channel.ok_or(SimError::Unknown("member in voice"))?;
            member.self_mute = muted;
            let data = payloads::voice_state(guild_id, Some(channel), member, &user);
            self.dispatch(s, guild_id, intents::GUILD_VOICE_STATES, "VOICE_STATE_UPDATE", data)
        })
    }

    /// Like [`Self::set_voice`] with no event sent: as if it happened while
    /// the bot could not see (the next GUILD_CREATE shows it).
    pub fn set_voice_quietly(&self, guild_id: u64, user_id: u64, channel: Option<u64>) -> Result<(), SimError> {
        self.with(|s| Self::move_voice(s, guild_id, user_id, channel).map(drop))
    }

    fn move_voice(s: &mut State, guild_id: u64, user_id: u64, channel: Option<u64>) -> Result<Value, SimError> {
        let user = s.world.users.get(&user_id).cloned().ok_or(SimError::Unknown("user"))?;
        let guild = s.world.guilds.get_mut(&guild_id).ok_or(SimError::Unknown("server"))?;
        if channel.is_some_and(|c| !guild.voice_channels.contains(&c)) {
            return Err(SimError::Unknown("voice channel"));
        }
        let member = guild.members.get_mut(&user_id).ok_or(SimError::Unknown("member"))?;
        member.voice_channel = channel;
        Ok(payloads::voice_state(guild_id, channel, member, &user))
    }

    /// Creates an account.
    pub fn add_user(&self, username: &str, global_name: Option<&str>, bot: bool) -> u64 {
        self.with(|s| {
            let id = s.clock.next_id();
            s.world.users.insert(
                id,
                User {
                    id,
                    username: username.to_owned(),
                    global_name: global_name.map(str::to_owned),
                    bot,
                    avatar: None,
                },
            );
            id
        })
    }

    /// Gives a user an avatar (a hash, as Discord names them), served by the
    /// simulator's CDN at `/avatars/{user_id}/{hash}.png`. No event is sent.
    pub fn set_avatar(&self, user_id: u64, hash: Option<&str>) -> Result<(), SimError> {
        self.with(|s| {
            let user = s.world.users.get_mut(&user_id).ok_or(SimError::Unknown("user"))?;
            user.avatar = hash.map(str::to_owned);
            Ok(())
        })
    }

    /// Makes `user_id` a member since `joined_at_ms`, quietly: as if they had
    /// joined before the bot was watching (no event is sent).
    pub fn add_member(&self, guild_id: u64, user_id: u64, joined_at_ms: u64) -> Result<(), SimError> {
        self.with(|s| {
            if !s.world.users.contains_key(&user_id) {
                return Err(SimError::Unknown("user"));
            }
            let guild = s.world.guilds.get_mut(&guild_id).ok_or(SimError::Unknown("server"))?;
            guild.members.insert(
                user_id,
                Member { user_id, nick: None, joined_at_ms, voice_channel: None, roles: Vec::new(), self_mute: false },
            );
            Ok(())
        })
    }

    /// Sets a member's server nickname (quietly).
    pub fn set_nick(&self, guild_id: u64, user_id: u64, nick: Option<&str>) -> Result<(), SimError> {
        self.with(|s| {
            let member = s
                .world
                .guilds
                .get_mut(&guild_id)
                .and_then(|g| g.members.get_mut(&user_id))
                .ok_or(SimError::Unknown("member"))?;
            member.nick = nick.map(str::to_owned);
            Ok(())
        })
    }

    /// Creates a role just below the bot's: GUILD_ROLE_CREATE. Returns its id.
    pub fn add_role(&self, guild_id: u64, name: &str, permissions: u64) -> Result<u64, SimError> {
        self.with(|s| {
            let id = s.clock.next_id();
            let guild = s.world.guilds.get_mut(&guild_id).ok_or(SimError::Unknown("server"))?;
            // New roles go to position 1, under every other role but @everyone.
            for role in guild.roles.iter_mut().filter(|r| r.position >= 1) {
                role.position += 1;
            }
            let role = Role { id, name: name.to_owned(), permissions, position: 1, bot_id: None };
            guild.roles.push(role.clone());
            let data = json!({ "guild_id": guild_id.to_string(), "role": payloads::role(&role) });
            // A role made while the bot is away is in the next GUILD_CREATE.
            match self.dispatch(s, guild_id, intents::GUILDS, "GUILD_ROLE_CREATE", data) {
                Ok(_) | Err(SimError::NoSession) => Ok(id),
                Err(error) => Err(error),
            }
        })
    }

    /// Sets a member's roles (besides @everyone): GUILD_MEMBER_UPDATE.
    pub fn set_roles(&self, guild_id: u64, user_id: u64, roles: &[u64]) -> Result<u64, SimError> {
        self.with(|s| {
            let user = s.world.users.get(&user_id).cloned().ok_or(SimError::Unknown("user"))?;
            let guild = s.world.guilds.get_mut(&guild_id).ok_or(SimError::Unknown("server"))?;
            if roles.iter().any(|r| guild.role(*r).is_none() || *r == guild_id) {
                return Err(SimError::Unknown("role"));
            }
            let member = guild.members.get_mut(&user_id).ok_or(SimError::Unknown("member"))?;
            member.roles = roles.to_vec();
            let mut data = payloads::member(member, &user);
            data["guild_id"] = json!(guild_id.to_string());
            self.dispatch(s, guild_id, intents::GUILD_MEMBERS, "GUILD_MEMBER_UPDATE", data)
        })
    }

    /// A member's roles now (besides @everyone), in the order they got them.
    pub fn roles_of(&self, guild_id: u64, user_id: u64) -> Result<Vec<u64>, SimError> {
        self.with(|s| {
            let member = s.world.guilds.get(&guild_id).and_then(|g| g.members.get(&user_id));
            member.map(|m| m.roles.clone()).ok_or(SimError::Unknown("member"))
        })
    }

    /// Gateway connections closed with 4008 for sending more than allowed.
    pub fn gateway_rate_limited(&self) -> u64 {
        self.with(|s| s.gateway_rate_limited)
    }

    /// Member requests a shard made for a server on another shard.
    pub fn misrouted_member_requests(&self) -> u64 {
        self.with(|s| s.misrouted_member_requests)
    }

    /// The buckets of REST requests answered 429 because the bucket was
    /// spent (`messages:{channel}`, `roles:{guild}`, or `METHOD route`).
    pub fn rate_limited_requests(&self) -> Vec<String> {
        self.with(|s| s.buckets.refused.clone())
    }

    /// The role changes the bot made: (guild, user, role, given), in order.
    pub fn role_changes(&self) -> Vec<(u64, u64, u64, bool)> {
        self.with(|s| s.role_changes.clone())
    }

    /// Waits until the bot has made at least `count` role changes.
    pub async fn wait_for_role_changes(&self, count: usize, timeout: Duration) -> Result<(), SimError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.role_changes().len() >= count {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(SimError::Timeout("the bot to change roles"));
            }
        }
    }

    /// Adds a text channel to a server: CHANNEL_CREATE. Returns its id.
    pub fn add_text_channel(&self, guild_id: u64) -> Result<u64, SimError> {
        self.with(|s| {
            let id = s.clock.next_id();
            let guild = s.world.guilds.get_mut(&guild_id).ok_or(SimError::Unknown("server"))?;
            guild.channels.push(id);
            let data = payloads::channel(id, guild_id, guild.channels.len() - 1);
            match self.dispatch(s, guild_id, intents::GUILDS, "CHANNEL_CREATE", data) {
                Ok(_) | Err(SimError::NoSession) => Ok(id),
                Err(error) => Err(error),
            }
        })
    }

    /// Sets a channel's permission overwrite for a role (or, with
    /// `member`, a member): CHANNEL_UPDATE.
    pub fn set_overwrite(
        &self,
        guild_id: u64,
        overwrite: crate::world::Overwrite,
        channel_id: u64,
    ) -> Result<(), SimError> {
        self.with(|s| {
            let guild = s.world.guilds.get_mut(&guild_id).ok_or(SimError::Unknown("server"))?;
            let position = guild.channels.iter().position(|c| *c == channel_id).ok_or(SimError::Unknown("channel"))?;
            let list = guild.overwrites.entry(channel_id).or_default();
            list.retain(|o| (o.id, o.member) != (overwrite.id, overwrite.member));
            list.push(overwrite);
            let data = payloads::channel_of(guild, channel_id, position);
            match self.dispatch(s, guild_id, intents::GUILDS, "CHANNEL_UPDATE", data) {
                Ok(_) | Err(SimError::NoSession) => Ok(()),
                Err(error) => Err(error),
            }
        })
    }

    /// Deletes a role, taking it from everyone: GUILD_ROLE_DELETE.
    pub fn delete_role(&self, guild_id: u64, role_id: u64) -> Result<(), SimError> {
        self.with(|s| {
            let guild = s.world.guilds.get_mut(&guild_id).ok_or(SimError::Unknown("server"))?;
            if role_id == guild_id || guild.role(role_id).is_none() {
                return Err(SimError::Unknown("role"));
            }
            guild.roles.retain(|r| r.id != role_id);
            for member in guild.members.values_mut() {
                member.roles.retain(|r| *r != role_id);
            }
            let data = json!({ "guild_id": guild_id.to_string(), "role_id": role_id.to_string() });
            match self.dispatch(s, guild_id, intents::GUILDS, "GUILD_ROLE_DELETE", data) {
                Ok(_) | Err(SimError::NoSession) => Ok(()),
                Err(error) => Err(error),
            }
        })
    }

    /// Changes a role's permissions: GUILD_ROLE_UPDATE.
    pub fn set_role_permissions(&self, guild_id: u64, role_id: u64, permissions: u64) -> Result<(), SimError> {
        self.with(|s| {
            let guild = s.world.guilds.get_mut(&guild_id).ok_or(SimError::Unknown("server"))?;
            let role = guild.roles.iter_mut().find(|r| r.id == role_id).ok_or(SimError::Unknown("role"))?;
            role.permissions = permissions;
            let data = json!({ "guild_id": guild_id.to_string(), "role": payloads::role(role) });
            match self.dispatch(s, guild_id, intents::GUILDS, "GUILD_ROLE_UPDATE", data) {
                Ok(_) | Err(SimError::NoSession) => Ok(()),
                Err(error) => Err(error),
            }
        })
    }

    /// The bot's own role in a server (the one Discord made when it joined).
    pub fn bot_role_of(&self, guild_id: u64) -> Result<u64, SimError> {
        let bot = self.shared.bot.id;
        self.with(|s| {
            let guild = s.world.guilds.get(&guild_id).ok_or(SimError::Unknown("server"))?;
            guild.roles.iter().find(|r| r.bot_id == Some(bot)).map(|r| r.id).ok_or(SimError::Unknown("role"))
        })
    }

    /// Moves a role to the top of the list, above the bot's own: GUILD_ROLE_UPDATE.
    pub fn move_role_to_top(&self, guild_id: u64, role_id: u64) -> Result<(), SimError> {
        self.with(|s| {
            let guild = s.world.guilds.get_mut(&guild_id).ok_or(SimError::Unknown("server"))?;
            let top = guild.roles.iter().map(|r| r.position).max().unwrap_or(0);
            let role = guild.roles.iter_mut().find(|r| r.id == role_id).ok_or(SimError::Unknown("role"))?;
            role.position = top + 1;
            let data = json!({ "guild_id": guild_id.to_string(), "role": payloads::role(role) });
            match self.dispatch(s, guild_id, intents::GUILDS, "GUILD_ROLE_UPDATE", data) {
                Ok(_) | Err(SimError::NoSession) => Ok(()),
                Err(error) => Err(error),
            }
        })
    }

    /// Reads a server as the simulator holds it (for building payloads in tests).
    pub fn with_guild<T>(&self, guild_id: u64, read: impl FnOnce(&Guild) -> T) -> Result<T, SimError> {
        self.with(|s| s.world.guilds.get(&guild_id).map(read).ok_or(SimError::Unknown("server")))
    }

    /// A member's permissions in the server, as Discord computes them.
    pub fn permissions_of(&self, guild_id: u64, user_id: u64) -> Result<u64, SimError> {
        self.with(|s| {
            s.world.guilds.get(&guild_id).map(|g| g.permissions_of(user_id)).ok_or(SimError::Unknown("server"))
        })
    }

    /// The member joins now: GUILD_MEMBER_ADD.
    pub fn join(&self, guild_id: u64, user_id: u64) -> Result<u64, SimError> {
        self.with(|s| {
            let now = s.clock.now_ms();
            let user = s.world.users.get(&user_id).cloned().ok_or(SimError::Unknown("user"))?;
            let guild = s.world.guilds.get_mut(&guild_id).ok_or(SimError::Unknown("server"))?;
            let member = Member {
                user_id,
                nick: None,
                joined_at_ms: now,
                voice_channel: None,
                roles: Vec::new(),
                self_mute: false,
            };
            guild.members.insert(user_id, member.clone());
            let system_channel = guild.channels.first().copied();
            let mut data = payloads::member(&member, &user);
            data["guild_id"] = json!(guild_id.to_string());
            let added = self.dispatch(s, guild_id, intents::GUILD_MEMBERS, "GUILD_MEMBER_ADD", data)?;
            // As Discord does with the server's system channel set and join
            // notices on: "<member> joined the server", authored by the
            // newcomer (message type USER_JOIN, 7).
            match system_channel {
                Some(channel_id) => Ok(self.post(s, guild_id, channel_id, user_id, message_type::USER_JOIN)?.1),
                None => Ok(added),
            }
        })
    }

    /// The member leaves: GUILD_MEMBER_REMOVE (after a VOICE_STATE_UPDATE
    /// out of voice, when they were in a voice channel).
    pub fn leave(&self, guild_id: u64, user_id: u64) -> Result<u64, SimError> {
        self.with(|s| {
            let in_voice =
                s.world.guilds.get(&guild_id).and_then(|g| g.members.get(&user_id)).and_then(|m| m.voice_channel);
            if in_voice.is_some() {
                let data = Self::move_voice(s, guild_id, user_id, None)?;
                self.dispatch(s, guild_id, intents::GUILD_VOICE_STATES, "VOICE_STATE_UPDATE", data)?;
            }
            let guild = s.world.guilds.get_mut(&guild_id).ok_or(SimError::Unknown("server"))?;
            guild.members.remove(&user_id).ok_or(SimError::Unknown("member"))?;
            let user = s.world.users.get(&user_id).ok_or(SimError::Unknown("user"))?;
            let data = json!({ "guild_id": guild_id.to_string(), "user": payloads::user(user) });
            self.dispatch(s, guild_id, intents::GUILD_MEMBERS, "GUILD_MEMBER_REMOVE", data)
        })
    }

    /// The member posts a message in the server's first channel: MESSAGE_CREATE.
    /// Returns the message id.
    pub fn send_message(&self, guild_id: u64, user_id: u64) -> Result<u64, SimError> {
        let channel = self.channel_of(guild_id)?;
        self.send_message_in(guild_id, channel, user_id)
    }

    /// The member posts in a given channel.
    pub fn send_message_in(&self, guild_id: u64, channel_id: u64, user_id: u64) -> Result<u64, SimError> {
        self.send_message_of_type(guild_id, channel_id, user_id, message_type::DEFAULT)
    }

    /// A message of Discord's message `type` (see [`message_type`]) in a
    /// channel, authored by the member: a reply (19) they wrote, or one of
    /// Discord's notices about them (a pin 6, a boost 8, a thread created
    /// 18, …). Returns the message id.
    pub fn send_message_of_type(
        &self,
        guild_id: u64,
        channel_id: u64,
        user_id: u64,
        kind: u8,
    ) -> Result<u64, SimError> {
        self.with(|s| Ok(self.post(s, guild_id, channel_id, user_id, kind)?.0))
    }

    /// Dispatches MESSAGE_CREATE of `kind` by the member; returns the
    /// message's id and the dispatch's sequence.
    fn post(
        &self,
        s: &mut State,
        guild_id: u64,
        channel_id: u64,
        user_id: u64,
        kind: u8,
    ) -> Result<(u64, u64), SimError> {
        let guild = s.world.guilds.get(&guild_id).ok_or(SimError::Unknown("server"))?;
        let member = guild.members.get(&user_id).cloned().ok_or(SimError::Unknown("member"))?;
        let user = s.world.users.get(&user_id).cloned().ok_or(SimError::Unknown("user"))?;
        let id = s.clock.next_id();
        let mut data = payloads::message(id, channel_id, &user, s.clock.now_ms());
        data["guild_id"] = json!(guild_id.to_string());
        data["member"] = payloads::partial_member(&member);
        data["type"] = json!(kind);
        s.world.messages.insert(id, MessageInfo { guild_id, channel_id, author_id: user_id });
        Ok((id, self.dispatch(s, guild_id, intents::GUILD_MESSAGES, "MESSAGE_CREATE", data)?))
    }

    fn reaction_data(
        s: &State,
        message_id: u64,
        user_id: Option<u64>,
        emoji: Option<&str>,
    ) -> Result<(MessageInfo, Value), SimError> {
        let info = *s.world.messages.get(&message_id).ok_or(SimError::Unknown("message"))?;
        let mut data = json!({
            "channel_id": info.channel_id.to_string(),
            "message_id": message_id.to_string(),
            "guild_id": info.guild_id.to_string(),
        });
        if let Some(user_id) = user_id {
            data["user_id"] = json!(user_id.to_string());
            data["burst"] = json!(false);
            data["type"] = json!(0);
        }
        if let Some(e) = emoji {
            data["emoji"] = payloads::emoji(e);
        }
        Ok((info, data))
    }

    /// `user_id` reacts to a message with `emoji` (unicode, or `ID:name` for
    /// a custom one): MESSAGE_REACTION_ADD, carrying `message_author_id`.
    pub fn react(&self, message_id: u64, user_id: u64, emoji: &str) -> Result<u64, SimError> {
        self.with(|s| {
            let (info, mut data) = Self::reaction_data(s, message_id, Some(user_id), Some(emoji))?;
            let guild = s.world.guilds.get(&info.guild_id).ok_or(SimError::Unknown("server"))?;
            let member = guild.members.get(&user_id).ok_or(SimError::Unknown("member"))?;
            let user = s.world.users.get(&user_id).ok_or(SimError::Unknown("user"))?;
            data["member"] = payloads::member(member, user);
            data["message_author_id"] = json!(info.author_id.to_string());
            data["burst_colors"] = json!([]);
            self.dispatch(s, info.guild_id, intents::GUILD_MESSAGE_REACTIONS, "MESSAGE_REACTION_ADD", data)
        })
    }

    /// `user_id` removes their reaction: MESSAGE_REACTION_REMOVE.
    pub fn unreact(&self, message_id: u64, user_id: u64, emoji: &str) -> Result<u64, SimError> {
        self.with(|s| {
            let (info, data) = Self::reaction_data(s, message_id, Some(user_id), Some(emoji))?;
            self.dispatch(s, info.guild_id, intents::GUILD_MESSAGE_REACTIONS, "MESSAGE_REACTION_REMOVE", data)
        })
    }

    /// A moderator clears a message's reactions, all or of one emoji:
    /// MESSAGE_REACTION_REMOVE_ALL or MESSAGE_REACTION_REMOVE_EMOJI.
    pub fn clear_reactions(&self, message_id: u64, emoji: Option<&str>) -> Result<u64, SimError> {
        self.with(|s| {
            let (info, data) = Self::reaction_data(s, message_id, None, emoji)?;
            let event = if emoji.is_some() { "MESSAGE_REACTION_REMOVE_EMOJI" } else { "MESSAGE_REACTION_REMOVE_ALL" };
            self.dispatch(s, info.guild_id, intents::GUILD_MESSAGE_REACTIONS, event, data)
        })
    }

    /// Sends a raw dispatch (any event name and payload) to a server's shard:
    /// for testing how a bot copes with odd input.
    pub fn send_raw_dispatch(&self, guild_id: u64, event: &str, data: Value) -> Result<u64, SimError> {
        self.with(|s| self.dispatch(s, guild_id, 0, event, data))
    }

    /// Waits until `shards` gateway sessions are connected, and the bot has
    /// registered at least one command.
    pub async fn wait_for_bot(&self, shards: u32, timeout: Duration) -> Result<(), SimError> {
        let ready = || {
            self.with(|s| {
                let connected =
                    s.active.values().filter(|id| s.sessions.get(*id).is_some_and(|x| x.connection.is_some())).count();
                connected as u32 >= shards && !s.global_commands.is_empty()
            })
        };
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if ready() {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(SimError::Timeout("the bot to connect"));
            }
        }
    }

    /// Waits until the bot has requested a server's member list `times`
    /// times in all (each answered with GUILD_MEMBERS_CHUNK events).
    pub async fn wait_for_member_request(&self, guild_id: u64, times: u64, timeout: Duration) -> Result<(), SimError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.with(|s| s.member_requests.get(&guild_id).copied().unwrap_or(0) >= times) {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(SimError::Timeout("the bot to request the member list"));
            }
        }
    }

    /// Waits until the bot has identified at least `identifies` times and
    /// resumed at least `resumes` times in all.
    pub async fn wait_for_session_starts(
        &self,
        identifies: u64,
        resumes: u64,
        timeout: Duration,
    ) -> Result<(), SimError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.with(|s| s.identifies >= identifies && s.resumes >= resumes) {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(SimError::Timeout("the bot to start or resume sessions"));
            }
        }
    }

    /// Invokes a slash command as `invocation.user_id` and waits for the
    /// bot's answer (following a deferral to the edited response).
    pub async fn invoke(&self, invocation: Invocation) -> Result<InteractionReply, SimError> {
        let name = invocation.name.clone();
        let receiver = self.with(|s| self.start_interaction(s, &invocation))?;
        match tokio::time::timeout(EDIT_DEADLINE.min(Duration::from_secs(30)), receiver).await {
            Ok(Ok(reply)) => Ok(reply),
            _ => Err(SimError::NoAnswer(name)),
        }
    }

    fn start_interaction(
        &self,
        s: &mut State,
        inv: &Invocation,
    ) -> Result<oneshot::Receiver<InteractionReply>, SimError> {
        let registered = s
            .guild_commands
            .get(&inv.guild_id)
            .into_iter()
            .flatten()
            .chain(s.global_commands.iter())
            .find(|c| c["name"] == inv.name.as_str())
            .cloned();
        let command = match registered {
            Some(c) => c,
            None if inv.unchecked => json!({ "id": s.clock.next_id().to_string(), "name": inv.name, "options": [] }),
            None => return Err(SimError::CommandNotRegistered(inv.name.clone())),
        };
        let user = s.world.users.get(&inv.user_id).cloned().ok_or(SimError::Unknown("user"))?;
        let guild =
            if inv.in_dm { None } else { Some(s.world.guilds.get(&inv.guild_id).ok_or(SimError::Unknown("server"))?) };
        let channel_id = match guild {
            Some(g) => inv.channel_id.or_else(|| g.channels.first().copied()).ok_or(SimError::Unknown("channel"))?,
            None => inv.channel_id.unwrap_or(user.id ^ 0x5A5A),
        };

        if let (Some(guild), false) = (guild, inv.unchecked || inv.permission_override) {
            // Discord's client offers a command only to members holding its
            // default permissions (unless an admin overrode them for the server).
            let needed = command["default_member_permissions"].as_str().and_then(|p| p.parse::<u64>().ok());
            if needed.is_some_and(|needed| guild.permissions_of(inv.user_id) & needed != needed) {
                return Err(SimError::Refused("the member lacks the command's default permissions"));
            }
        }
        let (options, resolved) = crate::options::build(s, &command, inv, guild)?;
        let id = s.clock.next_id();
        let token = format!("aW50ZXJhY3Rpb246{id:x}");
        let mut data = json!({ "id": command["id"], "name": inv.name, "type": 1, "options": options });
        if !resolved.is_empty() {
            data["resolved"] = Value::Object(resolved);
        }
        let mut interaction = json!({
            "id": id.to_string(),
            "application_id": self.shared.application_id.to_string(),
            "type": 2,
            "data": data,
            "channel_id": channel_id.to_string(),
            "token": token,
            "version": 1,
            "app_permissions": guild.map_or(permissions::ALL, |g| g.permissions_of(self.shared.bot.id)).to_string(),
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": 10_485_760,
        });
        match guild {
            Some(guild) => {
                let member = guild.members.get(&inv.user_id).cloned().ok_or(SimError::Unknown("member"))?;
                let mut invoker = payloads::member(&member, &user);
                invoker["permissions"] = json!(guild.permissions_of(inv.user_id).to_string());
                interaction["guild"] = json!({ "id": inv.guild_id.to_string(), "locale": "en-US", "features": [] });
                interaction["guild_id"] = json!(inv.guild_id.to_string());
                interaction["guild_locale"] = json!("en-US");
                interaction["channel"] = payloads::channel(channel_id, inv.guild_id, 0);
                interaction["member"] = invoker;
                interaction["authorizing_integration_owners"] = json!({ "0": inv.guild_id.to_string() });
                interaction["context"] = json!(0);
            }
            None => {
                // A DM with the bot: a `user` instead of a `member`, context 1 (BOT_DM).
                interaction["user"] = payloads::user(&user);
                interaction["channel"] = json!({
                    "id": channel_id.to_string(),
                    "type": 1,
                    "last_message_id": null,
                    "flags": 0,
                    "recipients": [payloads::user(&user)],
                });
                interaction["authorizing_integration_owners"] = json!({ "0": inv.user_id.to_string() });
                interaction["context"] = json!(1);
            }
        }
        let (done, receiver) = oneshot::channel();
        s.interactions.insert(token, Pending::new(id, 2, channel_id, done));
        // Interactions are sent whatever the intents; DMs go to shard 0.
        let route_by = if inv.in_dm { 0 } else { inv.guild_id };
        self.dispatch(s, route_by, 0, "INTERACTION_CREATE", interaction)?;
        Ok(receiver)
    }

    /// Clicks the button `custom_id` on a message the bot sent (`on`, an
    /// answer from [`Simulator::invoke`] or an earlier click), as `user_id`,
    /// and waits for the bot's answer. As in Discord's client, a button that
    /// is missing or disabled cannot be clicked.
    pub async fn click(
        &self,
        guild_id: u64,
        user_id: u64,
        on: &InteractionReply,
        custom_id: &str,
    ) -> Result<InteractionReply, SimError> {
        let button = on.data["components"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|row| row["components"].as_array().into_iter().flatten())
            .find(|c| c["custom_id"] == custom_id)
            .ok_or(SimError::Unknown("button"))?;
        if button["disabled"] == true {
            return Err(SimError::Unknown("enabled button"));
        }
        let receiver = self.with(|s| -> Result<_, SimError> {
            let user = s.world.users.get(&user_id).cloned().ok_or(SimError::Unknown("user"))?;
            let guild = s.world.guilds.get(&guild_id).ok_or(SimError::Unknown("server"))?;
            let member = guild.members.get(&user_id).cloned().ok_or(SimError::Unknown("member"))?;
            let channel_id = guild.channels.first().copied().ok_or(SimError::Unknown("channel"))?;
            let bot = self.shared.bot.clone();
            let (id, message_id, now) = (s.clock.next_id(), s.clock.next_id(), s.clock.now_ms());
            let mut message = payloads::message(message_id, channel_id, &bot, now);
            for key in ["embeds", "components", "flags"] {
                if !on.data[key].is_null() {
                    message[key] = on.data[key].clone();
                }
            }
            message["type"] = json!(20); // CHAT_INPUT_COMMAND: an interaction's answer
            let mut invoker = payloads::member(&member, &user);
            invoker["permissions"] = json!(guild.permissions_of(user_id).to_string());
            let token = format!("aW50ZXJhY3Rpb246{id:x}");
            let interaction = json!({
                "id": id.to_string(),
                "application_id": self.shared.application_id.to_string(),
                "type": 3,
                "data": { "custom_id": custom_id, "component_type": 2 },
                "message": message,
                "guild": { "id": guild_id.to_string(), "locale": "en-US", "features": [] },
                "guild_id": guild_id.to_string(),
                "guild_locale": "en-US",
                "channel": payloads::channel(channel_id, guild_id, 0),
                "channel_id": channel_id.to_string(),
                "member": invoker,
                "token": token,
                "version": 1,
                "app_permissions": guild.permissions_of(self.shared.bot.id).to_string(),
                "locale": "en-US",
                "entitlements": [],
                "authorizing_integration_owners": { "0": guild_id.to_string() },
                "context": 0,
                "attachment_size_limit": 10_485_760,
            });
            let (done, receiver) = oneshot::channel();
            s.interactions.insert(token, Pending::new(id, 3, channel_id, done));
            self.dispatch(s, guild_id, 0, "INTERACTION_CREATE", interaction)?;
            Ok(receiver)
        })?;
        match tokio::time::timeout(EDIT_DEADLINE.min(Duration::from_secs(30)), receiver).await {
            Ok(Ok(reply)) => Ok(reply),
            _ => Err(SimError::NoAnswer(format!("button {custom_id}"))),
        }
    }

    /// Fault: cuts every live gateway connection without a close frame.
    /// Sessions stay resumable; events sent meanwhile are buffered.
    pub fn drop_connections(&self) {
        self.with(|s| {
            for session in s.sessions.values_mut() {
                if let Some(c) = session.connection.take() {
                    let _ = c.tx.send(crate::state::Outgoing::Drop);
                }
            }
        });
    }

    /// Fault: asks every connected session to reconnect (op 7 RECONNECT).
    pub fn send_reconnect(&self) {
        self.send_to_connected(json!({ "op": 7, "d": null, "s": null, "t": null }));
    }

    /// Fault: op 9 INVALID_SESSION to every connected session. When not
    /// `resumable` the sessions are forgotten, so the bot must identify
    /// afresh; events until then reach no one, as on Discord.
    pub fn invalidate_sessions(&self, resumable: bool) {
        self.send_to_connected(json!({ "op": 9, "d": resumable, "s": null, "t": null }));
        if !resumable {
            self.with(|s| {
                s.sessions.clear();
                s.active.clear();
            });
        }
    }

    /// Fault: sends a text frame exactly as given (not JSON, say) to every
    /// connected session, outside the sequence.
    pub fn send_raw_frame(&self, text: &str) {
        self.send_frame_to_connected(text.into());
    }

    fn send_to_connected(&self, payload: Value) {
        self.send_frame_to_connected(payload.to_string().into());
    }

    fn send_frame_to_connected(&self, frame: std::sync::Arc<str>) {
        self.with(|s| {
            for session in s.sessions.values() {
                if let Some(c) = &session.connection {
                    let _ = c.tx.send(crate::state::Outgoing::Text(std::sync::Arc::clone(&frame)));
                }
            }
        });
    }

    /// Fault: answers the next REST requests whose path (after `/api/v10/`)
    /// starts with `path_prefix` with `faults`, one request each, in order.
    pub fn inject_rest_faults(&self, path_prefix: &str, faults: impl IntoIterator<Item = crate::RestFault>) {
        self.with(|s| s.rest_faults.extend(faults.into_iter().map(|f| (path_prefix.to_owned(), f))));
    }

    /// Forgets every REST fault not yet answered.
    pub fn clear_rest_faults(&self) {
        self.with(|s| s.rest_faults.clear());
    }

    /// Fault: stops (or resumes) acknowledging heartbeats, so the connection
    /// looks dead to the bot (a zombie) until it reconnects.
    pub fn set_heartbeat_acks(&self, on: bool) {
        self.with(|s| s.heartbeat_acks = on);
    }

    /// When the last RESUME was accepted, which is when its replay began.
    pub fn last_resume_at(&self) -> Option<std::time::Instant> {
        self.with(|s| s.last_resume_at)
    }

    /// The last sequence number sent to the session of shard `shard`.
    pub fn last_sequence(&self, shard: u32) -> Option<u64> {
        self.with(|s| s.active.get(&shard).and_then(|id| s.sessions.get(id)).map(|session| session.seq))
    }

    /// When each dispatch was last written and each heartbeat came, when
    /// [`crate::SimConfig::record_deliveries`] is on (empty otherwise).
    pub fn delivery_log(&self) -> crate::DeliveryLog {
        self.with(|s| s.deliveries.clone())
    }

    /// Heartbeats received so far.
    pub fn heartbeats(&self) -> u64 {
        self.with(|s| s.heartbeats)
    }

    /// Every avatar fetched from the CDN so far, by anyone (the bot, a
    /// browser): `(user_id, hash, served)`; a stale hash is not served.
    pub fn cdn_fetches(&self) -> Vec<(u64, String, bool)> {
        self.with(|s| s.cdn_fetches.clone())
    }

    /// Every REST request the bot has made so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.with(|s| s.requests.clone())
    }

    /// Waits until the bot has made `count` requests `method path` (the
    /// path after `/api/v10/`), answered or not; returns them.
    pub async fn wait_for_requests(
        &self,
        method: &str,
        path: &str,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<Recorded>, SimError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let made: Vec<Recorded> =
                self.requests().into_iter().filter(|r| r.method == method && r.path == path).collect();
            if made.len() >= count {
                return Ok(made);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(SimError::Timeout("the bot's requests"));
            }
        }
    }

    /// Messages the bot created with Create Message (not interaction
    /// answers), in order, as Discord returned them, plus the
    /// `allowed_mentions` the bot sent.
    pub fn posted_messages(&self) -> Vec<Value> {
        self.with(|s| s.posted.clone())
    }

    /// Waits until the bot has created at least `count` messages.
    pub async fn wait_for_posted(&self, count: usize, timeout: Duration) -> Result<Vec<Value>, SimError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let posted = self.posted_messages();
            if posted.len() >= count {
                return Ok(posted);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(SimError::Timeout("the bot to post messages"));
            }
        }
    }

    /// The global commands the bot registered.
    pub fn registered_commands(&self) -> Vec<Value> {
        self.with(|s| s.global_commands.clone())
    }

    /// IDENTIFYs and RESUMEs received so far.
    pub fn session_starts(&self) -> (u64, u64) {
        self.with(|s| (s.identifies, s.resumes))
    }

    /// Every IDENTIFY so far: its shard and when it arrived, oldest first.
    /// Discord allows one per bucket (`shard % max_concurrency`) every 5 s.
    pub fn identify_log(&self) -> Vec<(u32, std::time::Instant)> {
        self.with(|s| s.identify_log.clone())
    }

    /// Members of a server, for scenario scripts.
    pub fn members_of(&self, guild_id: u64) -> Vec<u64> {
        self.with(|s| s.world.guilds.get(&guild_id).map(|g| g.members.keys().copied().collect()).unwrap_or_default())
    }
}
