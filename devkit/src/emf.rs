//! Reading the CloudWatch Embedded Metric Format lines a function printed, the way
//! CloudWatch Logs would: each line whose `_aws` block declares metrics.

use serde_json::Value;

/// One metric value out of an EMF document.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    /// The document's namespace.
    pub namespace: String,
    /// The metric's name.
    pub name: String,
    /// Its unit, when declared.
    pub unit: Option<String>,
    /// Dimension name and value pairs, in declaration order.
    pub dimensions: Vec<(String, String)>,
    /// The recorded values (one for a counter, several for a histogram).
    pub values: Vec<f64>,
}

/// Every metric point in `output`. Panics on an EMF line CloudWatch would reject (a
/// declared dimension or metric without its value), so tests catch malformed documents.
#[allow(clippy::panic)]
pub fn metric_points(output: &str) -> Vec<MetricPoint> {
    let mut points = Vec::new();
    for line in output.lines() {
        let Ok(document) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let Some(directives) = document["_aws"]["CloudWatchMetrics"].as_array() else {
            continue;
        };
        assert!(
            document["_aws"]["Timestamp"].is_u64(),
            "EMF without a timestamp: {line}"
        );
        for directive in directives {
            let namespace = directive["Namespace"].as_str().unwrap_or_default();
            let dimension_sets = directive["Dimensions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            assert_eq!(
                dimension_sets.len(),
                1,
                "one dimension set per document: {line}"
            );
            let dimensions: Vec<(String, String)> = dimension_sets[0]
                .as_array()
                .into_iter()
                .flatten()
                .map(|name| {
                    let name = name.as_str().unwrap_or_default().to_owned();
                    let value = document[&name]
                        .as_str()
                        .unwrap_or_else(|| panic!("dimension {name} has no string value: {line}"))
                        .to_owned();
                    (name, value)
                })
                .collect();
            for metric in directive["Metrics"].as_array().into_iter().flatten() {
                let name = metric["Name"].as_str().unwrap_or_default().to_owned();
                let values = match &document[&name] {
                    Value::Number(number) => vec![number.as_f64().unwrap_or_default()],
                    Value::Array(items) => items.iter().filter_map(Value::as_f64).collect(),
                    _ => panic!("metric {name} has no value: {line}"),
                };
                points.push(MetricPoint {
                    namespace: namespace.to_owned(),
                    name,
                    unit: metric["Unit"].as_str().map(str::to_owned),
                    dimensions: dimensions.clone(),
                    values,
                });
            }
        }
    }
    points
}

/// The sum of `name` over every point whose dimensions include all of `dimensions`.
pub fn metric_sum(points: &[MetricPoint], name: &str, dimensions: &[(&str, &str)]) -> f64 {
    points
        .iter()
        .filter(|point| point.name == name)
        .filter(|point| {
            dimensions
                .iter()
                .all(|(key, value)| point.dimensions.iter().any(|(k, v)| k == key && v == value))
        })
        .flat_map(|point| point.values.iter().copied())
        .sum()
}
