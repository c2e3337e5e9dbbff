//! Business-hours calendars and the night range, in a time zone (IANA names, DST-aware).
//!
//! A calendar has weekly working hours (the same `hours` on each of its `days`) and holidays
//! (whole local days off). Business time between two instants is the part of the interval that
//! falls in working hours; a business-hours deadline is the instant at which that much business
//! time has elapsed.

use crate::{Error, Result};
use chrono::{Datelike, Days, NaiveDate, NaiveTime, TimeZone, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A calendar as written in the config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarConfig {
    /// IANA time zone: `Asia/Shanghai`, `Europe/Berlin`, `UTC`.
    pub timezone: String,
    /// Working days: `["mon", "tue", "wed", "thu", "fri"]` (the default).
    #[serde(default = "weekdays")]
    pub days: Vec<String>,
    /// Working hours on those days, local time: `"09:00-18:00"` (the default).
    #[serde(default = "office_hours")]
    pub hours: String,
    /// Local dates without working hours: `["2026-10-01"]`.
    #[serde(default)]
    pub holidays: Vec<String>,
    /// Per-weekday hours that differ from `hours`, or add a day: `{ sat = "10:00-14:00" }`.
    #[serde(default)]
    pub week: std::collections::BTreeMap<String, String>,
}

fn weekdays() -> Vec<String> {
    ["mon", "tue", "wed", "thu", "fri"].map(String::from).to_vec()
}

fn office_hours() -> String {
    "09:00-18:00".into()
}

/// The night range as written in the config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NightConfig {
    /// IANA time zone of the local hour. Default `UTC`.
    pub timezone: String,
    /// Local range, may wrap midnight. Default `"22:00-06:00"`.
    pub hours: String,
}

impl Default for NightConfig {
    fn default() -> Self {
        NightConfig { timezone: "UTC".into(), hours: "22:00-06:00".into() }
    }
}

fn zone(field: &str, name: &str) -> Result<Tz> {
    name.parse::<Tz>()
        .map_err(|_| Error::config(format!("{field}.timezone"), format!("`{name}` is not an IANA time zone")))
}

/// Parses `"HH:MM-HH:MM"` into local times.
fn range(field: &str, text: &str) -> Result<(NaiveTime, NaiveTime)> {
    let bad = || Error::config(field, format!("`{text}` is not a range like \"09:00-18:00\""));
    let (a, b) = text.split_once('-').ok_or_else(bad)?;
    let t = |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| bad());
    Ok((t(a)?, t(b)?))
}

/// A compiled calendar.
#[derive(Debug, Clone)]
pub struct Calendar {
    tz: Tz,
    /// Working hours per weekday, Monday first.
    shifts: [Option<(NaiveTime, NaiveTime)>; 7],
    holidays: BTreeSet<NaiveDate>,
}

/// Longest span business time is computed over; beyond it the answer is `None`.
const MAX_DAYS: u64 = 400;

impl Calendar {
    /// Compiles `c`; errors name `field` and the bad entry.
    pub fn new(field: &str, c: &CalendarConfig) -> Result<Self> {
        let tz = zone(field, &c.timezone)?;
        let shift = |name: &str, text: &str| -> Result<(NaiveTime, NaiveTime)> {
            let (start, end) = range(name, text)?;
            if end <= start {
                return Err(Error::config(name, "must end after it starts, within one day"));
            }
            Ok((start, end))
        };
        let hours = shift(&format!("{field}.hours"), &c.hours)?;
        let weekday = |name: &str, d: &str| {
            d.parse::<Weekday>()
                .map(|w| w.num_days_from_monday() as usize)
                .map_err(|_| Error::config(name, format!("`{d}` is not a weekday")))
        };
        let mut shifts = [None; 7];
        for d in &c.days {
            shifts[weekday(&format!("{field}.days"), d)?] = Some(hours);
        }
        for (d, text) in &c.week {
            let name = format!("{field}.week.{d}");
            shifts[weekday(&name, d)?] = Some(shift(&name, text)?);
        }
        let mut holidays = BTreeSet::new();
        for h in &c.holidays {
            let date = NaiveDate::parse_from_str(h, "%Y-%m-%d").map_err(|_| {
                Error::config(format!("{field}.holidays"), format!("`{h}` is not a YYYY-MM-DD date"))
            })?;
            holidays.insert(date);
        }
        Ok(Calendar { tz, shifts, holidays })
    }

    /// The working interval of local `date` as epoch ms, if it is a working day.
    fn shift(&self, date: NaiveDate) -> Option<(i64, i64)> {
        let (start, end) = self.shifts[date.weekday().num_days_from_monday() as usize]?;
        if self.holidays.contains(&date) {
            return None;
        }
        let at = |t: NaiveTime| {
            self.tz.from_local_datetime(&date.and_time(t)).earliest().map(|d| d.timestamp_millis())
        };
        Some((at(start)?, at(end)?))
    }

    fn local_date(&self, ms: i64) -> Option<NaiveDate> {
        Some(self.tz.timestamp_millis_opt(ms).single()?.date_naive())
    }

    /// Business time between `from` and `to` (ms); `None` beyond 400 days.
    pub fn business_ms(&self, from: i64, to: i64) -> Option<i64> {
        if to <= from {
            return Some(0);
        }
        let mut date = self.local_date(from)?;
        let last = self.local_date(to)?;
        let mut total = 0;
        for _ in 0..=MAX_DAYS {
            if let Some((a, b)) = self.shift(date) {
                total += (b.min(to) - a.max(from)).max(0);
            }
            if date >= last {
                return Some(total);
            }
            date = date.checked_add_days(Days::new(1))?;
        }
        None
    }

