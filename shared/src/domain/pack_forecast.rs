//! How long a phone-verification pack lasts at its recent rate of use: the readings of
//! its `used` count over the last days, the average daily use they show, and the days
//! left at that rate (docs/operations.md, "Phone-verification packs").

use super::PackUsage;

/// The readings an average is taken over: the last 7 days.
pub const READING_WINDOW_SECONDS: i64 = 7 * 86_400;

/// Most readings kept per app and kind, the newest: a week of hourly ones and a day's
/// more. A schedule faster than hourly shortens the window instead of growing the item.
pub const MAX_PACK_READINGS: usize = 8 * 24;

/// Readings closer together than this show no rate: the first run after a deploy (or a
/// new pack) waits an hour before it measures anything.
pub const MIN_SPAN_SECONDS: i64 = 3600;

/// The days left reported when no use can be measured, so the metric is always written
/// (and a pack used up is never hidden behind "unknown").
pub const DAYS_LEFT_CAP: f64 = 365.0;

const DAY_SECONDS: f64 = 86_400.0;

/// One reading of a kind's `used` count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackReading {
    /// When it was read, epoch seconds.
    pub at: i64,
    /// Units used then (WeChat's `effectiveUse`).
    pub used: u64,
}

/// What the readings say about one kind's packs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PackForecast {
    /// Units used per day on average since the last drop in the readings, over at least
    /// [`MIN_SPAN_SECONDS`]; `None` when no use could be measured.
    pub daily_use: Option<f64>,
    /// Days until nothing is left at that rate, at most [`DAYS_LEFT_CAP`]; 0 once the
    /// packs are used up.
    pub days_left: f64,
}

impl PackForecast {
    /// The forecast for `usage` (read now) from `readings` (any order; the current one
    /// included) over the window.
    ///
    /// A `used` count that fell between two readings means packs expired or were
    /// replaced: the rate is measured after the last fall only. Nothing left is 0 days,
    /// unless nothing is in force (`all` 0) and no use was seen in the whole window: a
    /// kind the app does not use (its trial expired unused) must not keep the alarm on.
    pub fn from_readings(usage: PackUsage, readings: &[PackReading]) -> Self {
        let mut readings = readings.to_vec();
        readings.sort_by_key(|reading| reading.at);
        let rises = readings.windows(2).any(|pair| pair[1].used > pair[0].used);
        let since_last_drop = readings
            .windows(2)
            .rposition(|pair| pair[1].used < pair[0].used)
            .map_or(0, |drop| drop + 1);
        let daily_use = match (readings.get(since_last_drop), readings.last()) {
            (Some(first), Some(last)) if last.at - first.at >= MIN_SPAN_SECONDS => {
                let used = last.used.saturating_sub(first.used);
                // Counts and spans far below 2^52: exact as f64.
                let per_day = used as f64 / ((last.at - first.at) as f64 / DAY_SECONDS);
                (used > 0).then_some(per_day)
            }
            _ => None,
        };
        let left = usage.left();
        let days_left = if left == 0 {
            if usage.all > 0 || rises {
                0.0
            } else {
                DAYS_LEFT_CAP
            }
        } else {
            daily_use.map_or(DAYS_LEFT_CAP, |per_day| {
                (left as f64 / per_day).min(DAYS_LEFT_CAP)
            })
        };
        Self {
            daily_use,
            days_left,
        }
    }
}

