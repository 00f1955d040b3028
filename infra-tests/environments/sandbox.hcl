# The sandbox: the sample environment that `cargo xtask sandbox up` provisions
# into local stand-ins (fixtures/). Same shape as production, smaller.
environment = "sandbox"
region      = "eu-central-1"
account_id  = "123456789012"

aws {
  # Endpoint and test credentials come from target/sandbox/state.json.
  sandbox         = true
  connect_timeout = "2s"
  read_timeout    = "5s"
}

rds "core" {
  identifier         = "restartix-sandbox"
  multi_az           = true
  backup_retention   = 7
  max_restorable_lag = "15m"
  failover_budget    = "120s"
  performance_insights = true
}

pgbouncer {
  cluster      = "restartix-sandbox"
  service      = "pgbouncer"
  target_group = "restartix-sandbox-pgbouncer"
  min_tasks    = 2
  min_azs      = 2
  # The image's STOPSIGNAL (no AWS API shows it): pgbouncer's safe shutdown.
  stop_signal = "SIGINT"
  version     = "1.18"
}

edge {
  load_balancer    = "restartix-sandbox-core-api"
  hostnames        = ["api.restartix.test"]
  health_path      = "/health"
  min_cert_days    = 21
  hsts_min_max_age = "180d"

  # The browser security headers, judged on each hostname at each path.
  security_headers {
    paths        = ["/", "/health"]
    require_hsts = true
  }
  # The harness points these hostnames at the sandbox edge and trusts its CA.

  cloudflare {
    zone             = "restartix.test"
    token_env        = "VERIFY_SECRET_CLOUDFLARE_API_TOKEN"
    custom_hostnames = ["app.physio-bucharest.test", "portal.kinetic-cluj.test"]

    # WAF coverage for the clinics' custom domains (cloudflare.custom_hostname_waf):
    # AWS WAF on the ALB with these AWS managed rule groups, blocking. The
    # other choices: "waf_for_saas" (Cloudflare's managed ruleset covers
    # them) and "accepted_gap" (fails unless a waiver accepts it).
    custom_hostname_waf = "aws_waf_on_alb"
    aws_waf_rule_groups = ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"]
  }
}

scheduled_task "audit-partition-roll" {
  rule           = "restartix-sandbox-audit-partition-roll"
  expression     = "cron(0 2 25 * ? *)"
  cluster        = "restartix-sandbox"
  task_family    = "audit-partition-roll"
  max_age        = "35d"
  log_group      = "/ecs/audit-partition-roll"
  success_marker = "task completed successfully"
}

scheduled_task "usage-quota-reset" {
  rule           = "restartix-sandbox-usage-quota-reset"
  expression     = "cron(0 0 1 * ? *)"
  cluster        = "restartix-sandbox"
  task_family    = "usage-quota-reset"
  max_age        = "35d"
  log_group      = "/ecs/usage-quota-reset"
  success_marker = "task completed successfully"
}

scheduled_task "usage-summary-rollup" {
  rule           = "restartix-sandbox-usage-summary-rollup"
  expression     = "cron(15 * * * ? *)"
  cluster        = "restartix-sandbox"
  task_family    = "usage-summary-rollup"
  max_age        = "2h"
  log_group      = "/ecs/usage-summary-rollup"
  success_marker = "task completed successfully"
}

scheduled_task "check-providers" {
  rule           = "restartix-sandbox-check-providers"
  expression     = "rate(5 minutes)"
  cluster        = "restartix-sandbox"
  task_family    = "check-providers"
  max_age        = "30m"
  log_group      = "/ecs/check-providers"
  success_marker = "task completed successfully"
}

alarms {
  topic = "restartix-sandbox-alerts"
  required = [
    "restartix-sandbox-core-api-5xx",
    "restartix-sandbox-core-api-p99",
    "restartix-sandbox-rds-connections",
    "restartix-sandbox-audit-partition-roll-failed",
  ]
  route = "slack"
}

