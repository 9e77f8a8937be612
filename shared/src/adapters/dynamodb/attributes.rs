//! Reading and writing DynamoDB attribute values, and the one conversion of an SDK
//! failure into the domain's [`StoreError`].

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;

use crate::domain::StoreError;

/// An item as the SDK returns it.
pub type Item = HashMap<String, AttributeValue>;

impl<E, R> From<SdkError<E, R>> for StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    fn from(err: SdkError<E, R>) -> Self {
        // SDK error texts name the operation and failure, never item values.
        Self::new(DisplayErrorContext(&err).to_string())
    }
}

/// Done, or not needed: a conditional write whose condition failed is `Ok` — for the
/// callers that use the condition only to leave someone else's item alone.
pub fn unless_condition_failed<O, E, R>(result: Result<O, SdkError<E, R>>) -> Result<(), StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    written_unless_condition_failed(result).map(|_| ())
}

/// Whether a conditional write happened: `Ok(false)` when its condition failed.
pub fn written_unless_condition_failed<O, E, R>(
    result: Result<O, SdkError<E, R>>,
) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(true),
        Err(err) if is_condition_failure(&err) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// True when DynamoDB refused a write because its condition did not hold.
pub fn is_condition_failure<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error().and_then(ProvideErrorMetadata::code)
        == Some("ConditionalCheckFailedException")
}

/// A string attribute, if present and a string.
pub fn string_attr(item: &Item, name: &str) -> Option<String> {
    item.get(name)?.as_s().ok().cloned()
}

/// A number attribute, if present and a whole number.
pub fn number_attr(item: &Item, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

/// A string value.
pub fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

/// A number value.
pub fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}