/// The readings at or after `keep_since`, oldest first, at most [`MAX_PACK_READINGS`]
/// (the newest).
pub fn kept_readings(mut readings: Vec<PackReading>, keep_since: i64) -> Vec<PackReading> {
    readings.retain(|reading| reading.at >= keep_since);
    readings.sort_by_key(|reading| reading.at);
    let surplus = readings.len().saturating_sub(MAX_PACK_READINGS);
    readings.drain(..surplus);
    readings
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3600;

    fn reading(hours: i64, used: u64) -> PackReading {
        PackReading {
            at: 1_800_000_000 + hours * HOUR,
            used,
        }
    }

    fn usage(all: u64, used: u64) -> PackUsage {
        PackUsage { all, used }
    }

    #[test]
    fn days_left_follow_the_average_daily_use() {
        // 48 units in 24 hours: 48 a day; 96 left: 2 days.
        let readings = [reading(0, 100), reading(12, 130), reading(24, 148)];
        let forecast = PackForecast::from_readings(usage(244, 148), &readings);
        assert_eq!(forecast.daily_use, Some(48.0));
        assert!((forecast.days_left - 2.0).abs() < 1e-9, "{forecast:?}");
    }

    #[test]
    fn readings_in_any_order_read_the_same() {
        let ordered = [reading(0, 100), reading(24, 148)];
        let shuffled = [reading(24, 148), reading(0, 100)];
        assert_eq!(
            PackForecast::from_readings(usage(244, 148), &ordered),
            PackForecast::from_readings(usage(244, 148), &shuffled)
        );
    }

    #[test]
    fn a_drop_in_used_starts_the_average_again() {
        // A pack renewed at hour 24: used fell to 0, then 10 in 12 hours: 20 a day.
        let readings = [
            reading(0, 900),
            reading(23, 990),
            reading(24, 0),
            reading(36, 10),
        ];
        let forecast = PackForecast::from_readings(usage(1000, 10), &readings);
        assert_eq!(forecast.daily_use, Some(20.0));
        assert!((forecast.days_left - 49.5).abs() < 1e-9, "{forecast:?}");
    }

    #[test]
    fn less_than_an_hour_or_no_use_measures_nothing() {
        let first = PackForecast::from_readings(usage(1000, 5), &[reading(0, 5)]);
        assert_eq!(first.daily_use, None);
        assert_eq!(first.days_left, DAYS_LEFT_CAP);
        let close = [
            reading(0, 5),
            PackReading {
                at: reading(0, 0).at + HOUR - 1,
                used: 9,
            },
        ];
        assert_eq!(
            PackForecast::from_readings(usage(1000, 9), &close).daily_use,
            None
        );
        let idle = [reading(0, 5), reading(48, 5)];
        let forecast = PackForecast::from_readings(usage(1000, 5), &idle);
        assert_eq!(forecast.daily_use, None);
        assert_eq!(forecast.days_left, DAYS_LEFT_CAP);
    }

    #[test]
    fn a_slow_use_is_capped() {
        let readings = [reading(0, 0), reading(24 * 7, 1)];
        let forecast = PackForecast::from_readings(usage(1_000_000, 1), &readings);
        assert_eq!(forecast.days_left, DAYS_LEFT_CAP);
    }

    #[test]
    fn nothing_left_is_zero_days() {
        // Used up: whatever the readings.
        for readings in [
            &[reading(0, 1000)][..],
            &[reading(0, 990), reading(5, 1000)],
        ] {
            let forecast = PackForecast::from_readings(usage(1000, 1000), readings);
            assert_eq!(forecast.days_left, 0.0);
        }
        // More used than bought (WeChat's counts disagree for a moment): still nothing.
        assert_eq!(
            PackForecast::from_readings(usage(10, 12), &[reading(0, 12)]).days_left,
            0.0
        );
        // Expired while in use: nothing in force, use seen this week.
        let expired = [reading(0, 400), reading(10, 420), reading(11, 0)];
        assert_eq!(
            PackForecast::from_readings(usage(0, 0), &expired).days_left,
            0.0
        );
    }

    #[test]
    fn a_kind_with_nothing_in_force_and_no_use_is_not_watched() {
        let unused = [reading(0, 0), reading(48, 0)];
        assert_eq!(
            PackForecast::from_readings(usage(0, 0), &unused).days_left,
            DAYS_LEFT_CAP
        );
    }
}
