//! Versioned schema migrations. Each entry upgrades the schema by one version;
//! `PRAGMA user_version` records how far a database has come.

/// SQLite migrations, in order. Never edit a released entry: add a new one.
pub const SQLITE: &[&str] = &[
    // 1: the first schema.
    "
    CREATE TABLE guilds (
        guild_id      INTEGER PRIMARY KEY,
        name          TEXT NOT NULL DEFAULT '',
        min_xp        INTEGER NOT NULL DEFAULT 15,
        max_xp        INTEGER NOT NULL DEFAULT 25,
        cooldown_secs INTEGER NOT NULL DEFAULT 60
    );
    CREATE TABLE members (
        guild_id           INTEGER NOT NULL,
        user_id            INTEGER NOT NULL,
        username           TEXT NOT NULL DEFAULT '',
        display_name       TEXT NOT NULL DEFAULT '',
        bot                INTEGER NOT NULL DEFAULT 0,
        messages           INTEGER NOT NULL DEFAULT 0,
        reactions_given    INTEGER NOT NULL DEFAULT 0,
        reactions_received INTEGER NOT NULL DEFAULT 0,
        xp                 INTEGER NOT NULL DEFAULT 0,
        last_xp_at         INTEGER,
        joined_at          INTEGER,
        left_at            INTEGER,
        PRIMARY KEY (guild_id, user_id)
    ) WITHOUT ROWID;
    CREATE INDEX members_by_xp ON members (guild_id, xp DESC, user_id)
        WHERE left_at IS NULL AND bot = 0 AND xp > 0;
    CREATE TABLE membership_log (
        guild_id INTEGER NOT NULL,
        user_id  INTEGER NOT NULL,
        change   TEXT NOT NULL CHECK (change IN ('join', 'leave')),
        at       INTEGER NOT NULL,
        PRIMARY KEY (guild_id, user_id, at, change)
    ) WITHOUT ROWID;
    CREATE TABLE counted_reactions (
        message_id INTEGER NOT NULL,
        user_id    INTEGER NOT NULL,
        emoji      TEXT NOT NULL,
        guild_id   INTEGER NOT NULL,
        author_id  INTEGER NOT NULL,
        PRIMARY KEY (message_id, user_id, emoji)
    ) WITHOUT ROWID;
    CREATE TABLE shard_positions (
        shard_id    INTEGER PRIMARY KEY,
        shard_count INTEGER NOT NULL,
        session_id  TEXT NOT NULL,
        sequence    INTEGER NOT NULL,
        resume_url  TEXT NOT NULL
    );
    ",
    // 2: servers choose whether their leaderboard is on the web page.
    "ALTER TABLE guilds ADD COLUMN web_public INTEGER NOT NULL DEFAULT 0;",
    // 3: members choose their rank card's colour (one choice across servers).
    "CREATE TABLE card_prefs (user_id INTEGER PRIMARY KEY, accent INTEGER NOT NULL);",
    // 4: each server's activity per UTC day, written with the counts. Joins
    // and leaves already logged are carried over; earlier messages cannot be.
    "
    CREATE TABLE guild_days (
        guild_id INTEGER NOT NULL,
        day      INTEGER NOT NULL,
        messages INTEGER NOT NULL DEFAULT 0,
        xp       INTEGER NOT NULL DEFAULT 0,
        joins    INTEGER NOT NULL DEFAULT 0,
        leaves   INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (guild_id, day)
    ) WITHOUT ROWID;
    INSERT INTO guild_days (guild_id, day, joins, leaves)
        SELECT guild_id, at / 86400000, SUM(change = 'join'), SUM(change = 'leave')
        FROM membership_log WHERE at >= 0 GROUP BY guild_id, at / 86400000;
    ",
    // 5: each member's messages and XP per UTC day. Keyed by day before
    // member, so a batch's writes for today sit together.
    "
    CREATE TABLE member_days (
        guild_id INTEGER NOT NULL,
        day      INTEGER NOT NULL,
        user_id  INTEGER NOT NULL,
        messages INTEGER NOT NULL DEFAULT 0,
        xp       INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (guild_id, day, user_id)
    ) WITHOUT ROWID;
    ",
    // 6: reactions per day. A counted reaction remembers the day it was
    // counted on, so removing it takes it off that day; reactions counted
    // before this version have no day and are taken off no day.
    "
    ALTER TABLE counted_reactions ADD COLUMN day INTEGER;
    ALTER TABLE member_days ADD COLUMN reactions_given INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE member_days ADD COLUMN reactions_received INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE guild_days ADD COLUMN reactions INTEGER NOT NULL DEFAULT 0;
    ",
    // 7: time in voice. Open sessions are kept so a restart neither loses
    // nor repeats them; the AFK channel's time does not count.
    "
    ALTER TABLE guilds ADD COLUMN afk_channel_id INTEGER;
    ALTER TABLE members ADD COLUMN voice_ms INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE member_days ADD COLUMN voice_ms INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE guild_days ADD COLUMN voice_ms INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE voice_sessions (
        guild_id INTEGER NOT NULL,
        user_id  INTEGER NOT NULL,
        since    INTEGER NOT NULL,
        PRIMARY KEY (guild_id, user_id)
    ) WITHOUT ROWID;
    ",
    // 8: members' avatar hashes, so the web page can show their pictures.
    "ALTER TABLE members ADD COLUMN avatar TEXT;",
    // 9: when each shard's position was committed, so after a gap Discord
    // could not replay Tally knows since when it was not watching.
    "ALTER TABLE shard_positions ADD COLUMN committed_at INTEGER NOT NULL DEFAULT 0;",
    // 10: leveling settings (one JSON document a server: the curve, no-XP
    // channels and roles, multipliers, announcements), members' own
    // choice about level-up pings, and the outbox of level-up
    // announcements, written in the batch that found the level-up and
    // marked sent once Discord has the message.
    "
    ALTER TABLE guilds ADD COLUMN leveling TEXT;
    CREATE TABLE member_prefs (
        guild_id INTEGER NOT NULL,
        user_id  INTEGER NOT NULL,
        pings    INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (guild_id, user_id)
    ) WITHOUT ROWID;
    CREATE TABLE levelups (
        guild_id   INTEGER NOT NULL,
        user_id    INTEGER NOT NULL,
        level      INTEGER NOT NULL,
        old_level  INTEGER NOT NULL,
        xp         INTEGER NOT NULL,
        channel_id INTEGER,
        created_at INTEGER NOT NULL,
        sent_at    INTEGER,
        PRIMARY KEY (guild_id, user_id, level)
    ) WITHOUT ROWID;
    CREATE INDEX levelups_unsent ON levelups (created_at) WHERE sent_at IS NULL;
    ",
    // 11: the audit log of admins' XP changes (`/xp`).
    "
    CREATE TABLE xp_audit (
        guild_id       INTEGER NOT NULL,
        interaction_id INTEGER NOT NULL,
        target_id      INTEGER NOT NULL,
        at             INTEGER NOT NULL,
        by_id          INTEGER NOT NULL,
        action         TEXT NOT NULL,
        amount         INTEGER NOT NULL,
        before         INTEGER NOT NULL,
        after          INTEGER NOT NULL,
        PRIMARY KEY (guild_id, interaction_id, target_id)
    ) WITHOUT ROWID;
    CREATE INDEX xp_audit_by_time ON xp_audit (guild_id, at DESC);
    ",
    // 12: role rewards: the members whose reward roles the role task must
    // bring in line, and the roles Tally found it cannot give (told once).
    "
    CREATE TABLE reward_queue (
        guild_id  INTEGER NOT NULL,
        user_id   INTEGER NOT NULL,
        queued_at INTEGER NOT NULL,
        PRIMARY KEY (guild_id, user_id)
    ) WITHOUT ROWID;
    CREATE INDEX reward_queue_by_time ON reward_queue (queued_at);
    CREATE TABLE reward_problems (
        guild_id   INTEGER NOT NULL,
        role_id    INTEGER NOT NULL,
        noticed_at INTEGER NOT NULL,
        PRIMARY KEY (guild_id, role_id)
    ) WITHOUT ROWID;
    ",
    // 13: the outbox of join/leave posts for servers' log channels.
    "
    CREATE TABLE log_posts (
        guild_id   INTEGER NOT NULL,
        user_id    INTEGER NOT NULL,
        change     TEXT NOT NULL CHECK (change IN ('join', 'leave')),
        at         INTEGER NOT NULL,
        channel_id INTEGER NOT NULL,
        joined_at  INTEGER,
        sent_at    INTEGER,
        PRIMARY KEY (guild_id, user_id, at, change)
    ) WITHOUT ROWID;
    CREATE INDEX log_posts_unsent ON log_posts (at) WHERE sent_at IS NULL;
    ",
    // 14: voice XP: an open session's channel, whether the member is
    // self-muted or deafened, and since when they earn voice XP.
    "
    ALTER TABLE voice_sessions ADD COLUMN channel_id INTEGER;
    ALTER TABLE voice_sessions ADD COLUMN muted INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE voice_sessions ADD COLUMN earning_since INTEGER;
    ",
    // 15: requests the command line leaves for the ledger (imports), each
    // applied once: claimed in the transaction that applies it.
    "
    CREATE TABLE admin_requests (
        id         INTEGER PRIMARY KEY,
        guild_id   INTEGER NOT NULL,
        kind       TEXT NOT NULL,
        digest     TEXT NOT NULL,
        payload    TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        picked_at  INTEGER,
        done_at    INTEGER,
        UNIQUE (guild_id, kind, digest)
    );
    CREATE INDEX admin_requests_pending ON admin_requests (id) WHERE done_at IS NULL;
    ",
    // 16: members' privacy (hidden from boards; not counted), and when the
    // bot was removed from a server (its data is purged after retention).
    "
    ALTER TABLE members ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE members ADD COLUMN stopped INTEGER NOT NULL DEFAULT 0;
    DROP INDEX members_by_xp;
    CREATE INDEX members_by_xp ON members (guild_id, xp DESC, user_id)
        WHERE left_at IS NULL AND bot = 0 AND hidden = 0 AND xp > 0;
    ALTER TABLE guilds ADD COLUMN removed_at INTEGER;
    ",
    // 17: whole-server reward checks, swept into the reward queue in
    // pieces by the role task: where each sweep has got to.
    "
    CREATE TABLE reward_sweeps (
        guild_id   INTEGER PRIMARY KEY,
        queued_at  INTEGER NOT NULL,
        after_user INTEGER NOT NULL
    );
    ",
    // 18: the dashboard's sign-ins: logins in progress and sessions, by
    // the SHA-256 of the ids the browser holds.
    "
    CREATE TABLE web_logins (
        state_hash   TEXT PRIMARY KEY,
        browser_hash TEXT NOT NULL,
        verifier     TEXT NOT NULL,
        return_to    TEXT NOT NULL,
        created_at   INTEGER NOT NULL
    );
    CREATE TABLE web_sessions (
        id_hash          TEXT PRIMARY KEY,
        user_id          INTEGER NOT NULL,
        user_name        TEXT NOT NULL,
        access_token     TEXT NOT NULL,
        refresh_token    TEXT NOT NULL,
        token_expires_at INTEGER NOT NULL,
        guilds           TEXT NOT NULL,
        guilds_read_at   INTEGER NOT NULL,
        created_at       INTEGER NOT NULL,
        expires_at       INTEGER NOT NULL
    );
    CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at);
    ",
];
