//! template.yaml against the code: the alarms and the dashboard name metrics, dimensions
//! and values the functions really emit, and the dashboard body is valid JSON. A renamed
//! metric would otherwise leave an alarm watching nothing, silently.

use devkit::dynamodb_local::workspace_root;
use serde_json::Value;
use wxlogin::telemetry::metrics;

fn template() -> String {
    std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap()
}

/// The literal block under `DashboardBody: !Sub |`, with CloudFormation's substitutions
/// filled as a deploy would.
fn dashboard_body(template: &str) -> Value {
    let start = template.find("DashboardBody: !Sub |").expect("a dashboard");
    let body: String = template[start..]
        .lines()
        .skip(1)
        .take_while(|line| line.starts_with("        "))
        .collect::<Vec<_>>()
        .join("\n");
    let filled = body
        .replace("${AWS::StackName}", "wxlogin-prod")
        .replace("${AWS::Region}", "ap-east-1");
    serde_json::from_str(&filled).expect("the dashboard body is JSON")
}

const EMITTED: &[&str] = &[
    metrics::LOGINS,
    metrics::PHONE_DECRYPTS,
    metrics::SESSION_REQUESTS,
    metrics::UPSTREAM_FAILURES,
    metrics::UPSTREAM_LATENCY,
    metrics::WECHAT_ERRORS,
    metrics::AUTHORIZATIONS,
    metrics::COLD_STARTS,
    metrics::ACCOUNT_REQUESTS,
    metrics::ERASURES,
    metrics::PUSHES,
    metrics::PUSH_REQUESTS,
    metrics::RETENTION_BATCHES,
];

#[test]
fn the_alarms_watch_upstream_failures_of_each_upstream() {
    let template = template();
    for (alarm, upstream) in [
        ("WeChatFailuresAlarm:", metrics::WECHAT),
        ("StoreFailuresAlarm:", metrics::DYNAMODB),
    ] {
        let start = template.find(alarm).expect(alarm);
        let end = template[start..]
            .find("\n\n")
            .map_or(template.len(), |end| start + end);
        let definition = &template[start..end];
        assert!(
            definition.contains("Namespace: !Sub \"wxlogin/${AWS::StackName}\""),
            "{alarm} namespace"
        );
        assert!(
            definition.contains(&format!("MetricName: {}", metrics::UPSTREAM_FAILURES)),
            "{alarm} metric"
        );
        assert!(
            definition.contains(&format!("- Name: Upstream\n          Value: {upstream}")),
            "{alarm} watches exactly Upstream={upstream}:\n{definition}"
        );
    }
    assert!(template.contains("METRICS_NAMESPACE: !Sub \"wxlogin/${AWS::StackName}\""));
}

#[test]
fn every_dashboard_widget_searches_an_emitted_metric_in_the_stack_namespace() {
    let body = dashboard_body(&template());
    let widgets = body["widgets"].as_array().unwrap();
    assert!(widgets.len() >= 7);
    let mut searched = Vec::new();
    for widget in widgets {
        let expression = widget["properties"]["metrics"][0][0]["expression"]
            .as_str()
            .unwrap();
        assert!(
            expression.starts_with("SEARCH('{\"wxlogin/wxlogin-prod\","),
            "{expression}"
        );
        let name = expression
            .split("MetricName=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap();
        assert!(EMITTED.contains(&name), "{name} is not a metric we emit");
        searched.push(name);
    }
    assert!(
        searched.contains(&metrics::AUTHORIZATIONS),
        "the authorizer's decisions are on the dashboard"
    );
}
