# Production: what must be true before real clinics and patients use it.
# Kept next to the Terraform that builds it; `cargo xtask verify production`
# runs read-only with whatever credentials aws-config finds (env, profile, SSO).
#
# Identifiers Terraform already knows are taken from its outputs, declared
# once: `output.NAME` (or `output.NAME["key"]` for a map) reads the file given
# as `--terraform-outputs` (`terraform output -json`) or the outputs of
# `--terraform-state` (`terraform show -json`). A name Terraform does not
# output is a spec error at its line and column. An example of that file:
# examples/production/outputs.json.
environment = "production"
region      = "eu-central-1"
account_id  = "210987654321"

aws {
  profile     = "restartix-production-readonly"
  assume_role = "arn:aws:iam::210987654321:role/verify-readonly"
}

rds "core" {
  identifier         = output.rds_identifier
  multi_az           = true
  backup_retention   = 14
  max_restorable_lag = "15m"
  failover_budget    = "120s"
}

pgbouncer {
  cluster      = output.ecs_cluster_name
  service      = output.pgbouncer_service_name
  target_group = output.pgbouncer_target_group_name
  min_tasks    = 2
  min_azs      = 2
  endpoint     = "pgbouncer.internal.restartix.pro:6432"
  # The image's STOPSIGNAL and pgbouncer version (no AWS API shows them):
  # SIGINT is pgbouncer's safe shutdown in every version.
  stop_signal = "SIGINT"
  version     = "1.23"
}

edge {
  load_balancer    = output.alb_name
  hostnames        = ["api.restartix.pro"]
  health_path      = "/health"
  min_cert_days    = 21
  hsts_min_max_age = "180d"

  # The browser security headers, judged on each hostname at each path.
  security_headers {
    paths        = ["/", "/health"]
    require_hsts = true
  }

  cloudflare {
    zone             = "restartix.pro"
    token_env        = "VERIFY_SECRET_CLOUDFLARE_API_TOKEN"
    custom_hostnames = ["app.physio-bucharest.ro", "portal.kinetic-cluj.ro"]

    # WAF coverage for the clinics' custom domains (cloudflare.custom_hostname_waf):
    # AWS WAF on the ALB with these AWS managed rule groups, blocking. The
    # other choices: "waf_for_saas" (Cloudflare's managed ruleset covers
    # them) and "accepted_gap" (fails unless a waiver accepts it).
    custom_hostname_waf = "aws_waf_on_alb"
    aws_waf_rule_groups = ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"]
  }
}

scheduled_task "audit-partition-roll" {
  rule           = output.scheduled_rule_names["audit-partition-roll"]
  expression     = "cron(0 2 25 * ? *)"
  cluster        = output.ecs_cluster_name
  task_family    = "audit-partition-roll"
  max_age        = "35d"
  log_group      = "/ecs/audit-partition-roll"
  success_marker = "task completed successfully"
}

scheduled_task "usage-quota-reset" {
  rule           = output.scheduled_rule_names["usage-quota-reset"]
  expression     = "cron(0 0 1 * ? *)"
  cluster        = output.ecs_cluster_name
  task_family    = "usage-quota-reset"
  max_age        = "35d"
  log_group      = "/ecs/usage-quota-reset"
  success_marker = "task completed successfully"
}

scheduled_task "usage-summary-rollup" {
  rule           = output.scheduled_rule_names["usage-summary-rollup"]
  expression     = "cron(15 * * * ? *)"
  cluster        = output.ecs_cluster_name
  task_family    = "usage-summary-rollup"
  max_age        = "2h"
  log_group      = "/ecs/usage-summary-rollup"
  success_marker = "task completed successfully"
}

scheduled_task "check-providers" {
  rule           = output.scheduled_rule_names["check-providers"]
  expression     = "rate(5 minutes)"
  cluster        = output.ecs_cluster_name
  task_family    = "check-providers"
  max_age        = "30m"
  log_group      = "/ecs/check-providers"
  success_marker = "task completed successfully"
}

