//! Phone-verification packs, checked on a schedule: for each app the stack serves and
//! each kind ([`PhonePack`]), what WeChat says is used and left, added to the kind's
//! recent readings, and the days left at the recent rate ([`PackForecast`]). One app or
//! kind that cannot be read never stops the others.

use super::concurrently::join_all;
use super::{AccessTokens, Apps};
use crate::domain::pack_forecast::READING_WINDOW_SECONDS;
use crate::domain::{PackForecast, PackReading, PackUsage, PhonePack, StoreError, WeChatError};
use crate::ports::{AccessTokenStore, PackReadings, WeChat};

/// The check with the ports it needs, built once per instance.
pub struct PhonePacks<S, W> {
    store: S,
    apps: Apps<W>,
    access_tokens: AccessTokens<S>,
}

/// One app's packs of one kind, as read this run.
#[derive(Debug, Clone, PartialEq)]
pub struct PackReport {
    /// The app.
    pub appid: String,
    /// The kind.
    pub pack: PhonePack,
    /// What WeChat reported.
    pub usage: PackUsage,
    /// Units used per day recently, when measurable.
    pub daily_use: Option<f64>,
    /// Days left at that rate ([`PackForecast::days_left`]); `None` when the readings
    /// could not be recorded and something is left (the rate is then unknown).
    pub days_left: Option<f64>,
}

/// Why one app's packs of one kind could not be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackCheckError {
    /// WeChat gave no usage (48001: the app has no packs of this kind, or may not ask).
    #[error(transparent)]
    WeChat(#[from] WeChatError),
    /// The usage was read but its reading not recorded: no rate this run.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One app and kind that could not be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackFailure {
    /// The app.
    pub appid: String,
    /// The kind.
    pub pack: PhonePack,
    /// What failed.
    pub error: PackCheckError,
}

/// What one run found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PackCheck {
    /// Every app and kind whose usage was read (also those whose reading was not recorded).
    pub reports: Vec<PackReport>,
    /// Every app and kind that failed (a store failure has its report too).
    pub failures: Vec<PackFailure>,
}

impl PackCheck {
    /// The fewest days left of every app and kind read: what the alarm watches.
    pub fn fewest_days_left(&self) -> Option<f64> {
        self.reports
            .iter()
            .filter_map(|report| report.days_left)
            .reduce(f64::min)
    }

    /// `ok`, `partial` (something failed, something was read) or `failed` (nothing was
    /// read).
    pub fn outcome(&self) -> &'static str {
        match (self.failures.is_empty(), self.reports.is_empty()) {
            (true, _) => "ok",
            (false, false) => "partial",
            (false, true) => NOTHING_READ,
        }
    }
}

/// The outcome of a run that read nothing (`PhonePackCheckFailingAlarm` watches it).
pub const NOTHING_READ: &str = "failed";

impl<S: AccessTokenStore + PackReadings + Clone, W: WeChat> PhonePacks<S, W> {
    /// The check over `store` (the shared access tokens, the readings) and each app's
    /// WeChat.
    pub fn new(store: S, apps: Apps<W>) -> Self {
        Self {
            access_tokens: AccessTokens::new(store.clone()),
            store,
            apps,
        }
    }

    /// Reads every app's packs of every kind at `now` (epoch seconds), the apps at once.
    pub async fn check(&self, now: i64) -> PackCheck {
        let apps: Vec<_> = self
            .apps
            .iter()
            .map(|wechat| Box::pin(self.check_app(wechat, now)))
            .collect();
        let mut check = PackCheck::default();
        for (reports, failures) in join_all(apps).await {
            check.reports.extend(reports);
            check.failures.extend(failures);
        }
        check
    }

