//! PostgreSQL schema migrations. Each entry upgrades the schema by one
//! version; `tally_schema.version` records how far a database has come.
//! The first entry is the whole schema as SQLite has it after its ninth.

/// PostgreSQL migrations, in order. Never edit a released entry: add a new one.
pub const POSTGRES: &[&str] = &[
    // 1: the schema of SQLite's version 9, plus the identify turns that
    // several processes share.
    "
    CREATE TABLE guilds (
        guild_id       BIGINT PRIMARY KEY,
        name           TEXT NOT NULL DEFAULT '',
        min_xp         INTEGER NOT NULL DEFAULT 15,
        max_xp         INTEGER NOT NULL DEFAULT 25,
        cooldown_secs  INTEGER NOT NULL DEFAULT 60,
        web_public     BOOLEAN NOT NULL DEFAULT false,
        afk_channel_id BIGINT
    );
    CREATE TABLE members (
        guild_id           BIGINT NOT NULL,
        user_id            BIGINT NOT NULL,
        username           TEXT NOT NULL DEFAULT '',
        display_name       TEXT NOT NULL DEFAULT '',
        bot                BOOLEAN NOT NULL DEFAULT false,
        messages           BIGINT NOT NULL DEFAULT 0,
        reactions_given    BIGINT NOT NULL DEFAULT 0,
        reactions_received BIGINT NOT NULL DEFAULT 0,
        xp                 BIGINT NOT NULL DEFAULT 0,
        last_xp_at         BIGINT,
        joined_at          BIGINT,
        left_at            BIGINT,
        voice_ms           BIGINT NOT NULL DEFAULT 0,
        avatar             TEXT,
        PRIMARY KEY (guild_id, user_id)
    ) WITH (fillfactor = 90);
    CREATE INDEX members_by_xp ON members (guild_id, xp DESC, user_id)
        WHERE left_at IS NULL AND NOT bot AND xp > 0;
    CREATE TABLE membership_log (
        guild_id BIGINT NOT NULL,
        user_id  BIGINT NOT NULL,
        change   TEXT NOT NULL CHECK (change IN ('join', 'leave')),
        at       BIGINT NOT NULL,
        PRIMARY KEY (guild_id, user_id, at, change)
    );
    CREATE TABLE counted_reactions (
        message_id BIGINT NOT NULL,
        user_id    BIGINT NOT NULL,
        emoji      TEXT NOT NULL,
        guild_id   BIGINT NOT NULL,
        author_id  BIGINT NOT NULL,
        day        BIGINT,
        PRIMARY KEY (message_id, user_id, emoji)
    );
    CREATE TABLE shard_positions (
        shard_id     INTEGER PRIMARY KEY,
        shard_count  INTEGER NOT NULL,
        session_id   TEXT NOT NULL,
        sequence     BIGINT NOT NULL,
        resume_url   TEXT NOT NULL,
        committed_at BIGINT NOT NULL DEFAULT 0
    );
    CREATE TABLE card_prefs (user_id BIGINT PRIMARY KEY, accent BIGINT NOT NULL);
    CREATE TABLE guild_days (
        guild_id  BIGINT NOT NULL,
        day       BIGINT NOT NULL,
        messages  BIGINT NOT NULL DEFAULT 0,
        xp        BIGINT NOT NULL DEFAULT 0,
        joins     BIGINT NOT NULL DEFAULT 0,
        leaves    BIGINT NOT NULL DEFAULT 0,
        reactions BIGINT NOT NULL DEFAULT 0,
        voice_ms  BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (guild_id, day)
    );
    CREATE TABLE member_days (
        guild_id           BIGINT NOT NULL,
        day                BIGINT NOT NULL,
        user_id            BIGINT NOT NULL,
        messages           BIGINT NOT NULL DEFAULT 0,
        xp                 BIGINT NOT NULL DEFAULT 0,
        reactions_given    BIGINT NOT NULL DEFAULT 0,
        reactions_received BIGINT NOT NULL DEFAULT 0,
        voice_ms           BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (guild_id, day, user_id)
    );
    CREATE TABLE voice_sessions (
        guild_id BIGINT NOT NULL,
        user_id  BIGINT NOT NULL,
        since    BIGINT NOT NULL,
        PRIMARY KEY (guild_id, user_id)
    );
    CREATE TABLE identify_turns (
        bucket  INTEGER PRIMARY KEY,
        last_at TIMESTAMPTZ NOT NULL
    );
    ",
    // 2: as SQLite's version 10: leveling settings, members' ping
    // choice, the outbox of level-up announcements.
    "
    ALTER TABLE guilds ADD COLUMN leveling TEXT;
    CREATE TABLE member_prefs (
        guild_id BIGINT NOT NULL,
        user_id  BIGINT NOT NULL,
        pings    BOOLEAN NOT NULL DEFAULT true,
        PRIMARY KEY (guild_id, user_id)
    );
    CREATE TABLE levelups (
        guild_id   BIGINT NOT NULL,
        user_id    BIGINT NOT NULL,
        level      INTEGER NOT NULL,
        old_level  INTEGER NOT NULL,
        xp         BIGINT NOT NULL,
        channel_id BIGINT,
        created_at BIGINT NOT NULL,
        sent_at    BIGINT,
        PRIMARY KEY (guild_id, user_id, level)
    );
    CREATE INDEX levelups_unsent ON levelups (created_at) WHERE sent_at IS NULL;
    ",
    // 3: as SQLite's version 11: the XP audit log.
    "
    CREATE TABLE xp_audit (
        guild_id       BIGINT NOT NULL,
        interaction_id BIGINT NOT NULL,
        target_id      BIGINT NOT NULL,
        at             BIGINT NOT NULL,
        by_id          BIGINT NOT NULL,
        action         TEXT NOT NULL,
        amount         BIGINT NOT NULL,
        before         BIGINT NOT NULL,
        after          BIGINT NOT NULL,
        PRIMARY KEY (guild_id, interaction_id, target_id)
    );
    CREATE INDEX xp_audit_by_time ON xp_audit (guild_id, at DESC);
    ",
    // 4: as SQLite's version 12: the reward queue and reward problems.
    "
    CREATE TABLE reward_queue (
        guild_id  BIGINT NOT NULL,
        user_id   BIGINT NOT NULL,
        queued_at BIGINT NOT NULL,
        PRIMARY KEY (guild_id, user_id)
    );
    CREATE INDEX reward_queue_by_time ON reward_queue (queued_at);
    CREATE TABLE reward_problems (
        guild_id   BIGINT NOT NULL,
        role_id    BIGINT NOT NULL,
        noticed_at BIGINT NOT NULL,
        PRIMARY KEY (guild_id, role_id)
    );
    ",
    // 5: as SQLite's version 13: the join/leave post outbox.
    "
    CREATE TABLE log_posts (
        guild_id   BIGINT NOT NULL,
        user_id    BIGINT NOT NULL,
        change     TEXT NOT NULL CHECK (change IN ('join', 'leave')),
        at         BIGINT NOT NULL,
        channel_id BIGINT NOT NULL,
        joined_at  BIGINT,
        sent_at    BIGINT,
        PRIMARY KEY (guild_id, user_id, at, change)
    );
    CREATE INDEX log_posts_unsent ON log_posts (at) WHERE sent_at IS NULL;
    ",
    // 6: as SQLite's version 14: voice XP state on open sessions.
    "
    ALTER TABLE voice_sessions ADD COLUMN channel_id BIGINT;
    ALTER TABLE voice_sessions ADD COLUMN muted BOOLEAN NOT NULL DEFAULT false;
    ALTER TABLE voice_sessions ADD COLUMN earning_since BIGINT;
    ",
    // 7: as SQLite's version 15: requests for the ledger.
    "
    CREATE TABLE admin_requests (
        id         BIGSERIAL PRIMARY KEY,
        guild_id   BIGINT NOT NULL,
        kind       TEXT NOT NULL,
        digest     TEXT NOT NULL,
        payload    TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        picked_at  BIGINT,
        done_at    BIGINT,
        UNIQUE (guild_id, kind, digest)
    );
    CREATE INDEX admin_requests_pending ON admin_requests (id) WHERE done_at IS NULL;
    ",
    // 8: as SQLite's version 16: privacy and retention.
    "
    ALTER TABLE members ADD COLUMN hidden BOOLEAN NOT NULL DEFAULT false,
        ADD COLUMN stopped BOOLEAN NOT NULL DEFAULT false;
    DROP INDEX members_by_xp;
    CREATE INDEX members_by_xp ON members (guild_id, xp DESC, user_id)
        WHERE left_at IS NULL AND NOT bot AND NOT hidden AND xp > 0;
    ALTER TABLE guilds ADD COLUMN removed_at BIGINT;
    ",
    // 9: as SQLite's version 17: whole-server reward sweeps.
    "
    CREATE TABLE reward_sweeps (
        guild_id   BIGINT PRIMARY KEY,
        queued_at  BIGINT NOT NULL,
        after_user BIGINT NOT NULL
    );
    ",
    // 10: as SQLite's version 18: the dashboard's sign-ins.
    "
    CREATE TABLE web_logins (
        state_hash   TEXT PRIMARY KEY,
        browser_hash TEXT NOT NULL,
        verifier     TEXT NOT NULL,
        return_to    TEXT NOT NULL,
        created_at   BIGINT NOT NULL
    );
    CREATE TABLE web_sessions (
        id_hash          TEXT PRIMARY KEY,
        user_id          BIGINT NOT NULL,
        user_name        TEXT NOT NULL,
        access_token     TEXT NOT NULL,
        refresh_token    TEXT NOT NULL,
        token_expires_at BIGINT NOT NULL,
        guilds           TEXT NOT NULL,
        guilds_read_at   BIGINT NOT NULL,
        created_at       BIGINT NOT NULL,
        expires_at       BIGINT NOT NULL
    );
    CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at);
    ",
];
