//! The contract every store adapter must honour, one suite per port. Each takes a fresh,
//! empty store; `MemoryTable` runs them in this crate's tests and `DynamoTable` on
//! DynamoDB Local in `tests/stack/store_contract.rs`. A suite panics on the first broken
//! promise, naming it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::adapters::dynamodb::keys;
use crate::adapters::stack_key::StackKeySource;
use crate::domain::ErasureReason;
use crate::domain::clock::now_epoch_seconds;
use crate::domain::pack_forecast::MAX_PACK_READINGS;
use crate::domain::{
    BoundPhone, CachedAccessToken, ForcedRefreshClaim, ForcedRefreshPolicy, ListedSession,
    LoginCode, PhoneNumber, PhoneVerification, QuotaWindow, Session, SessionToken, UserKey,
    UserLogin, WeChatLogin,
};
use crate::domain::{PackReading, PhonePack};
use crate::ports::PackReadings;
use crate::ports::{
    AccessTokenStore, CODE_CLAIM_TTL_SECONDS, ClaimError, CodeClaims, ErasureLog, Quotas, Sessions,
    UserDirectory, Users,
};
use crate::testing::stack_key;
use crate::usecases::Accounts;

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
    SessionToken::issue(&crate::testing::user_key(OPENID)).unwrap()
}

/// Writes a session of [`OPENID`] expiring at `expires_at` and lists it on the user, as a
/// login does: its token.
async fn logged_in(
    store: &(impl Sessions + Users),
    expires_at: i64,
    unionid: Option<&str>,
) -> SessionToken {
    let token = token();
    let session = session_expiring_at(expires_at);
    store.put_session(&token.hash(), &session).await.unwrap();
    store
        .record_login(
            &crate::testing::user_key(OPENID),
            &user_login(&session, &token, unionid),
        )
        .await
        .unwrap();
    token
}

/// What a login of `session` records on its user.
fn user_login(session: &Session, token: &SessionToken, unionid: Option<&str>) -> UserLogin {
    UserLogin {
        appid: APPID.into(),
        openid: OPENID.into(),
        unionid: unionid.map(str::to_owned),
        at: session.created_at,
        session: ListedSession::of(session, &token.hash()),
        keep_until: None,
    }
}

fn phone(number: &str, verified_at: i64) -> BoundPhone {
    BoundPhone {
        number: PhoneNumber {
            phone_number: number.into(),
            pure_phone_number: number.into(),
            country_code: "86".into(),
        },
        verified_at,
        verified_by: PhoneVerification::Code,
    }
}

/// [`Sessions`]: round trip, expiry on read, logout; a session reads with its user, and
/// only while the user lists it.
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
        "a session without its user item is refused"
    );

    store
        .record_login(&token.user_key(), &user_login(&session, &token, None))
        .await
        .unwrap();
    let live = store
        .get_session(&token, now_ms)
        .await
        .unwrap()
        .expect("a stored, listed session reads back");
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
    assert_eq!(live.listing, ListedSession::of(read, &token.hash()));

    let unlisted = crate::domain::SessionToken::issue(&crate::testing::user_key(OPENID)).unwrap();
    store
        .put_session(&unlisted.hash(), &session_expiring_at(now + 100))
        .await
        .unwrap();
    assert!(
        store
            .get_session(&unlisted, now_ms)
            .await
            .unwrap()
            .is_none(),
        "a session its user does not list is refused"
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

    let many: Vec<SessionToken> = (0..30).map(|_| self::token()).collect();
    for token in &many {
        let session = session_expiring_at(now + 100);
        store.put_session(&token.hash(), &session).await.unwrap();
        store
            .record_login(&token.user_key(), &user_login(&session, token, None))
            .await
            .unwrap();
    }
    let hashes: Vec<_> = many.iter().map(SessionToken::hash).collect();
    store
        .delete_sessions(&hashes)
        .await
        .expect("more than one batch of deletes, absent ones among them");
    store.delete_sessions(&hashes).await.unwrap();
    store
        .delete_sessions(&[hashes[0].clone(), hashes[0].clone()])
        .await
        .expect("a key named twice is deleted once");
    for token in &many {
        assert!(store.get_session(token, now_ms).await.unwrap().is_none());
    }
}

