//! The contract every store adapter must honour, one suite per port. Each takes a fresh,
//! empty store; `MemoryTable` runs them in this crate's tests and `DynamoTable` on
//! DynamoDB Local in `tests/stack/store_contract.rs`. A suite panics on the first broken
//! promise, naming it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::domain::clock::{now_epoch_millis, now_epoch_seconds};
use crate::domain::{
    BoundPhone, CachedAccessToken, ForcedRefreshClaim, ForcedRefreshPolicy, LoginCode, PhoneNumber,
    PhoneVerification, QuotaWindow, Session, SessionToken, UserKey, UserLogin, WeChatLogin,
};
use crate::ports::{
    AccessTokenStore, CODE_CLAIM_TTL_SECONDS, ClaimError, CodeClaims, Quotas, Sessions, Users,
};

fn session_expiring_at(expires_at: i64) -> Session {
    let login = WeChatLogin {
        openid: OPENID.into(),
        unionid: Some("ocMvos6NjeKLIBqg5Mr9QjxrP1FA".into()),
        session_key: SecretString::from("tiihtNczf5v6AKRyjwEUhQ==".to_owned()),
    };
    Session::start(
        APPID,
        login,
        (expires_at - 7200) * 1000,
        Duration::from_secs(7200),
    )
}

const OPENID: &str = "oGZUI0egBJY1zhBYw2KhdUfwVJJE";
/// The app the suites' sessions and users belong to.
const APPID: &str = "wxcontract0000001";
/// Another app of the same stack.
const OTHER_APPID: &str = "wxcontract0000002";

fn token() -> SessionToken {
    SessionToken::issue(&UserKey::of(OPENID)).unwrap()
}

/// [`Sessions`]: round trip, expiry on read, logout; a session reads with its user.
pub async fn sessions(store: &(impl Sessions + Users)) {
    let now = now_epoch_seconds();
    let now_ms = now * 1000;
    let token = token();
    assert!(
        store.get_session(&token, now_ms).await.unwrap().is_none(),
        "an unknown token has no session"
    );
    let session = session_expiring_at(now + 100);
    store.put_session(&token.hash(), &session).await.unwrap();
    assert!(
        store.get_session(&token, now_ms).await.unwrap().is_none(),
        "a session without its user item is refused: nothing skips the revocation check"
    );

    let login = UserLogin {
        appid: APPID.into(),
        openid: OPENID.into(),
        unionid: None,
        at: now,
        session_expires_at: now + 100,
    };
    store
        .record_login(&token.user_key(), &login, &token.hash())
        .await
        .unwrap();
    let live = store
        .get_session(&token, now_ms)
        .await
        .unwrap()
        .expect("a stored session reads back");
    let read = &live.session;
    assert_eq!(read.appid, APPID, "a session keeps its app");
    assert_eq!(read.openid, OPENID);
    assert_eq!(
        read.unionid.as_deref(),
        Some("ocMvos6NjeKLIBqg5Mr9QjxrP1FA")
    );
    assert_eq!(read.session_key.expose_secret(), "tiihtNczf5v6AKRyjwEUhQ==");
    assert_eq!(
        (read.created_at, read.expires_at, read.issued_at_ms),
        (now - 7100, now + 100, (now - 7100) * 1000)
    );
    assert_eq!(
        (live.user.appid.as_str(), live.user.openid.as_str()),
        (APPID, OPENID),
        "the user comes with the session, in the same read"
    );

    // TTL deletion is lazy (never, in DynamoDB Local): the read itself must check.
    for later in [now + 100, now + 10_000] {
        assert!(
            store
                .get_session(&token, later * 1000)
                .await
                .unwrap()
                .is_none(),
            "a session is dead at its expires_at"
        );
    }

    // A token names its user: one naming another user's key reads no session.
    let mut elsewhere = session_expiring_at(now + 100);
    elsewhere.openid = "oAnotherUser".into();
    store.put_session(&token.hash(), &elsewhere).await.unwrap();
    assert!(store.get_session(&token, now_ms).await.unwrap().is_none());

    store.delete_session(&token.hash()).await.unwrap();
    assert!(store.get_session(&token, now_ms).await.unwrap().is_none());
    store
        .delete_session(&token.hash())
        .await
        .expect("a second delete is harmless");
}

