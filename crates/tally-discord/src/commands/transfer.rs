//! `/import file:(attachment) [mode]` and `/export [format]`, for admins
//! (Manage Server): the same import as `tally import`, from a file attached
//! in Discord (downloaded from the attachment's URL on Discord's CDN, and
//! applied through this bot's own ledger), and the server's export as a
//! file attached to the answer.

use twilight_interactions::command::{CommandInputData, CommandModel, CommandOption, CreateCommand, CreateOption};
use twilight_model::channel::Attachment as FileOption;
use twilight_model::http::attachment::Attachment;
use twilight_util::builder::embed::EmbedBuilder;

use super::reply::{thousands, ACCENT};
use super::{Reply, Request};
use crate::domain::import::ImportMode;
use crate::export::Format;
use crate::ingest::admin::manage_server;

/// Largest file `/import` downloads: MEE6's pages of a 100,000-member
/// server come to about 10 MB.
pub const MAX_IMPORT_BYTES: u64 = 25 * 1024 * 1024;
/// Largest file `/export` attaches: Discord's upload limit for bots.
pub const MAX_EXPORT_BYTES: usize = 10 * 1024 * 1024;

/// `/import`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(
    name = "import",
    desc = "Import members' XP from MEE6's leaderboard, Tally's export or a CSV with user_id,xp",
    default_permissions = "manage_server",
    contexts = "guild"
)]
pub struct ImportCommand {
    /// The file.
    #[command(desc = "A MEE6 leaderboard page (JSON), a Tally export (JSON or CSV), or a CSV with user_id,xp")]
    pub file: FileOption,
    /// How imported XP meets Tally's.
    #[command(desc = "max: keep the higher XP (default); add: add them up; replace: take the file's")]
    pub mode: Option<ModeChoice>,
}

/// `/import mode:`.
#[derive(CommandOption, CreateOption, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeChoice {
    /// Keep the higher.
    #[option(name = "max: keep the higher XP", value = "max")]
    Max,
    /// Add up.
    #[option(name = "add: add the file's XP to Tally's", value = "add")]
    Add,
    /// Replace.
    #[option(name = "replace: take the file's figures", value = "replace")]
    Replace,
}

impl From<ModeChoice> for ImportMode {
    fn from(choice: ModeChoice) -> Self {
        match choice {
            ModeChoice::Max => Self::Max,
            ModeChoice::Add => Self::Add,
            ModeChoice::Replace => Self::Replace,
        }
    }
}

/// `/export`.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(
    name = "export",
    desc = "Every member's figures in this server, as a file",
    default_permissions = "manage_server",
    contexts = "guild"
)]
pub struct ExportCommand {
    /// JSON or CSV.
    #[command(desc = "json (default) or csv")]
    pub format: Option<FormatChoice>,
}

/// `/export format:`.
#[derive(CommandOption, CreateOption, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatChoice {
    /// JSON.
    #[option(name = "JSON", value = "json")]
    Json,
    /// CSV.
    #[option(name = "CSV", value = "csv")]
    Csv,
}

fn private(title: String, text: String) -> Reply {
    let mut reply = Reply::embed(EmbedBuilder::new().color(ACCENT).title(title).description(text).build());
    reply.ephemeral = true;
    reply
}

/// Whether `url` is on the CDN at `base` (same scheme and host): Tally
/// downloads nothing from elsewhere.
fn on_cdn(url: &str, base: &str) -> bool {
    let origin = |u: &str| -> Option<String> {
        let uri: hyper::Uri = u.parse().ok()?;
        Some(format!("{}://{}", uri.scheme_str()?, uri.authority()?.as_str().to_ascii_lowercase()))
    };
    origin(url).is_some_and(|o| Some(o) == origin(base))
}

