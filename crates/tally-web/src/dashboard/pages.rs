//! The dashboard's pages, rendered on the server. Every value from Discord
//! or a user is escaped.

use super::access::ListedGuild;
use crate::pages::{escape, layout};

/// The dashboard is off: how to turn it on.
pub fn off(redirect_uri: &str) -> String {
    layout(
        "Dashboard off",
        &format!(
            "<h1>The dashboard is off</h1>\
             <p>To sign in with Discord here, the bot's operator sets <code>DISCORD_CLIENT_SECRET</code> \
             (Developer Portal → your application → OAuth2 → Client Secret) and <code>TALLY_PUBLIC_URL</code> \
             (the address people reach this page at), and adds this redirect URI on the same OAuth2 page:</p>\
             <p><code>{}</code></p><p>Then restart Tally.</p>",
            escape(redirect_uri)
        ),
    )
}

/// Something went wrong, in words for the visitor.
pub fn problem(message: &str) -> String {
    layout(
        "Dashboard",
        &format!(
            "<h1>Dashboard</h1><p class=\"problem\">{}</p><p><a href=\"/login\">Sign in again</a></p>",
            escape(message)
        ),
    )
}

/// The servers a signed-in user may manage.
pub fn servers(user_name: &str, with_tally: &[ListedGuild], invites: &[(ListedGuild, String)]) -> String {
    let mut body = format!(
        "<h1>Your servers</h1><p>Signed in as <strong>{}</strong>.</p>\
         <form method=\"post\" action=\"/logout\"><button type=\"submit\">Sign out</button></form>",
        escape(user_name)
    );
    if with_tally.is_empty() {
        body.push_str("<p>Tally is in none of the servers you manage.</p>");
    } else {
        body.push_str("<ul class=\"servers\">");
        for guild in with_tally {
            body.push_str(&format!("<li>{}</li>", escape(&guild.name)));
        }
        body.push_str("</ul>");
    }
    if !invites.is_empty() {
        body.push_str("<h2>Add Tally</h2><ul class=\"invites\">");
        for (guild, link) in invites {
            body.push_str(&format!("<li>{} — <a href=\"{}\">invite Tally</a></li>", escape(&guild.name), escape(link)));
        }
        body.push_str("</ul>");
    }
    layout("Your servers", &body)
}
