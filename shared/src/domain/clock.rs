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
