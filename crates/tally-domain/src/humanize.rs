//! Durations in words, as people say them: "3 years, 2 months".

use time::{Date, Month, OffsetDateTime};

/// How long from `from` to `to`, in the two largest calendar units that are
/// not zero: "3 years, 2 months", "5 days", "4 hours". Under a minute is
/// "less than a minute".
pub fn since(from: OffsetDateTime, to: OffsetDateTime) -> String {
    if to <= from {
        return "less than a minute".to_owned();
    }
    let (years, months, days) = calendar_diff(from, to);
    let parts: Vec<String> = if years + months + days > 0 {
        [(years, "year"), (months, "month"), (days, "day")]
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .take(2)
            .map(|(n, unit)| plural(n, unit))
            .collect()
    } else {
        let secs = (to - from).whole_seconds();
        let (hours, minutes) = (secs / 3600, (secs % 3600) / 60);
        [(hours, "hour"), (minutes, "minute")]
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, unit)| plural(n, unit))
            .collect()
    };
    if parts.is_empty() {
        "less than a minute".to_owned()
    } else {
        parts.join(", ")
    }
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// Whole years, months and days from `from` to `to` (`to` after `from`).
fn calendar_diff(from: OffsetDateTime, to: OffsetDateTime) -> (i64, i64, i64) {
    let month_index = |d: Date| i64::from(d.year()) * 12 + i64::from(d.month() as u8) - 1;
    let mut months = month_index(to.date()) - month_index(from.date());
    let mut anchor = from.replace_date(add_months(from.date(), months));
    while months > 0 && anchor > to {
        months -= 1;
        anchor = from.replace_date(add_months(from.date(), months));
    }
    let days = (to - anchor).whole_days().max(0);
    (months / 12, months % 12, days)
}

/// `date` moved by `months`, the day clamped to the target month's length.
fn add_months(date: Date, months: i64) -> Date {
    let total = i64::from(date.year()) * 12 + i64::from(date.month() as u8) - 1 + months;
    let year = total.div_euclid(12) as i32;
    let month = Month::try_from((total.rem_euclid(12) + 1) as u8).expect("1..=12");
    let day = date.day().min(time::util::days_in_month(month, year));
    Date::from_calendar_date(year, month, day).expect("clamped day is valid")
}

/// Thousands separated with commas: 12,345.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A span of time, short: "40 s", "45 min", "3 h 12 min", "2 d 5 h",
/// rounded down to its smallest unit.
pub fn duration_short(ms: u64) -> String {
    let minutes = ms / 60_000;
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours) {
        (0, 0) if mins == 0 => format!("{} s", ms / 1000),
        (0, 0) => format!("{mins} min"),
        (0, _) => format!("{hours} h {mins} min"),
        _ => format!("{} d {hours} h", thousands(days)),
    }
}

/// Up to two initials of a name, for the avatar disc.
pub fn initials(name: &str) -> String {
    let mut words = name.split_whitespace().filter_map(|w| w.chars().find(|c| c.is_alphanumeric()));
    let first = words.next().into_iter();
    let second = words.next().into_iter();
    let initials: String = first.chain(second).flat_map(char::to_uppercase).collect();
    if initials.is_empty() {
        "?".to_owned()
    } else {
        initials
    }
}

/// A stable hue for a member, so their disc keeps its colour.
pub fn hue(user_id: &str) -> u32 {
    let hash = user_id.bytes().fold(2_166_136_261u32, |h, b| (h ^ u32::from(b)).wrapping_mul(16_777_619));
    hash % 360
}

/// Makes text safe inside HTML or SVG elements and quoted attributes.
/// Control characters, which XML forbids, are dropped.
pub fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn short_durations() {
        assert_eq!(duration_short(0), "0 s");
        assert_eq!(duration_short(59_999), "59 s");
        assert_eq!(duration_short(60_000), "1 min");
        assert_eq!(duration_short(45 * 60_000), "45 min");
        assert_eq!(duration_short((3 * 60 + 12) * 60_000), "3 h 12 min");
        assert_eq!(duration_short((2 * 1440 + 5 * 60 + 7) * 60_000), "2 d 5 h");
    }

    #[test]
    fn years_and_months() {
        let from = datetime!(2023-09-10 12:00 UTC);
        let to = datetime!(2026-11-23 12:00 UTC);
        assert_eq!(since(from, to), "3 years, 2 months");
    }

    #[test]
    fn days_only() {
        assert_eq!(since(datetime!(2026-11-18 08:00 UTC), datetime!(2026-11-23 09:00 UTC)), "5 days");
    }

    #[test]
    fn one_of_each_is_singular() {
        assert_eq!(since(datetime!(2025-10-22 00:00 UTC), datetime!(2026-11-23 00:00 UTC)), "1 year, 1 month");
    }

    #[test]
    fn an_incomplete_day_does_not_count() {
        assert_eq!(since(datetime!(2026-11-22 20:00 UTC), datetime!(2026-11-23 10:00 UTC)), "14 hours");
    }

    #[test]
    fn month_end_borrow() {
        // Jan 31 to Mar 1: one month (to Feb 28/Mar 1 boundary) and 1 day.
        assert_eq!(since(datetime!(2026-01-31 00:00 UTC), datetime!(2026-03-01 00:00 UTC)), "1 month, 1 day");
    }

    #[test]
    fn moments_ago() {
        let t = datetime!(2026-11-23 10:00 UTC);
        assert_eq!(since(t, t), "less than a minute");
        assert_eq!(since(t, datetime!(2026-11-23 10:05 UTC)), "5 minutes");
    }

    #[test]
    fn initials_of_names() {
        assert_eq!(initials("Ada Lovelace"), "AL");
        assert_eq!(initials("zed"), "Z");
        assert_eq!(initials("  "), "?");
        assert_eq!(initials("★ star ✦"), "S");
    }
}
