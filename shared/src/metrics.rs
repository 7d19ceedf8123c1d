//! CloudWatch Embedded Metric Format: one JSON log line per set of metrics, which CloudWatch
//! turns into metrics without an API call.

use serde_json::{json, Map, Value};

pub const NAMESPACE: &str = "bucketward";

/// A metric value with its unit (`Milliseconds`, `Count`, `Count/Second`, `Seconds`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metric {
    pub name: &'static str,
    pub value: f64,
    pub unit: &'static str,
}

/// Builds an EMF log line with one dimension set (`Function`) and extra properties.
pub fn emf_line(
    function: &str,
    timestamp_ms: i64,
    metrics: &[Metric],
    properties: &[(&str, Value)],
) -> String {
    let definitions: Vec<Value> = metrics
        .iter()
        .map(|m| json!({"Name": m.name, "Unit": m.unit}))
        .collect();
    let mut root = Map::new();
    root.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Function"]],
                "Metrics": definitions,
            }]
        }),
    );
    root.insert("Function".to_owned(), json!(function));
    for m in metrics {
        root.insert(m.name.to_owned(), json!(m.value));
    }
    for (k, v) in properties {
        root.insert((*k).to_owned(), v.clone());
    }
    Value::Object(root).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_names_every_metric_and_its_value() {
        let line = emf_line(
            "remediator",
            1_700_000_000_000,
            &[Metric {
                name: "DetectionLatency",
                value: 1234.0,
                unit: "Milliseconds",
            }],
            &[("bucket", json!("b"))],
        );
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            "DetectionLatency"
        );
        assert_eq!(v["DetectionLatency"], 1234.0);
        assert_eq!(v["Function"], "remediator");
        assert_eq!(v["bucket"], "b");
    }
}
