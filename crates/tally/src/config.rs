//! Settings from the environment, `.env` and command-line flags, checked up
//! front so a mistake is one clear line naming the variable, not a trace.

use std::fmt;
use std::net::SocketAddr;

use crate::domain::shards::ShardRange;

/// Where Discord is when nothing else is said.
pub const DEFAULT_API_BASE: &str = "https://discord.com";
/// Where the database is when nothing else is said.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://tally.db";

/// A bot token. Its `Debug` and `Display` never show the secret.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// Wraps a token, trimming whitespace and a leading `Bot ` someone pasted.
    pub fn new(raw: &str) -> Self {
        let raw = raw.trim();
        Self(raw.strip_prefix("Bot ").unwrap_or(raw).to_owned())
    }

    /// The secret itself, for the Discord clients only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// A database URL. Its `Debug` and `Display` show it without the user and
/// password (`postgres://…@db.internal/tally`), so a logged or printed
/// configuration never carries the database's password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL as given.
    pub fn new(url: &str) -> Self {
        Self(url.to_owned())
    }

    /// The URL itself, credentials included, for opening the database only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", crate::store::without_credentials(&self.0))
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::store::without_credentials(&self.0))
    }
}

/// A configuration mistake, named by the variable it concerns.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    /// The environment variable (or flag) at fault.
    pub variable: &'static str,
    /// What is wrong with it, and how to fix it.
    pub problem: String,
}

/// Where the REST API lives, split the way the Discord clients want it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiBase {
    /// `http` or `https`.
    pub scheme: String,
    /// `host` or `host:port`.
    pub authority: String,
}

impl ApiBase {
    /// Parses `DISCORD_API_BASE`: a scheme and host (and port), nothing more.
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        let bad = |why: &str| ConfigError {
            variable: "DISCORD_API_BASE",
            problem: format!(
                "{why} (got {raw:?}; expected something like https://discord.com or http://127.0.0.1:9000)"
            ),
        };
        let raw = raw.trim().trim_end_matches('/');
        let (scheme, rest) = raw.split_once("://").ok_or_else(|| bad("missing http:// or https://"))?;
        if scheme != "http" && scheme != "https" {
            return Err(bad("the scheme must be http or https"));
        }
        if rest.is_empty() || rest.contains('/') || rest.contains('?') || rest.contains('@') {
            return Err(bad("give only the scheme, host and port, no path"));
        }
        Ok(Self { scheme: scheme.to_owned(), authority: rest.to_owned() })
    }

    /// True for Discord itself, where the clients need no redirection.
    pub fn is_discord(&self) -> bool {
        self.scheme == "https" && self.authority == "discord.com"
    }
}

impl fmt::Display for ApiBase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.authority)
    }
}

/// Everything `tally run` needs.
#[derive(Debug, Clone)]
pub struct BotConfig {
    /// The bot's token.
    pub token: Token,
    /// Where the database is (`sqlite://PATH`, `postgres://…`, `mongodb://…`).
    pub database_url: DatabaseUrl,
    /// Where Discord's REST API is.
    pub api_base: ApiBase,
    /// Where the web leaderboard listens; None turns it off.
    pub web_addr: Option<SocketAddr>,
    /// The dashboard's sign-in with Discord (off without a client secret).
    pub dashboard: crate::web::dashboard::Settings,
    /// Where `/metrics` (and `/healthz`) listen for the operator's
    /// monitoring, apart from the public pages; None turns it off.
    pub metrics_addr: Option<SocketAddr>,
    /// Where avatars are fetched from (Discord's CDN, or a simulator).
    pub cdn_base: String,
    /// The shards this process runs; None: all of Discord's recommended count.
    pub shards: Option<ShardRange>,
    /// How long a server's data is kept after the bot is removed from it
    /// (`TALLY_RETENTION_DAYS`).
    pub retention: std::time::Duration,
}

/// Days a server's data is kept after the bot is removed, unless configured.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;

impl BotConfig {
    /// Checks raw settings; the first mistake found is returned.
    pub fn from_parts(token: Option<&str>, database_url: &str, api_base: &str) -> Result<Self, ConfigError> {
        let token = match token.map(str::trim) {
            None | Some("") => {
                return Err(ConfigError {
                    variable: "DISCORD_TOKEN",
                    problem: "not set: put your bot's token in the environment or in .env \
                              (Developer Portal > your application > Bot > Reset Token), \
                              or try `tally demo`, which needs none"
                        .into(),
                })
            }
            Some(t) if t.chars().any(char::is_whitespace) && !t.starts_with("Bot ") => {
                return Err(ConfigError {
                    variable: "DISCORD_TOKEN",
                    problem: "contains spaces; paste the token alone".into(),
                })
            }
            Some(t) => Token::new(t),
        };
        crate::store::Database::from_url(database_url)
            .map_err(|e| ConfigError { variable: "DATABASE_URL", problem: e.to_string() })?;
        Ok(Self {
            token,
            database_url: DatabaseUrl::new(database_url),
            api_base: ApiBase::parse(api_base)?,
            web_addr: None,
            metrics_addr: None,
            dashboard: Default::default(),
            cdn_base: crate::discord::avatars::DEFAULT_CDN_BASE.to_owned(),
            retention: std::time::Duration::from_secs(u64::from(DEFAULT_RETENTION_DAYS) * 86_400),
            shards: None,
        })
    }

