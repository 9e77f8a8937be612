//! Two mini-programs in one stack (`WECHAT_APPS`), through the handlers, with real
//! DynamoDB Local and a WeChat sandbox serving both apps over HTTP: which app a login is
//! for, and everything after it following the session's app.

use devkit::stack::{
    SECOND_APPID, TEST_APPID, TestResponse, TestStack, assert_error, bearer_request, post,
    post_with_bearer, with_query,
};
use http::Method;
use lambda_http::Request;
use serde_json::{Value, json};
use wxlogin::adapters::dynamodb::DynamoTable;
use wxlogin::adapters::stack_key::StackKeySource;
use wxlogin::adapters::wechat::WeChatClient;
use wxlogin::config::AuthorizerConfig;
use wxlogin::edge::authorizer::{AuthorizerEvent, authorize};
use wxlogin::testing::ServeHttp;
use wxlogin::usecases::{Authorize, Login, PhoneNumbers, SessionQueries};

const UNIONID: &str = "ocMvos6NjeKLIBqg5Mr9QjxrP1FA";

struct TwoApps {
    stack: TestStack,
    login: Login<DynamoTable, WeChatClient, StackKeySource>,
    phones: PhoneNumbers<DynamoTable, WeChatClient>,
    sessions: SessionQueries<DynamoTable, WeChatClient>,
}

impl TwoApps {
    async fn start() -> Self {
        let stack = TestStack::with_two_apps().await.unwrap();
        Self {
            login: stack.login_service().await.unwrap(),
            phones: stack.phone_service().await.unwrap(),
            sessions: stack.session_service().await.unwrap(),
            stack,
        }
    }

    /// `wx.login` in `appid` for `user` (sandbox fields), then `/onlogin` with `request`
    /// shaping the body and headers around the code.
    async fn login_with(
        &self,
        appid: &str,
        user: Value,
        request: impl FnOnce(&Value) -> Request,
    ) -> (TestResponse, Value) {
        let mut user = user;
        user["appid"] = json!(appid);
        let wechat = self.stack.sandbox_login(user).await.unwrap();
        let answer = self.call_login(request(&wechat["code"])).await;
        (answer, wechat)
    }

    async fn call_login(&self, request: Request) -> TestResponse {
        TestResponse::from_response(self.login.handle(request).await).unwrap()
    }

    /// Logs `user` into `appid`, naming it in the body: the token and the sandbox user.
    async fn logged_in(&self, appid: &str, user: Value) -> (String, Value) {
        let (answer, wechat) = self
            .login_with(appid, user, |code| {
                post(json!({ "code": code, "appid": appid }).to_string())
            })
            .await;
        assert_eq!(answer.status, 200, "{:?}", answer.json);
        assert_eq!(answer.json["appid"], appid);
        (answer.json["token"].as_str().unwrap().to_owned(), wechat)
    }

    async fn session(&self, request: Request) -> TestResponse {
        TestResponse::from_response(self.sessions.handle(request).await).unwrap()
    }

    async fn phone(&self, request: Request) -> TestResponse {
        TestResponse::from_response(self.phones.handle(request).await).unwrap()
    }
}

/// `request` as a mini-program's `wx.request` sends it: WeChat sets the Referer.
fn from_mini_program(appid: &str, mut request: Request) -> Request {
    let referer = format!("https://servicewechat.com/{appid}/7/page-frame.html");
    request
        .headers_mut()
        .insert(http::header::REFERER, referer.parse().unwrap());
    request
}

fn code_only(code: &Value) -> Request {
    post(json!({ "code": code }).to_string())
}

