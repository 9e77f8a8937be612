//! One route per function, each a plain function over its use-case: the request's
//! shape, the use-case call, the 200 body. Generic over the ports, so the fast tier serves
//! them from the in-memory twins and the binaries from DynamoDB and WeChat.

mod account;
mod login;
mod phone;
mod session;
mod token;
mod wechat_events;

pub use account::{ACCOUNT, AccountAnswer, AccountBody, account};
pub use login::{LOGIN, LoginBody, login};
pub use phone::{PHONE, PhoneBody, phone};
pub use session::{SESSION, SessionAnswer, SessionInfo, session};
pub use token::{DISCOVERY_MAX_AGE_SECONDS, JWKS_MAX_AGE_SECONDS, TOKEN, TokenAnswer, token};
pub use wechat_events::{PUSH_PATH_PREFIX, WECHAT_EVENTS, wechat_events};

/// The routes over the twins: the HTTP edge's whole path (parsing, the use-case, the
/// body, the error table, headers) without DynamoDB or WeChat.
#[cfg(test)]
mod tests {
    use http::Method;
    use lambda_http::{Body, Response};
    use serde_json::{Value, json};

    use crate::domain::WatermarkPolicy;
    use crate::testing::{
        ServeHttp, Twins, WeChatApi, bearer_request, post, post_with_bearer, seal, with_query,
    };

    fn decoded(response: &Response<Body>) -> (u16, Value) {
        let json = serde_json::from_slice(response.body().as_ref()).unwrap();
        (response.status().as_u16(), json)
    }

    #[tokio::test]
    async fn a_login_then_both_phone_forms_then_logout_over_http() {
        let twins = Twins::new();
        let (code, session_key) = twins.wechat.login("o1", Some("u1"));
        let login = twins.login();
        let response = login
            .handle(post(json!({ "code": code }).to_string()))
            .await;
        assert_eq!(response.headers()["cache-control"], "no-store");
        let (status, body) = decoded(&response);
        assert_eq!(status, 200, "{body}");
        let token = body["token"].as_str().unwrap().to_owned();
        assert_eq!(
            body,
            json!({"token": token, "expires_in": 7200, "appid": crate::testing::APPID, "openid": "o1", "unionid": "u1", "new_user": true})
        );

        let phones = twins.phone_numbers(WatermarkPolicy::default());
        let data = json!({
            "phoneNumber": "13800138000", "purePhoneNumber": "13800138000", "countryCode": 86,
            "watermark": {"appid": crate::testing::APPID, "timestamp": 1}
        });
        let (encrypted, iv) = seal(&session_key, &data);
        let phone_code = twins.wechat.phone_code("o1", "13800138000");
        let expected = json!({"phoneNumber": "13800138000", "purePhoneNumber": "13800138000", "countryCode": "86"});
        for form in [
            json!({"encryptedData": encrypted, "iv": iv}),
            json!({"code": phone_code}),
        ] {
            let response = phones
                .handle(post_with_bearer(&token, form.to_string()))
                .await;
            assert_eq!(decoded(&response), (200, expected.clone()), "{form}");
        }

        let sessions = twins.session_queries();
        let checked = sessions
            .handle(with_query(
                bearer_request(Method::GET, &token),
                &[("check", "wechat")],
            ))
            .await;
        let (status, body) = decoded(&checked);
        assert_eq!((status, &body["openid"]), (200, &json!("o1")));
        assert_eq!(
            body["phone"], expected,
            "the verified number is the user's now"
        );
        let logout = sessions
            .handle(bearer_request(Method::DELETE, &token))
            .await;
        assert_eq!(decoded(&logout), (200, json!({"logged_out": true})));
        let after = sessions.handle(bearer_request(Method::GET, &token)).await;
        assert_eq!(decoded(&after).1["error"], "invalid_token");
        assert_eq!(after.headers()["www-authenticate"], "Bearer");
    }