    /// Runs only the shards `range` (like `0-3`) of `total`, for several
    /// processes sharing one PostgreSQL database. Both or neither must be
    /// given; a SQLite file belongs to one process, which runs every shard.
    pub fn with_shards(mut self, range: Option<&str>, total: Option<u32>) -> Result<Self, ConfigError> {
        let (range, total) = match (range, total) {
            (None, None) => return Ok(self),
            (Some(range), Some(total)) => (range, total),
            (Some(_), None) => {
                return Err(ConfigError {
                    variable: "TALLY_TOTAL_SHARDS",
                    problem: "not set: with TALLY_SHARDS (--shards), say how many shards all processes run \
                              together (--total-shards), the same number in every process"
                        .into(),
                })
            }
            (None, Some(_)) => {
                return Err(ConfigError {
                    variable: "TALLY_SHARDS",
                    problem: "not set: with TALLY_TOTAL_SHARDS (--total-shards), say which of them this process \
                              runs (--shards, like 0-3)"
                        .into(),
                })
            }
        };
        let parsed =
            ShardRange::parse(range, total).map_err(|problem| ConfigError { variable: "TALLY_SHARDS", problem })?;
        let shared = crate::store::Database::from_url(self.database_url.expose()).is_ok_and(|d| d.is_shared());
        if !shared && !parsed.is_all() {
            return Err(ConfigError {
                variable: "TALLY_SHARDS",
                problem: format!(
                    "{parsed} would leave the other shards to other processes, but a SQLite file belongs to one \
                     process: run every shard here (leave TALLY_SHARDS unset), or point DATABASE_URL at PostgreSQL"
                ),
            });
        }
        self.shards = Some(parsed);
        Ok(self)
    }
}

/// Where the web leaderboard listens when nothing else is said.
pub const DEFAULT_WEB_ADDR: &str = "127.0.0.1:8080";

/// The dashboard's settings from `DISCORD_CLIENT_SECRET`, `DISCORD_CLIENT_ID`
/// and `TALLY_PUBLIC_URL` (an `http://` or `https://` address, without a
/// path); an empty secret is none.
pub fn dashboard(
    client_secret: Option<String>,
    client_id: Option<u64>,
    public_url: Option<String>,
) -> Result<crate::web::dashboard::Settings, ConfigError> {
    let public_url = public_url.map(|u| u.trim().trim_end_matches('/').to_owned()).filter(|u| !u.is_empty());
    if let Some(url) = &public_url {
        let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
        if rest.is_none_or(|host| host.is_empty() || host.contains('/')) {
            return Err(ConfigError {
                variable: "TALLY_PUBLIC_URL",
                problem: format!(
                    "{url:?} is not the address of the web page: use https://HOST (or http://HOST:PORT), with no path"
                ),
            });
        }
    }
    Ok(crate::web::dashboard::Settings {
        client_secret: client_secret.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
        client_id,
        public_url,
        api_base: String::new(),
    })
}

/// Where `/metrics` listens when nothing else is said: this machine only.
pub const DEFAULT_METRICS_ADDR: &str = "127.0.0.1:9464";

/// Parses `TALLY_WEB_ADDR`: `host:port`, or `off` for no web server.
pub fn parse_web_addr(raw: &str) -> Result<Option<SocketAddr>, ConfigError> {
    parse_listen_addr("TALLY_WEB_ADDR", raw, "8080")
}

/// Parses `TALLY_METRICS_ADDR`: `host:port`, or `off` for no metrics server.
pub fn parse_metrics_addr(raw: &str) -> Result<Option<SocketAddr>, ConfigError> {
    parse_listen_addr("TALLY_METRICS_ADDR", raw, "9464")
}

