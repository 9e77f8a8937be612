//! template.yaml against the code: the alarms and the dashboard name metrics, dimensions
//! and values the functions really emit, and the dashboard body is valid JSON. A renamed
//! metric would otherwise leave an alarm watching nothing, silently.

use devkit::dynamodb_local::workspace_root;
use devkit::template::{self, Alarm};
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
    let alarm_days = template::parameter_default(template, "PhonePackAlarmDays").unwrap();
    let filled = body
        .replace("${AWS::StackName}", "wxlogin-prod")
        .replace("${AWS::Region}", "ap-east-1")
        .replace("${PhonePackAlarmDays}", alarm_days);
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
    metrics::PHONE_PACK_CHECKS,
    metrics::PHONE_PACK_USED,
    metrics::PHONE_PACK_LEFT,
    metrics::PHONE_PACK_DAYS_LEFT,
    metrics::TOKEN_REQUESTS,
    metrics::KEY_ROTATION_STEPS,
];

#[test]
fn the_token_signing_alarm_watches_what_the_token_route_counts() {
    use wxlogin::edge::ApiError;
    use wxlogin::edge::routes::TOKEN;
    let alarm = Alarm::of(&template(), "TokenSigningAlarm");
    assert_eq!(alarm.namespace_of("wxlogin-prod"), "wxlogin/wxlogin-prod");
    assert_eq!(alarm.metric_name, TOKEN.function.outcome_metric);
    assert_eq!(
        alarm.dimensions,
        [
            (
                TOKEN.function.kind_dimension.unwrap().to_owned(),
                "issue".to_owned()
            ),
            (
                "Outcome".to_owned(),
                ApiError::SigningUnavailable.code().to_owned()
            )
        ]
    );
    assert!(alarm.breached_by(1.0, alarm.default_threshold(&template())));
}

/// The phone pack alarm watches the fewest days left of a run: the metric the
/// `phone-packs` function writes without dimensions, its minimum per hour, below the
/// parameter (tests/binaries/phone_packs.rs checks a run's EMF against this definition).
#[test]
fn the_phone_pack_alarm_watches_the_fewest_days_left() {
    let template = template();
    let alarm = Alarm::of(&template, "PhonePackAlarm");
    assert_eq!(alarm.namespace_of("wxlogin-prod"), "wxlogin/wxlogin-prod");
    assert_eq!(alarm.metric_name, metrics::PHONE_PACK_DAYS_LEFT);
    assert!(alarm.dimensions.is_empty(), "the aggregate: {alarm:?}");
    assert_eq!((alarm.statistic.as_str(), alarm.period), ("Minimum", 3600));
    assert_eq!(alarm.comparison, "LessThanThreshold");
    assert_eq!(alarm.threshold, "!Ref PhonePackAlarmDays");
    assert_eq!(alarm.default_threshold(&template), 3.0);
    assert_eq!(alarm.treat_missing_data, "ignore");
    // A used-up pack (0 days) fires it; the cap of an unmeasured one does not.
    let threshold = alarm.default_threshold(&template);
    assert!(alarm.breached_by(0.0, threshold));
    assert!(!alarm.breached_by(wxlogin::domain::pack_forecast::DAYS_LEFT_CAP, threshold));
    // The function runs on the schedule the parameter sets, hourly by default.
    let function = template::entry(&template, "PhonePacksFunction").unwrap();
    assert_eq!(
        template::value(function, "Type"),
        Some("AWS::Serverless::Function")
    );
    assert_eq!(
        template::value(function, "ScheduleExpression"),
        Some("!Ref PhonePackCheckSchedule")
    );
    assert_eq!(
        template::parameter_default(&template, "PhonePackCheckSchedule"),
        Some("rate(1 hour)")
    );
}

#[test]
fn a_failing_phone_pack_check_has_its_own_alarm() {
    let template = template();
    let alarm = Alarm::of(&template, "PhonePackCheckFailingAlarm");
    assert_eq!(alarm.namespace_of("wxlogin-prod"), "wxlogin/wxlogin-prod");
    assert_eq!(alarm.metric_name, metrics::PHONE_PACK_CHECKS);
    // The outcome the check's runner records for a run that read nothing.
    assert_eq!(
        alarm.dimensions,
        [(
            "Outcome".to_owned(),
            wxlogin::usecases::phone_packs::NOTHING_READ.to_owned()
        )]
    );
    assert_eq!((alarm.statistic.as_str(), alarm.period), ("Sum", 3600));
    assert!(alarm.breached_by(1.0, alarm.default_threshold(&template)));
}

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
    assert!(
        searched.contains(&metrics::PHONE_PACK_DAYS_LEFT),
        "the phone packs' days left are on the dashboard"
    );
}
