# Staging: production's shape at a smaller size; drills rehearse here first.
# Kept next to the Terraform that builds it; `cargo xtask verify staging`
# runs read-only with whatever credentials aws-config finds (env, profile, SSO).
environment = "staging"
region      = "eu-central-1"
account_id  = "345678901234"

aws {
  profile     = "restartix-staging-readonly"
  assume_role = "arn:aws:iam::345678901234:role/verify-readonly"
}

rds "core" {
  identifier         = "restartix-staging"
  multi_az           = true
  backup_retention   = 7
  max_restorable_lag = "15m"
  failover_budget    = "120s"
}

pgbouncer {
  cluster      = "restartix-staging"
  service      = "pgbouncer"
  target_group = "restartix-staging-pgbouncer"
  min_tasks    = 2
  min_azs      = 2
  endpoint     = "pgbouncer.internal.restartix.pro:6432"
  # The image's STOPSIGNAL and pgbouncer version (no AWS API shows them):
  # SIGINT is pgbouncer's safe shutdown in every version.
  stop_signal = "SIGINT"
  version     = "1.23"
}

edge {
  load_balancer    = "restartix-staging-core-api"
  hostnames        = ["api.staging.restartix.pro"]
  health_path      = "/health"
  min_cert_days    = 21
  hsts_min_max_age = "180d"

  cloudflare {
    zone             = "restartix.pro"
    token_env        = "VERIFY_SECRET_CLOUDFLARE_API_TOKEN"
    custom_hostnames = ["app.staging.physio-bucharest.ro"]
  }
}

scheduled_task "audit-partition-roll" {
  rule           = "restartix-staging-audit-partition-roll"
  expression     = "cron(0 2 25 * ? *)"
  cluster        = "restartix-staging"
  task_family    = "audit-partition-roll"
  max_age        = "35d"
  log_group      = "/ecs/audit-partition-roll"
  success_marker = "task completed successfully"
}

scheduled_task "usage-quota-reset" {
  rule           = "restartix-staging-usage-quota-reset"
  expression     = "cron(0 0 1 * ? *)"
  cluster        = "restartix-staging"
  task_family    = "usage-quota-reset"
  max_age        = "35d"
  log_group      = "/ecs/usage-quota-reset"
  success_marker = "task completed successfully"
}

scheduled_task "usage-summary-rollup" {
  rule           = "restartix-staging-usage-summary-rollup"
  expression     = "cron(15 * * * ? *)"
  cluster        = "restartix-staging"
  task_family    = "usage-summary-rollup"
  max_age        = "2h"
  log_group      = "/ecs/usage-summary-rollup"
  success_marker = "task completed successfully"
}

scheduled_task "check-providers" {
  rule           = "restartix-staging-check-providers"
  expression     = "rate(5 minutes)"
  cluster        = "restartix-staging"
  task_family    = "check-providers"
  max_age        = "30m"
  log_group      = "/ecs/check-providers"
  success_marker = "task completed successfully"
}

alarms {
  topic = "restartix-staging-alerts"
  required = [
    "restartix-staging-core-api-5xx",
    "restartix-staging-core-api-p99",
    "restartix-staging-rds-connections",
    "restartix-staging-audit-partition-roll-failed",
  ]
  route = "slack"
}

budget "monthly" {
  name       = "restartix-staging-monthly"
  limit_usd  = 800
  thresholds = [50, 80, 100]
}

ses {
  domain            = "restartix.pro"
  mail_from         = "mail.restartix.pro"
  configuration_set = "restartix-staging"
  feedback_topic    = "restartix-staging-ses-feedback"
  feedback_endpoint = "https://api.staging.restartix.pro/v1/internal/ses-feedback"
}

network {
  vpc     = "restartix-staging"
  min_azs = 3
}

drills {
  allowed = true # drills rehearse here first

  rds_failover {
    # postgres://user:password@<instance endpoint>:5432/<db>, from the pipeline's secrets.
    database_url_env  = "VERIFY_SECRET_DRILL_DATABASE_URL"
    max_unavailable   = "120s"
    abort_unavailable = "5m"
    timeout           = "15m"
    stop_alarms       = ["restartix-staging-core-api-5xx"]
  }
}
