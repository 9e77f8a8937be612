//! `template.yaml` read the way the tests check the code against it: a resource's
//! properties, a parameter's default, and an alarm's definition (what it watches, when it
//! fires). Line-based, for the template's own layout (two-space indents, one property a
//! line): no YAML parser, and no CloudFormation tags to teach one.

use crate::dynamodb_local::workspace_root;

/// The workspace's `template.yaml`.
///
/// # Panics
/// When it cannot be read.
#[allow(clippy::panic)]
pub fn template() -> String {
    let path = workspace_root().join("template.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// The lines of the top-level entry `name` (a parameter, a resource, an output) of
/// `template`: from `  name:` to the next entry or section.
pub fn entry<'a>(template: &'a str, name: &str) -> Option<&'a str> {
    let heading = format!("\n  {name}:\n");
    let start = template.find(&heading)? + 1;
    let body = &template[start + heading.len() - 1..];
    let end = body
        .split_inclusive('\n')
        .take_while(|line| line.starts_with("   ") || line.trim().is_empty())
        .map(str::len)
        .sum::<usize>();
    Some(&template[start..start + heading.len() - 1 + end])
}

/// The value of the first `key:` line in `block` (at any depth), quotes taken off.
pub fn value<'a>(block: &'a str, key: &str) -> Option<&'a str> {
    let prefix = format!("{key}:");
    block.lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix(&prefix)?;
        let rest = rest.trim();
        Some(
            rest.strip_prefix('\'')
                .and_then(|inner| inner.strip_suffix('\''))
                .or_else(|| {
                    rest.strip_prefix('"')
                        .and_then(|inner| inner.strip_suffix('"'))
                })
                .unwrap_or(rest),
        )
    })
}

/// The default of parameter `name`.
pub fn parameter_default<'a>(template: &'a str, name: &str) -> Option<&'a str> {
    value(entry(template, name)?, "Default")
}

/// A CloudWatch alarm as the template defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alarm {
    /// `Namespace`, as written (`!Sub "wxlogin/${AWS::StackName}"`).
    pub namespace: String,
    /// `MetricName`.
    pub metric_name: String,
    /// `Dimensions`, name and value each; empty for a metric without dimensions.
    pub dimensions: Vec<(String, String)>,
    /// `Statistic` (`Sum`, `Minimum`, …).
    pub statistic: String,
    /// `Period`, seconds.
    pub period: u64,
    /// `ComparisonOperator`.
    pub comparison: String,
    /// `Threshold`, as written: a number or `!Ref <parameter>`.
    pub threshold: String,
    /// `TreatMissingData`.
    pub treat_missing_data: String,
}

impl Alarm {
    /// The alarm `name` of `template`.
    ///
    /// # Panics
    /// When there is no such resource, or a property the alarm needs is missing.
    #[allow(clippy::panic)]
    pub fn of(template: &str, name: &str) -> Self {
        let block = entry(template, name).unwrap_or_else(|| panic!("no {name} in the template"));
        let property = |key: &str| {
            value(block, key)
                .unwrap_or_else(|| panic!("{name} has no {key}:\n{block}"))
                .to_owned()
        };
        let mut dimensions = Vec::new();
        let mut lines = block.lines().map(str::trim);
        while let Some(line) = lines.next() {
            if let Some(dimension) = line.strip_prefix("- Name:") {
                let value = lines
                    .next()
                    .and_then(|next| next.strip_prefix("Value:"))
                    .unwrap_or_else(|| panic!("{name}: a dimension without its value"));
                dimensions.push((dimension.trim().to_owned(), value.trim().to_owned()));
            }
        }
        Self {
            namespace: property("Namespace"),
            metric_name: property("MetricName"),
            dimensions,
            statistic: property("Statistic"),
            period: property("Period")
                .parse()
                .unwrap_or_else(|err| panic!("{name}'s Period: {err}")),
            comparison: property("ComparisonOperator"),
            threshold: property("Threshold"),
            treat_missing_data: property("TreatMissingData"),
        }
    }

    /// The namespace of a stack named `stack`.
    pub fn namespace_of(&self, stack: &str) -> String {
        self.namespace
            .trim_start_matches("!Sub")
            .trim()
            .trim_matches('"')
            .replace("${AWS::StackName}", stack)
    }

    /// The threshold of a stack deployed with the template's defaults.
    ///
    /// # Panics
    /// When it is neither a number nor a parameter with a numeric default.
    #[allow(clippy::panic)]
    pub fn default_threshold(&self, template: &str) -> f64 {
        let written = match self.threshold.strip_prefix("!Ref ") {
            Some(parameter) => parameter_default(template, parameter.trim())
                .unwrap_or_else(|| panic!("parameter {parameter} has no default")),
            None => self.threshold.as_str(),
        };
        written
            .parse()
            .unwrap_or_else(|err| panic!("threshold {written}: {err}"))
    }

    /// True when one data point of `value` puts the alarm in ALARM under `threshold`.
    ///
    /// # Panics
    /// On a comparison operator this does not know.
    #[allow(clippy::panic)]
    pub fn breached_by(&self, value: f64, threshold: f64) -> bool {
        match self.comparison.as_str() {
            "LessThanThreshold" => value < threshold,
            "LessThanOrEqualToThreshold" => value <= threshold,
            "GreaterThanThreshold" => value > threshold,
            "GreaterThanOrEqualToThreshold" => value >= threshold,
            other => panic!("comparison {other}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "Parameters:
  Days:
    Type: Number
    Default: 3
  Other:
    Default: \"x\"

Resources:
  SomeAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: !Sub \"wxlogin/${AWS::StackName}\"
      MetricName: Things
      Dimensions:
        - Name: Upstream
          Value: wechat
      Statistic: Minimum
      Period: 3600
      Threshold: !Ref Days
      ComparisonOperator: LessThanThreshold
      TreatMissingData: ignore

  Next:
    Type: X
";

    #[test]
    fn an_alarm_reads_as_written() {
        let alarm = Alarm::of(TEMPLATE, "SomeAlarm");
        assert_eq!(alarm.namespace_of("prod"), "wxlogin/prod");
        assert_eq!(alarm.metric_name, "Things");
        assert_eq!(
            alarm.dimensions,
            vec![("Upstream".to_owned(), "wechat".to_owned())]
        );
        assert_eq!((alarm.statistic.as_str(), alarm.period), ("Minimum", 3600));
        assert_eq!(alarm.default_threshold(TEMPLATE), 3.0);
        assert!(alarm.breached_by(2.9, 3.0));
        assert!(!alarm.breached_by(3.0, 3.0));
        assert_eq!(alarm.treat_missing_data, "ignore");
        assert!(!entry(TEMPLATE, "SomeAlarm").unwrap().contains("Next"));
        assert_eq!(parameter_default(TEMPLATE, "Other"), Some("x"));
    }
}
