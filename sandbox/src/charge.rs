//! 付费管理 (paid capabilities): the prepaid packs of the two kinds of phone verification.
//! `GET /wxa/charge/usage/get` (getUsageDetail) reports them; `POST /sandbox/charge` sets
//! them, as buying or running out of packs in mp.weixin.qq.com would.
//!
//! Each app starts with one free-trial pack of 1,000 units per kind. As WeChat bills the
//! button's success callback, every code a button issues (`/sandbox/phone`) uses one unit
//! of its kind when it is issued (`AppState::bill`), redeemed or not; getuserphonenumber,
//! successful or refused, uses none. When a kind has no unit left, the button fails on the
//! device (`/sandbox/phone` answers `errno` 1400001), issues no code and bills nothing.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Shared;
use crate::access::app_of_access_token;
use crate::control::{bad_request, unknown_app};
use crate::state::{Api, AppState, Pack, PhonePack};
use crate::wechat_api::{errcode, lock, suffer, wechat_json};

/// getUsageDetail's page size limit.
const MAX_LIMIT: usize = 20;

/// The errcode WeChat's charge APIs document for a bad parameter (参数错误).
const INVALID_ARGS: i64 = 10_120_002;

/// A getUsageDetail query, checked.
struct UsageQuery<'a> {
    spu_id: &'a str,
    offset: usize,
    limit: usize,
}

impl<'a> UsageQuery<'a> {
    /// `spuId` (digits), `offset` (from 0) and `limit` (1 to 20), all required.
    fn parse(params: &'a HashMap<String, String>) -> Option<Self> {
        let spu_id = params.get("spuId")?.as_str();
        if spu_id.is_empty() || !spu_id.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let number = |name: &str| params.get(name)?.parse::<usize>().ok();
        let offset = number("offset")?;
        let limit = number("limit").filter(|limit| (1..=MAX_LIMIT).contains(limit))?;
        Some(Self {
            spu_id,
            offset,
            limit,
        })
    }
}

/// One pack as `detailList` shows it.
fn pack_json(pack: &Pack, spu_id: &str) -> Value {
    json!({
        "pkgId": pack.pkg_id,
        "startTime": pack.start_time,
        "endTime": pack.end_time,
        "used": pack.used.to_string(),
        "all": pack.all.to_string(),
        "status": 1,
        "spuId": spu_id,
        "skuId": pack.sku_id,
    })
}

/// `GET /wxa/charge/usage/get?access_token&spuId&offset&limit` (getUsageDetail): the app's
/// packs of that product in force, `all` and `effectiveUse` summed over them (strings of
/// 64-bit numbers, as WeChat writes them), `detailList` one page of them.
///
/// A missing or malformed `spuId`, `offset` or `limit` (limit 1 to 20) answers `10120002`;
/// a product the sandbox does not sell answers zeros and no pack.
pub(crate) async fn usage_get(
    State(shared): State<Shared>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if let Some(response) = suffer(&shared, Api::ChargeUsage).await {
        return response;
    }
    let mut state = lock(&shared);
    let app = match app_of_access_token(&mut state, params.get("access_token").map(String::as_str))
    {
        Ok(app) => app,
        Err(rejection) => return rejection.into_response(),
    };
    let Some(query) = UsageQuery::parse(&params) else {
        return errcode(INVALID_ARGS, "invalid args");
    };
    let packs: &[Pack] = match PhonePack::from_spu_id(query.spu_id) {
        Some(kind) => app.packs(kind),
        None => &[],
    };
    let all: u64 = packs.iter().map(|pack| pack.all).sum();
    let used: u64 = packs.iter().map(|pack| pack.used).sum();
    let page: Vec<Value> = packs
        .iter()
        .skip(query.offset)
        .take(query.limit)
        .map(|pack| pack_json(pack, query.spu_id))
        .collect();
    wechat_json(&json!({
        "errcode": 0,
        "errmsg": "ok",
        "all": all.to_string(),
        "effectiveAll": all.to_string(),
        "effectiveUse": used.to_string(),
        // For subscriptions, not packs.
        "startServiceTime": 0,
        "endServiceTime": 0,
        "total": packs.len(),
        "detailList": page,
    }))
}

#[derive(Deserialize)]
struct ChargeRequest {
    appid: Option<String>,
    #[serde(rename = "spuId")]
    spu_id: Option<String>,
    pack: Option<PhonePack>,
    all: u64,
    #[serde(default)]
    used: u64,
}

/// What `/sandbox/charge` answers: the kind's totals now and its billed count.
fn charge_answer(appid: &str, app: &mut AppState, kind: PhonePack) -> Value {
    let totals = app.pack_totals(kind);
    json!({
        "appid": appid,
        "pack": kind.name(),
        "spuId": kind.spu_id(),
        "all": totals.all,
        "used": totals.used,
        "left": totals.left(),
        "billed": app.billed.get(&kind).copied().unwrap_or(0),
    })
}

/// `POST /sandbox/charge {"appid"?, "pack": "quick" | "realtime" (or "spuId"), "all",
/// "used"?}` → `{"appid", "pack", "spuId", "all", "used", "left", "billed"}`: that kind's
/// packs become one pack of `all` units with `used` of them used (none at all when `all` is
/// 0). `billed` counts the codes of the kind the app's buttons issued (each billed when
/// issued) since the start and is not reset.
pub(crate) async fn charge(State(shared): State<Shared>, body: Bytes) -> Response {
    let request: ChargeRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            return bad_request(&format!(
                "expected {{\"appid\"?, \"pack\": \"quick\" | \"realtime\" or \"spuId\": \"10000077\" | \"10000086\", \"all\", \"used\"?}}: {err}"
            ));
        }
    };
    let from_spu = match request.spu_id.as_deref().map(PhonePack::from_spu_id) {
        Some(None) => {
            return bad_request(
                "spuId must be 10000077 (quick verification) or 10000086 (real-time)",
            );
        }
        Some(Some(kind)) => Some(kind),
        None => None,
    };
    let kind = match (request.pack, from_spu) {
        (Some(pack), Some(spu)) if pack != spu => {
            return bad_request("pack and spuId name different kinds");
        }
        (Some(kind), _) | (None, Some(kind)) => kind,
        (None, None) => return bad_request("name the kind: \"pack\" or \"spuId\""),
    };
    if request.used > request.all {
        return bad_request("used must not exceed all");
    }
    let mut state = lock(&shared);
    let Some((appid, app)) = state.control_app(request.appid.as_deref()) else {
        return unknown_app();
    };
    let packs = if request.all == 0 {
        Vec::new()
    } else {
        vec![Pack::new("1", request.all, request.used)]
    };
    app.packs.insert(kind, packs);
    Json(charge_answer(&appid, app, kind)).into_response()
}