pub(crate) async fn run_import(request: &Request<'_>, input: CommandInputData<'_>) -> anyhow::Result<Reply> {
    let command = match ImportCommand::from_interaction(input) {
        Ok(command) => command,
        Err(error) => return Ok(super::bad_options(error)),
    };
    let file = command.file;
    let mode: ImportMode = command.mode.map_or(ImportMode::Max, Into::into);
    if file.size > MAX_IMPORT_BYTES {
        return Ok(Reply::notice(format!(
            "{} is {} MB; /import takes files up to {} MB. Use `tally import` on the machine Tally runs on.",
            file.filename,
            file.size / 1_000_000,
            MAX_IMPORT_BYTES / 1_000_000
        )));
    }
    let avatars = &request.context.avatars;
    if !on_cdn(&file.url, avatars.base()) {
        tracing::warn!(url = %file.url, "an attachment URL not on Discord's CDN; not downloaded");
        return Ok(Reply::notice("That file is not on Discord's CDN, so Tally did not download it."));
    }
    let bytes = match avatars.download(&file.url, MAX_IMPORT_BYTES as usize).await {
        Ok(bytes) => bytes,
        Err(why) => {
            tracing::warn!(why, "could not download an /import attachment");
            return Ok(Reply::notice("Tally could not download the file from Discord. Please try again."));
        }
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return Ok(Reply::notice(format!("{} is not a text file (UTF-8); nothing was imported.", file.filename)));
    };
    let inputs = match crate::import::read_texts(&[(file.filename.clone(), text)]) {
        Ok(inputs) => inputs,
        Err(problem) => return Ok(Reply::notice(format!("{problem}\nNothing was imported."))),
    };
    let what = crate::import::describe(&inputs);
    let database = request.context.database.clone();
    let guild = request.guild_id.get();
    let import = inputs.clone();
    let report = tokio::task::spawn_blocking(move || {
        crate::import::run::import(&database, guild, &import, mode, &mut |_, _, _| {})
    })
    .await??;
    let lines = report.summary.lines(10).join("\n");
    let outcome = if report.summary.already == inputs.rows.len() as u64 {
        "Already imported: this same file was imported before in this mode; nothing changed."
    } else {
        "Levels follow the server's curve; /leaderboard shows the new figures now."
    };
    Ok(private(format!("Imported {what} (mode {})", mode.name()), format!("```\n{lines}\n```\n{outcome}")))
}

pub(crate) async fn run_export(request: &Request<'_>, input: CommandInputData<'_>) -> anyhow::Result<Reply> {
    let command = match ExportCommand::from_interaction(input) {
        Ok(command) => command,
        Err(error) => return Ok(super::bad_options(error)),
    };
    let (format, extension) = match command.format {
        Some(FormatChoice::Csv) => (Format::Csv, "csv"),
        _ => (Format::Json, "json"),
    };
    let guild = request.guild_id.get();
    let (members, curve) =
        request.read(move |r| Ok((r.all_members(guild)?, r.settings(guild)?.leveling.curve))).await?;
    let count = members.iter().filter(|m| !m.bot).count() as u64;
    let mut bytes = Vec::new();
    crate::export::write(&members, curve, format, &mut bytes)?;
    if bytes.len() > MAX_EXPORT_BYTES {
        return Ok(Reply::notice(format!(
            "The export is {} MB, more than Discord lets a bot attach ({} MB). Run `tally export --guild {guild}` \
             on the machine Tally runs on.",
            bytes.len() / 1_000_000,
            MAX_EXPORT_BYTES / 1_000_000
        )));
    }
    let filename = format!("tally-{guild}.{extension}");
    let mut reply = private(
        format!("Export of {} member{}", thousands(count), if count == 1 { "" } else { "s" }),
        "Attached: one record per member (bots left out). `tally import` and `/import` read it back.".to_owned(),
    );
    reply.attachments.push(Attachment::from_bytes(filename, bytes, 0));
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_on_the_cdn_are_downloaded() {
        let cdn = "https://cdn.discordapp.com";
        assert!(on_cdn("https://cdn.discordapp.com/ephemeral-attachments/1/2/a.json?ex=1", cdn));
        assert!(on_cdn("https://CDN.discordapp.com/attachments/1/2/a.json", cdn));
        assert!(!on_cdn("https://cdn.discordapp.com.evil.example/a.json", cdn));
        assert!(!on_cdn("http://cdn.discordapp.com/a.json", cdn), "not over plain HTTP");
        assert!(!on_cdn("http://169.254.169.254/latest/meta-data", cdn));
        assert!(on_cdn("http://127.0.0.1:9000/attachments/1/2/a.csv", "http://127.0.0.1:9000"));
    }
}
