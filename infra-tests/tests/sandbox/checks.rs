//! Every check, both ways, against the real SDK over HTTP to the sandbox:
//! it passes on a freshly seeded good account with evidence, and it fails on
//! an account broken the way production breaks, with a message naming the
//! resource, the expected and the observed value.
//!
//! Each case seeds an account of its own, so cases run in parallel without
//! touching the good sandbox or each other.

use infra_tests::{Account, evidence_at, runtime};
use rstest::rstest;
use serde_json::{Value, json};
use verify::Status;

#[rstest]
#[case("rds.available", "/observed/restartix-sandbox/DBInstanceStatus", json!("available"))]
#[case("rds.multi_az", "/observed/restartix-sandbox/SecondaryAvailabilityZone", json!("eu-central-1b"))]
#[case("rds.encrypted", "/observed/restartix-sandbox/StorageEncrypted", json!(true))]
#[case("rds.not_public", "/observed/restartix-sandbox/not_private", json!([]))]
#[case("rds.deletion_protection", "/observed/restartix-sandbox/DeletionProtection", json!(true))]
#[case("rds.backups", "/observed/restartix-sandbox/BackupRetentionPeriod", json!(7))]
#[case("rds.snapshots.known_clean", "/observed/DBSnapshotIdentifier", json!("restartix-sandbox-known-clean"))]
#[case("rds.snapshots.known_clean", "/observed/Encrypted", json!(true))]
#[case("rds.snapshots.post_import", "/observed/Status", json!("available"))]
#[case("budgets.monthly", "/observed/restartix-sandbox-monthly/BudgetLimit/Amount", json!("3000"))]
#[case("budgets.thresholds", "/expected/restartix-sandbox-monthly/thresholds", json!([50.0, 80.0, 100.0]))]
#[case("network.multi_az", "/observed/private_subnets_without_nat", json!([]))]
#[case("pgbouncer.service", "/observed/runningCount", json!(2))]
#[case("pgbouncer.multi_az", "/observed/azs", json!(["eu-central-1a", "eu-central-1b"]))]
#[case("pgbouncer.targets", "/observed/healthy_azs", json!(["eu-central-1a", "eu-central-1b"]))]
#[case("pgbouncer.drain_ready", "/observed/deregistration_delay_s", json!(5))]
#[case("edge.alb.https_listener", "/observed/SslPolicy", json!("ELBSecurityPolicy-TLS13-1-2-2021-06"))]
#[case("edge.alb.http_redirect", "/observed/port_80_actions", json!(["redirect to HTTPS://#{host}:443/#{path}?#{query}"]))]
#[case("edge.alb.origin_locked", "/observed/not_cloudflare", json!([]))]
#[case("edge.alb.access_logs", "/observed/access_logs.s3.enabled", json!("true"))]
#[case("cloudflare.custom_hostname_waf", "/observed/managed_rule_groups/0/override_action", json!("None"))]
#[case("cloudflare.custom_hostname_waf", "/observed/managed_rule_groups/1/group", json!("AWSManagedRulesKnownBadInputsRuleSet"))]
#[case("cloudflare.custom_hostname_waf", "/observed/rules_counted_only", json!(["AWSManagedRulesCommonRuleSet/SizeRestrictions_BODY"]))]
#[case("edge.alb.https_listener", "/observed/certificates/0/Status", json!("ISSUED"))]
#[case("ses.identity", "/observed/MailFromDomainStatus", json!("SUCCESS"))]
#[case("alarms.present", "/observed/alarms/0/ActionsEnabled", json!(true))]
#[case("ses.production_access", "/observed/EnforcementStatus", json!("HEALTHY"))]
#[case("ses.identity", "/observed/DkimStatus", json!("SUCCESS"))]
#[case("ses.suppression", "/observed/SuppressedReasons", json!(["BOUNCE", "COMPLAINT"]))]
#[case("ses.feedback", "/observed/endpoint_subscribed", json!(true))]
#[case("alarms.routed", "/observed/subscriptions/0/Endpoint", json!("https://global.sns-api.chatbot.amazonaws.com"))]
#[case("alarms.routed", "/observed/subscriptions/0/kind", json!("chatbot"))]
#[case("alarms.routed", "/observed/KmsMasterKeyId", json!("alias/restartix-sandbox-alerts"))]
#[case("scheduled.audit-partition-roll.configured", "/observed/ScheduleExpression", json!("cron(0 2 25 * ? *)"))]
#[case("scheduled.check-providers.configured", "/observed/ScheduleExpression", json!("rate(5 minutes)"))]
#[case("scheduled.usage-quota-reset.succeeded", "/observed/finished_runs/0/exit_codes/0/1", json!(0))]
#[case("scheduled.usage-summary-rollup.succeeded", "/observed/finished_runs/0/exit_codes/0/1", json!(0))]
#[case("metrics.core_api_5xx_rate", "/observed/breaching_datapoints", json!(0))]
#[case("metrics.core_api_p99_latency", "/observed/thin_periods", json!(0))]
#[case("metrics.core_api_p99_latency", "/observed/worst/value", json!(0.4))]
#[case("metrics.rds_connection_saturation", "/observed/worst/value", json!(20.0))]
#[case("s3.uploads.versioning", "/observed/Status", json!("Enabled"))]
#[case("s3.uploads.encryption", "/observed/SSEAlgorithm", json!("aws:kms"))]
#[case("s3.uploads.encryption", "/observed/BucketKeyEnabled", json!(true))]
#[case("s3.audit-export.encryption", "/observed/SSEAlgorithm", json!("AES256"))]
#[case("s3.uploads.public_access_block", "/observed/BlockPublicAcls", json!("true at account and bucket"))]
#[case("s3.audit-export.public_access_block", "/observed/RestrictPublicBuckets", json!("true at account"))]
#[case("logs.retention", "/observed/~1ecs~1restartix-sandbox-core-api", json!("30 days"))]
#[case("logs.retention", "/observed/~1aws~1lambda~1restartix-sandbox-audit-export", json!("365 days"))]
#[case("kms.rotation", "/observed/alias~1restartix-sandbox-rds/KeyRotationEnabled", json!(true))]
#[case("kms.rotation", "/observed/alias~1restartix-sandbox-rds/rotations", json!(1))]
#[case("kms.rotation", "/observed/alias~1restartix-sandbox-alerts/KeyManager", json!("CUSTOMER"))]
#[case("secrets.stripe_live_key", "/observed/value[\"api_key\"]", json!("matches the declared pattern"))]
#[case("secrets.cloudflare_custom_hostnames_token", "/observed/RotationEnabled", json!(true))]
#[case("maintenance.rds", "/observed/core/in_launch_window", json!("none"))]
#[case("maintenance.rds", "/observed/core/PendingMaintenanceActions", json!([]))]
#[case("maintenance.health", "/observed/in_launch_window", json!("none"))]
fn passes_on_the_good_sandbox_with_evidence(
    #[case] id: &str,
    #[case] pointer: &str,
    #[case] expected: Value,
) {
    let _sandbox = infra_tests::reading();
    let outcome = runtime().block_on(async {
        let account = Account::seeded(&[]).await.expect("seeded account");
        account.check(id).await
    });
    assert_eq!(outcome.status, Status::Pass, "{id}: {}", outcome.message);
    let evidence = &outcome.evidence;
    assert_eq!(
        evidence_at(evidence, pointer),
        Some(&expected),
        "{id} evidence: {evidence}"
    );
    assert!(
        !evidence.resources.is_empty()
            && evidence.expected.as_object().is_some_and(|e| !e.is_empty())
            && evidence.observed.as_object().is_some_and(|o| !o.is_empty()),
        "{id}: evidence names the resources, the expected and the observed: {evidence}"
    );
    assert!(
        !evidence.operations.is_empty(),
        "{id}: evidence names the AWS operations: {evidence}"
    );
}