/// [`Users`]: one user per key, created once however many logins race; logins touch it;
/// the phone binds only for a listed session, and unbinds; ending sessions ends exactly
/// the listed ones.
pub async fn users(store: &(impl Sessions + Users)) {
    let now = now_epoch_seconds();
    let now_ms = now * 1000;
    let key = crate::testing::user_key(OPENID);
    let tokens: Vec<SessionToken> = (0..4).map(|_| token()).collect();
    let sessions: Vec<Session> = (0..4).map(|_| session_expiring_at(now + 7200)).collect();
    for (token, session) in tokens.iter().zip(&sessions) {
        store.put_session(&token.hash(), session).await.unwrap();
    }
    let logins: Vec<UserLogin> = tokens
        .iter()
        .zip(&sessions)
        .map(|(token, session)| user_login(session, token, None))
        .collect();
    let racing = logins.iter().map(|login| store.record_login(&key, login));
    let recorded = futures_join_all(racing).await;
    assert_eq!(
        recorded.iter().filter(|login| login.new_user).count(),
        1,
        "concurrent first logins create the user once"
    );
    let created_at = sessions[0].created_at;
    assert!(
        recorded
            .iter()
            .all(|login| login.user.created_at == created_at)
    );
    for token in &tokens {
        assert!(
            store.get_session(token, now_ms).await.unwrap().is_some(),
            "every racing login's session is listed"
        );
    }

    let touch = |at: i64, unionid: Option<&str>, keep_until: Option<i64>| UserLogin {
        at,
        keep_until,
        ..user_login(&sessions[0], &tokens[0], unionid)
    };
    let later = store
        .record_login(&key, &touch(now + 60, Some("union1"), Some(now + 86_400)))
        .await
        .unwrap();
    assert!(!later.new_user);
    assert_eq!(
        (
            later.user.created_at,
            later.user.last_login_at,
            later.user.unionid.as_deref(),
            later.user.expires_at,
        ),
        (created_at, now + 60, Some("union1"), Some(now + 86_400))
    );
    let again = store
        .record_login(&key, &touch(now + 120, None, None))
        .await
        .unwrap();
    assert_eq!(
        again.user.unionid.as_deref(),
        Some("union1"),
        "a login without a unionid never erases the known one"
    );
    assert_eq!(
        again.user.expires_at, None,
        "a stack keeping users for good"
    );
    assert!(again.user.phone.is_none());
    let read = store
        .user(&key)
        .await
        .unwrap()
        .expect("the user reads back");
    assert_eq!(
        (read.openid.as_str(), read.created_at),
        (OPENID, created_at)
    );
    assert_eq!(
        read.sessions.len(),
        4,
        "each racing login's session listed once"
    );
    assert!(
        store
            .user(&crate::testing::user_key("nobody"))
            .await
            .unwrap()
            .is_none()
    );

    let listing = ListedSession::of(&sessions[1], &tokens[1].hash());
    for number in ["13800138000", "13900139000"] {
        let bound = phone(number, now + 200);
        assert!(store.bind_phone(&key, &listing, &bound).await.unwrap());
        let live = store
            .get_session(&tokens[1], now_ms)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(live.user.phone, Some(bound), "bound, then replaced");
    }
    let unlisted = ListedSession {
        token: self::token().hash(),
        ..listing.clone()
    };
    assert!(
        !store
            .bind_phone(&key, &unlisted, &phone("13700137000", now))
            .await
            .unwrap(),
        "no binding for a session the user does not list"
    );
    let stranger = crate::testing::user_key("someone-else");
    assert!(
        !store
            .bind_phone(&stranger, &listing, &phone("13700137000", now))
            .await
            .unwrap(),
        "no binding brings back an absent user"
    );
    assert!(
        !store.unbind_phone(&key, OTHER_APPID).await.unwrap(),
        "another app's user"
    );
    assert!(store.unbind_phone(&key, APPID).await.unwrap());
    assert!(
        !store.unbind_phone(&key, APPID).await.unwrap(),
        "nothing left to unbind"
    );
    let live = store
        .get_session(&tokens[1], now_ms)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.user.phone, None);

    // A logout takes one session off the list.
    store
        .forget_session(&key, &ListedSession::of(&sessions[3], &tokens[3].hash()))
        .await
        .unwrap();
    assert!(
        store
            .get_session(&tokens[3], now_ms)
            .await
            .unwrap()
            .is_none()
    );

    let expired = logged_in(store, now - 5, None).await;
    let ended = store.end_sessions(&key).await.unwrap();
    let mut ended_hashes: Vec<_> = ended.iter().map(|listed| listed.token.clone()).collect();
    ended_hashes.sort_by(|a, b| a.as_hex().cmp(b.as_hex()));
    let mut expected: Vec<_> = [&tokens[0], &tokens[1], &tokens[2], &expired]
        .iter()
        .map(|token| token.hash())
        .collect();
    expected.sort_by(|a, b| a.as_hex().cmp(b.as_hex()));
    assert_eq!(ended_hashes, expected, "every listed session, no more");
    for token in &tokens {
        assert!(
            store.get_session(token, now_ms).await.unwrap().is_none(),
            "an ended session is refused"
        );
    }
    let after = logged_in(store, now + 7200, None).await;
    assert!(
        store.get_session(&after, now_ms).await.unwrap().is_some(),
        "a session listed after the others ended lives"
    );
    assert_eq!(store.end_sessions(&key).await.unwrap().len(), 1);
    assert!(store.end_sessions(&key).await.unwrap().is_empty());
    store.forget_ended(&key, &ended).await.unwrap();

    assert!(store.end_sessions(&stranger).await.unwrap().is_empty());
    store
        .forget_session(&stranger, &listing)
        .await
        .expect("forgetting on an unknown user is harmless");
    store
        .forget_ended(&stranger, &ended)
        .await
        .expect("on an unknown user too");
    assert!(
        store
            .begin_erasure(&stranger, APPID, ErasureReason::User, now_ms)
            .await
            .unwrap()
            .is_none()
    );
}