alarms {
  topic = output.alerts_topic_name
  required = [
    "restartix-production-core-api-5xx",
    "restartix-production-core-api-p99",
    "restartix-production-rds-connections",
    "restartix-production-audit-partition-roll-failed",
  ]
  route = "slack"
}

budget "monthly" {
  name       = output.budget_name
  limit_usd  = 3000
  thresholds = [50, 80, 100]
}

# The launch window (UTC): maintenance.* fail on RDS maintenance or an AWS
# Health scheduled change (an ECS task retirement, …) inside it.
launch {
  window = ["2027-01-18T06:00:00Z", "2027-01-25T06:00:00Z"]   # maintenance.* look here
}

# The launch checklist's manual snapshots: T-7 "known-clean" (before the
# import) and T-0 "post-import".
rds_snapshot "known_clean" {
  instance = "core"
  tag      = { "verify:purpose" = "known-clean" }
  max_age  = "8d"
}

rds_snapshot "post_import" {
  instance = "core"
  tag      = { "verify:purpose" = "post-import" }
  max_age  = "2d"
}

# support@ and the other mailboxes: the domain's MX at the mail provider.
mail {
  domains  = ["restartix.pro"]
  provider = "google_workspace"
}

ses {
  domain            = "restartix.pro"
  mail_from         = "mail.restartix.pro"
  configuration_set = output.ses_configuration_set
  feedback_topic    = output.ses_feedback_topic_name
  feedback_endpoint = "https://api.restartix.pro/v1/internal/ses-feedback"
}

network {
  vpc     = output.vpc_name
  min_azs = 3
}

# kms.rotation: the platform's keys, and every customer-managed key the
# declared resources use, rotate automatically and have rotated.
kms {
  keys = ["alias/restartix-production-rds", "alias/restartix-production-secrets"]
}

# secrets.<label>: the secrets the Core API reads at start. Only the live
# payment key's value is checked (GetSecretValue is granted on it alone).
secret "stripe_live_key" {
  name        = "restartix-production/stripe-live-key"
  max_age     = "365d"
  check_value = true
  pattern     = "^sk_live_"
  json_key    = "api_key"
}

secret "stripe_webhook_secret" {
  name    = "restartix-production/stripe-webhook-secret"
  max_age = "365d"
}

secret "cloudflare_custom_hostnames_token" {
  name    = "restartix-production/cloudflare-custom-hostnames-token"
  max_age = "90d"
}

secret "database_master_password" {
  name    = "restartix-production/rds-master-password"
  max_age = "90d"
}

# Buckets (s3.<label>.*): patient uploads and the audit exports, each
# versioned, encrypted with its own customer-managed key, closed to the
# public (the account's block, or the bucket's own).
s3_bucket "uploads" {
  name       = "restartix-production.uploads"
  encryption = "aws:kms"
  kms_key    = "alias/restartix-production-uploads"
}

s3_bucket "audit-export" {
  name       = "restartix-production.audit-export"
  encryption = "aws:kms"
  kms_key    = "alias/restartix-production-audit-export"
}

# Log retention (logs.retention): the services' and scheduled tasks' ECS
# logs a month to about a year; the audit export's Lambda logs a year to ten.
logs {
  groups = [
    "/ecs/restartix-production-*",
    "/ecs/audit-partition-roll",
    "/ecs/usage-quota-reset",
    "/ecs/usage-summary-rollup",
    "/ecs/check-providers",
  ]
  min_retention_days = 30
  max_retention_days = 400
  allow_never_expire = false

  group "/aws/lambda/restartix-production-audit-export" {
    min_retention_days = 365
    max_retention_days = 3653
  }
}