#[rstest]
#[case("rds-stopped", "rds.available", &["rds instance 'restartix-sandbox'", "expected available", "observed stopped"])]
#[case("rds-single-az", "rds.multi_az", &["rds instance 'restartix-sandbox'", "MultiAZ expected true, observed false"])]
#[case("rds-unencrypted", "rds.encrypted", &["rds instance 'restartix-sandbox'", "StorageEncrypted expected true, observed false"])]
#[case("rds-public", "rds.not_public", &["rds instance 'restartix-sandbox'", "PubliclyAccessible expected false, observed true"])]
#[case("rds-sg-open", "rds.not_public", &["rds instance 'restartix-sandbox'", "expected to admit only private sources on 5432", "observed 0.0.0.0/0 on 5432 (in sg-"])]
#[case("rds-sg-open-v6", "rds.not_public", &["rds instance 'restartix-sandbox'", "observed ::/0 on 5432 (in sg-"])]
#[case("rds-no-deletion-protection", "rds.deletion_protection", &["rds instance 'restartix-sandbox'", "DeletionProtection expected true, observed false"])]
#[case("rds-snapshot-stale", "rds.snapshots.known_clean", &["rds snapshot 'restartix-sandbox-known-clean' of rds instance 'restartix-sandbox'", "created expected within 8d, observed 30d"])]
#[case("rds-retention-1", "rds.backups", &["rds instance 'restartix-sandbox'", "BackupRetentionPeriod expected ≥ 7 days, observed 1"])]
#[case("rds-no-performance-insights", "rds.performance_insights", &["rds instance 'restartix-sandbox'", "PerformanceInsightsEnabled expected true, observed false"])]
#[case("budget-80-deleted", "budgets.thresholds", &["budget 'restartix-sandbox-monthly'", "ACTUAL > 80% notification expected", "observed [ACTUAL GREATER_THAN 50%, ACTUAL GREATER_THAN 100%]"])]
#[case("budget-threshold-90", "budgets.thresholds", &["budget 'restartix-sandbox-monthly'", "ACTUAL > 80% notification expected", "ACTUAL GREATER_THAN 90%"])]
#[case("budget-no-subscribers", "budgets.thresholds", &["budget 'restartix-sandbox-monthly'", "ACTUAL > 80% notification expected ≥ 1 subscriber, observed 0"])]
#[case("budget-limit", "budgets.monthly", &["budget 'restartix-sandbox-monthly'", "limit expected 3000 USD, observed 5000 USD"])]
#[case("budget-sns-unreachable", "budgets.thresholds", &["budget 'restartix-sandbox-monthly'", "ACTUAL > 100% notification expected ≥ 1 subscriber that can be notified, observed 0 of 1", "restartix-sandbox-budget-alerts: its policy does not let budgets.amazonaws.com publish"])]
#[case("pgbouncer-task-stopped", "pgbouncer.service", &["ecs service 'restartix-sandbox/pgbouncer'", "running tasks expected = desired (2), observed 1"])]
#[case("pgbouncer-task-stopped", "pgbouncer.multi_az", &["ecs service 'restartix-sandbox/pgbouncer'", "running tasks expected in ≥ 2 AZs, observed 1"])]
#[case("pgbouncer-one-az", "pgbouncer.multi_az", &["ecs service 'restartix-sandbox/pgbouncer'", "expected in ≥ 2 AZs, observed 1", "in eu-central-1a"])]
#[case("pgbouncer-target-deregistered", "pgbouncer.targets", &["target group 'restartix-sandbox-pgbouncer'", "≥ 2 healthy targets across ≥ 2 AZs expected, observed 1 healthy across 1 AZs"])]
#[case("pgbouncer-slow-drain", "pgbouncer.drain_ready", &["target group 'restartix-sandbox-pgbouncer'", "deregistration delay expected ≤ 300s, observed 900s"])]
#[case("pgbouncer-no-drain", "pgbouncer.drain_ready", &["target group 'restartix-sandbox-pgbouncer'", "deregistration delay expected ≥ 5s, observed 0s"])]
#[case("pgbouncer-connection-termination", "pgbouncer.drain_ready", &["target group 'restartix-sandbox-pgbouncer'", "connection_termination.enabled expected false, observed true"])]
#[case("alb-weak-policy", "edge.alb.https_listener", &["load balancer 'restartix-sandbox-core-api'", "443 listener policy expected one of [ELBSecurityPolicy-TLS13-1-2-2021-06", "observed ELBSecurityPolicy-2016-08"])]
#[case("alb-http-forward", "edge.alb.http_redirect", &["load balancer 'restartix-sandbox-core-api'", "port 80 expected to only redirect to HTTPS, observed default [forward]"])]
#[case("alb-redirect-keeps-port", "edge.alb.http_redirect", &["load balancer 'restartix-sandbox-core-api'", "port 80 expected to only redirect to HTTPS, observed default [redirect to HTTPS://#{host}:#{port}/#{path}?#{query}: port #{port} (not 443: users reach https://host:80)]"])]
#[case("alb-open-to-world", "edge.alb.origin_locked", &["load balancer 'restartix-sandbox-core-api'", "listener ports [80, 443] expected open only to Cloudflare's ranges, observed also 0.0.0.0/0 on 443"])]
#[case("alb-open-split", "edge.alb.origin_locked", &["load balancer 'restartix-sandbox-core-api'", "observed also 0.0.0.0/1 on 443", "128.0.0.0/1 on 443"])]
#[case("alb-80-open", "edge.alb.origin_locked", &["load balancer 'restartix-sandbox-core-api'", "observed also 0.0.0.0/0 on 80"])]
#[case("alb-group-source", "edge.alb.origin_locked", &["load balancer 'restartix-sandbox-core-api'", "on 443", "not provably Cloudflare"])]
#[case("alb-prefix-list", "edge.alb.origin_locked", &["load balancer 'restartix-sandbox-core-api'", "0.0.0.0/0 on 443 via prefix list pl-"])]
#[case("alb-http-rule-forward", "edge.alb.http_redirect", &["load balancer 'restartix-sandbox-core-api'", "port 80 expected to only redirect to HTTPS, observed rule 10 [forward]"])]
#[case("alb-cert-expiring", "edge.alb.https_listener", &["load balancer 'restartix-sandbox-core-api'", "certificate arn:aws:acm:", "valid for ≥ 21 days expected, observed 4 day(s) left"])]
#[case("rds-sg-open-split", "rds.not_public", &["rds instance 'restartix-sandbox'", "expected to admit only private sources on 5432", "0.0.0.0/1 on 5432", "128.0.0.0/1 on 5432"])]
#[case("ses-mail-from-unset", "ses.identity", &["SES identity 'restartix.test'", "MAIL FROM domain expected mail.restartix.test, observed none"])]
#[case("ses-mail-from-other", "ses.identity", &["SES identity 'restartix.test'", "MAIL FROM domain expected mail.restartix.test, observed bounce.restartix.test"])]
#[case("network-cross-az-nat", "network.multi_az", &["vpc 'restartix-sandbox'", "(eu-central-1c) routes to nat-", "in eu-central-1a, not a NAT gateway in its own AZ", "expected in ≥ 3 AZs, observed 2"])]
#[case("network-private-nat", "network.multi_az", &["vpc 'restartix-sandbox'", "(eu-central-1c) routes to nat-", "a private NAT gateway: no internet egress", "expected in ≥ 3 AZs, observed 2"])]
#[case("alb-waf-group-count", "cloudflare.custom_hostname_waf", &["load balancer 'restartix-sandbox-core-api': web ACL 'restartix-sandbox-core-api'", "AWSManagedRulesCommonRuleSet OverrideAction expected None, observed Count"])]
#[case("alb-waf-detached", "cloudflare.custom_hostname_waf", &["load balancer 'restartix-sandbox-core-api': a web ACL expected, observed none associated"])]
#[case("alb-access-logs-off", "edge.alb.access_logs", &["load balancer 'restartix-sandbox-core-api'", "access_logs.s3.enabled expected true, observed false"])]
#[case("alarm-no-actions", "alarms.present", &["alarm 'restartix-sandbox-core-api-5xx': ActionsEnabled expected true, observed false", "AlarmActions expected to include arn:aws:sns:eu-central-1:", "observed []"])]
#[case("slack-unsubscribed", "alarms.routed", &["topic 'restartix-sandbox-alerts': a confirmed Slack (AWS Chatbot or a Lambda forwarder) subscription expected, observed 0 subscription(s)"])]
#[case("slack-direct-webhook", "alarms.routed", &["topic 'restartix-sandbox-alerts': a confirmed Slack (AWS Chatbot or a Lambda forwarder) subscription expected", "observed 1 https subscription(s) straight to hooks.slack.com, which can never confirm on AWS"])]
#[case("scheduled-rule-disabled", "scheduled.audit-partition-roll.configured", &["EventBridge rule 'restartix-sandbox-audit-partition-roll'", "state expected ENABLED, observed DISABLED"])]
#[case("scheduled-schedule-changed", "scheduled.audit-partition-roll.configured", &["EventBridge rule 'restartix-sandbox-audit-partition-roll'", "schedule expected cron(0 2 25 * ? *), observed cron(0 3 25 * ? *)"])]
#[case("scheduled-exit-1", "scheduled.audit-partition-roll.succeeded", &["scheduled task 'audit-partition-roll'", "a successful run or the marker \"task completed successfully\" in /ecs/audit-partition-roll expected within 35d, observed only failed runs [arn:aws:ecs:", "container 'audit-partition-roll' exit code 1"])]
#[case("ses-sandboxed", "ses.production_access", &["SES account in eu-central-1", "ProductionAccessEnabled expected true (out of the sandbox), observed false"])]
#[case("ses-dkim-pending", "ses.identity", &["SES identity 'restartix.test'", "DKIM status expected SUCCESS, observed NOT_STARTED", "VerifiedForSendingStatus expected true, observed false"])]
#[case("ses-suppression-bounce-only", "ses.suppression", &["SES account suppression list", "BOUNCE and COMPLAINT expected, observed [BOUNCE]"])]
#[case("ses-event-destination-removed", "ses.feedback", &["SES configuration set 'restartix-sandbox'", "an enabled event destination for BOUNCE and COMPLAINT to restartix-sandbox-ses-feedback expected, observed none"])]
#[case("metrics-5xx-burst", "metrics.core_api_5xx_rate", &["metric gate 'core_api_5xx_rate': breaching for 1", "expected never > 0.5 for 10m", "worst 10.1 at"])]
#[case("metrics-elb-5xx", "metrics.core_api_5xx_rate", &["metric gate 'core_api_5xx_rate': breaching for 1", "expected never > 0.5 for 10m", "worst 2.0"])]
#[case("metrics-slow-responses", "metrics.core_api_p99_latency", &["metric gate 'core_api_p99_latency': breaching for 1", "expected never > 2 for 10m", "worst 3 at"])]
#[case("metrics-db-connections-saturated", "metrics.rds_connection_saturation", &["metric gate 'rds_connection_saturation'", "datapoint(s) breaching (expected never > 80)", "worst 95 at"])]
#[case("network-no-nat-route", "network.multi_az", &["vpc 'restartix-sandbox'", "expected to route 0.0.0.0/0 to an available NAT gateway in its own AZ", "(eu-central-1c) has no default route", "expected in ≥ 3 AZs, observed 2"])]
#[case("s3-versioning-suspended", "s3.uploads.versioning", &["s3 bucket 'restartix-sandbox.uploads'", "Status expected Enabled, observed Suspended"])]
#[case("s3-encryption-sse-s3", "s3.uploads.encryption", &["s3 bucket 'restartix-sandbox.uploads'", "SSEAlgorithm expected aws:kms, observed AES256"])]
#[case("s3-public-access-open", "s3.uploads.public_access_block", &["s3 bucket 'restartix-sandbox.uploads'", "BlockPublicAcls expected true at account or bucket level, observed not set at account, not set at bucket"])]
#[case("logs-never-expire", "logs.retention", &["log group retention", "/ecs/restartix-sandbox-core-api expected 30–400 days, observed never expire"])]
#[case("logs-retention-short", "logs.retention", &["log group retention", "/ecs/restartix-sandbox-pgbouncer expected 30–400 days, observed 1 day"])]
#[case("alarm-topic-aws-managed-key", "alarms.routed", &["topic 'restartix-sandbox-alerts': a key CloudWatch may use expected", "observed the AWS managed key alias/aws/sns: its policy cannot admit CloudWatch"])]
#[case("kms-rotation-off", "kms.rotation", &["kms key 'alias/restartix-sandbox-rds'", "KeyRotationEnabled expected true, observed false"])]
#[case("secret-scheduled-deletion", "secrets.stripe_live_key", &["secret 'restartix-sandbox/stripe-live-key'", "DeletedDate expected none, observed", "(scheduled for deletion)"])]
#[case("secret-test-key", "secrets.stripe_live_key", &["secret 'restartix-sandbox/stripe-live-key'", "value[\"api_key\"] expected matches ^sk_live_, observed does not match the declared pattern"])]
#[case("rds-maintenance-in-window", "maintenance.rds", &["rds instance 'restartix-sandbox'", "in_launch_window expected none (launch window 2030-01-14T06:00:00Z–2030-01-21T06:00:00Z), observed system-update (ForcedApplyDate 2030-01-16T03:00:00Z)"])]
#[case("health-event-in-window", "maintenance.health", &["AWS Health scheduled changes of account", "in_launch_window expected none (launch window 2030-01-14T06:00:00Z–2030-01-21T06:00:00Z), observed ECS AWS_ECS_TASK_PATCHING_RETIREMENT from 2030-01-15T10:00:00Z to 2030-01-15T12:00:00Z (eu-central-1, affects arn:aws:ecs:eu-central-1:"])]
fn fails_on_a_broken_sandbox_naming_resource_expected_observed(
    #[case] broken: &str,
    #[case] id: &str,
    #[case] message_parts: &[&str],
) {
    let _sandbox = infra_tests::reading();
    let outcome = runtime().block_on(async {
        let account = Account::seeded(&[broken])
            .await
            .expect("seeded, broken account");
        account.check(id).await
    });
    assert_eq!(
        outcome.status,
        Status::Fail,
        "{id} after {broken}: {}",
        outcome.message
    );
    for part in message_parts {
        assert!(
            outcome.message.contains(part),
            "{id} after {broken}: message {:?} lacks {part:?}",
            outcome.message
        );
    }
    let evidence = &outcome.evidence;
    assert!(
        !evidence.resources.is_empty()
            && evidence.expected.as_object().is_some_and(|e| !e.is_empty())
            && evidence.observed.as_object().is_some_and(|o| !o.is_empty())
            && !evidence.operations.is_empty(),
        "{id} after {broken}: evidence names resources, expected, observed and operations: {evidence}"
    );
}