/// Awaits every future, in order, concurrently.
async fn futures_join_all<F, T, E>(futures: impl Iterator<Item = F>) -> Vec<T>
where
    F: Future<Output = Result<T, E>>,
    E: std::fmt::Debug,
{
    let handles: Vec<_> = futures.map(Box::pin).collect();
    let mut results = Vec::new();
    for outcome in crate::usecases::concurrently::join_all(handles).await {
        results.push(outcome.unwrap());
    }
    results
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
    // Times from tomorrow's start (UTC): the item's TTL follows them, and DynamoDB Local
    // deletes an item whose TTL has passed at any moment, which made this test flaky.
    let base_ms = (now_epoch_seconds() / 86_400 + 1) * 86_400_000;
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
    for (token, expires_at, fetched_at_ms) in [
        ("first", 2_000, base_ms + 1_000_000),
        ("second", 9_000, base_ms + 2_000_000),
    ] {
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
    let stale = cached("stale", 9_500, base_ms + 1_500_000, base_ms + 1_900_000);
    assert!(!store.put_access_token("wxA", &stale).await.unwrap());
    assert_eq!(
        store.get_access_token("wxA").await.unwrap().unwrap().token,
        "second"
    );

    let policy = ForcedRefreshPolicy {
        min_interval_ms: 300_000,
        per_day: 2,
    };
    // Beijing noon of that day, in epoch milliseconds.
    let noon_ms = base_ms + 4 * 3600 * 1000;
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

    assert_eq!(store.counted(&a, 1_000).await.unwrap(), 3);
    assert_eq!(
        store.counted(&window("phone#none#1"), 1_000).await.unwrap(),
        0
    );
    assert_eq!(
        store.counted(&a, 4_000_000_000).await.unwrap(),
        0,
        "an ended window"
    );
    store
        .delete_windows(&[a.clone(), c.clone(), window("phone#none#1")])
        .await
        .unwrap();
    assert_eq!(store.counted(&a, 1_000).await.unwrap(), 0);
    assert_eq!(store.counted(&b, 1_000).await.unwrap(), 1, "left alone");
    assert!(
        store.take(&c, 1).await.unwrap(),
        "a deleted counter starts again"
    );

    // A charge adds its weight, past the limit too, answers the new count, and the next
    // take sees it.
    let d = window("client#d#1");
    assert_eq!(store.charge(&d, 1).await.unwrap(), 1, "a new counter");
    assert!(store.take(&d, 10).await.unwrap());
    assert_eq!(store.charge(&d, 7).await.unwrap(), 9);
    assert!(store.take(&d, 11).await.unwrap(), "10 counted, under 11");
    assert_eq!(store.charge(&d, 5).await.unwrap(), 15);
    assert!(!store.take(&d, 11).await.unwrap());
    assert_eq!(store.counted(&d, 1_000).await.unwrap(), 15);
    assert_eq!(store.charge(&window("client#e#1"), 0).await.unwrap(), 0);
    assert_eq!(
        store.counted(&window("client#e#1"), 1_000).await.unwrap(),
        0
    );
}

/// Erasure ([`Users::begin_erasure`], [`Users::finish_erasure`], [`ErasureLog`], through
/// [`Accounts::erase`]): every item of the user goes (sessions listed or ended, quota
/// counters, the user), one audit record stays, nothing of anyone else is touched; a
/// login racing it starts a brand-new user; an erasure of another app's user does
/// nothing. `stored_keys` lists the key of every item in the store.
pub async fn erasure<S>(store: &S, stored_keys: impl AsyncFn() -> Vec<String>)
where
    S: Sessions + Users + Quotas + ErasureLog + Clone,
{
    let now = now_epoch_seconds();
    let now_ms = now * 1000;
    let key = crate::testing::user_key(OPENID);
    let accounts = Accounts::new(
        store.clone(),
        StackKeySource::Fixed(stack_key()),
        vec![APPID.to_owned(), OTHER_APPID.to_owned()],
    );

    // Someone else, whose items must all survive.
    let other_key = crate::testing::user_key("oSomeoneElse");
    let other_token = SessionToken::issue(&other_key).unwrap();
    let mut other_session = session_expiring_at(now + 7200);
    other_session.openid = "oSomeoneElse".into();
    store
        .put_session(&other_token.hash(), &other_session)
        .await
        .unwrap();
    store
        .record_login(
            &other_key,
            &UserLogin {
                openid: "oSomeoneElse".into(),
                ..user_login(&other_session, &other_token, None)
            },
        )
        .await
        .unwrap();
    assert!(
        store
            .take(&QuotaWindow::phone_verifications(&other_key, now), 5)
            .await
            .unwrap()
    );
    let untouched = stored_keys().await;

    // The user: two sessions ended by a log out everywhere whose deletes never ran, two
    // live ones, a phone number, both kinds of quota counter.
    logged_in(store, now + 7200, None).await;
    logged_in(store, now + 7200, None).await;
    assert_eq!(store.end_sessions(&key).await.unwrap().len(), 2);
    let live = [
        logged_in(store, now + 7200, Some("union1")).await,
        logged_in(store, now + 7200, None).await,
    ];
    let listing = store
        .get_session(&live[0], now_ms)
        .await
        .unwrap()
        .unwrap()
        .listing;
    assert!(
        store
            .bind_phone(&key, &listing, &phone("13800138000", now))
            .await
            .unwrap()
    );
    assert!(
        store
            .take(&QuotaWindow::phone_verifications(&key, now), 5)
            .await
            .unwrap()
    );
    assert!(
        store
            .take(&QuotaWindow::wechat_checks(&key, now), 5)
            .await
            .unwrap()
    );
    assert_eq!(stored_keys().await.len(), untouched.len() + 7);

    assert!(
        !accounts
            .erase(OTHER_APPID, OPENID, ErasureReason::User)
            .await
            .unwrap()
            .found,
        "an erasure for another app finds no user"
    );
    let erased = accounts
        .erase(APPID, OPENID, ErasureReason::User)
        .await
        .unwrap();
    assert_eq!(
        (erased.found, erased.sessions),
        (true, 2),
        "the live sessions ended"
    );
    for token in &live {
        assert!(store.get_session(token, now_ms).await.unwrap().is_none());
    }
    let subject = stack_key().subject(APPID, OPENID);
    let mut expected = untouched.clone();
    expected.push(keys::erasure(&subject));
    expected.sort();
    let mut left = stored_keys().await;
    left.sort();
    assert_eq!(left, expected, "no item of the user but the audit record");

    let again = accounts
        .erase(APPID, OPENID, ErasureReason::User)
        .await
        .unwrap();
    assert!(!again.found, "erasing twice finds nothing the second time");
    assert_eq!(stored_keys().await.len(), expected.len());

    // A login racing an erasure: the mark stands, then the login comes.
    let old = logged_in(store, now + 7200, None).await;
    let old_listing = store
        .get_session(&old, now_ms)
        .await
        .unwrap()
        .unwrap()
        .listing;
    assert!(
        store
            .bind_phone(&key, &old_listing, &phone("13800138000", now))
            .await
            .unwrap()
    );
    let target = store
        .begin_erasure(&key, APPID, ErasureReason::User, now_ms)
        .await
        .unwrap()
        .unwrap();
    assert!(
        store.get_session(&old, now_ms).await.unwrap().is_none(),
        "refused from the mark on"
    );
    assert!(
        !store
            .bind_phone(&key, &old_listing, &phone("13900139000", now))
            .await
            .unwrap(),
        "no binding while erasing"
    );
    assert_eq!(
        store
            .begin_erasure(&key, APPID, ErasureReason::User, now_ms + 5)
            .await
            .unwrap()
            .unwrap()
            .since_ms,
        target.since_ms,
        "a retry keeps the first mark"
    );
    let racing = token();
    let racing_session = session_expiring_at(now + 7200);
    store
        .put_session(&racing.hash(), &racing_session)
        .await
        .unwrap();
    let recorded = store
        .record_login(&key, &user_login(&racing_session, &racing, None))
        .await
        .unwrap();
    assert!(recorded.new_user, "a brand-new user");
    assert_eq!(recorded.user.phone, None);
    assert_eq!(recorded.user.created_at, racing_session.created_at);
    let fresh = store
        .get_session(&racing, now_ms)
        .await
        .unwrap()
        .expect("its session lives");
    assert_eq!(fresh.user.phone, None, "nothing of the old user");
    assert_eq!(fresh.user.sessions, vec![fresh.listing.clone()]);
    assert!(
        store.get_session(&old, now_ms).await.unwrap().is_none(),
        "the old sessions stay ended"
    );
    store.delete_sessions(&[old.hash()]).await.unwrap();
    store.finish_erasure(&key, &target).await.unwrap();
    assert!(
        store.get_session(&racing, now_ms).await.unwrap().is_some(),
        "the erasure finishing keeps the login's new user"
    );
    let second = store
        .begin_erasure(&key, APPID, ErasureReason::User, now_ms)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.sessions, vec![fresh.listing.clone()]);
    assert!(
        second.ended.is_empty(),
        "the finished erasure's sessions left the ended list"
    );
    accounts
        .erase(APPID, OPENID, ErasureReason::Operator)
        .await
        .unwrap();
    let mut left = stored_keys().await;
    left.sort();
    assert_eq!(left, expected);
}

