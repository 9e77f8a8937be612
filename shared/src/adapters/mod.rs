//! The ports' production implementations: DynamoDB (sessions, code claims, the shared
//! access token, all in one table) and WeChat's server API over HTTPS.

pub mod dynamodb;
pub mod wechat;