/// A failing check's evidence says, in its typed fields, which resource it
/// looked at, what was required of it and what was read (the same values the
/// message names), and which AWS operations the verdict rests on.
#[rstest]
#[case("rds-single-az", "rds.multi_az", "rds instance 'restartix-sandbox'", "/restartix-sandbox/MultiAZ", json!(true), json!(false), ":DescribeDBInstances")]
#[case("rds-no-deletion-protection", "rds.deletion_protection", "rds instance 'restartix-sandbox'", "/restartix-sandbox/DeletionProtection", json!(true), json!(false), ":DescribeDBInstances")]
#[case("rds-no-performance-insights", "rds.performance_insights", "rds instance 'restartix-sandbox'", "/restartix-sandbox/PerformanceInsightsEnabled", json!(true), json!(false), ":DescribeDBInstances")]
#[case("budget-limit", "budgets.monthly", "budget 'restartix-sandbox-monthly'", "/restartix-sandbox-monthly/BudgetLimit/Amount", json!(3000.0), json!("5000"), ":DescribeBudget")]
#[case("pgbouncer-connection-termination", "pgbouncer.drain_ready", "target group 'restartix-sandbox-pgbouncer'", "/connection_termination", json!(false), json!(true), ":DescribeTargetGroupAttributes")]
#[case("alb-access-logs-off", "edge.alb.access_logs", "load balancer 'restartix-sandbox-core-api'", "/access_logs.s3.enabled", json!("true"), json!("false"), ":DescribeLoadBalancerAttributes")]
#[case("scheduled-schedule-changed", "scheduled.audit-partition-roll.configured", "EventBridge rule 'restartix-sandbox-audit-partition-roll'", "/ScheduleExpression", json!("cron(0 2 25 * ? *)"), json!("cron(0 3 25 * ? *)"), ":DescribeRule")]
fn a_failing_checks_evidence_names_resource_expected_and_observed(
    #[case] broken: &str,
    #[case] id: &str,
    #[case] resource: &str,
    #[case] pointer: &str,
    #[case] expected: Value,
    #[case] observed: Value,
    #[case] operation: &str,
) {
    let _sandbox = infra_tests::reading();
    let outcome = runtime().block_on(async {
        let account = Account::seeded(&[broken])
            .await
            .expect("seeded, broken account");
        account.check(id).await
    });
    assert_eq!(outcome.status, Status::Fail, "{id}: {}", outcome.message);
    let evidence = &outcome.evidence;
    assert!(
        evidence.resources.iter().any(|r| r == resource) && outcome.message.contains(resource),
        "{id}: resources {:?} and message {:?} name {resource}",
        evidence.resources,
        outcome.message
    );
    assert_eq!(
        evidence.expected.pointer(pointer),
        Some(&expected),
        "{evidence}"
    );
    assert_eq!(
        evidence.observed.pointer(pointer),
        Some(&observed),
        "{evidence}"
    );
    // By operation name: the service part is the SDK's service name as the
    // call counter records it (`elastic load balancing v2`, `eventbridge`).
    assert!(
        evidence.operations.iter().any(|o| o.ends_with(operation)),
        "{id}: operations {:?} lack {operation}",
        evidence.operations
    );
}