/// [`Users`]: one user per key, created once however many logins race; logins touch it;
/// the phone binds and rebinds; revoking ends exactly the live listed sessions.
pub async fn users(store: &(impl Sessions + Users)) {
    let now = now_epoch_seconds();
    let key = UserKey::of(OPENID);
    let login = |at: i64, unionid: Option<&str>| UserLogin {
        appid: APPID.into(),
        openid: OPENID.into(),
        unionid: unionid.map(str::to_owned),
        at,
        session_expires_at: at + 7200,
    };
    let tokens: Vec<SessionToken> = (0..4).map(|_| token()).collect();

    let first = login(now, None);
    let hashes: Vec<_> = tokens.iter().map(SessionToken::hash).collect();
    let racing = hashes
        .iter()
        .map(|hash| store.record_login(&key, &first, hash));
    let recorded = futures_join_all(racing).await;
    assert_eq!(
        recorded.iter().filter(|login| login.new_user).count(),
        1,
        "concurrent first logins create the user once"
    );
    assert!(recorded.iter().all(|login| login.user.created_at == now));

    let later = store
        .record_login(&key, &login(now + 60, Some("union1")), &tokens[0].hash())
        .await
        .unwrap();
    assert!(!later.new_user);
    assert_eq!(
        (
            later.user.created_at,
            later.user.last_login_at,
            later.user.unionid.as_deref()
        ),
        (now, now + 60, Some("union1"))
    );
    let again = store
        .record_login(&key, &login(now + 120, None), &tokens[1].hash())
        .await
        .unwrap();
    assert_eq!(
        again.user.unionid.as_deref(),
        Some("union1"),
        "a login without a unionid never erases the known one"
    );
    assert!(again.user.phone.is_none());

    for number in ["13800138000", "13900139000"] {
        let phone = BoundPhone {
            number: PhoneNumber {
                phone_number: number.into(),
                pure_phone_number: number.into(),
                country_code: "86".into(),
            },
            verified_at: now + 200,
            verified_by: PhoneVerification::Code,
        };
        store.bind_phone(&key, OPENID, &phone).await.unwrap();
        let touched = store
            .record_login(&key, &login(now + 300, None), &tokens[2].hash())
            .await
            .unwrap();
        assert_eq!(touched.user.phone, Some(phone), "bound, then replaced");
    }

    // Sessions for revocation: two live, one expired, one logged out.
    let listed = |offset: i64| UserLogin {
        session_expires_at: now + offset,
        ..login(now, None)
    };
    let mut live_tokens = Vec::new();
    for (index, offset) in [(0, 7200), (1, 7200), (2, -5), (3, 7200)] {
        let token = token();
        let session = session_expiring_at(now + offset);
        store.put_session(&token.hash(), &session).await.unwrap();
        store
            .record_login(&key, &listed(offset), &token.hash())
            .await
            .unwrap();
        if index == 3 {
            store
                .forget_session(&key, &token.hash(), now + offset)
                .await
                .unwrap();
        }
        live_tokens.push(token);
    }
    let now_ms = now_epoch_millis();
    assert!(
        store
            .get_session(&live_tokens[0], now_ms)
            .await
            .unwrap()
            .is_some()
    );
    let ended = store.revoke_sessions(&key, OPENID, now_ms).await.unwrap();
    // The racing and touching logins above listed 7 sessions (all live), plus two live
    // here: the expired and the forgotten ones do not count.
    assert_eq!(ended, 9, "every live listed session, no more");
    for token in &live_tokens {
        assert!(
            store
                .get_session(token, now_ms + 1)
                .await
                .unwrap()
                .is_none(),
            "a revoked session is refused"
        );
    }
    let after = token();
    let mut fresh = session_expiring_at(now + 7200);
    fresh.issued_at_ms = now_ms + 1;
    store.put_session(&after.hash(), &fresh).await.unwrap();
    assert!(
        store
            .get_session(&after, now_ms + 2)
            .await
            .unwrap()
            .is_some(),
        "a session issued after the revocation lives"
    );
    assert_eq!(
        store
            .revoke_sessions(&key, OPENID, now_ms + 3)
            .await
            .unwrap(),
        0
    );

    let stranger = UserKey::of("someone-else");
    store
        .forget_session(&stranger, &after.hash(), now)
        .await
        .expect("forgetting on an unknown user is harmless");
}

/// Awaits every future, in order, concurrently.
async fn futures_join_all<F, T, E>(futures: impl Iterator<Item = F>) -> Vec<T>
where
    F: Future<Output = Result<T, E>>,
    E: std::fmt::Debug,
{
    let handles: Vec<_> = futures.map(Box::pin).collect();
    let mut results = Vec::new();
    for outcome in join_all(handles).await {
        results.push(outcome.unwrap());
    }
    results
}