    /// The getRealtimePhoneNumber button's code: recorded as `realtime`, billed to the
    /// real-time pack, and said so by `GET /session`; it has no encrypted form.
    #[tokio::test]
    async fn a_realtime_verification_is_recorded_as_such_over_http() {
        use crate::domain::PhonePack;
        let twins = Twins::new();
        let (token, session_key) = twins.logged_in("o1", None).await;
        let token = token.expose().to_owned();
        let phones = twins.phone_numbers(WatermarkPolicy::default());
        let code = twins.wechat.realtime_phone_code("o1", "13800138000");
        let response = phones
            .handle(post_with_bearer(
                &token,
                json!({"code": code, "realtime": true}).to_string(),
            ))
            .await;
        assert_eq!(decoded(&response).0, 200);
        assert_eq!(twins.wechat.pack(PhonePack::Realtime).used, 1);
        assert_eq!(twins.wechat.pack(PhonePack::Quick).used, 0);

        let (status, body) = decoded(
            &twins
                .session_queries()
                .handle(bearer_request(Method::GET, &token))
                .await,
        );
        assert_eq!(
            (status, &body["phone_verified_by"]),
            (200, &json!("realtime"))
        );
        let verified_at = body["phone_verified_at"].as_i64().unwrap();
        assert!((crate::domain::clock::now_epoch_seconds() - verified_at).abs() < 5);

        let (encrypted, iv) = seal(&session_key, &json!({"phoneNumber": "1"}));
        let legacy = json!({"encryptedData": encrypted, "iv": iv, "realtime": true});
        let (status, body) = decoded(
            &phones
                .handle(post_with_bearer(&token, legacy.to_string()))
                .await,
        );
        assert_eq!((status, &body["error"]), (400, &json!("invalid_request")));
        assert!(body["message"].as_str().unwrap().contains("realtime"));
    }