/// A failed run after a successful one within the max age does not hide the
/// success (the catalogue: "at least one run finished successfully").
#[test]
fn a_later_failed_run_does_not_hide_a_success() {
    let _sandbox = infra_tests::reading();
    let outcome = runtime().block_on(async {
        let account = Account::seeded(&["scheduled-later-failure"])
            .await
            .expect("account");
        account
            .check("scheduled.audit-partition-roll.succeeded")
            .await
    });
    assert_eq!(outcome.status, Status::Pass, "{}", outcome.message);
    assert!(
        outcome.message.contains("(1 later run(s) failed)"),
        "{}",
        outcome.message
    );
    let runs = outcome.evidence.observed["finished_runs"]
        .as_array()
        .unwrap();
    assert_eq!(runs.len(), 2, "{}", outcome.evidence);
    assert_eq!(runs[0]["succeeded"], serde_json::json!(false));
}

/// An account AWS Health refuses (no Business support plan) cannot be
/// judged: `error` saying so, never `pass`. The launch window the breaks
/// schedule into is `sandbox.hcl`'s.
#[test]
fn no_aws_health_access_is_an_error_not_a_pass() {
    let _sandbox = infra_tests::reading();
    let (outcome, window) = runtime().block_on(async {
        let account = Account::seeded(&["health-no-access"])
            .await
            .expect("account");
        let window = account
            .env
            .launch
            .expect("sandbox.hcl declares a launch window")
            .window;
        (account.check("maintenance.health").await, window)
    });
    let (from, to) = fixtures::maintenance::LAUNCH_WINDOW;
    assert_eq!(
        (
            humantime::format_rfc3339_seconds(window.0).to_string(),
            humantime::format_rfc3339_seconds(window.1).to_string()
        ),
        (from.to_string(), to.to_string())
    );
    assert_eq!(outcome.status, Status::Error, "{}", outcome.message);
    for part in [
        "health:DescribeEvents",
        "SubscriptionRequiredException",
        "Business, Enterprise On-Ramp or Enterprise support plan",
        "waive maintenance.health",
    ] {
        assert!(
            outcome.message.contains(part),
            "{part}: {}",
            outcome.message
        );
    }
}