/// [`UserDirectory`]: every user item of a unionid, in every app, and no other.
pub async fn user_directory(store: &(impl Sessions + Users + UserDirectory)) {
    let unionid = "oUnionContract00000000000001";
    let mut expected = Vec::new();
    for (appid, openid, with_unionid) in [
        (APPID, "oContractDirectory0000000001", true),
        (OTHER_APPID, "oContractDirectory0000000002", true),
        (APPID, "oContractDirectory0000000003", false),
    ] {
        let key = crate::testing::user_key(openid);
        let token = SessionToken::issue(&key).unwrap();
        let session = session_expiring_at(now_epoch_seconds() + 7200);
        store.put_session(&token.hash(), &session).await.unwrap();
        let login = UserLogin {
            appid: appid.into(),
            openid: openid.into(),
            unionid: with_unionid.then(|| unionid.to_owned()),
            ..user_login(&session, &token, None)
        };
        store.record_login(&key, &login).await.unwrap();
        if with_unionid {
            expected.push(key);
        }
    }
    expected.sort_by_key(UserKey::as_hex);
    assert_eq!(store.users_with_unionid(unionid).await.unwrap(), expected);
    assert!(
        store
            .users_with_unionid("oUnionContractNobody00000001")
            .await
            .unwrap()
            .is_empty()
    );
}

