//! `pack#<appid>#<kind>` items: `appid`, `pack` (the kind), `readings` (a list of
//! `{at, used}` maps, oldest first), `version` (counts the writes) and `expires_at` (TTL)
//! a window after the newest reading. A week of hourly readings is about 4 KB.
//!
//! One strongly consistent GetItem, then one UpdateItem writing the whole list on
//! condition that no one wrote since (the version): two runs at once never lose a
//! reading or keep an old one.

use aws_sdk_dynamodb::types::AttributeValue;

use super::DynamoTable;
use super::attributes::{Item, is_condition_failure, n, number_attr, s};
use super::keys::{self, EXPIRES_AT};
use crate::domain::pack_forecast;
use crate::domain::{PackReading, PhonePack, StoreError};
use crate::ports::PackReadings;
use crate::telemetry::current::{Upstream, timed};

/// A write that lost a race reads again and retries this many times in all.
const ATTEMPTS: u32 = 3;

impl PackReadings for DynamoTable {
    async fn record_reading(
        &self,
        appid: &str,
        pack: PhonePack,
        reading: PackReading,
        keep_since: i64,
    ) -> Result<Vec<PackReading>, StoreError> {
        let key = keys::pack_readings(appid, pack);
        for _ in 0..ATTEMPTS {
            let item = timed(Upstream::Store, self.get_item(key.clone())).await?;
            let version = item.as_ref().and_then(|item| number_attr(item, "version"));
            let mut readings = item.as_ref().map(stored_readings).unwrap_or_default();
            readings.push(reading);
            let kept = pack_forecast::kept_readings(readings, keep_since);
            let request = self
                .update_item(key.clone())
                // Every name aliased: several are reserved words of DynamoDB's.
                .update_expression(
                    "SET #appid = :appid, #pack = :pack, #readings = :readings, #version = :next, #exp = :expires",
                )
                .expression_attribute_names("#appid", "appid")
                .expression_attribute_names("#pack", "pack")
                .expression_attribute_names("#readings", "readings")
                .expression_attribute_names("#version", "version")
                .expression_attribute_names("#exp", EXPIRES_AT)
                .expression_attribute_values(":appid", s(appid))
                .expression_attribute_values(":pack", s(pack.name()))
                .expression_attribute_values(":readings", readings_value(&kept))
                .expression_attribute_values(":next", n(version.unwrap_or(0) + 1))
                .expression_attribute_values(
                    ":expires",
                    n(reading.at.saturating_add(reading.at.saturating_sub(keep_since))),
                );
            let request = match version {
                Some(version) => request
                    .condition_expression("#version = :read")
                    .expression_attribute_values(":read", n(version)),
                None => request.condition_expression("attribute_not_exists(#version)"),
            };
            match timed(Upstream::Store, request.send()).await {
                Ok(_) => return Ok(kept),
                Err(err) if is_condition_failure(&err) => {
                    tracing::info!("pack readings written meanwhile: reading them again");
                }
                Err(err) => return Err(err.into()),
            }
        }
        Err(StoreError::new(
            "pack readings kept changing under the write: not recorded",
        ))
    }
}

/// The readings an item holds; an unreadable entry is skipped.
fn stored_readings(item: &Item) -> Vec<PackReading> {
    let Some(Ok(list)) = item.get("readings").map(AttributeValue::as_l) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|entry| {
            let map = entry.as_m().ok()?;
            Some(PackReading {
                at: number_attr(map, "at")?,
                used: u64::try_from(number_attr(map, "used")?).ok()?,
            })
        })
        .collect()
}

fn readings_value(readings: &[PackReading]) -> AttributeValue {
    AttributeValue::L(
        readings
            .iter()
            .map(|reading| {
                AttributeValue::M(
                    [
                        ("at".to_owned(), n(reading.at)),
                        (
                            "used".to_owned(),
                            AttributeValue::N(reading.used.to_string()),
                        ),
                    ]
                    .into(),
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::pack_forecast::MAX_PACK_READINGS;

    #[test]
    fn readings_round_trip_through_the_item_shape() {
        let readings = vec![
            PackReading { at: 10, used: 1 },
            PackReading {
                at: 20,
                used: u64::from(u32::MAX) + 7,
            },
        ];
        let item: Item = [("readings".to_owned(), readings_value(&readings))].into();
        assert_eq!(stored_readings(&item), readings);
        assert!(stored_readings(&Item::new()).is_empty());
    }

    #[test]
    fn old_and_surplus_readings_go_oldest_first() {
        let many: Vec<_> = (0..300)
            .rev()
            .map(|at| PackReading { at, used: 0 })
            .collect();
        let kept = pack_forecast::kept_readings(many, 50);
        assert_eq!(kept.len(), MAX_PACK_READINGS);
        assert_eq!(
            kept.first().map(|r| r.at),
            Some(300 - MAX_PACK_READINGS as i64)
        );
        assert_eq!(kept.last().map(|r| r.at), Some(299));
        assert!(pack_forecast::kept_readings(vec![PackReading { at: 1, used: 0 }], 2).is_empty());
    }
}
