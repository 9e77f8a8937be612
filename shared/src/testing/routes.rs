//! Each route over HTTP as its binary serves it, for tests: `login.handle(request)`
//! runs [`respond`] with the route's function, so a test reads like a request sent to the
//! deployed function (deadline, error table, headers, log line and metrics included).

use lambda_http::{Body, Request, Response};

use crate::edge::respond;
use crate::edge::routes::{self, LOGIN, PHONE, SESSION};
use crate::ports::{AccessTokenStore, CodeClaims, Quotas, Sessions, Users, WeChat};
use crate::usecases::{Login, PhoneNumbers, SessionQueries};

/// A use-case answering HTTP requests through its route.
pub trait ServeHttp {
    /// The response the route's binary would send for `request`.
    fn handle(&self, request: Request) -> impl Future<Output = Response<Body>>;
}

impl<S: CodeClaims + Sessions + Users, W: WeChat> ServeHttp for Login<S, W> {
    async fn handle(&self, request: Request) -> Response<Body> {
        respond(&LOGIN, request, async |request| {
            routes::login(self, request).await
        })
        .await
    }
}

impl<S, W> ServeHttp for PhoneNumbers<S, W>
where
    S: Sessions + Users + AccessTokenStore + Quotas + Clone,
    W: WeChat,
{
    async fn handle(&self, request: Request) -> Response<Body> {
        respond(&PHONE, request, async |request| {
            routes::phone(self, request).await
        })
        .await
    }
}

impl<S, W> ServeHttp for SessionQueries<S, W>
where
    S: Sessions + Users + AccessTokenStore + Quotas + Clone,
    W: WeChat,
{
    async fn handle(&self, request: Request) -> Response<Body> {
        respond(&SESSION, request, async |request| {
            routes::session(self, request).await
        })
        .await
    }
}
