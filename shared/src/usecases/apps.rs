//! The mini-programs a stack serves, and which one a request is for: a login names its
//! app (or WeChat's Referer does); everything after it follows the session's app.

use crate::domain::{LoginError, Session};
use crate::ports::WeChat;

/// What a login says about its app.
#[derive(Debug, Default, Clone, Copy)]
pub struct AppHint<'a> {
    /// The `appid` the request body names.
    pub named: Option<&'a str>,
    /// The appid in the Referer WeChat's client sets on every `wx.request`.
    pub referer: Option<&'a str>,
}

/// The WeChat client of each app the stack serves, in configuration order; never empty.
pub struct Apps<W> {
    first: W,
    others: Vec<W>,
}

impl<W: WeChat> Apps<W> {
    /// A stack serving `first` and `others`.
    pub fn with_others(first: W, others: Vec<W>) -> Self {
        Self { first, others }
    }

    /// A stack serving each app in `clients`; `None` when there is none.
    pub fn new(clients: Vec<W>) -> Option<Self> {
        let mut clients = clients.into_iter();
        Some(Self::with_others(clients.next()?, clients.collect()))
    }

    /// Every app, in configuration order.
    pub fn iter(&self) -> impl Iterator<Item = &W> {
        std::iter::once(&self.first).chain(&self.others)
    }

    /// True when the stack serves more than one app.
    pub fn serves_several(&self) -> bool {
        !self.others.is_empty()
    }

    /// The client of `appid`, if the stack serves it.
    pub fn get(&self, appid: &str) -> Option<&W> {
        self.iter().find(|wechat| wechat.appid() == appid)
    }

    /// The app a login is for: the one it names, else the Referer's, else the stack's
    /// only app. A stack of several apps refuses a login that names none.
    pub fn for_login(&self, hint: AppHint<'_>) -> Result<&W, LoginError> {
        match hint.named.or(hint.referer) {
            Some(appid) => self.get(appid).ok_or(LoginError::UnknownApp),
            None if self.serves_several() => Err(LoginError::AppNotNamed),
            None => Ok(&self.first),
        }
    }

    /// The app `session` was logged in to; `None` when the stack no longer serves it.
    pub fn of_session(&self, session: &Session) -> Option<&W> {
        self.get(&session.appid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeWeChat;

    fn apps(appids: &[&str]) -> Apps<FakeWeChat> {
        Apps::new(appids.iter().map(|appid| FakeWeChat::new(appid)).collect()).unwrap()
    }

    fn chosen(
        apps: &Apps<FakeWeChat>,
        named: Option<&str>,
        referer: Option<&str>,
    ) -> Result<String, LoginError> {
        apps.for_login(AppHint { named, referer })
            .map(|wechat| wechat.appid().to_owned())
    }

    #[test]
    fn the_body_names_the_app_then_the_referer_then_a_single_stack() {
        let two = apps(&["wxA", "wxB"]);
        assert_eq!(
            chosen(&two, Some("wxB"), Some("wxA")).unwrap(),
            "wxB",
            "the body wins"
        );
        assert_eq!(chosen(&two, None, Some("wxB")).unwrap(), "wxB");
        assert_eq!(
            chosen(&two, None, None).unwrap_err(),
            LoginError::AppNotNamed
        );
        assert_eq!(
            chosen(&two, Some("wxC"), Some("wxA")).unwrap_err(),
            LoginError::UnknownApp
        );
        assert_eq!(
            chosen(&two, None, Some("wxC")).unwrap_err(),
            LoginError::UnknownApp
        );

        let one = apps(&["wxA"]);
        assert_eq!(chosen(&one, None, None).unwrap(), "wxA");
        assert_eq!(chosen(&one, Some("wxA"), None).unwrap(), "wxA");
        assert_eq!(
            chosen(&one, Some("wxB"), None).unwrap_err(),
            LoginError::UnknownApp
        );
        assert_eq!(
            chosen(&one, None, Some("wxB")).unwrap_err(),
            LoginError::UnknownApp
        );
        assert!(Apps::<FakeWeChat>::new(Vec::new()).is_none());
    }

    #[test]
    fn a_session_follows_its_app() {
        use crate::domain::WeChatLogin;
        let two = apps(&["wxA", "wxB"]);
        let login = || WeChatLogin {
            openid: "o1".into(),
            unionid: None,
            session_key: "k".to_owned().into(),
        };
        let mut session = Session::start("wxB", login(), 0, std::time::Duration::from_secs(60));
        assert_eq!(two.of_session(&session).unwrap().appid(), "wxB");
        session.appid = "wxGone".into();
        assert!(
            two.of_session(&session).is_none(),
            "an app no longer served"
        );
    }
}