# Post-cutover gates (metrics.*): one GetMetricData serves them all. A gate
# breaches when its value is `comparison` `threshold` (for `sustained`, when
# set); no datapoint in the window is an error, never a pass.
metric "core_api_5xx_rate" {
  description = "Core API 5xx error rate > 0.5 % sustained 10 m, the targets' and the load balancer's own"
  # ALB reports no datapoint for a minute without 5xx: FILL makes it 0. The
  # 5xx the load balancer makes itself (no target answered: 502, 503, 504)
  # are per load balancer only, and RequestCount leaves out the requests no
  # target was chosen for: they count on both sides. A minute without any
  # request has no datapoint (0 / 0): missing, not 0 %.
  expression = "100 * (FILL(target_errors, 0) + FILL(lb_errors, 0)) / (FILL(requests, 0) + FILL(lb_errors, 0))"
  query "target_errors" {
    namespace    = "AWS/ApplicationELB"
    metric       = "HTTPCode_Target_5XX_Count"
    target_group = output.core_api_target_group_name
    statistic    = "Sum"
  }
  query "lb_errors" {
    namespace     = "AWS/ApplicationELB"
    metric        = "HTTPCode_ELB_5XX_Count"
    load_balancer = output.alb_name
    statistic     = "Sum"
  }
  query "requests" {
    namespace    = "AWS/ApplicationELB"
    metric       = "RequestCount"
    target_group = output.core_api_target_group_name
    statistic    = "Sum"
  }
  period         = "1m"
  window         = "30m"
  comparison     = ">"
  threshold      = 0.5
  sustained      = "10m"
  min_datapoints = 20
}

metric "core_api_p99_latency" {
  description    = "Core API p99 latency > 2 s sustained 10 m"
  # TargetResponseTime has no sample for a request no target answered:
  # those are the load balancer's own 5xx, judged by core_api_5xx_rate. A
  # minute of fewer than `min_samples` (default 100) requests is not judged
  # (a p99 of a few requests is no p99) and counts as missing: more than
  # half the window missing is an error, never a pass.
  namespace      = "AWS/ApplicationELB"
  metric         = "TargetResponseTime"
  target_group   = output.core_api_target_group_name
  statistic      = "p99"
  period         = "1m"
  window         = "30m"
  comparison     = ">"
  threshold      = 2
  sustained      = "10m"
  min_datapoints = 20
}

metric "rds_connection_saturation" {
  description = "RDS connections > 80 % of max_connections (400)"
  expression  = "100 * connections / 400"
  query "connections" {
    namespace  = "AWS/RDS"
    metric     = "DatabaseConnections"
    dimensions = { DBInstanceIdentifier = output.rds_identifier }
    statistic  = "Maximum"
  }
  period         = "1m"
  window         = "30m"
  comparison     = ">"
  threshold      = 80
  min_datapoints = 20
}

