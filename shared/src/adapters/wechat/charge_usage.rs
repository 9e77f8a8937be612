//! `GET /wxa/charge/usage/get`: the use of the app's prepaid packs of one product
//! (付费管理, getUsageDetail).

use serde::Deserialize;

use super::WeChatClient;
use crate::domain::{AccessToken, PackUsage, PhonePack, WeChatError};

/// WeChat writes the counts as strings of 64-bit numbers.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageBody {
    all: String,
    effective_use: String,
}

impl WeChatClient {
    /// The totals over every pack of `pack`'s kind in force; the per-pack list is not
    /// needed, so one page of one entry is asked for.
    pub(super) async fn fetch_pack_usage(
        &self,
        access_token: &AccessToken,
        pack: PhonePack,
    ) -> Result<PackUsage, WeChatError> {
        self.with_safe_retry(|| async {
            let request = self.http().get(self.url("/wxa/charge/usage/get")).query(&[
                ("access_token", access_token.expose()),
                ("spuId", pack.spu_id()),
                ("offset", "0"),
                ("limit", "1"),
            ]);
            let answer: UsageBody = self.call("charge_usage_get", request).await?;
            let count = |text: &str| {
                text.parse::<u64>()
                    .map_err(|_| WeChatError::BadResponse("usage counts are not numbers"))
            };
            Ok(PackUsage {
                all: count(&answer.all)?,
                used: count(&answer.effective_use)?,
            })
        })
        .await
    }
}