#[tokio::test]
async fn one_person_in_both_apps_is_two_users_with_one_unionid() {
    let apps = TwoApps::start().await;
    let (first, first_user) = apps
        .logged_in(TEST_APPID, json!({ "unionid": UNIONID }))
        .await;
    let (second, second_user) = apps
        .logged_in(SECOND_APPID, json!({ "unionid": UNIONID }))
        .await;
    assert_ne!(first_user["openid"], second_user["openid"]);

    for (token, appid, user) in [
        (&first, TEST_APPID, &first_user),
        (&second, SECOND_APPID, &second_user),
    ] {
        let who = apps.session(bearer_request(Method::GET, token)).await.json;
        assert_eq!(
            (&who["appid"], &who["openid"], &who["unionid"]),
            (&json!(appid), &user["openid"], &json!(UNIONID))
        );
        // The user item is the app's own, under its openid, and says so.
        let key = wxlogin::testing::user_key(user["openid"].as_str().unwrap());
        let item = apps
            .stack
            .items()
            .await
            .unwrap()
            .into_iter()
            .find(|item| item["pk"].as_s().unwrap() == &format!("user#{}", key.as_hex()))
            .expect("a user item per app");
        assert_eq!(item["appid"].as_s().unwrap(), appid);
        assert_eq!(item["unionid"].as_s().unwrap(), UNIONID);
    }

    // The authorizer tells the app's routes which app and who, on the routes bound to
    // that app (the stack's AUTHORIZER_ROUTE_APPS: GET /me the first app, the rest both).
    let env = apps.stack.function_env();
    let config = AuthorizerConfig::from_lookup(|name| {
        env.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    })
    .unwrap();
    let authorizer = Authorize::new(apps.stack.store(), config.appids).with_routes(config.routes);
    let event = |token: &str, route: &str| AuthorizerEvent {
        headers: [("authorization".to_owned(), format!("Bearer {token}"))].into(),
        identity_source: None,
        route_key: Some(route.to_owned()),
    };
    let caller = authorize(&authorizer, &event(&second, "GET /orders"))
        .await
        .unwrap()
        .context
        .unwrap();
    assert_eq!(caller.appid, SECOND_APPID);
    assert_eq!(caller.openid, second_user["openid"].as_str().unwrap());
    assert_eq!(caller.unionid.as_deref(), Some(UNIONID));

    // The audit's scenario: the second app's session of the same person (same unionid)
    // is refused on a route bound to the first app; the first app's own passes.
    let refused = authorize(&authorizer, &event(&second, "GET /me"))
        .await
        .unwrap();
    assert!(!refused.is_authorized && refused.context.is_none());
    let allowed = authorize(&authorizer, &event(&first, "GET /me"))
        .await
        .unwrap();
    assert_eq!(allowed.context.unwrap().appid, TEST_APPID);
}

#[tokio::test]
async fn a_code_replayed_across_apps_fails_at_wechat_and_stays_good_for_its_own() {
    let apps = TwoApps::start().await;
    let (answer, wechat) = apps
        .login_with(TEST_APPID, json!({}), |code| {
            post(json!({ "code": code, "appid": SECOND_APPID }).to_string())
        })
        .await;
    assert_error(&answer, 401, "invalid_code");
    let code = &wechat["code"];
    let own = apps
        .call_login(post(
            json!({ "code": code, "appid": TEST_APPID }).to_string(),
        ))
        .await;
    assert_eq!(own.status, 200, "{:?}", own.json);
    assert_eq!(own.json["openid"], wechat["openid"]);
    // Spent in its own app: a replay there is refused before WeChat, and the other app's
    // WeChat still does not know it.
    let replay = apps
        .call_login(post(
            json!({ "code": code, "appid": TEST_APPID }).to_string(),
        ))
        .await;
    assert_error(&replay, 409, "code_used");
    let elsewhere = apps
        .call_login(post(
            json!({ "code": code, "appid": SECOND_APPID }).to_string(),
        ))
        .await;
    assert_error(&elsewhere, 401, "invalid_code");
}

#[tokio::test]
async fn the_referer_names_the_app_when_the_body_does_not_and_the_body_wins() {
    let apps = TwoApps::start().await;
    // Neither: a stack of two cannot guess, and says which field to send.
    let (answer, _) = apps.login_with(SECOND_APPID, json!({}), code_only).await;
    assert_error(&answer, 400, "invalid_request");
    assert!(
        answer.json["message"].as_str().unwrap().contains("appid"),
        "{:?}",
        answer.json
    );
    // The Referer alone.
    let (answer, _) = apps
        .login_with(SECOND_APPID, json!({}), |code| {
            from_mini_program(SECOND_APPID, code_only(code))
        })
        .await;
    assert_eq!(
        (answer.status, &answer.json["appid"]),
        (200, &json!(SECOND_APPID))
    );
    // The body's appid over the Referer's.
    let (answer, _) = apps
        .login_with(TEST_APPID, json!({}), |code| {
            let body = json!({ "code": code, "appid": TEST_APPID }).to_string();
            from_mini_program(SECOND_APPID, post(body))
        })
        .await;
    assert_eq!(
        (answer.status, &answer.json["appid"]),
        (200, &json!(TEST_APPID))
    );
    // An appid the stack does not serve, either way; nothing reaches WeChat.
    let calls = apps.stack.wechat_calls("jscode2session").await.unwrap();
    for request in [
        |code: &Value| post(json!({ "code": code, "appid": "wxnotservedhere" }).to_string()),
        |code: &Value| from_mini_program("wxnotservedhere", code_only(code)),
    ] {
        let (answer, _) = apps.login_with(TEST_APPID, json!({}), request).await;
        assert_error(&answer, 400, "unknown_app");
    }
    assert_eq!(
        apps.stack.wechat_calls("jscode2session").await.unwrap(),
        calls
    );
}

