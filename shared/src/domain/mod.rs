//! Domain types and rules: everything here can only be built valid, does no I/O, and
//! knows nothing of HTTP or DynamoDB.

pub mod access_token;
pub mod clock;
pub mod codes;
pub mod erasure;
pub mod errors;
pub mod pack_forecast;
pub mod phone;
pub mod phone_pack;
pub mod push;
pub mod quota;
pub mod risk;
pub mod route_apps;
pub mod session;
pub mod signing_key;
pub mod stack_key;
pub mod standard_token;
pub mod token;
pub mod user;
pub mod wechat_crypto;
pub mod wechat_error;

pub use access_token::{
    AccessToken, CachedAccessToken, ForcedRefreshClaim, ForcedRefreshPolicy, FreshAccessToken,
};
pub use codes::{LoginCode, MAX_CODE_LEN, PhoneCode};
pub use erasure::{ErasureReason, ErasureRecord};
pub use errors::{LoginError, PhoneError, PushError, SessionError, StoreError};
pub use pack_forecast::{PackForecast, PackReading};
pub use phone::{PhoneForm, PhoneNumber, WatermarkPolicy};
pub use phone_pack::{PackUsage, PhonePack};
pub use quota::QuotaWindow;
pub use risk::{RiskAssessment, RiskPolicy, RiskRank};
pub use route_apps::RouteApps;
pub use session::{Session, WeChatLogin};
pub use signing_key::{Jwks, KeyRing, KeyRingError, PublicJwk, RotationPolicy, SigningKey};
pub use stack_key::StackKey;
pub use token::{SessionToken, TokenHash};
pub use user::{
    BoundPhone, ErasureTarget, ListedSession, LiveSession, PhoneVerification, RecordedLogin, User,
    UserKey, UserLogin,
};
pub use wechat_crypto::{Ciphertext, DecryptError, Iv, SessionKey};
pub use wechat_error::{Errcode, WeChatError};
