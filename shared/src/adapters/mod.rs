//! The ports' production implementations: DynamoDB (sessions, code claims, the shared
//! access token, all in one table) and WeChat's server API over HTTPS, on the AWS SDK
//! setup they share ([`aws`]).

pub mod aws;
pub mod dynamodb;
pub mod push_keys;
pub mod secrets;
pub mod signing_keys;
pub mod stack_key;
pub mod wechat;