#[tokio::test]
async fn phone_codes_and_checks_go_through_the_sessions_own_app() {
    let apps = TwoApps::start().await;
    let (first, first_user) = apps.logged_in(TEST_APPID, json!({})).await;
    let (second, second_user) = apps.logged_in(SECOND_APPID, json!({})).await;

    for (token, appid, user, number) in [
        (&first, TEST_APPID, &first_user, "13800138000"),
        (&second, SECOND_APPID, &second_user, "13900139000"),
    ] {
        let phone = apps
            .stack
            .sandbox_phone(
                json!({ "appid": appid, "openid": user["openid"], "phoneNumber": number }),
            )
            .await
            .unwrap();
        let answer = apps
            .phone(post_with_bearer(
                token,
                json!({ "code": phone["code"] }).to_string(),
            ))
            .await;
        assert_eq!(
            (answer.status, &answer.json["purePhoneNumber"]),
            (200, &json!(number)),
            "{appid}: {:?}",
            answer.json
        );
        let checked = apps
            .session(with_query(
                bearer_request(Method::GET, token),
                &[("check", "wechat")],
            ))
            .await;
        assert_eq!(checked.status, 200, "{appid}: {:?}", checked.json);
        assert_eq!(checked.json["phone"]["purePhoneNumber"], number);
    }
    // Each app's access token is its own item.
    let items = apps.stack.items().await.unwrap();
    for appid in [TEST_APPID, SECOND_APPID] {
        assert!(
            items
                .iter()
                .any(|item| item["pk"].as_s().unwrap() == &format!("access_token#{appid}")),
            "{appid}"
        );
    }

    // The user logs in to the first app elsewhere: only that app's session_key rotates.
    apps.stack
        .sandbox_login(json!({
            "appid": TEST_APPID,
            "openid": first_user["openid"],
            "session_key": "AAAAAAAAAAAAAAAAAAAAAA==",
        }))
        .await
        .unwrap();
    let stale = apps
        .session(with_query(
            bearer_request(Method::GET, &first),
            &[("check", "wechat")],
        ))
        .await;
    assert_error(&stale, 422, "session_key_mismatch");
    let fresh = apps
        .session(with_query(
            bearer_request(Method::GET, &second),
            &[("check", "wechat")],
        ))
        .await;
    assert_eq!(fresh.status, 200, "{:?}", fresh.json);
}

/// A team's server introspecting a token names the apps it serves: a session of another
/// app of the stack (the same person's, by unionid) is 403 `wrong_app`, never its user.
#[tokio::test]
async fn session_introspection_refuses_another_apps_session() {
    let apps = TwoApps::start().await;
    let (second, _) = apps
        .logged_in(SECOND_APPID, json!({ "unionid": UNIONID }))
        .await;
    let ask =
        |appid: &'static str| with_query(bearer_request(Method::GET, &second), &[("appid", appid)]);
    let refused = apps.session(ask(TEST_APPID)).await;
    assert_error(&refused, 403, "wrong_app");
    assert!(refused.json.get("openid").is_none(), "{:?}", refused.json);
    let own = apps.session(ask(SECOND_APPID)).await;
    assert_eq!(
        (own.status, &own.json["appid"]),
        (200, &json!(SECOND_APPID))
    );
    let listed = apps
        .session(with_query(
            bearer_request(Method::GET, &second),
            &[("appid", &format!("{TEST_APPID},{SECOND_APPID}"))],
        ))
        .await;
    assert_eq!(listed.status, 200, "{:?}", listed.json);
    for bad in ["", ","] {
        let answer = apps
            .session(with_query(
                bearer_request(Method::GET, &second),
                &[("appid", bad)],
            ))
            .await;
        assert_error(&answer, 400, "invalid_request");
    }

    // A logout that names another app ends nothing; a dead token is refused before a
    // malformed `appid` is even read.
    let delete = apps
        .session(with_query(
            bearer_request(Method::DELETE, &second),
            &[("appid", TEST_APPID)],
        ))
        .await;
    assert_error(&delete, 403, "wrong_app");
    let still = apps.session(bearer_request(Method::GET, &second)).await;
    assert_eq!(still.status, 200, "{:?}", still.json);
    let dead = wxlogin::testing::unknown_token();
    let answer = apps
        .session(with_query(
            bearer_request(Method::GET, dead.expose()),
            &[("appid", "")],
        ))
        .await;
    assert_error(&answer, 401, "invalid_token");
}
