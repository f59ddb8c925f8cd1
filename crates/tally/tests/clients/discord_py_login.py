"""discord.py (the library Tally's original design used) against `tally sim`:
log in, receive READY and GUILD_CREATE, send a message, list the members.
Prints one JSON line of what it saw; exits 1 on any error or after 60 s.

Environment: DISCORD_API_BASE (the simulator, e.g. http://127.0.0.1:9000)
and DISCORD_TOKEN.
"""

import asyncio
import json
import os
import sys

import urllib.request

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

# discord.py's two settings for where Discord is: the REST base, and the
# gateway it first connects to (the simulator's, from GET /gateway).
Route.BASE = os.environ["DISCORD_API_BASE"].rstrip("/") + "/api/v10"
with urllib.request.urlopen(Route.BASE + "/gateway", timeout=10) as answer:
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(json.load(answer)["url"])

intents = discord.Intents.default()
intents.members = True
client = discord.Client(intents=intents)
seen = {"events": []}


@client.event
async def on_socket_event_type(event_type):
    if event_type in ("READY", "GUILD_CREATE") and event_type not in seen["events"]:
        seen["events"].append(event_type)


@client.event
async def on_ready():
    try:
        guild = client.guilds[0]
        channel = guild.text_channels[0]
        message = await channel.send("hello from discord.py")
        listed = [member async for member in guild.fetch_members(limit=None)]
        seen.update(
            user_id=str(client.user.id),
            application_id=str(client.application_id),
            guilds=[str(g.id) for g in client.guilds],
            channel_id=str(channel.id),
            message_id=str(message.id),
            message_content=message.content,
            message_author=str(message.author.id),
            member_count=guild.member_count,
            chunked=len(guild.members),
            listed=len(listed),
            listed_unique=len({m.id for m in listed}),
        )
    except Exception as error:  # reported, then the run fails
        seen["error"] = repr(error)
    finally:
        await client.close()


async def main():
    async with client:
        await asyncio.wait_for(client.start(os.environ["DISCORD_TOKEN"]), timeout=60)


asyncio.run(main())
print(json.dumps(seen))
sys.exit(1 if "error" in seen or "listed" not in seen else 0)
