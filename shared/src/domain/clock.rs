//! Wall-clock time as epoch seconds, the unit of every stored timestamp and of the
//! sessions table's TTL attribute.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, the unit of the `expires_at` TTL attribute.
pub fn now_epoch_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// Milliseconds since the Unix epoch: when a session was issued, against the moment its
/// user last logged out everywhere (two events in one second must still be ordered).
pub fn now_epoch_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

/// Seconds UTC+8 is ahead: WeChat counts its daily limits by Beijing time.
const BEIJING_OFFSET_SECONDS: i64 = 8 * 3600;
const DAY_SECONDS: i64 = 86_400;

/// The day `epoch_seconds` falls on in Beijing time, as days since 1970-01-01.
pub fn beijing_day(epoch_seconds: i64) -> i64 {
    (epoch_seconds + BEIJING_OFFSET_SECONDS).div_euclid(DAY_SECONDS)
}

/// Epoch seconds at which the Beijing-time day `day` ends.
pub fn end_of_beijing_day(day: i64) -> i64 {
    (day + 1) * DAY_SECONDS - BEIJING_OFFSET_SECONDS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_days_turn_at_16_00_utc() {
        // 2026-11-26T15:59:59Z is 23:59:59 in Beijing; a second later the day turns.
        let before = 1_795_708_799;
        assert_eq!(beijing_day(before + 1), beijing_day(before) + 1);
        assert_eq!(end_of_beijing_day(beijing_day(before)), before + 1);
    }
}