    /// One app's kinds, one after the other (they share its access token).
    async fn check_app(&self, wechat: &W, now: i64) -> (Vec<PackReport>, Vec<PackFailure>) {
        let appid = wechat.appid();
        let (mut reports, mut failures) = (Vec::new(), Vec::new());
        for pack in PhonePack::ALL {
            let failed = |error: PackCheckError| PackFailure {
                appid: appid.to_owned(),
                pack,
                error,
            };
            let usage = self
                .access_tokens
                .with_token(wechat, |token| async move {
                    wechat.pack_usage(&token, pack).await
                })
                .await;
            let usage = match usage {
                Ok(usage) => usage,
                Err(err) => {
                    tracing::warn!(appid, pack = pack.name(), wechat_error = %err, "phone pack not read");
                    failures.push(failed(err.into()));
                    continue;
                }
            };
            let reading = PackReading {
                at: now,
                used: usage.used,
            };
            let recorded = self
                .store
                .record_reading(appid, pack, reading, now - READING_WINDOW_SECONDS)
                .await;
            let report = match recorded {
                Ok(readings) => {
                    let forecast = PackForecast::from_readings(usage, &readings);
                    PackReport {
                        appid: appid.to_owned(),
                        pack,
                        usage,
                        daily_use: forecast.daily_use,
                        days_left: Some(forecast.days_left),
                    }
                }
                Err(err) => {
                    tracing::error!(appid, pack = pack.name(), error = %err, "DynamoDB call failed: phone pack reading not recorded");
                    failures.push(failed(err.into()));
                    // Used up is certain without a history; a rate is not.
                    let used_up = usage.left() == 0 && usage.all > 0;
                    PackReport {
                        appid: appid.to_owned(),
                        pack,
                        usage,
                        daily_use: None,
                        days_left: used_up.then_some(0.0),
                    }
                }
            };
            tracing::info!(
                appid,
                pack = pack.name(),
                all = usage.all,
                used = usage.used,
                left = usage.left(),
                daily_use = report.daily_use,
                days_left = report.days_left,
                "phone pack read"
            );
            reports.push(report);
        }
        (reports, failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::pack_forecast::DAYS_LEFT_CAP;
    use crate::domain::{Errcode, PhoneCode, PhoneForm, WatermarkPolicy};
    use crate::testing::{APPID, FakeWeChat, MemoryTable, Twins, WeChatApi};

    const HOUR: i64 = 3600;
    const START: i64 = 1_800_000_000;

    fn packs(twins: &Twins) -> PhonePacks<MemoryTable, FakeWeChat> {
        twins.phone_packs()
    }

    fn report<'a>(check: &'a PackCheck, appid: &str, pack: PhonePack) -> &'a PackReport {
        check
            .reports
            .iter()
            .find(|report| report.appid == appid && report.pack == pack)
            .unwrap_or_else(|| panic!("no report of {appid} {pack:?}: {check:?}"))
    }

    #[tokio::test]
    async fn falling_usage_gives_the_days_left_at_the_recent_rate() {
        let twins = Twins::new();
        let packs = packs(&twins);
        twins.wechat.set_pack(PhonePack::Quick, 1000, 100);
        let first = packs.check(START).await;
        assert_eq!(first.outcome(), "ok");
        let quick = report(&first, APPID, PhonePack::Quick);
        assert_eq!(quick.usage.left(), 900);
        assert_eq!(quick.days_left, Some(DAYS_LEFT_CAP), "no rate yet");

        // 150 units in 12 hours: 300 a day; 750 left: 2.5 days.
        twins.wechat.set_pack(PhonePack::Quick, 1000, 250);
        let later = packs.check(START + 12 * HOUR).await;
        let quick = report(&later, APPID, PhonePack::Quick);
        assert_eq!(quick.daily_use, Some(300.0));
        assert_eq!(quick.days_left, Some(2.5));
        // The real-time trial is untouched: capped, and the minimum is the quick pack's.
        assert_eq!(
            report(&later, APPID, PhonePack::Realtime).days_left,
            Some(DAYS_LEFT_CAP)
        );
        assert_eq!(later.fewest_days_left(), Some(2.5));
    }

    #[tokio::test]
    async fn a_renewed_pack_starts_the_rate_again() {
        let twins = Twins::new();
        let packs = packs(&twins);
        twins.wechat.set_pack(PhonePack::Quick, 1000, 900);
        packs.check(START).await;
        twins.wechat.set_pack(PhonePack::Quick, 1000, 990);
        packs.check(START + HOUR).await;
        // A new pack: the count starts again at 0, then 10 in 12 hours.
        twins.wechat.set_pack(PhonePack::Quick, 5000, 0);
        packs.check(START + 2 * HOUR).await;
        twins.wechat.set_pack(PhonePack::Quick, 5000, 10);
        let check = packs.check(START + 14 * HOUR).await;
        let quick = report(&check, APPID, PhonePack::Quick);
        assert_eq!(quick.daily_use, Some(20.0), "not 2,160 a day");
        assert_eq!(quick.days_left, Some(249.5));
    }

