//! The `phone-packs` function: invoked by the template's EventBridge Scheduler schedule
//! (hourly by default, whatever the event holds), it reads every app's phone-verification
//! packs and writes what is used and left, and the days left, as metrics; the fewest days
//! left of the run, without dimensions, is what the phone pack alarm watches. The run
//! fails only when nothing could be read (Lambda then retries it, and its errors show).

use lambda_http::lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Serialize;

use super::runner::Function;
use super::{ApiError, Ending};
use crate::domain::clock::now_epoch_seconds;
use crate::ports::{AccessTokenStore, PackReadings, WeChat};
use crate::telemetry::metrics;
use crate::usecases::phone_packs::NOTHING_READ;
use crate::usecases::{PackCheck, PackCheckError, PhonePacks};

/// The `phone-packs` function.
pub const PHONE_PACKS: Function = Function {
    name: "phone-packs",
    path: None,
    outcome_metric: metrics::PHONE_PACK_CHECKS,
    kind_dimension: None,
};

/// The run's answer (shown by `cargo lambda invoke` and in the Lambda console's test).
#[derive(Debug, Serialize, PartialEq)]
pub struct CheckAnswer {
    /// Each app and kind read.
    pub packs: Vec<PackLine>,
    /// Each app and kind that failed, and why.
    pub failures: Vec<FailureLine>,
}

/// One app's packs of one kind.
#[derive(Debug, Serialize, PartialEq)]
pub struct PackLine {
    /// The app.
    pub appid: String,
    /// `quick` or `realtime`.
    pub pack: &'static str,
    /// Units used.
    pub used: u64,
    /// Units left.
    pub left: u64,
    /// Units used per day recently, when measurable.
    pub daily_use: Option<f64>,
    /// Days left at that rate, when known.
    pub days_left: Option<f64>,
}

/// One app and kind that failed.
#[derive(Debug, Serialize, PartialEq)]
pub struct FailureLine {
    /// The app.
    pub appid: String,
    /// `quick` or `realtime`.
    pub pack: &'static str,
    /// What failed (WeChat's errcode, or the store).
    pub error: String,
}

/// Records the metrics of `check` and answers it.
fn report(check: &PackCheck) -> CheckAnswer {
    for report in &check.reports {
        metrics::record_phone_pack(
            &report.appid,
            report.pack.name(),
            report.usage.used,
            report.usage.left(),
            report.days_left,
        );
    }
    if let Some(fewest) = check.fewest_days_left() {
        metrics::record_phone_pack_minimum(fewest);
    }
    CheckAnswer {
        packs: check
            .reports
            .iter()
            .map(|report| PackLine {
                appid: report.appid.clone(),
                pack: report.pack.name(),
                used: report.usage.used,
                left: report.usage.left(),
                daily_use: report.daily_use,
                days_left: report.days_left,
            })
            .collect(),
        failures: check
            .failures
            .iter()
            .map(|failure| FailureLine {
                appid: failure.appid.clone(),
                pack: failure.pack.name(),
                error: failure.error.to_string(),
            })
            .collect(),
    }
}

/// One run as the runner's handler: the event is not read (the schedule's input, or any
/// test event, starts the same check).
pub async fn handle<S, W>(
    packs: &PhonePacks<S, W>,
    _event: LambdaEvent<serde::de::IgnoredAny>,
) -> (Result<CheckAnswer, Diagnostic>, Ending)
where
    S: AccessTokenStore + PackReadings + Clone,
    W: WeChat,
{
    let check = packs.check(now_epoch_seconds()).await;
    let answer = report(&check);
    let outcome = check.outcome();
    let ending = Ending {
        outcome,
        error_code: check.failures.first().map(|failure| match &failure.error {
            PackCheckError::WeChat(err) => ApiError::from(err.clone()).code(),
            PackCheckError::Store(_) => ApiError::StoreUnavailable.code(),
        }),
        // Not a user's request: the upstream alarms count what users met. What failed
        // here is in WeChatErrors, the WARN/ERROR lines and PhonePackChecks.
        failed_upstream: None,
        http: None,
    };
    if outcome == NOTHING_READ {
        let failed = Diagnostic {
            error_type: "PhonePacksUnread".to_owned(),
            error_message:
                "no app's phone-verification packs could be read: see the WARN and ERROR lines"
                    .to_owned(),
        };
        return (Err(failed), ending);
    }
    (Ok(answer), ending)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Errcode, PhonePack, WeChatError};
    use crate::testing::{APPID, Twins, WeChatApi};

    fn event() -> LambdaEvent<serde::de::IgnoredAny> {
        LambdaEvent::new(serde::de::IgnoredAny, Default::default())
    }

    #[tokio::test]
    async fn a_run_answers_each_pack_and_ends_ok() {
        let twins = Twins::new();
        twins.wechat.set_pack(PhonePack::Quick, 100, 100);
        let (answer, ending) = handle(&twins.phone_packs(), event()).await;
        let answer = answer.unwrap();
        assert_eq!(ending.outcome, "ok");
        assert_eq!(ending.error_code, None);
        assert_eq!(
            answer.packs[0],
            PackLine {
                appid: APPID.to_owned(),
                pack: "quick",
                used: 100,
                left: 0,
                daily_use: None,
                days_left: Some(0.0),
            }
        );
        assert!(answer.failures.is_empty());
    }

    #[tokio::test]
    async fn nothing_read_fails_the_invocation() {
        let twins = Twins::new();
        twins.wechat.fail(
            WeChatApi::ChargeUsage,
            WeChatError::Api(Errcode::ApiUnauthorized),
            2,
        );
        let (answer, ending) = handle(&twins.phone_packs(), event()).await;
        assert_eq!(answer.unwrap_err().error_type, "PhonePacksUnread");
        assert_eq!(
            (ending.outcome, ending.error_code),
            ("failed", Some("wechat_error"))
        );
        assert_eq!(ending.failed_upstream, None);
    }
}
