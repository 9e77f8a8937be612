//! Each route over HTTP as its binary serves it, for tests: `login.handle(request)`
//! runs [`respond`] with the route's function, so a test reads like a request sent to the
//! deployed function (deadline, error table, headers, log line and metrics included).

use lambda_http::{Body, Request, Response};

use crate::edge::respond;
use crate::edge::routes::{self, ACCOUNT, LOGIN, PHONE, SESSION, TOKEN, WECHAT_EVENTS};
use crate::ports::{
    AccessTokenStore, CodeClaims, ErasureLog, PushKeyring, Quotas, Sessions, SigningKeys,
    StackKeys, Users, WeChat,
};
use crate::usecases::{
    Accounts, Login, PhoneNumbers, PushReceiver, SessionQueries, StandardTokens,
};

/// A use-case answering HTTP requests through its route.
pub trait ServeHttp {
    /// The response the route's binary would send for `request`.
    fn handle(&self, request: Request) -> impl Future<Output = Response<Body>>;
}

/// `ServeHttp` for `$usecase` through `$route`, served by `routes::$serve`.
macro_rules! serve_http {
    ($usecase:ident, $route:ident, $serve:ident, $($bounds:tt)+) => {
        impl<S, W> ServeHttp for $usecase<S, W>
        where
            $($bounds)+
        {
            async fn handle(&self, request: Request) -> Response<Body> {
                respond(&$route, request, async |request| routes::$serve(self, request).await)
                    .await
            }
        }
    };
}

serve_http!(PhoneNumbers, PHONE, phone, S: Sessions + Users + AccessTokenStore + Quotas + Clone, W: WeChat);
serve_http!(SessionQueries, SESSION, session, S: Sessions + Users + AccessTokenStore + Quotas + Clone, W: WeChat);
serve_http!(Accounts, ACCOUNT, account, S: Sessions + Users + Quotas + ErasureLog, W: StackKeys);
serve_http!(StandardTokens, TOKEN, token, S: Sessions, W: SigningKeys);

impl<S, W, K> ServeHttp for Login<S, W, K>
where
    S: CodeClaims + Sessions + Users + Quotas + AccessTokenStore + Clone,
    W: WeChat,
    K: StackKeys,
{
    async fn handle(&self, request: Request) -> Response<Body> {
        respond(&LOGIN, request, async |request| {
            routes::login(self, request).await
        })
        .await
    }
}

impl<S, A, K> ServeHttp for PushReceiver<S, A, K>
where
    S: Sessions + Users + Quotas + ErasureLog,
    A: StackKeys,
    K: PushKeyring,
{
    async fn handle(&self, request: Request) -> Response<Body> {
        respond(&WECHAT_EVENTS, request, async |request| {
            routes::wechat_events(self, request).await
        })
        .await
    }
}