budget "monthly" {
  name       = "restartix-sandbox-monthly"
  limit_usd  = 3000
  thresholds = [50, 80, 100]
}

# The launch window (UTC): maintenance.* fail on RDS maintenance or an AWS
# Health scheduled change inside it. Nothing is scheduled in the good
# sandbox; the maintenance breaks schedule inside this week.
launch {
  window = ["2030-01-14T06:00:00Z", "2030-01-21T06:00:00Z"]   # maintenance.* look here
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
  domains  = ["restartix.test"]
  provider = "google_workspace"
  # The harness points DNS lookups at the sandbox nameserver.
}

ses {
  domain            = "restartix.test"
  mail_from         = "mail.restartix.test"
  configuration_set = "restartix-sandbox"
  feedback_topic    = "restartix-sandbox-ses-feedback"
  feedback_endpoint = "https://api.restartix.test/v1/internal/ses-feedback"
  # The harness points DNS lookups at the sandbox nameserver.
}

network {
  vpc     = "restartix-sandbox"
  min_azs = 3
}

# kms.rotation: these keys, and the customer-managed keys the resources above
# and below use (the RDS instance's, the secrets', the topics', the buckets'),
# rotate automatically; AWS managed keys (the alerts topic's alias/aws/sns)
# pass as rotated by AWS.
kms {
  keys = ["alias/restartix-sandbox-rds", "alias/restartix-sandbox-secrets"]
}

# secrets.<label>: exists, not scheduled for deletion, rotated within max_age.
# The value is read only with check_value = true (and GetSecretValue granted
# on that secret alone); it is matched, never shown.
secret "stripe_live_key" {
  name        = "restartix-sandbox/stripe-live-key"
  max_age     = "90d"
  check_value = true
  pattern     = "^sk_live_"
  json_key    = "api_key"
}

secret "cloudflare_custom_hostnames_token" {
  name    = "restartix-sandbox/cloudflare-custom-hostnames-token"
  max_age = "90d"
}

# Buckets (s3.<label>.versioning, .encryption, .public_access_block): a label
# each, since bucket names hold dots. Every bucket is encrypted by default
# (SSE-S3) since 2023, so the spec names the algorithm and key it requires.
s3_bucket "uploads" {
  name       = "restartix-sandbox.uploads"
  encryption = "aws:kms"
  kms_key    = "alias/restartix-sandbox-uploads" # the bucket names the key by ARN
}

s3_bucket "audit-export" {
  name       = "restartix-sandbox-audit-export"
  encryption = "AES256"
}