/// A deleted budget cannot be judged: `error` naming the operation, never `pass`.
#[test]
fn a_missing_budget_is_an_error_not_a_pass() {
    let _sandbox = infra_tests::reading();
    let outcome = runtime().block_on(async {
        let account = Account::seeded(&["budget-deleted"]).await.expect("account");
        account.check("budgets.monthly").await
    });
    assert_eq!(outcome.status, Status::Error, "{}", outcome.message);
    assert!(
        outcome.message.contains("budgets:DescribeBudget"),
        "{}",
        outcome.message
    );
    assert!(
        outcome.message.contains("restartix-sandbox-monthly"),
        "{}",
        outcome.message
    );
}

/// Every `rds.*` check on one instance costs one DescribeDBInstances between them.
#[test]
fn checks_on_one_resource_share_one_describe() {
    let _sandbox = infra_tests::reading();
    let calls = runtime().block_on(async {
        let account = Account::seeded(&[]).await.expect("account");
        let gate = account.gate().await;
        let only_rds = verify::Selection::new(&["rds.*".into()], &[]).unwrap();
        let outcomes = gate.run(&only_rds, |_| {}).await;
        let rds_checks = gate.checks().iter().filter(|c| c.area() == "rds").count();
        assert!(rds_checks >= 6);
        assert_eq!(outcomes.len(), rds_checks);
        assert!(
            outcomes.iter().all(|o| o.status == Status::Pass),
            "{outcomes:#?}"
        );
        // Evidence names the operations each check relied on, as recorded:
        // all read the one DescribeDBInstances, though only one check made
        // it; the snapshot checks share one DescribeDBSnapshots.
        for o in outcomes
            .iter()
            .filter(|o| !o.id.starts_with("rds.snapshots."))
        {
            let ops = &o.evidence.operations;
            assert!(
                ops.iter().any(|op| op == "rds:DescribeDBInstances"),
                "{}: {ops:?}",
                o.id
            );
        }
        let not_public = outcomes.iter().find(|o| o.id == "rds.not_public").unwrap();
        assert_eq!(
            not_public.evidence.operations,
            ["ec2:DescribeSecurityGroups", "rds:DescribeDBInstances"]
        );
        gate.aws().calls.snapshot()
    });
    assert_eq!(
        calls.operations.get("rds:DescribeDBInstances"),
        Some(&1),
        "{calls:?}"
    );
    assert_eq!(
        calls.operations.get("ec2:DescribeSecurityGroups"),
        Some(&1),
        "{calls:?}"
    );
    assert_eq!(
        calls.operations.get("rds:DescribeDBSnapshots"),
        Some(&1),
        "{calls:?}"
    );
    assert_eq!(calls.total_operations(), 3, "{calls:?}");
}

