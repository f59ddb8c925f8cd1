//! A progress bar for long work on the command line (`tally copy`,
//! `tally import`, `tally export`), so an admin always sees that work is
//! moving and how fast. On a terminal it is indicatif's bar, redrawn in
//! place; otherwise (logs, CI, `| tee`), where indicatif draws nothing, a
//! plain line every few seconds.

use std::time::{Duration, Instant};

use crate::domain::humanize::thousands;

/// How often a line is printed when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(2);
/// The bar's width in characters.
const WIDTH: usize = 30;

/// Progress of one step, drawn on stderr.
pub struct ProgressBar {
    step: &'static str,
    unit: &'static str,
    started: Instant,
    /// indicatif's bar, on a terminal.
    bar: Option<indicatif::ProgressBar>,
    /// When the last plain line was printed, otherwise.
    printed: Option<Instant>,
}

impl ProgressBar {
    /// A bar for a step named `step` ("copying", "checking"), counting rows.
    pub fn new(step: &'static str) -> Self {
        Self::counting(step, "rows")
    }

    /// A bar for a step counting `unit` ("members").
    pub fn counting(step: &'static str, unit: &'static str) -> Self {
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let bar = terminal.then(|| {
            let template = format!(
                "{{prefix}} [{{bar:{WIDTH}}}] {{percent:>3}}%  {{human_pos}} / {{human_len}} {unit}  {{msg}}  ({{eta}} left)"
            );
            let style = indicatif::ProgressStyle::with_template(&template)
                .expect("the bar's template is valid")
                .progress_chars("#>.");
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr())
                .with_style(style)
                .with_prefix(step)
        });
        Self { step, unit, started: Instant::now(), bar, printed: None }
    }

    /// Shows `done` of `total`, working on `what`; indicatif redraws at
    /// most a few times a second, a plain line is printed every few seconds.
    pub fn update(&mut self, done: u64, total: u64, what: &str) {
        match &self.bar {
            Some(bar) => {
                bar.set_length(total);
                bar.set_position(done);
                bar.set_message(what.to_owned());
            }
            None => {
                if self.printed.is_some_and(|at| at.elapsed() < LINE_EVERY) {
                    return;
                }
                self.printed = Some(Instant::now());
                self.print(done, total, what);
            }
        }
    }

    /// Shows the final figures and ends the line.
    pub fn finish(&mut self, done: u64, total: u64) {
        match &self.bar {
            Some(bar) => {
                bar.set_length(total);
                bar.set_position(done);
                bar.finish_with_message("done");
            }
            None => self.print(done, total, "done"),
        }
    }

    fn print(&self, done: u64, total: u64, what: &str) {
        eprintln!("{}", line(self.step, self.unit, done, total, what, self.started.elapsed()));
    }
}

/// One plain line: `copying [#######.......]  45%  1,234 / 2,700 rows  members  (12,000 rows/s)`.
pub fn line(step: &str, unit: &str, done: u64, total: u64, what: &str, elapsed: Duration) -> String {
    let fraction = if total == 0 { 1.0 } else { (done as f64 / total as f64).min(1.0) };
    let filled = (fraction * WIDTH as f64).round() as usize;
    let rate = done as f64 / elapsed.as_secs_f64().max(0.001);
    format!(
        "{step} [{}{}] {:>3}%  {} / {} {unit}  {what}  ({} {unit}/s)",
        "#".repeat(filled),
        ".".repeat(WIDTH - filled),
        (fraction * 100.0).floor() as u32,
        thousands(done),
        thousands(total),
        thousands(rate as u64),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_shows_share_counts_and_rate() {
        let l = line("copying", "rows", 1_500, 3_000, "members", Duration::from_secs(2));
        assert_eq!(l, "copying [###############...............]  50%  1,500 / 3,000 rows  members  (750 rows/s)");
    }

    #[test]
    fn nothing_to_do_is_complete() {
        assert!(line("checking", "rows", 0, 0, "done", Duration::ZERO).contains("100%"));
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(12_345_678), "12,345,678");
    }
}
