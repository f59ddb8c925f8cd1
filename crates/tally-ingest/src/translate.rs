//! Gateway events in, [`Activity`] out. Pure: no network, no database, no
//! clock (the caller passes the time of receipt), so it is tested on its own.

use twilight_model::channel::message::EmojiReactionType;
use twilight_model::gateway::event::Event;
use twilight_model::gateway::payload::incoming::GuildCreate;
use twilight_model::guild::{Member, PartialMember};
use twilight_model::user::User;
use twilight_model::util::Timestamp;

use crate::domain::activity::is_written_by_member;
use crate::domain::{Activity, MemberProfile, ReactionKey};

/// Translates one gateway event into the activity it records. Events Tally
/// does not count give an empty list. `received_at_ms` dates events whose
/// payload carries no time of its own (leaves, reactions).
pub fn translate(event: &Event, received_at_ms: i64) -> Vec<Activity> {
    match event {
        Event::GuildCreate(create) => match create.as_ref() {
            GuildCreate::Available(guild) => {
                let mut out = Vec::with_capacity(guild.members.len() + 1);
                let guild_id = guild.id.get();
                out.push(Activity::GuildSeen {
                    guild_id,
                    name: guild.name.clone(),
                    afk_channel_id: guild.afk_channel_id.map(|c| c.get()),
                });
                out.extend(guild.members.iter().map(|m| Activity::MemberSeen(from_member(guild_id, m))));
                let in_voice = guild
                    .voice_states
                    .iter()
                    .filter_map(|v| Some((v.user_id.get(), v.channel_id?.get(), v.self_mute || v.self_deaf)))
                    .collect();
                out.push(Activity::VoiceRoster { guild_id, in_voice, at_ms: received_at_ms, unseen_since: None });
                out
            }
            GuildCreate::Unavailable(_) => Vec::new(),
        },
        Event::Ready(ready) => {
            let (shard_id, shard_count) = ready.shard.map_or((0, 1), |s| (s.number(), s.total()));
            vec![Activity::ShardGuilds {
                shard_id,
                shard_count,
                listed: ready.guilds.iter().map(|g| g.id.get()).collect(),
                at_ms: received_at_ms,
            }]
        }
        // Without `unavailable` the bot was removed; with it, an outage,
        // which never starts the retention clock.
        Event::GuildDelete(delete) if delete.unavailable != Some(true) => {
            vec![Activity::GuildRemoved { guild_id: delete.id.get(), at_ms: received_at_ms }]
        }
        Event::GuildUpdate(update) => {
            vec![Activity::GuildSeen {
                guild_id: update.id.get(),
                name: update.name.clone(),
                afk_channel_id: update.afk_channel_id.map(|c| c.get()),
            }]
        }
        Event::MemberChunk(chunk) => {
            // The shard fills in when its request was made (the chunk's nonce).
            let listed =
                |m| Activity::MemberListed { profile: from_member(chunk.guild_id.get(), m), requested_at_ms: None };
            chunk.members.iter().map(listed).collect()
        }
        Event::MemberAdd(add) => vec![Activity::MemberJoined(from_member(add.guild_id.get(), &add.member))],
        Event::MemberUpdate(update) => vec![Activity::MemberSeen(profile(
            update.guild_id.get(),
            &update.user,
            update.nick.as_deref(),
            update.joined_at,
        ))],
        Event::MemberRemove(remove) => vec![Activity::MemberLeft {
            guild_id: remove.guild_id.get(),
            user_id: remove.user.id.get(),
            at_ms: received_at_ms,
        }],
        Event::MessageCreate(message) => {
            // Webhook posts are not members; DMs are not in a server; Discord's
            // own notices (joins, boosts, pins) are no one's message.
            let (Some(guild_id), None) = (message.guild_id, message.webhook_id) else {
                return Vec::new();
            };
            if !is_written_by_member(u8::from(message.kind)) {
                return Vec::new();
            }
            let member = message.member.as_ref();
            vec![Activity::Message {
                author: from_partial_member(guild_id.get(), &message.author, member),
                message_id: message.id.get(),
                channel_id: message.channel_id.get(),
                roles: member.map(|m| m.roles.iter().map(|r| r.get()).collect()).unwrap_or_default(),
            }]
        }
        Event::ReactionAdd(reaction) => {
            let Some(guild_id) = reaction.guild_id else { return Vec::new() };
            vec![Activity::ReactionAdded {
                guild_id: guild_id.get(),
                key: ReactionKey {
                    message_id: reaction.message_id.get(),
                    user_id: reaction.user_id.get(),
                    emoji: emoji_key(&reaction.emoji),
                },
                reactor_is_bot: reaction.member.as_ref().is_some_and(|m| m.user.bot),
                author_id: reaction.message_author_id.map(|id| id.get()),
                at_ms: received_at_ms,
            }]
        }
        Event::ReactionRemove(reaction) => {
            let Some(guild_id) = reaction.guild_id else { return Vec::new() };
            vec![Activity::ReactionRemoved {
                guild_id: guild_id.get(),
                key: ReactionKey {
                    message_id: reaction.message_id.get(),
                    user_id: reaction.user_id.get(),
                    emoji: emoji_key(&reaction.emoji),
                },
            }]
        }
        Event::ReactionRemoveAll(clear) => match clear.guild_id {
            Some(guild_id) => vec![Activity::ReactionsCleared {
                guild_id: guild_id.get(),
                message_id: clear.message_id.get(),
                emoji: None,
            }],
            None => Vec::new(),
        },
        Event::VoiceStateUpdate(update) => {
            let state = &update.0;
            let Some(guild_id) = state.guild_id else { return Vec::new() };
            // The member object keeps names current, like a message's does;
            // in a channel, they are in the server (leaving voice may come
            // with leaving the server, so it shows nothing).
            let seen = state
                .member
                .as_ref()
                .filter(|_| state.channel_id.is_some())
                .map(|m| Activity::MemberSeen(from_member(guild_id.get(), m)));
            let changed = Activity::VoiceChanged {
                guild_id: guild_id.get(),
                user_id: state.user_id.get(),
                channel_id: state.channel_id.map(|c| c.get()),
                bot: state.member.as_ref().is_some_and(|m| m.user.bot),
                muted: state.self_mute || state.self_deaf,
                at_ms: received_at_ms,
            };
            seen.into_iter().chain([changed]).collect()
        }
        Event::ReactionRemoveEmoji(clear) => vec![Activity::ReactionsCleared {
            guild_id: clear.guild_id.get(),
            message_id: clear.message_id.get(),
            emoji: Some(emoji_key(&clear.emoji)),
        }],
        Event::InteractionCreate(interaction) => super::admin::translate_interaction(interaction),
        _ => Vec::new(),
    }
}

