//! Reading the web server from outside: an HTTP GET (reqwest), and
//! Debian's headless Chromium for the pages as a person sees them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// One HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// GETs `path` from `addr`, as any HTTP client would (reqwest).
pub async fn get(addr: SocketAddr, path: &str) -> Answer {
    let response = reqwest::get(format!("http://{addr}{path}")).await.expect("web server answers");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.text().await.expect("a UTF-8 body");
    Answer { status, content_type, body }
}

/// Debian's Chromium. Missing is a failure, never a skip: `.ci/run`
/// installs it (`apt-get install chromium`).
pub fn chromium() -> PathBuf {
    for candidate in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::var("PATH").unwrap_or_default().split(':') {
            let path = Path::new(dir).join(candidate);
            if path.is_file() {
                return path;
            }
        }
    }
    panic!(
        "headless Chromium is needed for the web tests: install it with `apt-get install chromium` (scripts/test does)"
    );
}

fn headless(args: &[&str], url: &str) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(output.status.success(), "chromium failed: {}", String::from_utf8_lossy(&output.stderr));
    output
}

/// The page's DOM after Chromium loaded and laid it out.
pub fn dump_dom(url: &str) -> String {
    String::from_utf8(headless(&["--dump-dom"], url).stdout).expect("UTF-8 DOM")
}

/// A PNG screenshot of the page at `path`.
pub fn screenshot(url: &str, path: &Path, width: u32, height: u32) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    let _ = std::fs::remove_file(path);
    headless(&[&format!("--screenshot={}", path.display()), &format!("--window-size={width},{height}")], url);
    let png = std::fs::read(path).expect("chromium wrote the screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "the screenshot is a PNG");
}
