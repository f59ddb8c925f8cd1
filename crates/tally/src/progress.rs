//! A progress bar for long work on the command line (`tally copy`,
//! `tally import`, `tally export`): redrawn
//! in place on a terminal, a plain line every few seconds otherwise (logs,
//! CI, `| tee`), so an admin always sees that work is moving and how fast.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::domain::humanize::thousands;

/// How often a line is printed when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(2);
/// How often the bar is redrawn on a terminal.
const REDRAW_EVERY: Duration = Duration::from_millis(100);
/// The bar's width in characters.
const WIDTH: usize = 30;

/// Progress of one step, drawn on stderr.
pub struct ProgressBar {
    step: &'static str,
    unit: &'static str,
    started: Instant,
    drawn: Option<Instant>,
    terminal: bool,
}

impl ProgressBar {
    /// A bar for a step named `step` ("copying", "checking"), counting rows.
    pub fn new(step: &'static str) -> Self {
        Self::counting(step, "rows")
    }

    /// A bar for a step counting `unit` ("members").
    pub fn counting(step: &'static str, unit: &'static str) -> Self {
        Self {
            step,
            unit,
            started: Instant::now(),
            drawn: None,
            terminal: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        }
    }

    /// Shows `done` of `total`, working on `what`; drawn only when
    /// enough time has passed since the last drawing.
    pub fn update(&mut self, done: u64, total: u64, what: &str) {
        let every = if self.terminal { REDRAW_EVERY } else { LINE_EVERY };
        if self.drawn.is_some_and(|at| at.elapsed() < every) {
            return;
        }
        self.drawn = Some(Instant::now());
        self.draw(done, total, what);
    }

    /// Shows the final figures and ends the line.
    pub fn finish(&mut self, done: u64, total: u64) {
        self.draw(done, total, "done");
        if self.terminal {
            eprintln!();
        }
    }

    fn draw(&self, done: u64, total: u64, what: &str) {
        let line = line(self.step, self.unit, done, total, what, self.started.elapsed());
        let mut err = std::io::stderr().lock();
        let _ = if self.terminal { write!(err, "\r{line}\x1b[K") } else { writeln!(err, "{line}") };
        let _ = err.flush();
    }
}

/// One drawing: `copying [#######.......]  45%  1,234 / 2,700 rows  members  (12,000 rows/s)`.
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