/// [`PackReadings`]: each app and kind keeps its own readings, oldest first, the one just
/// recorded among them; readings before `keep_since` go, and at most
/// [`MAX_PACK_READINGS`] stay (the newest).
pub async fn pack_readings(store: &impl PackReadings) {
    let at = |hours: i64| 1_800_000_000 + hours * 3600;
    let reading = |hours: i64, used: u64| PackReading {
        at: at(hours),
        used,
    };
    let since = at(-1000);
    assert_eq!(
        store
            .record_reading(APPID, PhonePack::Quick, reading(0, 5), since)
            .await
            .unwrap(),
        vec![reading(0, 5)],
        "the first reading"
    );
    assert_eq!(
        store
            .record_reading(APPID, PhonePack::Quick, reading(1, 9), since)
            .await
            .unwrap(),
        vec![reading(0, 5), reading(1, 9)]
    );
    // Another kind, another app: their own histories.
    assert_eq!(
        store
            .record_reading(APPID, PhonePack::Realtime, reading(1, 2), since)
            .await
            .unwrap(),
        vec![reading(1, 2)]
    );
    assert_eq!(
        store
            .record_reading(OTHER_APPID, PhonePack::Quick, reading(1, 70), since)
            .await
            .unwrap(),
        vec![reading(1, 70)]
    );
    // A reading that arrives late still lands in order.
    assert_eq!(
        store
            .record_reading(APPID, PhonePack::Quick, reading(-1, 3), since)
            .await
            .unwrap(),
        vec![reading(-1, 3), reading(0, 5), reading(1, 9)]
    );
    // Readings before keep_since go.
    assert_eq!(
        store
            .record_reading(APPID, PhonePack::Quick, reading(2, 12), at(0))
            .await
            .unwrap(),
        vec![reading(0, 5), reading(1, 9), reading(2, 12)]
    );
    // At most MAX_PACK_READINGS, the newest.
    let full = i64::try_from(MAX_PACK_READINGS).unwrap();
    for hour in 3..(3 + full) {
        store
            .record_reading(OTHER_APPID, PhonePack::Realtime, reading(hour, 1), since)
            .await
            .unwrap();
    }
    let last = store
        .record_reading(OTHER_APPID, PhonePack::Realtime, reading(500, 2), since)
        .await
        .unwrap();
    assert_eq!(last.len(), MAX_PACK_READINGS);
    assert_eq!(last.first(), Some(&reading(4, 1)), "the oldest went");
    assert_eq!(last.last(), Some(&reading(500, 2)));
}