    #[tokio::test]
    async fn bad_requests_are_answered_before_any_port_is_called() {
        let twins = Twins::new();
        let login = twins.login();
        let phones = twins.phone_numbers(WatermarkPolicy::default());
        let cases = [
            (login.handle(post("{oops")).await, 400, "invalid_request"),
            (
                login.handle(bearer_request(Method::GET, "x")).await,
                405,
                "method_not_allowed",
            ),
            (
                phones.handle(post(r#"{"code":"abc"}"#)).await,
                401,
                "invalid_token",
            ),
        ];
        for (response, status, code) in cases {
            let (got, body) = decoded(&response);
            assert_eq!((got, body["error"].as_str()), (status, Some(code)));
        }
        assert_eq!(twins.table.calls(), 0);
        for api in [
            WeChatApi::Code2Session,
            WeChatApi::StableToken,
            WeChatApi::PhoneNumber,
        ] {
            assert_eq!(twins.wechat.calls(api), 0, "{api:?}");
        }
    }

    #[tokio::test]
    async fn a_token_that_is_not_live_is_refused_before_the_body_or_query_is_read() {
        let twins = Twins::new();
        let unknown = "A".repeat(43);
        let phones = twins.phone_numbers(WatermarkPolicy::default());
        for body in ["{not json".to_owned(), "x".repeat(20_000)] {
            let (status, body) = decoded(&phones.handle(post_with_bearer(&unknown, body)).await);
            assert_eq!(
                (status, body["error"].as_str()),
                (401, Some("invalid_token"))
            );
        }
        let sessions = twins.session_queries();
        for method in [Method::GET, Method::DELETE] {
            let request = with_query(
                bearer_request(method, &unknown),
                &[("check", "typo"), ("all", "maybe")],
            );
            let (status, body) = decoded(&sessions.handle(request).await);
            assert_eq!(
                (status, body["error"].as_str()),
                (401, Some("invalid_token"))
            );
        }
    }

    #[tokio::test]
    async fn spent_quotas_answer_429_with_retry_after() {
        let twins = Twins::new();
        let (token, _) = twins.logged_in("o1", None).await;
        let phones = twins
            .phone_numbers(WatermarkPolicy::default())
            .with_daily_limit(Some(1));
        let redeem = || {
            let code = twins.wechat.phone_code("o1", "13800138000");
            post_with_bearer(token.expose(), json!({ "code": code }).to_string())
        };
        assert_eq!(decoded(&phones.handle(redeem()).await).0, 200);
        let refused = phones.handle(redeem()).await;
        let retry_after: u64 = refused.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=86_400).contains(&retry_after));
        assert_eq!(
            decoded(&refused),
            (
                429,
                json!({"error": "rate_limited", "message": format!("too many requests: retry after {retry_after}s")})
            )
        );
        assert_eq!(
            twins.wechat.calls(WeChatApi::PhoneNumber),
            1,
            "the refused one never reached WeChat"
        );

        let sessions = twins.session_queries().with_check_limit(Some(2));
        let check = || {
            with_query(
                bearer_request(Method::GET, token.expose()),
                &[("check", "wechat")],
            )
        };
        for _ in 0..2 {
            assert_eq!(decoded(&sessions.handle(check()).await).0, 200);
        }
        let refused = sessions.handle(check()).await;
        assert_eq!(decoded(&refused).0, 429);
        let retry_after: u64 = refused.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry_after));
        // Logging in again gives no fresh allowance: the quota is the user's.
        let (again, _) = twins.logged_in("o1", None).await;
        let other_session = with_query(
            bearer_request(Method::GET, again.expose()),
            &[("check", "wechat")],
        );
        assert_eq!(decoded(&sessions.handle(other_session).await).0, 429);
        let (someone_else, _) = twins.logged_in("o2", None).await;
        let theirs = with_query(
            bearer_request(Method::GET, someone_else.expose()),
            &[("check", "wechat")],
        );
        assert_eq!(
            decoded(&sessions.handle(theirs).await).0,
            200,
            "another user's own"
        );
        // A plain whoami is not a WeChat check: never limited.
        let plain = sessions
            .handle(bearer_request(Method::GET, token.expose()))
            .await;
        assert_eq!(decoded(&plain).0, 200);
    }

    fn from_mini_program(appid: &str, mut request: lambda_http::Request) -> lambda_http::Request {
        let referer = format!("https://servicewechat.com/{appid}/3/page-frame.html");
        request
            .headers_mut()
            .insert(http::header::REFERER, referer.parse().unwrap());
        request
    }

    /// Two apps in one stack over the twins: which app a login is for, and everything
    /// after it following the session's app.
    #[tokio::test]
    async fn a_stack_of_two_apps_follows_each_sessions_app() {
        const OTHER: &str = "wxfasttier0000002";
        let mut twins = Twins::new();
        let other = twins.with_app(OTHER);
        let login = twins.login();
        let sessions = twins.session_queries();
        let phones = twins.phone_numbers(WatermarkPolicy::default());

        // Naming no app is a 400 naming the field; a foreign one is unknown_app.
        let (code, _) = other.login("o2", Some("u1"));
        let (status, body) = decoded(
            &login
                .handle(post(json!({ "code": code }).to_string()))
                .await,
        );
        assert_eq!((status, &body["error"]), (400, &json!("invalid_request")));
        assert!(
            body["message"].as_str().unwrap().contains("\"appid\""),
            "{body}"
        );
        for request in [
            post(json!({ "code": code, "appid": "wxnotours" }).to_string()),
            from_mini_program("wxnotours", post(json!({ "code": code }).to_string())),
        ] {
            let (status, body) = decoded(&login.handle(request).await);
            assert_eq!((status, &body["error"]), (400, &json!("unknown_app")));
        }
        assert_eq!(other.calls(WeChatApi::Code2Session), 0);

        // A code sent to the wrong app fails at WeChat and stays good for its own app;
        // the body's appid wins over the Referer's.
        let wrong = post(json!({ "code": code, "appid": crate::testing::APPID }).to_string());
        let (status, body) = decoded(&login.handle(from_mini_program(OTHER, wrong)).await);
        assert_eq!((status, &body["error"]), (401, &json!("invalid_code")));
        let (status, body) = decoded(
            &login
                .handle(from_mini_program(
                    OTHER,
                    post(json!({ "code": code }).to_string()),
                ))
                .await,
        );
        assert_eq!(
            (status, &body["appid"], &body["openid"]),
            (200, &json!(OTHER), &json!("o2"))
        );
        let other_token = body["token"].as_str().unwrap().to_owned();

        // The same person in the first app: another openid, the same unionid.
        let (code, first_key) = twins.wechat.login("o1", Some("u1"));
        let body = decoded(
            &login
                .handle(post(
                    json!({ "code": code, "appid": crate::testing::APPID }).to_string(),
                ))
                .await,
        )
        .1;
        assert_eq!(
            (&body["openid"], &body["unionid"]),
            (&json!("o1"), &json!("u1"))
        );
        let first_token = body["token"].as_str().unwrap().to_owned();

        // Each session says its app; its checks and phone codes go to that app's WeChat.
        for (token, appid, wechat) in [
            (&first_token, crate::testing::APPID, &twins.wechat),
            (&other_token, OTHER, &other),
        ] {
            let checked = sessions
                .handle(with_query(
                    bearer_request(Method::GET, token),
                    &[("check", "wechat")],
                ))
                .await;
            let (status, body) = decoded(&checked);
            assert_eq!(
                (status, &body["appid"], &body["unionid"]),
                (200, &json!(appid), &json!("u1"))
            );
            assert_eq!(wechat.calls(WeChatApi::CheckSession), 1, "{appid}");
            let openid = body["openid"].as_str().unwrap();
            let phone_code = wechat.phone_code(openid, "13800138000");
            let (status, _) = decoded(
                &phones
                    .handle(post_with_bearer(
                        token,
                        json!({ "code": phone_code }).to_string(),
                    ))
                    .await,
            );
            assert_eq!(status, 200, "{appid}");
            assert_eq!(wechat.calls(WeChatApi::PhoneNumber), 1, "{appid}");
        }
        // Legacy data is checked against the session's app: the other app's is refused.
        for (watermark, expected) in [(OTHER, 422), (crate::testing::APPID, 200)] {
            let data = json!({
                "phoneNumber": "13800138000", "purePhoneNumber": "13800138000", "countryCode": 86,
                "watermark": {"appid": watermark, "timestamp": crate::domain::clock::now_epoch_seconds()}
            });
            let (encrypted, iv) = seal(&first_key, &data);
            let body = json!({"encryptedData": encrypted, "iv": iv}).to_string();
            let response = phones.handle(post_with_bearer(&first_token, body)).await;
            assert_eq!(decoded(&response).0, expected, "watermark of {watermark}");
        }

        // Each app has its own access token, cached apart.
        let first = twins.table.access_token(crate::testing::APPID).unwrap();
        let second = twins.table.access_token(OTHER).unwrap();
        assert_ne!(first.token, second.token);

        // The second app taken off the stack: its session is refused, and still ends.
        let reduced = twins.first_app_only();
        let sessions = reduced.session_queries();
        let phones = reduced.phone_numbers(WatermarkPolicy::default());
        let phone_code = other.phone_code("o2", "13800138000");
        for response in [
            sessions
                .handle(bearer_request(Method::GET, &other_token))
                .await,
            phones
                .handle(post_with_bearer(
                    &other_token,
                    json!({ "code": phone_code }).to_string(),
                ))
                .await,
        ] {
            assert_eq!(decoded(&response).1["error"], "invalid_token");
        }
        let still_served = sessions
            .handle(bearer_request(Method::GET, &first_token))
            .await;
        assert_eq!(decoded(&still_served).0, 200);
        let logout = sessions
            .handle(bearer_request(Method::DELETE, &other_token))
            .await;
        assert_eq!(decoded(&logout), (200, json!({"logged_out": true})));
    }

    #[tokio::test]
    async fn the_account_answers_its_data_then_cancels_over_http() {
        let twins = Twins::new();
        let (token, _) = twins.logged_in("o1", Some("u1")).await;
        let (other, _) = twins.logged_in("o1", None).await;
        twins.bind_phone(&token, "13800138000").await;
        let accounts = twins.accounts().with_phone_daily_limit(Some(5));

        let response = accounts
            .handle(bearer_request(Method::GET, token.expose()))
            .await;
        assert_eq!(response.headers()["cache-control"], "no-store");
        let (status, body) = decoded(&response);
        assert_eq!(status, 200, "{body}");
        let user = twins.table.user(&crate::testing::user_key("o1")).unwrap();
        let phone = user.phone.unwrap();
        assert_eq!(
            body,
            json!({
                "appid": crate::testing::APPID, "openid": "o1", "unionid": "u1",
                "created_at": user.created_at, "last_login_at": user.last_login_at,
                "phone": {
                    "phoneNumber": "13800138000", "purePhoneNumber": "13800138000",
                    "countryCode": "86", "verified_at": phone.verified_at, "verified_by": "code"
                },
                "sessions": body["sessions"],
                "quotas": {"phone_verifications_today": {
                    "used": 0, "limit": 5, "resets_at": body["quotas"]["phone_verifications_today"]["resets_at"]
                }}
            })
        );
        let sessions = body["sessions"].as_array().unwrap();
        assert_eq!(sessions.len(), 2);
        assert_eq!(
            sessions
                .iter()
                .filter(|session| session["current"] == true)
                .count(),
            1
        );
        let text = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        for secret in [token.expose(), &token.hash().as_hex()[..16]] {
            assert!(!text.contains(secret), "no token or hash in the copy");
        }

        for (method, status, code) in [
            (Method::POST, 405, "method_not_allowed"),
            (Method::PUT, 405, "method_not_allowed"),
        ] {
            let (got, body) = decoded(
                &accounts
                    .handle(bearer_request(method, token.expose()))
                    .await,
            );
            assert_eq!((got, body["error"].as_str()), (status, Some(code)));
        }
        for bad in ["", "not-a-token"] {
            let (got, body) = decoded(&accounts.handle(bearer_request(Method::DELETE, bad)).await);
            assert_eq!((got, body["error"].as_str()), (401, Some("invalid_token")));
        }

        let deleted = accounts
            .handle(bearer_request(Method::DELETE, token.expose()))
            .await;
        assert_eq!(
            decoded(&deleted),
            (200, json!({"deleted": true, "sessions": 2}))
        );
        for token in [&token, &other] {
            for method in [Method::GET, Method::DELETE] {
                let after = accounts
                    .handle(bearer_request(method, token.expose()))
                    .await;
                assert_eq!(decoded(&after).1["error"], "invalid_token");
            }
        }
    }
}
