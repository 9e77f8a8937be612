//! Which apps' sessions each route behind the authorizer accepts. A stack serving several
//! mini-programs must not let a session of one (say a campaign built by a contractor)
//! through on the routes of another (the brand's): each route is bound to its apps, by the
//! route key API Gateway puts in the authorizer's event (`GET /orders`,
//! `ANY /brand/{proxy+}`, `$default`).

/// The entry that binds every route not named elsewhere.
pub const OTHER_ROUTES: &str = "*";

/// The apps each route accepts; a route bound to none accepts nobody.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteApps {
    /// Route key → its apps, in the order written.
    routes: Vec<(String, Vec<String>)>,
    /// The apps of every route not in `routes` (the `*` entry), if any.
    other_routes: Option<Vec<String>>,
}

impl RouteApps {
    /// Every route accepts `appids` (a stack of one app, or a test).
    pub fn every_route(appids: Vec<String>) -> Self {
        Self {
            routes: Vec::new(),
            other_routes: Some(appids),
        }
    }

    /// Reads `GET /orders=wxA;ANY /campaign/{proxy+}=wxB,wxA;*=wxA`: entries separated by
    /// `;`, each a route key exactly as API Gateway names the route (or `*` for every
    /// other route), `=`, and the appids it accepts, separated by `,`. Every appid must be
    /// one of `served`; a route may be named once. The error says what is wrong without
    /// echoing the value.
    pub fn parse(raw: &str, served: &[String]) -> Result<Self, &'static str> {
        let mut routes: Vec<(String, Vec<String>)> = Vec::new();
        let mut other_routes = None;
        for entry in raw.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let (route, apps) = entry
                .split_once('=')
                .ok_or("each entry is <route key>=<appid>[,<appid>…], e.g. GET /orders=wx…")?;
            let route = route.trim();
            if !is_route_key(route) {
                return Err(
                    "a route key is `*`, `$default` or `<METHOD> /<path>` as API Gateway names the route (e.g. `GET /orders`, `ANY /brand/{proxy+}`)",
                );
            }
            let apps: Vec<String> = apps
                .split(',')
                .map(str::trim)
                .filter(|appid| !appid.is_empty())
                .map(str::to_owned)
                .collect();
            if apps.is_empty() {
                return Err("every route names at least one appid");
            }
            if !apps.iter().all(|appid| served.contains(appid)) {
                return Err("an appid the stack does not serve (WECHAT_APPID/WECHAT_APPIDS)");
            }
            let repeated = if route == OTHER_ROUTES {
                other_routes.replace(apps).is_some()
            } else if routes.iter().any(|(named, _)| named == route) {
                true
            } else {
                routes.push((route.to_owned(), apps));
                false
            };
            if repeated {
                return Err("a route is named twice");
            }
        }
        if routes.is_empty() && other_routes.is_none() {
            return Err("no route is bound to an app");
        }
        Ok(Self {
            routes,
            other_routes,
        })
    }

    /// The apps `route_key` accepts: its own entry, else the `*` entry, else none. An
    /// event without a route key gets the `*` entry's apps only.
    pub fn apps_for(&self, route_key: Option<&str>) -> &[String] {
        route_key
            .and_then(|key| self.routes.iter().find(|(named, _)| named == key))
            .map(|(_, apps)| apps)
            .or(self.other_routes.as_ref())
            .map_or(&[], Vec::as_slice)
    }

    /// Whether `route_key` accepts a session of `appid`.
    pub fn accepts(&self, route_key: Option<&str>, appid: &str) -> bool {
        self.apps_for(route_key).iter().any(|bound| bound == appid)
    }
}

/// `*`, `$default`, or an upper-case method (or `ANY`), one space and a path from `/`.
fn is_route_key(route: &str) -> bool {
    if route == OTHER_ROUTES || route == "$default" {
        return true;
    }
    let Some((method, path)) = route.split_once(' ') else {
        return false;
    };
    !method.is_empty()
        && method.bytes().all(|b| b.is_ascii_uppercase())
        && path.starts_with('/')
        && !path.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served() -> Vec<String> {
        vec!["wxbrand".to_owned(), "wxcampaign".to_owned()]
    }

    #[test]
    fn each_route_accepts_its_apps_and_the_rest_take_the_star_entry() {
        let routes = RouteApps::parse(
            " GET /orders=wxbrand ; ANY /campaign/{proxy+}=wxcampaign, wxbrand;*=wxbrand",
            &served(),
        )
        .unwrap();
        assert!(routes.accepts(Some("GET /orders"), "wxbrand"));
        assert!(!routes.accepts(Some("GET /orders"), "wxcampaign"));
        assert!(routes.accepts(Some("ANY /campaign/{proxy+}"), "wxcampaign"));
        assert!(routes.accepts(Some("ANY /campaign/{proxy+}"), "wxbrand"));
        assert!(routes.accepts(Some("GET /me"), "wxbrand"));
        assert!(!routes.accepts(Some("GET /me"), "wxcampaign"));
        assert!(!routes.accepts(None, "wxcampaign"));
        assert!(
            !routes.accepts(Some("get /orders"), "wxcampaign"),
            "route keys match exactly"
        );
    }

    #[test]
    fn without_a_star_entry_an_unnamed_route_accepts_nobody() {
        let routes = RouteApps::parse("GET /orders=wxbrand", &served()).unwrap();
        assert!(routes.apps_for(Some("GET /me")).is_empty());
        assert!(routes.apps_for(None).is_empty());
    }

    #[test]
    fn every_route_binds_all_routes_alike() {
        let routes = RouteApps::every_route(vec!["wxbrand".to_owned()]);
        assert!(routes.accepts(Some("GET /anything"), "wxbrand"));
        assert!(routes.accepts(None, "wxbrand"));
        assert!(!routes.accepts(None, "wxcampaign"));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        for raw in [
            "",
            " ; ",
            "GET /orders",
            "GET /orders=",
            "GET /orders=wxother",
            "orders=wxbrand",
            "GET orders=wxbrand",
            "GET /a b=wxbrand",
            "GET /orders=wxbrand;GET /orders=wxcampaign",
            "*=wxbrand;*=wxcampaign",
        ] {
            assert!(RouteApps::parse(raw, &served()).is_err(), "{raw}");
        }
    }
}
