//! What the request being served has shown so far, for its log line and metrics: its
//! time per upstream, recorded where the waiting happens (each adapter wraps its calls in
//! [`timed`]), what kind of request it is ([`set_kind`]) and which app it is for
//! ([`set_app`]). The runner installs a [`RequestRecord`] per invocation with
//! [`RequestRecord::scope`]; outside one (tools, direct adapter tests) these do nothing.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::metrics;

tokio::task_local! {
    static CURRENT: Arc<RequestRecord>;
}

/// An upstream a request waits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    /// api.weixin.qq.com.
    WeChat,
    /// DynamoDB.
    Store,
}

impl Upstream {
    /// Its value of the metrics' `Upstream` dimension.
    pub fn metric_value(self) -> &'static str {
        match self {
            Self::WeChat => metrics::WECHAT,
            Self::Store => metrics::DYNAMODB,
        }
    }
}

/// One request's time per upstream, the upstream it is waiting on right now, what kind
/// of request it turned out to be and its app: for its log line, its metrics, and for
/// blaming the right upstream when the deadline cuts a wait short.
#[derive(Debug, Default)]
pub struct RequestRecord(Mutex<RecordState>);

#[derive(Debug, Default)]
struct RecordState {
    wechat: Waits,
    store: Waits,
    kind: Option<&'static str>,
    app: Option<String>,
}

/// The waits on one upstream. Calls made at once (a login's two writes) overlap: the
/// total is the time at least one was open, not the sum, so it never exceeds the wall
/// time of the request.
#[derive(Debug, Default)]
struct Waits {
    total: Duration,
    open: u32,
    open_since: Option<Instant>,
}

impl Waits {
    fn start(&mut self) {
        if self.open == 0 {
            self.open_since = Some(Instant::now());
        }
        self.open += 1;
    }

    fn end(&mut self) {
        self.open = self.open.saturating_sub(1);
        if self.open == 0
            && let Some(since) = self.open_since.take()
        {
            self.total += since.elapsed();
        }
    }

    fn total(&self) -> Duration {
        self.total
            + self
                .open_since
                .map_or(Duration::ZERO, |since| since.elapsed())
    }
}

impl RecordState {
    fn waits(&mut self, upstream: Upstream) -> &mut Waits {
        match upstream {
            Upstream::WeChat => &mut self.wechat,
            Upstream::Store => &mut self.store,
        }
    }
}

/// Awaits `work`, a call to `upstream`, adding its duration to the current request's
/// total for that upstream.
pub async fn timed<T>(upstream: Upstream, work: impl Future<Output = T>) -> T {
    // On the heap: an SDK or HTTP call's future is tens of kilobytes in a debug build, and
    // inline it would swell every future that awaits it, up to the request's.
    let work = Box::pin(work);
    match CURRENT.try_with(Arc::clone) {
        Ok(record) => record.wait(upstream, work).await,
        Err(_) => work.await,
    }
}

/// Records the value of the current request's kind dimension (the phone form, the
/// session action), once the request is parsed that far.
pub fn set_kind(kind: &'static str) {
    let _ = CURRENT.try_with(|record| record.state().kind = Some(kind));
}

/// Records the app the current request is for, once known: the log line's `appid` and the
/// `AppId` dimension, kept only when the stack serves several apps (a single-app stack
/// pays nothing for it).
pub fn set_app(appid: &str) {
    if metrics::several_apps() {
        let _ = CURRENT.try_with(|record| record.state().app = Some(appid.to_owned()));
    }
}

/// The upstream the current request is still waiting on, if any (see
/// [`RequestRecord::in_flight`]).
pub fn in_flight() -> Option<Upstream> {
    CURRENT.try_with(|record| record.in_flight()).ok().flatten()
}

impl RequestRecord {
    fn state(&self) -> MutexGuard<'_, RecordState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `work` with this record as the current request's.
    pub async fn scope<F: Future>(self: &Arc<Self>, work: F) -> F::Output {
        CURRENT.scope(Arc::clone(self), work).await
    }

    async fn wait<T>(&self, upstream: Upstream, work: impl Future<Output = T>) -> T {
        self.state().waits(upstream).start();
        let output = work.await;
        // Not reached when the deadline drops `work`: the wait stays open, which is how
        // the deadline knows whom to blame.
        self.state().waits(upstream).end();
        output
    }

    /// The kind set by [`set_kind`], if any.
    pub fn kind(&self) -> Option<&'static str> {
        self.state().kind
    }

    /// The app set by [`set_app`], if any.
    pub fn app(&self) -> Option<String> {
        self.state().app.clone()
    }

    /// The upstream a wait is still open on (the deadline cut it short); the store when
    /// both are.
    pub fn in_flight(&self) -> Option<Upstream> {
        let mut state = self.state();
        [Upstream::Store, Upstream::WeChat]
            .into_iter()
            .find(|upstream| state.waits(*upstream).open > 0)
    }

    /// Time spent waiting on `upstream` (overlapping calls counted once), an unfinished
    /// wait included.
    pub fn total(&self, upstream: Upstream) -> Duration {
        self.state().waits(upstream).total()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_add_up_per_upstream_inside_a_scope() {
        let record = Arc::new(RequestRecord::default());
        record
            .scope(async {
                for _ in 0..2 {
                    timed(
                        Upstream::Store,
                        tokio::time::sleep(Duration::from_millis(5)),
                    )
                    .await;
                }
                set_kind("whoami");
            })
            .await;
        assert!(record.total(Upstream::Store) >= Duration::from_millis(10));
        assert_eq!(record.total(Upstream::WeChat), Duration::ZERO);
        assert_eq!(record.in_flight(), None);
        assert_eq!(record.kind(), Some("whoami"));
    }

    #[tokio::test]
    async fn overlapping_waits_count_once() {
        let record = Arc::new(RequestRecord::default());
        let started = Instant::now();
        record
            .scope(async {
                tokio::join!(
                    timed(
                        Upstream::Store,
                        tokio::time::sleep(Duration::from_millis(30))
                    ),
                    timed(
                        Upstream::Store,
                        tokio::time::sleep(Duration::from_millis(30))
                    ),
                );
            })
            .await;
        let total = record.total(Upstream::Store);
        assert!(total >= Duration::from_millis(30));
        assert!(total <= started.elapsed(), "{total:?} within the wall time");
        assert_eq!(record.in_flight(), None);
    }

    #[tokio::test]
    async fn outside_a_scope_timed_just_awaits() {
        assert_eq!(timed(Upstream::WeChat, async { 7 }).await, 7);
        set_kind("ignored");
    }

    #[tokio::test]
    async fn an_unfinished_wait_is_in_flight_and_counted() {
        let record = Arc::new(RequestRecord::default());
        let cut_short = tokio::time::timeout(
            Duration::from_millis(20),
            record.scope(timed(
                Upstream::WeChat,
                tokio::time::sleep(Duration::from_secs(10)),
            )),
        )
        .await;
        assert!(cut_short.is_err());
        assert_eq!(record.in_flight(), Some(Upstream::WeChat));
        assert!(record.total(Upstream::WeChat) >= Duration::from_millis(20));
    }
}
