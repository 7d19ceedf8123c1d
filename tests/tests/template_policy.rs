//! Guards on `template.yaml`: least-privilege IAM, the Lambda settings every function shares,
//! the state that must survive, a dead-letter path for every asynchronous invocation, and an
//! environment the shared configuration accepts.
//!
//! The template is read as YAML: CloudFormation short forms (`!Sub`, `!GetAtt`, `!If`, ...) are
//! tagged values. Statements under `!If [condition, statement, !Ref AWS::NoValue]` count with
//! their granting branch, so a conditional grant is checked as if its condition held.
//! (The EventBridge pattern is compared with the reference in `remediator_e2e.rs`.)

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_yaml_ng::{Mapping, Value};

fn template() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let text = std::fs::read_to_string(&path).expect("template.yaml");
    serde_yaml_ng::from_str(&text).expect("template.yaml parses")
}

/// The value under a CloudFormation tag (`!Sub x` -> `x`), or the value itself.
fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => &t.value,
        other => other,
    }
}

/// The tag's name without `!` (`!GetAtt` -> `GetAtt`), for a tagged value.
fn tag(v: &Value) -> Option<String> {
    match v {
        Value::Tagged(t) => Some(t.tag.to_string().trim_start_matches('!').to_owned()),
        _ => None,
    }
}

/// The logical id an intrinsic points at: `!Ref X`, `!GetAtt X.Attr` or `!GetAtt [X, Attr]`.
fn target(v: &Value) -> Option<String> {
    let name = match (tag(v)?.as_str(), untag(v)) {
        ("Ref", Value::String(s)) => s.clone(),
        ("GetAtt", Value::String(s)) => s.split('.').next()?.to_owned(),
        ("GetAtt", Value::Sequence(parts)) => parts.first()?.as_str()?.to_owned(),
        _ => return None,
    };
    Some(name)
}

/// One string or a list of strings.
fn strings(v: Option<&Value>) -> Vec<String> {
    match v.map(untag) {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(|i| untag(i).as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn resources(doc: &Value) -> &Mapping {
    doc["Resources"].as_mapping().expect("Resources")
}

fn resource<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["Resources"]
        .get(name)
        .unwrap_or_else(|| panic!("resource `{name}` exists"))
}

/// Logical ids of the resources of a type, in template order.
fn of_type<'a>(doc: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    resources(doc)
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(k, r)| (k.as_str().expect("logical id"), r))
        .collect()
}

fn functions(doc: &Value) -> Vec<(&str, &Value)> {
    let functions = of_type(doc, "AWS::Serverless::Function");
    assert!(
        functions.len() >= 3,
        "the remediator, the sweeper and the approver"
    );
    functions
}

/// A function's property, else the one in `Globals.Function` (SAM's merge, for scalars).
fn function_property<'a>(doc: &'a Value, function: &'a Value, key: &str) -> Option<&'a Value> {
    function["Properties"]
        .get(key)
        .or_else(|| doc["Globals"]["Function"].get(key))
}

/// Whether a value is `!Ref AWS::NoValue`.
fn is_no_value(v: &Value) -> bool {
    tag(v).as_deref() == Some("Ref") && untag(v).as_str() == Some("AWS::NoValue")
}

/// The statements an element of a `Statement` list stands for: itself, or each branch of an
/// `!If` that is not `AWS::NoValue`.
fn expand_statement(item: &Value, out: &mut Vec<Value>) {
    if tag(item).as_deref() == Some("If") {
        if let Value::Sequence(parts) = untag(item) {
            for branch in parts.iter().skip(1) {
                if !is_no_value(branch) {
                    expand_statement(branch, out);
                }
            }
        }
        return;
    }
    out.push(untag(item).clone());
}

