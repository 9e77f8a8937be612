//! The sessions table as the SAM template defines it: string key `pk`, TTL on `expires_at`.

use std::collections::HashMap;

use anyhow::Context;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TimeToLiveSpecification,
};

/// A client for DynamoDB Local at `endpoint`, with wxlogin's timeouts and dummy credentials.
pub async fn local_client(endpoint: &str) -> Client {
    let config = wxlogin::adapters::aws::tuned_config_loader()
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "devkit"))
        .load()
        .await;
    Client::new(&config)
}

/// Creates the table with its TTL; an existing table is left as it is.
pub async fn create_sessions_table(client: &Client, table: &str) -> anyhow::Result<()> {
    let created = client
        .create_table()
        .table_name(table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()?,
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    if let Err(err) = created {
        let exists = err
            .as_service_error()
            .is_some_and(|service| service.is_resource_in_use_exception());
        if !exists {
            return Err(anyhow::Error::new(err).context(format!("CreateTable {table}")));
        }
        return Ok(());
    }
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("expires_at")
                .enabled(true)
                .build()?,
        )
        .send()
        .await?;
    Ok(())
}

/// Every item of `table`, across scan pages (local tables are small).
pub async fn all_items(
    client: &Client,
    table: &str,
) -> anyhow::Result<Vec<HashMap<String, AttributeValue>>> {
    let mut pages = client
        .scan()
        .table_name(table)
        .into_paginator()
        .items()
        .send();
    let mut items = Vec::new();
    while let Some(item) = pages.next().await {
        items.push(item.with_context(|| format!("scanning {table}"))?);
    }
    Ok(items)
}
