//! The invocation's deadline: answer with the API's 503 a second before Lambda would
//! cut the request off, blaming the upstream that was being waited on.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_http::{Request, RequestExt};

use super::ApiError;
use crate::telemetry::current::{self, Upstream};

/// Answer this long before Lambda's deadline, so the client gets the API's 503
/// rather than API Gateway's own error when every upstream is slow at once.
const DEADLINE_MARGIN: Duration = Duration::from_millis(1000);
/// The budget when there is no Lambda context (direct calls in tests and tools).
const DEFAULT_BUDGET: Duration = Duration::from_secs(25);
/// A deadline further in the past than this is no real invocation's (Lambda allows 15
/// minutes at most) but a tool's placeholder: `cargo lambda watch` sends a duration
/// (600000) where an epoch time belongs. Such a deadline is ignored, not obeyed.
const IMPLAUSIBLY_PAST_MS: u64 = 3600 * 1000;

/// Runs `work` within the invocation's deadline; past it, 503 for the upstream that was
/// being waited on: `store_unavailable` for DynamoDB, else `on_wechat` (the route's own
/// `wechat_unavailable`, whose advice — for a login, a fresh `wx.login` — holds either way).
/// Runs inside the invocation's [`RequestRecord`](crate::telemetry::current::RequestRecord)
/// scope, which says what was being waited on.
pub(crate) async fn within_deadline<T>(
    request: &Request,
    on_wechat: ApiError,
    work: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let budget = budget(request);
    match tokio::time::timeout(budget, work).await {
        Ok(outcome) => outcome,
        Err(_) => {
            let waiting_on = current::in_flight();
            tracing::warn!(
                budget_ms = budget.as_millis() as u64,
                deadline_ms = request.lambda_context_ref().map(|context| context.deadline),
                waiting_on = ?waiting_on,
                "request deadline reached"
            );
            Err(match waiting_on {
                Some(Upstream::Store) => ApiError::StoreUnavailable,
                Some(Upstream::WeChat) | None => on_wechat,
            })
        }
    }
}

/// Time left before Lambda's deadline, less the margin: nothing when less than the margin
/// is left (or the deadline has passed), so the 503 goes out at once. The default budget
/// is only for requests without a real Lambda deadline (direct calls in tests and tools).
fn budget(request: &Request) -> Duration {
    let deadline_ms = request
        .lambda_context_ref()
        .map(|context| context.deadline)
        .filter(|deadline| *deadline > 0);
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(u64::MAX, |now| {
            u64::try_from(now.as_millis()).unwrap_or(u64::MAX)
        });
    match deadline_ms {
        Some(deadline_ms) if deadline_ms.saturating_add(IMPLAUSIBLY_PAST_MS) >= now_ms => {
            Duration::from_millis(deadline_ms.saturating_sub(now_ms))
                .saturating_sub(DEADLINE_MARGIN)
        }
        _ => DEFAULT_BUDGET,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Instant;

    use super::*;
    use crate::telemetry::current::{RequestRecord, timed};
    use lambda_http::Context;

    fn request_with_deadline_in(ms: i64) -> Request {
        let now_ms = i64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap();
        let mut context = Context::default();
        context.deadline = u64::try_from(now_ms + ms).unwrap();
        Request::default().with_lambda_context(context)
    }

    async fn run<T>(
        request: &Request,
        timings: &Arc<RequestRecord>,
        work: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        timings
            .scope(within_deadline(request, ApiError::WeChatUnavailable, work))
            .await
    }

    #[tokio::test]
    async fn work_past_the_deadline_answers_503_a_second_early() {
        let request = request_with_deadline_in(1_300);
        let started = Instant::now();
        let timings = Arc::new(RequestRecord::default());
        let outcome: Result<(), ApiError> = run(&request, &timings, async {
            timed(
                Upstream::WeChat,
                tokio::time::sleep(Duration::from_secs(10)),
            )
            .await;
            Ok(())
        })
        .await;
        assert_eq!(outcome, Err(ApiError::WeChatUnavailable));
        assert!(timings.total(Upstream::WeChat) >= Duration::from_millis(250));
        assert!(
            started.elapsed() < Duration::from_millis(1_000),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn a_deadline_reached_while_waiting_on_dynamodb_blames_the_store() {
        let request = request_with_deadline_in(1_200);
        let timings = Arc::new(RequestRecord::default());
        let outcome: Result<(), ApiError> = run(&request, &timings, async {
            timed(Upstream::WeChat, async {}).await;
            timed(Upstream::Store, tokio::time::sleep(Duration::from_secs(10))).await;
            Ok(())
        })
        .await;
        assert_eq!(outcome, Err(ApiError::StoreUnavailable));
        assert_eq!(timings.in_flight(), Some(Upstream::Store));
        assert!(timings.total(Upstream::Store) > timings.total(Upstream::WeChat));
    }

    #[tokio::test]
    async fn work_within_the_deadline_is_untouched() {
        let request = request_with_deadline_in(5_000);
        let timings = Arc::new(RequestRecord::default());
        let outcome = run(&request, &timings, async { Ok::<_, ApiError>(7) }).await;
        assert_eq!(outcome, Ok(7));
        assert_eq!(timings.in_flight(), None);
    }

    #[test]
    fn less_than_the_margin_left_leaves_no_budget() {
        for left_ms in [999, 500, 0, -2_000] {
            assert_eq!(
                budget(&request_with_deadline_in(left_ms)),
                Duration::ZERO,
                "{left_ms} ms left"
            );
        }
        // A placeholder no real invocation has (cargo lambda watch's 600000) is ignored.
        let mut context = Context::default();
        context.deadline = 600_000;
        assert_eq!(
            budget(&Request::default().with_lambda_context(context)),
            DEFAULT_BUDGET
        );
        let ample = budget(&request_with_deadline_in(10_000));
        assert!(ample > Duration::from_secs(8) && ample <= Duration::from_secs(9));
        assert_eq!(budget(&Request::default()), DEFAULT_BUDGET);
    }

    #[tokio::test]
    async fn a_passed_deadline_answers_503_without_waiting() {
        let request = request_with_deadline_in(-500);
        let timings = Arc::new(RequestRecord::default());
        let started = Instant::now();
        let outcome: Result<(), ApiError> = run(&request, &timings, async {
            timed(Upstream::Store, tokio::time::sleep(Duration::from_secs(10))).await;
            Ok(())
        })
        .await;
        assert_eq!(outcome, Err(ApiError::StoreUnavailable));
        assert!(started.elapsed() < Duration::from_millis(500));
    }
}