    #[tokio::test]
    async fn an_empty_pack_is_zero_days() {
        let twins = Twins::new();
        twins.wechat.set_pack(PhonePack::Realtime, 1000, 1000);
        let check = packs(&twins).check(START).await;
        assert_eq!(
            report(&check, APPID, PhonePack::Realtime).days_left,
            Some(0.0)
        );
        assert_eq!(check.fewest_days_left(), Some(0.0));
    }

    #[tokio::test]
    async fn a_verification_uses_a_unit_the_check_sees() {
        let twins = Twins::new();
        let packs = packs(&twins);
        twins.wechat.set_pack(PhonePack::Quick, 2, 1);
        packs.check(START).await;
        // The last unit: one code-form verification, billed by WeChat.
        let (token, _) = twins.logged_in("oPackUser", None).await;
        let phones = twins.phone_numbers(WatermarkPolicy { max_age: None });
        let live = phones.session_of(&token).await.unwrap();
        let code = PhoneCode::parse(&twins.wechat.phone_code("oPackUser", "13800138000")).unwrap();
        phones
            .verify(&token, &live, &PhoneForm::Code(code))
            .await
            .unwrap();
        let check = packs.check(START + HOUR).await;
        let quick = report(&check, APPID, PhonePack::Quick);
        assert_eq!((quick.usage.left(), quick.days_left), (0, Some(0.0)));
    }

    #[tokio::test]
    async fn one_app_failing_leaves_the_other_reported() {
        let mut twins = Twins::new();
        let other = twins.with_app("wxfasttier0000002");
        other.set_pack(PhonePack::Quick, 1000, 999);
        // The first app never bought anything: WeChat refuses both kinds.
        twins.wechat.fail(
            WeChatApi::ChargeUsage,
            WeChatError::Api(Errcode::ApiUnauthorized),
            2,
        );
        let check = packs(&twins).check(START).await;
        assert_eq!(check.outcome(), "partial");
        assert_eq!(check.failures.len(), 2);
        assert!(check.failures.iter().all(|failure| failure.appid == APPID
            && failure.error
                == PackCheckError::WeChat(WeChatError::Api(Errcode::ApiUnauthorized))));
        assert_eq!(check.reports.len(), 2, "{check:?}");
        assert_eq!(
            report(&check, "wxfasttier0000002", PhonePack::Quick)
                .usage
                .left(),
            1
        );
    }

    #[tokio::test]
    async fn one_kind_failing_leaves_the_other_kind_reported() {
        let twins = Twins::new();
        twins
            .wechat
            .fail(WeChatApi::ChargeUsage, WeChatError::Timeout, 1);
        let check = packs(&twins).check(START).await;
        assert_eq!(check.outcome(), "partial");
        assert_eq!(check.failures[0].pack, PhonePack::Quick);
        assert_eq!(check.reports.len(), 1);
        assert_eq!(check.reports[0].pack, PhonePack::Realtime);
    }

    #[tokio::test]
    async fn nothing_read_is_a_failed_run() {
        let twins = Twins::new();
        twins
            .wechat
            .fail(WeChatApi::ChargeUsage, WeChatError::Unreachable, 10);
        let check = packs(&twins).check(START).await;
        assert_eq!(check.outcome(), "failed");
        assert_eq!(check.fewest_days_left(), None);
    }

    #[tokio::test]
    async fn a_store_failure_still_reports_what_was_read() {
        let twins = Twins::new();
        twins.wechat.set_pack(PhonePack::Quick, 50, 50);
        let packs = packs(&twins);
        // The access token is fetched once and cached; every store call then fails.
        twins.table.fail_next(100);
        let check = packs.check(START).await;
        assert_eq!(check.outcome(), "partial");
        assert_eq!(check.failures.len(), 2);
        assert!(
            check
                .failures
                .iter()
                .all(|failure| matches!(failure.error, PackCheckError::Store(_)))
        );
        let quick = report(&check, APPID, PhonePack::Quick);
        assert_eq!(quick.days_left, Some(0.0), "used up, rate or not");
        assert_eq!(
            report(&check, APPID, PhonePack::Realtime).days_left,
            None,
            "units left and no rate: unknown"
        );
    }

    #[tokio::test]
    async fn the_access_token_is_the_shared_one() {
        let twins = Twins::new();
        packs(&twins).check(START).await;
        assert_eq!(twins.wechat.calls(WeChatApi::StableToken), 1);
        assert!(twins.table.access_token(APPID).is_some(), "shared");
        // Another instance (a new check) reuses it.
        packs(&twins).check(START + HOUR).await;
        assert_eq!(twins.wechat.calls(WeChatApi::StableToken), 1);
    }
}
