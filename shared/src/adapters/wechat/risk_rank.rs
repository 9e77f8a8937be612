//! `POST /wxa/getuserriskrank`: WeChat's risk rank of a user signing up (安全中心 → 风控).

use serde::Deserialize;
use serde_json::json;

use super::WeChatClient;
use crate::domain::{AccessToken, RiskRank, WeChatError};

/// WeChat's scene for a sign-up (1 is marketing fraud).
const SIGN_UP_SCENE: u8 = 0;

#[derive(Deserialize)]
struct RiskBody {
    risk_rank: i64,
}

impl WeChatClient {
    /// Asks for the rank of `openid`, whose request came from `client_ip`. Nothing is
    /// spent by asking, so a busy answer is retried once.
    pub(super) async fn fetch_risk_rank(
        &self,
        access_token: &AccessToken,
        openid: &str,
        client_ip: &str,
    ) -> Result<RiskRank, WeChatError> {
        self.with_safe_retry(|| async {
            let request = self
                .http()
                .post(self.url("/wxa/getuserriskrank"))
                .query(&[("access_token", access_token.expose())])
                .json(&json!({
                    "appid": self.appid,
                    "openid": openid,
                    "scene": SIGN_UP_SCENE,
                    "client_ip": client_ip,
                }));
            let answer: RiskBody = self.call("getuserriskrank", request).await?;
            RiskRank::new(answer.risk_rank).ok_or(WeChatError::BadResponse("risk_rank is not 0-4"))
        })
        .await
    }
}