/// An address to listen on, or `off`.
fn parse_listen_addr(variable: &'static str, raw: &str, port: &str) -> Result<Option<SocketAddr>, ConfigError> {
    let raw = raw.trim();
    if raw.eq_ignore_ascii_case("off") || raw.is_empty() {
        return Ok(None);
    }
    raw.parse().map(Some).map_err(|_| ConfigError {
        variable,
        problem: format!(
            "{raw:?} is not an address to listen on: use IP:PORT, like 127.0.0.1:{port} (only this machine) or \
             0.0.0.0:{port} (everyone), or off"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_never_printed() {
        let config = BotConfig::from_parts(Some("secret.token.value"), DEFAULT_DATABASE_URL, DEFAULT_API_BASE).unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert_eq!(config.token.expose(), "secret.token.value");
    }

    #[test]
    fn the_database_password_is_never_printed() {
        let url = "postgres://tally:hunter2-secret@db.internal:5432/tally";
        let config = BotConfig::from_parts(Some("t"), url, DEFAULT_API_BASE).unwrap();
        for shown in [format!("{config:?}"), config.database_url.to_string()] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("db.internal:5432/tally"), "{shown}");
        }
        assert_eq!(config.database_url.expose(), url);
    }

    #[test]
    fn bot_prefix_is_stripped() {
        assert_eq!(Token::new(" Bot abc ").expose(), "abc");
    }

    #[test]
    fn missing_token_names_the_variable() {
        let err = BotConfig::from_parts(None, DEFAULT_DATABASE_URL, DEFAULT_API_BASE).unwrap_err();
        assert_eq!(err.variable, "DISCORD_TOKEN");
        assert!(err.to_string().starts_with("DISCORD_TOKEN: not set"));
    }

    #[test]
    fn api_base_forms() {
        assert!(ApiBase::parse("https://discord.com").unwrap().is_discord());
        let sim = ApiBase::parse("http://127.0.0.1:9000/").unwrap();
        assert_eq!((sim.scheme.as_str(), sim.authority.as_str()), ("http", "127.0.0.1:9000"));
        assert_eq!(ApiBase::parse("127.0.0.1:9000").unwrap_err().variable, "DISCORD_API_BASE");
        assert!(ApiBase::parse("http://host/api/v10").is_err());
        assert!(ApiBase::parse("ftp://host").is_err());
    }

    #[test]
    fn web_addresses() {
        assert_eq!(parse_web_addr("off").unwrap(), None);
        assert_eq!(parse_web_addr(DEFAULT_WEB_ADDR).unwrap(), Some("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(parse_web_addr("localhost").unwrap_err().variable, "TALLY_WEB_ADDR");
        assert_eq!(parse_metrics_addr(DEFAULT_METRICS_ADDR).unwrap(), Some("127.0.0.1:9464".parse().unwrap()));
        assert_eq!(parse_metrics_addr("OFF").unwrap(), None);
        assert_eq!(parse_metrics_addr("9464").unwrap_err().variable, "TALLY_METRICS_ADDR");
    }

    #[test]
    fn dashboard_settings() {
        let on = dashboard(Some(" s3cret ".into()), None, Some("https://tally.example.org/".into())).unwrap();
        assert_eq!(on.client_secret.as_deref(), Some("s3cret"));
        assert_eq!(on.public_url.as_deref(), Some("https://tally.example.org"));
        assert!(!format!("{on:?}").contains("s3cret"), "the secret is never printed");
        assert_eq!(dashboard(Some(String::new()), None, None).unwrap().client_secret, None);
        assert_eq!(dashboard(None, None, Some("tally.example.org".into())).unwrap_err().variable, "TALLY_PUBLIC_URL");
        assert_eq!(dashboard(None, None, Some("https://x.org/dash".into())).unwrap_err().variable, "TALLY_PUBLIC_URL");
    }

    #[test]
    fn shard_ranges_need_a_total_and_a_shared_database() {
        let sqlite = BotConfig::from_parts(Some("t"), DEFAULT_DATABASE_URL, DEFAULT_API_BASE).unwrap();
        assert_eq!(sqlite.clone().with_shards(Some("0-1"), None).unwrap_err().variable, "TALLY_TOTAL_SHARDS");
        let refused = sqlite.clone().with_shards(Some("0-1"), Some(4)).unwrap_err();
        assert!(refused.problem.contains("SQLite file belongs to one process"), "{refused}");
        assert_eq!(sqlite.with_shards(Some("0-3"), Some(4)).unwrap().shards, Some(ShardRange::all(4)));
        let pg = BotConfig::from_parts(Some("t"), "postgres://u@h/db", DEFAULT_API_BASE).unwrap();
        let range = pg.with_shards(Some("2-3"), Some(4)).unwrap().shards.unwrap();
        assert_eq!((range.first, range.last, range.total), (2, 3, 4));
    }

    #[test]
    fn bad_database_url_names_the_variable() {
        let err = BotConfig::from_parts(Some("t"), "mysql://x", DEFAULT_API_BASE).unwrap_err();
        assert_eq!(err.variable, "DATABASE_URL");
    }
}