/// Polls every future until all are done (a tiny `join_all`, to need no extra crate).
async fn join_all<F: Future + Unpin>(mut futures: Vec<F>) -> Vec<F::Output> {
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match std::pin::Pin::new(&mut *future).poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// [`CodeClaims`]: one live claim per code and app; expired claims do not block; a stale
/// claim's release never frees a newer one.
pub async fn code_claims(store: &impl CodeClaims) {
    let now = now_epoch_seconds();
    let code = LoginCode::parse("raceMe").unwrap();

    let claim = store.claim_code(APPID, &code, now).await.unwrap();
    assert_eq!(
        store
            .claim_code(APPID, &code, now + CODE_CLAIM_TTL_SECONDS - 1)
            .await
            .unwrap_err(),
        ClaimError::AlreadyClaimed
    );
    let other = LoginCode::parse("another").unwrap();
    store.claim_code(APPID, &other, now).await.unwrap();
    let elsewhere = store
        .claim_code(OTHER_APPID, &code, now)
        .await
        .expect("a code sent to another app is that app's claim");
    store.release_code(elsewhere).await.unwrap();
    assert_eq!(
        store.claim_code(APPID, &code, now + 1).await.unwrap_err(),
        ClaimError::AlreadyClaimed,
        "releasing another app's claim leaves this app's"
    );

    // Past the 5-minute life of a code the leftover claim (TTL not yet run) is ignored.
    let later = store
        .claim_code(APPID, &code, now + CODE_CLAIM_TTL_SECONDS)
        .await
        .unwrap();
    store.release_code(claim).await.unwrap();
    assert_eq!(
        store
            .claim_code(APPID, &code, now + CODE_CLAIM_TTL_SECONDS + 1)
            .await
            .unwrap_err(),
        ClaimError::AlreadyClaimed,
        "releasing the stale claim must not free the newer one"
    );
    store.release_code(later).await.unwrap();
    store
        .claim_code(APPID, &code, now + CODE_CLAIM_TTL_SECONDS + 2)
        .await
        .expect("a released code can be claimed again");
}

/// [`AccessTokenStore`]: one token per appid, returned expired or not; an older token
/// never replaces a newer one, nor one asked for before the last forced refresh; forced
/// refreshes claimed at most once per interval and `per_day` times a (Beijing) day.
pub async fn access_tokens(store: &impl AccessTokenStore) {
    let cached = |token: &str, expires_at: i64, requested_at_ms: i64, fetched_at_ms: i64| {
        CachedAccessToken {
            token: token.into(),
            expires_at,
            requested_at_ms,
            fetched_at_ms,
        }
    };
    assert!(store.get_access_token("wxA").await.unwrap().is_none());
    // The first is long expired: the store returns it all the same, the caller decides.
    for (token, expires_at, fetched_at_ms) in
        [("first", 2_000, 1_000_000), ("second", 9_000, 2_000_000)]
    {
        let wrote = store
            .put_access_token(
                "wxA",
                &cached(token, expires_at, fetched_at_ms - 50, fetched_at_ms),
            )
            .await
            .unwrap();
        assert!(wrote);
        let read = store.get_access_token("wxA").await.unwrap().unwrap();
        assert_eq!(
            (
                read.token.as_str(),
                read.expires_at,
                read.requested_at_ms,
                read.fetched_at_ms
            ),
            (token, expires_at, fetched_at_ms - 50, fetched_at_ms)
        );
        assert!(
            store.get_access_token("wxB").await.unwrap().is_none(),
            "one token per appid"
        );
    }
    // A slow writer with a token fetched earlier does not put it back.
    let stale = cached("stale", 9_500, 1_500_000, 1_900_000);
    assert!(!store.put_access_token("wxA", &stale).await.unwrap());
    assert_eq!(
        store.get_access_token("wxA").await.unwrap().unwrap().token,
        "second"
    );

    let policy = ForcedRefreshPolicy {
        min_interval_ms: 300_000,
        per_day: 2,
    };
    // Beijing noon of some day, in epoch milliseconds.
    let noon_ms = (20_000 * 86_400 + 4 * 3600) * 1000;
    let claim = |at_ms: i64| store.claim_forced_refresh("wxA", at_ms, policy);
    assert_eq!(claim(noon_ms).await.unwrap(), ForcedRefreshClaim::Granted);
    assert_eq!(
        claim(noon_ms + 299_999).await.unwrap(),
        ForcedRefreshClaim::TooSoon
    );
    // The claim left the token alone, and fences off tokens asked for before it.
    assert_eq!(
        store.get_access_token("wxA").await.unwrap().unwrap().token,
        "second"
    );
    let asked_before = cached("asked-before", 99_000, noon_ms - 1, noon_ms + 10);
    assert!(!store.put_access_token("wxA", &asked_before).await.unwrap());
    let forced = cached("forced", 99_000, noon_ms + 5, noon_ms + 20);
    assert!(store.put_access_token("wxA", &forced).await.unwrap());
    assert_eq!(
        store.get_access_token("wxA").await.unwrap().unwrap().token,
        "forced"
    );

    assert_eq!(
        claim(noon_ms + 300_000).await.unwrap(),
        ForcedRefreshClaim::Granted
    );
    assert_eq!(
        claim(noon_ms + 700_000).await.unwrap(),
        ForcedRefreshClaim::DailyLimit
    );
    // The next Beijing day starts a new count.
    assert_eq!(
        claim(noon_ms + 86_400_000).await.unwrap(),
        ForcedRefreshClaim::Granted
    );
    // A claim whose forced call never reached WeChat is given back: the next may force
    // at once, and the day's count is one lower again.
    let next_day_ms = noon_ms + 86_400_000;
    store
        .release_forced_refresh("wxA", next_day_ms)
        .await
        .unwrap();
    assert_eq!(
        claim(next_day_ms + 1).await.unwrap(),
        ForcedRefreshClaim::Granted
    );
    assert_eq!(
        claim(next_day_ms + 400_000).await.unwrap(),
        ForcedRefreshClaim::Granted,
        "the released claim no longer counts"
    );
    // Releasing a claim that is not the latest changes nothing.
    store
        .release_forced_refresh("wxA", next_day_ms)
        .await
        .unwrap();
    assert_eq!(
        claim(next_day_ms + 800_000).await.unwrap(),
        ForcedRefreshClaim::DailyLimit
    );
    let never = ForcedRefreshPolicy {
        min_interval_ms: 0,
        per_day: 0,
    };
    assert_eq!(
        store
            .claim_forced_refresh("wxC", noon_ms, never)
            .await
            .unwrap(),
        ForcedRefreshClaim::DailyLimit
    );
    // Another appid has its own record, and a claim on an app with no token yet works.
    assert_eq!(
        store
            .claim_forced_refresh("wxB", noon_ms, policy)
            .await
            .unwrap(),
        ForcedRefreshClaim::Granted
    );
    assert!(store.get_access_token("wxB").await.unwrap().is_none());
}

/// [`Quotas`]: a window counts up to its limit and no further; windows are independent;
/// a call given back frees its place.
pub async fn quotas(store: &impl Quotas) {
    let window = |name: &str| QuotaWindow {
        name: name.to_owned(),
        ends_at: 4_000_000_000,
    };
    let (a, b) = (window("phone#a#1"), window("phone#b#1"));
    for _ in 0..3 {
        assert!(store.take(&a, 3).await.unwrap());
    }
    assert!(!store.take(&a, 3).await.unwrap(), "the fourth is refused");
    assert!(
        !store.take(&a, 3).await.unwrap(),
        "a refusal counts nothing"
    );
    assert!(
        store.take(&b, 3).await.unwrap(),
        "another window is its own"
    );
    store.give_back(&a).await.unwrap();
    assert!(store.take(&a, 3).await.unwrap());
    assert!(!store.take(&a, 3).await.unwrap());
    assert!(
        !store.take(&window("phone#z#1"), 0).await.unwrap(),
        "a limit of 0 allows none"
    );
    // Giving back to an empty or unknown window never goes below zero.
    let c = window("check#c#1");
    store.give_back(&c).await.unwrap();
    assert!(store.take(&c, 1).await.unwrap());
    assert!(!store.take(&c, 1).await.unwrap());
}

#[cfg(test)]
mod memory_twin {
    use crate::testing::MemoryTable;

    #[tokio::test]
    async fn honours_the_sessions_contract() {
        super::sessions(&MemoryTable::new()).await;
    }

    #[tokio::test]
    async fn honours_the_users_contract() {
        super::users(&MemoryTable::new()).await;
    }

    #[tokio::test]
    async fn honours_the_code_claims_contract() {
        super::code_claims(&MemoryTable::new()).await;
    }

    #[tokio::test]
    async fn honours_the_quotas_contract() {
        super::quotas(&MemoryTable::new()).await;
    }

    #[tokio::test]
    async fn honours_the_access_token_contract() {
        super::access_tokens(&MemoryTable::new()).await;
    }
}