# T-0 canary (canary.*): through TLS, the edge, the balancer, the Core API,
# pgbouncer and Postgres. It writes (a session and a test appointment), so
# it says so, runs only with `verify run --allow-writes`, and undoes both.
canary "t0" {
  description = "sign in, list orgs, list specialists, create a test appointment, confirm it persists"
  writes      = true
  base_url    = "https://api.restartix.pro"
  secrets     = { password = "VERIFY_SECRET_CANARY_PASSWORD" }
  timeout     = "10s"

  step "sign_in" {
    method        = "POST"
    path          = "/v1/auth/sign-in"
    json          = { email = "canary@restartix.pro", password = "{{password}}" }
    expect_status = 200
    max_latency   = "2s"
    capture       = { token = "/token" }
  }

  step "list_orgs" {
    path        = "/v1/orgs"
    headers     = { authorization = "Bearer {{token}}" }
    max_latency = "2s"
    expect {
      pointer = "/items/0/id"
      exists  = true
    }
  }

  step "list_specialists" {
    path        = "/v1/specialists"
    headers     = { authorization = "Bearer {{token}}" }
    max_latency = "2s"
    capture     = { specialist = "/items/0/id" }
  }

  step "create_appointment" {
    method        = "POST"
    path          = "/v1/appointments"
    headers       = { authorization = "Bearer {{token}}" }
    json          = { specialist_id = "{{specialist}}", starts_at = "2030-01-01T09:00:00Z", patient = "canary (synthetic, safe to delete)" }
    expect_status = 201
    max_latency   = "2s"
    capture       = { appointment = "/id" }
  }

  step "read_back" {
    path        = "/v1/appointments/{{appointment}}"
    headers     = { authorization = "Bearer {{token}}" }
    max_latency = "2s"
    expect {
      pointer = "/id"
      equals  = "{{appointment}}"
    }
    expect {
      pointer = "/status"
      equals  = "scheduled"
    }
  }

  # After the steps, however they ended (a failure, a timeout, an error):
  # put back what the canary wrote. Each runs when the step it undoes was
  # sent and what it uses was captured; one that fails makes the canary
  # `error`, naming what remains.
  undo "delete_appointment" {
    undoes        = "create_appointment"
    method        = "DELETE"
    path          = "/v1/appointments/{{appointment}}"
    headers       = { authorization = "Bearer {{token}}" }
    expect_status = [204, 404] # 404: already gone (nothing remains)
  }

  undo "sign_out" {
    undoes        = "sign_in"
    method        = "DELETE"
    path          = "/v1/auth/session"
    headers       = { authorization = "Bearer {{token}}" }
    expect_status = 204
  }
}

# Launch checklist: "6 rapid sign-in attempts → 429 after the 5th". Failed
# sign-ins feed the limiter (and lockout counters), so it writes and runs only
# with --allow-writes; nothing to undo (every answer is a 401 or a 429, and
# the counts expire with the limiter's window). The address is the run's own
# ({{run_id}}), so one run's count never limits the next. The runner starts
# it after every other canary: its burst must not throttle their sign-ins.
canary "sign_in_rate_limit" {
  description = "6 rapid failed sign-ins: the first 5 are refused (401), the 6th is rate limited (429)"
  writes      = true
  base_url    = "https://api.restartix.pro"
  timeout     = "10s"

  step "failed_sign_ins" {
    method        = "POST"
    path          = "/v1/auth/sign-in"
    json          = { email = "rate-limit-{{run_id}}@restartix.pro", password = "not-the-password" }
    expect_status = 401 # each attempt before the limit

    rate_limit {
      requests     = 6
      limited_from = 6
      within       = "30s"
    }
  }
}

drills {
  allowed = false # production refuses drills unless true

  rds_failover {
    # postgres://user:password@<instance endpoint>:5432/<db>, from the pipeline's secrets.
    database_url_env  = "VERIFY_SECRET_DRILL_DATABASE_URL"
    max_unavailable   = "120s"
    abort_unavailable = "5m"
    timeout           = "15m"
    stop_alarms       = ["restartix-production-core-api-5xx"]
  }

  pgbouncer_drain {
    # postgres://user:password@<pgbouncer NLB>:6432/<db>, from the pipeline's secrets.
    database_url_env   = "VERIFY_SECRET_DRILL_PGBOUNCER_URL"
    clients            = 16
    hold               = "20ms"
    max_connect_errors = 32
    max_recovery       = "5m"
    timeout            = "15m"
    stop_alarms        = ["restartix-production-core-api-5xx"]
  }

  pitr_restore {
    database_url_env  = "VERIFY_SECRET_DRILL_DATABASE_URL"
    max_duration      = "1h"   # the launch gate: PITR restore works in < 1 h
    restorable_within = "15m"  # RDS uploads WAL about every 5 minutes
    stop_alarms       = ["restartix-production-core-api-5xx"]
  }

  alarm_route {
    # A dedicated test alarm whose only actions are the alerts topic.
    alarm             = "restartix-production-alarm-route-test"
    within            = "2m"   # proved by the topic's SNS delivery-status logs
    stop_alarms       = ["restartix-production-core-api-5xx"]
  }
}
