//! The WeChat adapter: the HTTPS client for WeChat's server API (docs/wechat.md,
//! "Endpoints"), one module per endpoint, implementing the [`WeChat`](crate::ports::WeChat)
//! port. Every call is timed as WeChat time and a failure is counted per API.

mod app_secret;
mod charge_usage;
mod check_session;
mod client;
mod code2session;
mod phone_number;
mod risk_rank;
mod stable_token;

pub use client::{ClientBuildError, WeChatClient};

use secrecy::SecretString;

use crate::domain::{
    AccessToken, FreshAccessToken, LoginCode, PackUsage, PhoneCode, PhoneNumber, PhonePack,
    RiskRank, WeChatError, WeChatLogin,
};
use crate::ports::WeChat;
use crate::telemetry::current::{Upstream, timed};

impl WeChat for WeChatClient {
    fn appid(&self) -> &str {
        &self.appid
    }

    async fn code2session(&self, code: &LoginCode) -> Result<WeChatLogin, WeChatError> {
        timed(Upstream::WeChat, self.exchange_login_code(code)).await
    }

    async fn stable_token(&self, force_refresh: bool) -> Result<FreshAccessToken, WeChatError> {
        timed(Upstream::WeChat, self.fetch_stable_token(force_refresh)).await
    }

    async fn phone_number(
        &self,
        access_token: &AccessToken,
        code: &PhoneCode,
        openid: &str,
    ) -> Result<PhoneNumber, WeChatError> {
        timed(
            Upstream::WeChat,
            self.redeem_phone_code(access_token, code, openid),
        )
        .await
    }

    async fn check_session(
        &self,
        access_token: &AccessToken,
        openid: &str,
        session_key: &SecretString,
    ) -> Result<(), WeChatError> {
        timed(
            Upstream::WeChat,
            self.signed_check_session(access_token, openid, session_key),
        )
        .await
    }

    async fn user_risk_rank(
        &self,
        access_token: &AccessToken,
        openid: &str,
        client_ip: &str,
    ) -> Result<RiskRank, WeChatError> {
        timed(
            Upstream::WeChat,
            self.fetch_risk_rank(access_token, openid, client_ip),
        )
        .await
    }

    async fn pack_usage(
        &self,
        access_token: &AccessToken,
        pack: PhonePack,
    ) -> Result<PackUsage, WeChatError> {
        timed(Upstream::WeChat, self.fetch_pack_usage(access_token, pack)).await
    }
}