/// The key a reaction's emoji is remembered by: custom emojis by id (their
/// name can change), unicode emojis by themselves.
pub fn emoji_key(emoji: &EmojiReactionType) -> String {
    match emoji {
        EmojiReactionType::Custom { id, .. } => format!("id:{id}"),
        EmojiReactionType::Unicode { name } => name.clone(),
    }
}

fn from_member(guild_id: u64, member: &Member) -> MemberProfile {
    profile(guild_id, &member.user, member.nick.as_deref(), member.joined_at)
}

fn from_partial_member(guild_id: u64, author: &User, member: Option<&PartialMember>) -> MemberProfile {
    profile(guild_id, author, member.and_then(|m| m.nick.as_deref()), member.and_then(|m| m.joined_at))
}

fn profile(guild_id: u64, user: &User, nick: Option<&str>, joined_at: Option<Timestamp>) -> MemberProfile {
    let display_name = nick.or(user.global_name.as_deref()).unwrap_or(&user.name).to_owned();
    MemberProfile {
        guild_id,
        user_id: user.id.get(),
        username: user.name.clone(),
        display_name,
        bot: user.bot,
        avatar: user.avatar.map(|hash| hash.to_string()),
        joined_at_ms: joined_at.map(|t| t.as_micros() / 1000),
    }
}

#[cfg(test)]
mod tests;