# Log retention (logs.retention): a name ending in `*` covers a family.
logs {
  groups             = ["/ecs/restartix-sandbox-*"]
  min_retention_days = 30
  max_retention_days = 400
  allow_never_expire = false

  group "/aws/lambda/restartix-sandbox-audit-export" {
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
    target_group = "restartix-sandbox-core-api"
    statistic    = "Sum"
  }
  query "lb_errors" {
    namespace     = "AWS/ApplicationELB"
    metric        = "HTTPCode_ELB_5XX_Count"
    load_balancer = "restartix-sandbox-core-api"
    statistic     = "Sum"
  }
  query "requests" {
    namespace    = "AWS/ApplicationELB"
    metric       = "RequestCount"
    target_group = "restartix-sandbox-core-api"
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
  target_group   = "restartix-sandbox-core-api"
  statistic      = "p99"
  period         = "1m"
  window         = "30m"
  comparison     = ">"
  threshold      = 2
  sustained      = "10m"
  min_datapoints = 20
}

metric "rds_connection_saturation" {
  description = "RDS connections > 80 % of max_connections (100)"
  expression  = "100 * connections / 100"
  query "connections" {
    namespace  = "AWS/RDS"
    metric     = "DatabaseConnections"
    dimensions = { DBInstanceIdentifier = "restartix-sandbox" }
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
  base_url    = "https://api.restartix.test"
  secrets     = { password = "VERIFY_SECRET_SANDBOX_CANARY_PASSWORD" }
  timeout     = "10s"

  step "sign_in" {
    method        = "POST"
    path          = "/v1/auth/sign-in"
    json          = { email = "canary@restartix.test", password = "{{password}}" }
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
  base_url    = "https://api.restartix.test"
  timeout     = "10s"

  step "failed_sign_ins" {
    method        = "POST"
    path          = "/v1/auth/sign-in"
    json          = { email = "rate-limit-{{run_id}}@restartix.test", password = "not-the-password" }
    expect_status = 401 # each attempt before the limit

    rate_limit {
      requests     = 6
      limited_from = 6
      within       = "30s"
    }
  }
}

drills {
  allowed = true

  rds_failover {
    # The harness fills this from the sandbox's state (the endpoint stand-in).
    database_url_env  = "VERIFY_SECRET_DRILL_DATABASE_URL"
    max_unavailable   = "10s"
    abort_unavailable = "20s"
    timeout           = "3m"
    # Read before the fault (missing, unreadable or in ALARM: nothing
    # injected) and every second after it.
    stop_alarms       = ["restartix-sandbox-core-api-5xx"]

    # After recovery the Core API must answer through the edge again (its
    # health route reads the database): an application that never
    # reconnected fails the drill (the break `core-api-no-reconnect`).
    dependent "core_api" {
      url            = "https://api.restartix.test/v1/health"
      recover_within = "30s"
    }
  }

  pgbouncer_drain {
    # The harness fills this from the sandbox's state (the balancer in front
    # of the pgbouncer processes).
    database_url_env   = "VERIFY_SECRET_DRILL_PGBOUNCER_URL"
    clients            = 8
    hold               = "20ms"
    interval           = "2ms"
    max_connect_errors = 16
    max_recovery       = "1m"
    timeout            = "3m"
    stop_alarms        = ["restartix-sandbox-core-api-5xx"]

    dependent "core_api" {
      url            = "https://api.restartix.test/v1/health"
      recover_within = "30s"
    }
  }

  az_outage {
    # The sandbox cuts the AZ through its stand-ins' control API (the
    # primary's and one pgbouncer task's AZ); on AWS a declared FIS
    # experiment template would (`fis_experiment_template = "EXT…"`).
    az               = "eu-central-1a"
    # Longer than the budget: a database or a service that lives in the cut
    # AZ alone stays dark for the whole cut and fails the drill.
    duration         = "12s"
    max_unavailable  = "8s"
    max_recovery     = "1m"
    timeout          = "3m"
    # The harness fills this from the sandbox's state (the balancer).
    database_url_env = "VERIFY_SECRET_DRILL_PGBOUNCER_URL"
    stop_alarms      = ["restartix-sandbox-core-api-5xx"]

    dependent "core_api" {
      url            = "https://api.restartix.test/v1/health"
      recover_within = "30s"
    }
  }

  pitr_restore {
    # The harness fills this from the sandbox's state (the endpoint stand-in).
    database_url_env  = "VERIFY_SECRET_DRILL_DATABASE_URL"
    max_duration      = "2m"
    restorable_within = "1m"
    stop_alarms       = ["restartix-sandbox-core-api-5xx"]

    dependent "core_api" {
      url            = "https://api.restartix.test/v1/health"
      recover_within = "30s"
    }
  }

  alarm_route {
    # A dedicated test alarm on the alerts topic (its actions: the topic
    # only): SetAlarmState runs every action of the state it sets.
    alarm       = "restartix-sandbox-alarm-route-test"
    # The sandbox delivers at once; AWS takes seconds (default 2m).
    within      = "10s"
    stop_alarms = ["restartix-sandbox-core-api-5xx"]
    # Delivery is proved by the alerts topic's SNS delivery-status logs; a
    # Lambda forwarder's own log would be `forwarder_log_group`, AWS
    # Chatbot's (in us-east-1) `chatbot_log_group`.
  }
}