    /// The instant when `business` ms of business time have elapsed after `from`; `None` if that
    /// takes more than 400 days (a calendar without working hours).
    pub fn add_business(&self, from: i64, business: i64) -> Option<i64> {
        let mut left = business;
        let mut date = self.local_date(from)?;
        for _ in 0..=MAX_DAYS {
            if let Some((a, b)) = self.shift(date) {
                let a = a.max(from);
                if b > a {
                    if b - a >= left {
                        return Some(a + left);
                    }
                    left -= b - a;
                }
            }
            date = date.checked_add_days(Days::new(1))?;
        }
        None
    }
}

/// The compiled night range.
#[derive(Debug, Clone)]
pub struct Night {
    tz: Tz,
    start: NaiveTime,
    end: NaiveTime,
}

impl Night {
    /// 22:00-06:00 UTC, the default.
    pub fn utc_default() -> Self {
        let at = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap_or(NaiveTime::MIN);
        Night { tz: Tz::UTC, start: at(22), end: at(6) }
    }

    /// Compiles `c`; errors name `field`.
    pub fn new(field: &str, c: &NightConfig) -> Result<Self> {
        let tz = zone(field, &c.timezone)?;
        let (start, end) = range(&format!("{field}.hours"), &c.hours)?;
        Ok(Night { tz, start, end })
    }

    /// Whether `ms` falls in the night range (local time; a range like 22:00-06:00 wraps).
    pub fn contains(&self, ms: i64) -> bool {
        let Some(t) = self.tz.timestamp_millis_opt(ms).single().map(|d| d.time()) else { return false };
        if self.start <= self.end { self.start <= t && t < self.end } else { t >= self.start || t < self.end }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Office hours on weekdays, UTC, no holidays.
    fn utc() -> CalendarConfig {
        CalendarConfig {
            timezone: "UTC".into(),
            days: weekdays(),
            hours: office_hours(),
            holidays: vec![],
            week: Default::default(),
        }
    }

    fn shanghai() -> Calendar {
        let c = CalendarConfig {
            timezone: "Asia/Shanghai".into(),
            days: weekdays(),
            hours: office_hours(),
            holidays: vec!["2026-11-04".into()],
            week: [("sat".to_string(), "10:00-12:00".to_string())].into(),
        };
        Calendar::new("conversation.business_hours", &c).unwrap()
    }

    /// Epoch ms of a Shanghai local time.
    fn sh(y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
        chrono_tz::Asia::Shanghai.with_ymd_and_hms(y, m, d, h, min, 0).unwrap().timestamp_millis()
    }

    #[test]
    fn business_time_skips_nights_weekends_and_holidays() {
        let cal = shanghai();
        // Tuesday 17:00 -> Thursday 10:00 over the Wednesday holiday: 1 h Tuesday + 1 h Thursday
        assert_eq!(cal.business_ms(sh(2026, 11, 3, 17, 0), sh(2026, 11, 5, 10, 0)), Some(2 * 3_600_000));
        // Friday 17:30 -> Monday 09:30: 30 min Friday, Saturday's own 10:00-12:00, Sunday off, 30 min Monday
        assert_eq!(cal.business_ms(sh(2026, 11, 6, 17, 30), sh(2026, 11, 9, 9, 30)), Some(3 * 3_600_000));
        // a reply at 23:00 to a message at 22:00 took no business time
        assert_eq!(cal.business_ms(sh(2026, 11, 2, 22, 0), sh(2026, 11, 2, 23, 0)), Some(0));
    }

    #[test]
    fn deadlines_land_in_working_hours() {
        let cal = shanghai();
        // 2 business hours from Tuesday 17:00: 1 h left Tuesday, holiday Wednesday, Thursday 10:00
        assert_eq!(cal.add_business(sh(2026, 11, 3, 17, 0), 2 * 3_600_000), Some(sh(2026, 11, 5, 10, 0)));
        // from the night: counting starts at 09:00
        assert_eq!(cal.add_business(sh(2026, 11, 2, 23, 0), 60_000), Some(sh(2026, 11, 3, 9, 1)));
        let none = CalendarConfig { days: vec![], ..utc() };
        assert_eq!(Calendar::new("c", &none).unwrap().add_business(0, 1), None);
    }

    #[test]
    fn night_wraps_midnight_in_its_time_zone_and_bad_settings_name_the_field() {
        let n = Night::new(
            "conversation.night",
            &NightConfig { timezone: "Asia/Shanghai".into(), hours: "22:00-06:00".into() },
        )
        .unwrap();
        assert!(n.contains(sh(2026, 11, 2, 23, 30)));
        assert!(n.contains(sh(2026, 11, 3, 5, 59)));
        assert!(!n.contains(sh(2026, 11, 3, 6, 0)));
        assert!(!n.contains(sh(2026, 11, 2, 21, 59)));
        let err = Night::new(
            "conversation.night",
            &NightConfig { timezone: "Mars/Olympus".into(), hours: "22:00-06:00".into() },
        );
        assert!(err.unwrap_err().to_string().contains("conversation.night.timezone"));
        let bad = CalendarConfig { hours: "9-18".into(), ..utc() };
        assert!(
            Calendar::new("conversation.business_hours", &bad)
                .unwrap_err()
                .to_string()
                .contains("business_hours.hours")
        );
    }
}