/// Every policy statement under `v` (any mapping with a `Statement` list), with a path to say
/// where it is.
fn collect_statements(v: &Value, path: &str, out: &mut Vec<(String, Value)>) {
    match untag(v) {
        Value::Mapping(m) => {
            for (k, child) in m {
                let key = k.as_str().unwrap_or("?");
                let here = format!("{path}/{key}");
                if key == "Statement" {
                    if let Value::Sequence(items) = untag(child) {
                        for item in items {
                            let mut expanded = Vec::new();
                            expand_statement(item, &mut expanded);
                            for s in expanded {
                                let sid = s["Sid"].as_str().unwrap_or("?").to_owned();
                                out.push((format!("{here}/{sid}"), s));
                            }
                        }
                        continue;
                    }
                }
                collect_statements(child, &here, out);
            }
        }
        Value::Sequence(items) => {
            for (i, child) in items.iter().enumerate() {
                collect_statements(child, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn statements_under(v: &Value, path: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    collect_statements(v, path, &mut out);
    out
}

fn allow_statements(doc: &Value) -> Vec<(String, Value)> {
    let all = statements_under(&doc["Resources"], "Resources");
    assert!(all.len() > 20, "found {} policy statements", all.len());
    all.into_iter()
        .filter(|(_, s)| s["Effect"].as_str() == Some("Allow"))
        .collect()
}

/// Actions without resource-level permissions: the only ones allowed on `Resource: "*"`.
const UNSCOPABLE: [&str; 4] = [
    "s3:ListAllMyBuckets",
    "s3:GetAccountPublicAccessBlock",
    "s3:ListAccessPoints",
    "s3:PutAccountPublicAccessBlock",
];

#[test]
fn no_wildcard_actions_and_no_not_action() {
    let doc = template();
    for (at, s) in allow_statements(&doc) {
        assert!(
            s.get("NotAction").is_none(),
            "{at}: Allow with NotAction grants everything else"
        );
        let actions = strings(s.get("Action"));
        assert!(!actions.is_empty(), "{at}: no Action");
        for action in &actions {
            assert!(
                action != "*" && !action.ends_with(":*") && !action.contains('*'),
                "{at}: wildcard action `{action}`; name every action"
            );
        }
    }
}

#[test]
fn resource_star_only_for_actions_that_cannot_be_scoped() {
    let doc = template();
    for (at, s) in allow_statements(&doc) {
        assert!(
            s.get("NotResource").is_none(),
            "{at}: Allow with NotResource"
        );
        let resources = strings(s.get("Resource"));
        if !resources.iter().any(|r| r == "*") {
            continue;
        }
        for action in strings(s.get("Action")) {
            let service = action
                .split(':')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            assert!(
                service != "iam" && service != "kms",
                "{at}: `{action}` on Resource \"*\""
            );
            assert!(
                UNSCOPABLE.contains(&action.as_str()),
                "{at}: `{action}` on Resource \"*\"; scope it to the resources it touches"
            );
        }
    }
}

#[test]
fn no_resource_policy_allows_everyone() {
    let doc = template();
    for (at, s) in allow_statements(&doc) {
        if let Some(principal) = s.get("Principal") {
            let everyone = principal.as_str() == Some("*")
                || strings(principal.get("AWS")).iter().any(|p| p == "*");
            assert!(!everyone, "{at}: Allow to Principal \"*\"");
        }
    }
}

#[test]
fn functions_grant_inline_statements_only() {
    // Managed policies and SAM policy templates would grant what this file cannot see.
    let doc = template();
    for (name, f) in functions(&doc) {
        let policies = f["Properties"]["Policies"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{name}: Policies is a list"));
        for p in policies {
            assert!(
                untag(p).get("Statement").is_some(),
                "{name}: a policy that is not an inline statement list: {p:?}"
            );
        }
        assert!(
            f["Properties"].get("Role").is_none(),
            "{name}: SAM generates the role"
        );
    }
    assert!(doc["Globals"]["Function"].get("Policies").is_none());
}

/// Every action the function's inline policy grants, by service prefix.
fn granted_actions(function: &Value, service: &str) -> BTreeSet<String> {
    statements_under(&function["Properties"]["Policies"], "Policies")
        .into_iter()
        .filter(|(_, s)| s["Effect"].as_str() == Some("Allow"))
        .flat_map(|(_, s)| strings(s.get("Action")))
        .filter(|a| a.starts_with(&format!("{service}:")))
        .collect()
}

#[test]
fn the_remediator_gets_exactly_these_s3_actions() {
    // Adding an S3 permission to the remediator is a conscious change: update this list with it.
    let expected: BTreeSet<String> = [
        // Snapshot (shared/src/aws/s3.rs).
        "s3:GetBucketPolicy",
        "s3:GetBucketAcl",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetBucketOwnershipControls",
        "s3:GetBucketLocation",
        "s3:GetBucketWebsite",
        "s3:GetBucketTagging",
        "s3:GetEncryptionConfiguration",
        "s3:ListBucket",   // ListObjectsV2
        "s3:GetObject",    // HeadObject (content type)
        "s3:GetObjectAcl", // object ACLs
        // Account and access points (S3 Control).
        "s3:ListAllMyBuckets",
        "s3:GetAccountPublicAccessBlock",
        "s3:ListAccessPoints",
        "s3:GetAccessPoint",
        "s3:GetAccessPointPolicy",
        // Remediation (shared/src/aws/remediate.rs).
        "s3:PutBucketPublicAccessBlock",
        "s3:PutBucketPolicy",
        "s3:DeleteBucketPolicy",
        "s3:PutBucketAcl",
        "s3:PutBucketOwnershipControls",
        "s3:PutObjectAcl",
        // Only when EnforceAccountPublicAccessBlock is "true".
        "s3:PutAccountPublicAccessBlock",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    let doc = template();
    let granted = granted_actions(resource(&doc, "RemediatorFunction"), "s3");
    assert_eq!(
        granted,
        expected,
        "\nadded: {:?}\nmissing: {:?}",
        granted.difference(&expected).collect::<Vec<_>>(),
        expected.difference(&granted).collect::<Vec<_>>()
    );
}

#[test]
fn conditional_grants_are_granted_only_under_their_condition() {
    let doc = template();
    for (name, f) in functions(&doc) {
        let mut items: Vec<&Value> = Vec::new();
        for p in f["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            if let Some(Value::Sequence(list)) = untag(p).get("Statement").map(untag) {
                items.extend(list);
            }
        }
        for item in items {
            let grants_it = strings(untag(item).get("Action"))
                .iter()
                .any(|a| a == "s3:PutAccountPublicAccessBlock");
            assert!(
                !grants_it,
                "{name}: s3:PutAccountPublicAccessBlock outside an !If"
            );
            if tag(item).as_deref() == Some("If") {
                let parts = untag(item).as_sequence().expect("!If list");
                let granted = strings(untag(&parts[1]).get("Action"));
                // Each conditional grant sits under its own condition.
                let expected = if granted
                    .iter()
                    .any(|a| a == "s3:PutAccountPublicAccessBlock")
                {
                    "ShouldEnforceAccountBpa"
                } else {
                    assert_eq!(granted, ["secretsmanager:GetSecretValue"], "{name}");
                    assert_eq!(
                        target(untag(&parts[1]).get("Resource").expect("resource")).as_deref(),
                        Some("GitTokenSecretArn"),
                        "{name}: only the git token secret"
                    );
                    "HasGitTokenSecret"
                };
                assert_eq!(parts[0].as_str(), Some(expected), "{name}");
                assert!(
                    is_no_value(&parts[2]),
                    "{name}: the else branch grants nothing"
                );
            }
        }
    }
}

#[test]
fn dynamodb_actions_are_scoped_to_the_tables() {
    let doc = template();
    let tables: BTreeSet<&str> = of_type(&doc, "AWS::DynamoDB::Table")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    for (at, s) in allow_statements(&doc) {
        if !strings(s.get("Action"))
            .iter()
            .any(|a| a.starts_with("dynamodb:"))
        {
            continue;
        }
        let resource = s.get("Resource").expect("Resource");
        let table = target(resource).unwrap_or_default();
        assert!(
            tables.contains(table.as_str()),
            "{at}: DynamoDB on `{resource:?}`, not a table"
        );
    }
    // The exceptions table is only read by the Lambdas.
    for (name, f) in functions(&doc) {
        for (at, s) in statements_under(&f["Properties"]["Policies"], name) {
            if s.get("Resource").and_then(target).as_deref() == Some("ExceptionsTable") {
                assert_eq!(strings(s.get("Action")), ["dynamodb:Scan"], "{at}");
            }
        }
    }
}

#[test]
fn every_function_is_a_json_logging_arm64_rust_lambda() {
    let doc = template();
    for (name, f) in functions(&doc) {
        let runtime = function_property(&doc, f, "Runtime").and_then(Value::as_str);
        assert_eq!(runtime, Some("provided.al2023"), "{name}: Runtime");
        let arch = strings(function_property(&doc, f, "Architectures"));
        assert_eq!(arch, ["arm64"], "{name}: Architectures");
        // SAM merges the Globals map into the function's.
        let log_format = f["Properties"]["LoggingConfig"]
            .get("LogFormat")
            .or_else(|| doc["Globals"]["Function"]["LoggingConfig"].get("LogFormat"))
            .and_then(Value::as_str);
        assert_eq!(log_format, Some("JSON"), "{name}: LoggingConfig.LogFormat");
        assert_eq!(
            f["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{name}: Metadata.BuildMethod"
        );
        let binary = f["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_default();
        assert!(
            !binary.is_empty(),
            "{name}: Metadata.BuildProperties.Binary"
        );
        let reserved = f["Properties"]["ReservedConcurrentExecutions"].as_u64();
        assert!(
            reserved.is_some_and(|n| n > 0),
            "{name}: ReservedConcurrentExecutions"
        );
    }
}

#[test]
fn the_audit_table_survives() {
    let doc = template();
    let audit = resource(&doc, "AuditTable");
    assert_eq!(audit["DeletionPolicy"].as_str(), Some("Retain"));
    assert_eq!(audit["UpdateReplacePolicy"].as_str(), Some("Retain"));
    let p = &audit["Properties"];
    assert_eq!(p["DeletionProtectionEnabled"].as_bool(), Some(true));
    assert_eq!(
        p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true)
    );
    assert_eq!(p["SSESpecification"]["SSEEnabled"].as_bool(), Some(true));
    // Keys as the stores write them: pk string, sk number.
    let types: BTreeMap<&str, &str> = p["AttributeDefinitions"]
        .as_sequence()
        .expect("AttributeDefinitions")
        .iter()
        .map(|a| {
            (
                a["AttributeName"].as_str().unwrap_or_default(),
                a["AttributeType"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(types, BTreeMap::from([("pk", "S"), ("sk", "N")]));
}

/// SAM event types whose invocations are asynchronous.
const ASYNC_EVENTS: [&str; 8] = [
    "EventBridgeRule",
    "CloudWatchEvent",
    "Schedule",
    "ScheduleV2",
    "SNS",
    "S3",
    "IoTRule",
    "CloudWatchLogs",
];

fn is_queue(doc: &Value, v: Option<&Value>) -> bool {
    let Some(name) = v.and_then(target) else {
        return false;
    };
    doc["Resources"][name.as_str()]["Type"].as_str() == Some("AWS::SQS::Queue")
}

#[test]
fn every_asynchronous_path_ends_in_a_dead_letter_queue() {
    let doc = template();
    let mut async_functions = 0;
    for (name, f) in functions(&doc) {
        let events = f["Properties"]["Events"]
            .as_mapping()
            .cloned()
            .unwrap_or_default();
        let mut is_async = false;
        for (event, e) in &events {
            let kind = e["Type"].as_str().unwrap_or_default();
            if !ASYNC_EVENTS.contains(&kind) {
                continue;
            }
            is_async = true;
            if kind == "EventBridgeRule"
                || kind == "CloudWatchEvent"
                || kind.starts_with("Schedule")
            {
                // Delivery failures (EventBridge -> Lambda).
                assert!(
                    is_queue(&doc, e["Properties"]["DeadLetterConfig"].get("Arn")),
                    "{name}.{event:?}: the rule target has no dead-letter queue"
                );
            }
        }
        if is_async {
            async_functions += 1;
            // Function errors and expired events.
            let on_failure =
                &f["Properties"]["EventInvokeConfig"]["DestinationConfig"]["OnFailure"];
            let dlq = f["Properties"]["DeadLetterQueue"].get("TargetArn");
            assert!(
                is_queue(&doc, on_failure.get("Destination")) || is_queue(&doc, dlq),
                "{name}: asynchronous invocations have no on-failure destination or DLQ"
            );
        }
    }
    assert!(
        async_functions >= 2,
        "the remediator and the sweeper are invoked asynchronously"
    );
    // Queue-triggered invocations: the queue redrives to a dead-letter queue.
    let mappings = of_type(&doc, "AWS::Lambda::EventSourceMapping");
    assert!(!mappings.is_empty());
    for (name, m) in mappings {
        let queue = target(&m["Properties"]["EventSourceArn"]).expect("EventSourceArn");
        let redrive = &resource(&doc, &queue)["Properties"]["RedrivePolicy"];
        assert!(
            is_queue(&doc, redrive.get("deadLetterTargetArn")),
            "{name}: `{queue}` has no redrive policy"
        );
        assert!(
            redrive["maxReceiveCount"].as_u64().is_some_and(|n| n >= 1),
            "{name}: maxReceiveCount"
        );
    }
}

#[test]
fn the_sweeper_continues_through_its_queue() {
    let doc = template();
    let sweeper = &resource(&doc, "SweeperFunction")["Properties"];
    assert_eq!(
        sweeper["ReservedConcurrentExecutions"].as_u64(),
        Some(1),
        "never two sweeps at once"
    );
    assert_eq!(sweeper["RecursiveLoop"].as_str(), Some("Allow"));
    let timeout = sweeper["Timeout"].as_u64().expect("Timeout");
    let url = sweeper["Environment"]["Variables"]
        .get("BUCKETWARD_SWEEP_QUEUE_URL")
        .and_then(target);
    assert_eq!(url.as_deref(), Some("SweepContinuationQueue"));
    let queue = &resource(&doc, "SweepContinuationQueue")["Properties"];
    let visibility = queue["VisibilityTimeout"]
        .as_u64()
        .expect("VisibilityTimeout");
    assert!(
        visibility >= 6 * timeout,
        "visibility {visibility} s < 6 x the {timeout} s timeout"
    );
    let mapping = of_type(&doc, "AWS::Lambda::EventSourceMapping")
        .into_iter()
        .map(|(_, m)| &m["Properties"])
        .find(|p| target(&p["EventSourceArn"]).as_deref() == Some("SweepContinuationQueue"))
        .expect("an event source mapping from the continuation queue");
    assert_eq!(
        target(&mapping["FunctionName"]).as_deref(),
        Some("SweeperFunction")
    );
    assert_eq!(mapping["BatchSize"].as_u64(), Some(1));
    let sqs = granted_actions(resource(&doc, "SweeperFunction"), "sqs");
    for action in [
        "sqs:SendMessage",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    ] {
        assert!(
            sqs.contains(action),
            "the sweeper needs {action} on its queue"
        );
    }
}

/// A function's environment as the deployed function would see it, with parameters at their
/// defaults and every other reference replaced by a placeholder; variables under an `!If` are
/// left out (they are optional).
fn environment(doc: &Value, function: &Value) -> HashMap<String, String> {
    let mut vars = HashMap::new();
    let globals = doc["Globals"]["Function"]["Environment"]["Variables"].as_mapping();
    let own = function["Properties"]["Environment"]["Variables"].as_mapping();
    for (k, v) in globals.into_iter().chain(own).flatten() {
        let name = k.as_str().expect("variable name").to_owned();
        let value = match (tag(v).as_deref(), untag(v)) {
            (None, Value::String(s)) => s.clone(),
            (Some("If"), _) => continue,
            (Some("Ref"), Value::String(r)) if r == "AWS::AccountId" => "123456789012".to_owned(),
            (Some("Ref"), Value::String(r)) if doc["Parameters"].get(r.as_str()).is_some() => doc
                ["Parameters"][r.as_str()]["Default"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            _ => format!("placeholder-for-{}", name.to_ascii_lowercase()),
        };
        vars.insert(name, value);
    }
    vars
}

#[test]
fn every_function_environment_is_accepted_by_the_configuration() {
    let doc = template();
    for (name, f) in functions(&doc) {
        let vars = environment(&doc, f);
        if let Err(e) = bucketward::config::Config::from_vars(&vars) {
            panic!("{name}: {e}");
        }
        for var in [
            "BUCKETWARD_AUDIT_TABLE",
            "BUCKETWARD_ACCOUNT_ID",
            "BUCKETWARD_APPROVAL_KEY",
        ] {
            assert!(vars.contains_key(var), "{name}: {var}");
        }
        // One mode per category, never the all-categories override.
        assert!(
            !vars.contains_key("BUCKETWARD_MODE"),
            "{name}: BUCKETWARD_MODE overrides the category modes"
        );
    }
    let env = |f: &str| environment(&doc, resource(&doc, f));
    // The approver reads its own configuration (functions/approver/src/config.rs).
    let approver = env("ApproverFunction");
    assert!(approver.contains_key("BUCKETWARD_TOKEN_TABLE"));
    assert_eq!(
        approver
            .get("BUCKETWARD_APPROVAL_CONFIRM")
            .map(String::as_str),
        Some("true"),
        "link scanners must not be able to decide a proposal with a GET"
    );
    assert!(env("RemediatorFunction").contains_key("BUCKETWARD_APPROVER_URL"));
    // Every value a mode parameter allows is a mode the functions accept.
    for p in [
        "ModeSensitive",
        "ModePublicContent",
        "ModeUnknown",
        "ModePublicWrite",
    ] {
        for v in strings(doc["Parameters"][p].get("AllowedValues")) {
            assert!(v.parse::<bucketward::decide::Mode>().is_ok(), "{p}: `{v}`");
        }
    }
}

#[test]
fn the_iam_guardrails_are_opt_in_and_deny_exactly_the_sensitive_actions() {
    let doc = template();
    let expected: BTreeSet<String> = bucketward::iam::SENSITIVE_ACTIONS
        .iter()
        .map(|(a, _)| (*a).to_owned())
        .collect();
    for (name, condition, document, switch) in [
        (
            "IamGuardrailPolicy",
            "ShouldCreateIamGuardrail",
            "PolicyDocument",
            "EnableIamGuardrails",
        ),
        (
            "BucketSecurityScp",
            "ShouldCreateScp",
            "Content",
            "EnableScp",
        ),
    ] {
        let r = resource(&doc, name);
        assert_eq!(r["Condition"].as_str(), Some(condition), "{name}");
        assert_eq!(
            doc["Parameters"][switch]["Default"].as_str(),
            Some("false"),
            "{switch} is opt-in"
        );
        let statements = r["Properties"][document]["Statement"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{name}: statements"));
        assert_eq!(statements.len(), 1, "{name}");
        let s = &statements[0];
        assert_eq!(s["Effect"].as_str(), Some("Deny"), "{name}");
        assert_eq!(strings(s.get("Resource")), ["*"], "{name}");
        let actions: BTreeSet<String> = strings(s.get("Action")).into_iter().collect();
        assert_eq!(actions, expected, "{name}");
        assert!(
            s["Condition"]["ArnNotLike"]
                .get("aws:PrincipalArn")
                .is_some(),
            "{name}: approved principals are excepted"
        );
    }
}