/// When ECS no longer shows a run (it keeps stopped tasks about an hour),
/// the declared success marker in the task's log group is the evidence.
#[test]
fn a_scheduled_task_passes_on_its_log_marker_and_fails_without_it() {
    let _sandbox = infra_tests::reading();
    let (with_marker, without) = runtime().block_on(async {
        let mut account = Account::seeded(&[]).await.expect("account");
        let task = account
            .env
            .scheduled_tasks
            .iter_mut()
            .find(|t| t.name == "usage-quota-reset")
            .unwrap();
        task.task_family = "usage-quota-reset-archived".into(); // no ECS runs under this family
        let with_marker = account.check("scheduled.usage-quota-reset.succeeded").await;
        let task = account
            .env
            .scheduled_tasks
            .iter_mut()
            .find(|t| t.name == "usage-quota-reset")
            .unwrap();
        task.success_marker = Some("a line nobody wrote".into());
        let without = account.check("scheduled.usage-quota-reset.succeeded").await;
        (with_marker, without)
    });
    assert_eq!(with_marker.status, Status::Pass, "{}", with_marker.message);
    assert!(
        with_marker
            .message
            .contains("success marker in /ecs/usage-quota-reset"),
        "{}",
        with_marker.message
    );
    assert_eq!(without.status, Status::Fail, "{}", without.message);
    assert!(
        without.message.contains(
            "the marker \"a line nobody wrote\" in /ecs/usage-quota-reset expected within"
        ),
        "{}",
        without.message
    );
}