/// The signing-key secret's versions, as the rotation protocol moves them: `versions`
/// is a fresh secret whose current version holds the empty ring. Secrets Manager (moto's
/// server) runs it in `tests/stack/key_ring_contract.rs`.
pub async fn key_ring_versions(versions: &impl crate::ports::KeyRingVersions) {
    use crate::domain::KeyRing;
    let (first, text) = versions
        .current()
        .await
        .unwrap()
        .expect("a current version");
    assert!(
        KeyRing::parse(&text).unwrap().keys().is_empty(),
        "the secret starts with the empty ring"
    );
    let rotation = "0123456789abcdef0123456789abcdef";
    assert!(
        versions.pending(rotation).await.unwrap().is_none(),
        "nothing is pending before a rotation writes it"
    );
    let ring = SecretString::from(r#"{"keys": []}"#.to_owned());
    versions.put_pending(rotation, &ring).await.unwrap();
    versions.put_pending(rotation, &ring).await.unwrap();
    assert_eq!(
        versions
            .pending(rotation)
            .await
            .unwrap()
            .map(|text| text.expose_secret().to_owned()),
        Some(ring.expose_secret().to_owned()),
        "the pending version holds what was written, once however often"
    );
    assert_eq!(
        versions.current().await.unwrap().unwrap().0,
        first,
        "writing a pending version leaves the current one"
    );
    assert!(
        versions
            .make_current(rotation, "not-the-current-version")
            .await
            .is_err(),
        "only the current version can be replaced"
    );
    versions.make_current(rotation, &first).await.unwrap();
    let (now_current, text) = versions.current().await.unwrap().unwrap();
    assert_eq!(now_current, rotation);
    assert_eq!(text.expose_secret(), ring.expose_secret());
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
    async fn honours_the_user_directory_contract() {
        super::user_directory(&MemoryTable::new()).await;
    }

    #[tokio::test]
    async fn honours_the_access_token_contract() {
        super::access_tokens(&MemoryTable::new()).await;
    }

    #[tokio::test]
    async fn honours_the_pack_readings_contract() {
        super::pack_readings(&MemoryTable::new()).await;
    }

    #[tokio::test]
    async fn honours_the_key_ring_versions_contract() {
        let empty = crate::usecases::key_rotation::empty_ring();
        super::key_ring_versions(&crate::testing::MemoryKeyRingVersions::new(empty)).await;
    }

    #[tokio::test]
    async fn honours_the_erasure_contract() {
        let table = MemoryTable::new();
        super::erasure(&table, async || table.stored_keys()).await;
    }
}