/// `metrics.*`: one `GetMetricData` serves every gate; the pages of a small
/// `MaxDatapoints` add up to the one-page answer; a gate over a metric with
/// no datapoints is `error` (could not see), never a pass.
#[test]
fn metric_gates_share_one_call_follow_pages_and_never_pass_on_no_data() {
    let _sandbox = infra_tests::reading();
    runtime().block_on(async {
        let mut account = Account::seeded(&[]).await.expect("seeded account");
        let mut ghost = account.env.metrics[2].clone();
        ghost.name = "ghost".into();
        ghost.queries[0].dimensions = vec![("DBInstanceIdentifier".into(), "no-such-db".into())];
        account.env.metrics.push(ghost);
        let gate = account.gate().await;
        let selection = verify::Selection::new(&["metrics.*".into()], &[]).unwrap();
        let outcomes = gate.run(&selection, |_| {}).await;
        assert_eq!(outcomes.len(), 4);
        for o in &outcomes[..3] {
            assert_eq!(o.status, Status::Pass, "{}: {}", o.id, o.message);
            assert_eq!(
                o.evidence
                    .operations
                    .iter()
                    .filter(|op| op.contains("GetMetricData"))
                    .count(),
                1
            );
        }
        let ghost = &outcomes[3];
        assert_eq!(ghost.status, Status::Error, "{}", ghost.message);
        assert!(
            ghost.message.contains("metric gate 'ghost'")
                && ghost.message.contains("could not see"),
            "{}",
            ghost.message
        );
        let calls = gate.aws().calls.snapshot();
        let get_metric_data: u64 = calls
            .operations
            .iter()
            .filter(|(op, _)| op.ends_with(":GetMetricData"))
            .map(|(_, n)| n)
            .sum();
        assert_eq!(get_metric_data, 1, "{calls:?}");

        let one_page = verify::checks::read_all(gate.context(), 100_800)
            .await
            .unwrap();
        let pages = verify::checks::read_all(gate.context(), 7).await.unwrap();
        for name in [
            "core_api_5xx_rate",
            "core_api_p99_latency",
            "rds_connection_saturation",
        ] {
            let whole = one_page.series[name].as_ref().unwrap();
            assert!(whole.points.len() >= 29, "{name}: {whole:?}");
            assert_eq!(
                pages.series[name].as_ref().unwrap(),
                whole,
                "{name}: pages differ"
            );
        }
        // The p99's samples came in the same call: 100 a minute, every minute judged.
        let p99 = one_page.series["core_api_p99_latency"].as_ref().unwrap();
        assert!(
            p99.points
                .iter()
                .all(|(t, _)| p99.samples.get(t) == Some(&100.0)),
            "{p99:?}"
        );
    });
}
