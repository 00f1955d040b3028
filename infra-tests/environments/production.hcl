# Production: what must be true before real clinics and patients use it.
# Kept next to the Terraform that builds it; `cargo xtask verify production`
# runs read-only with whatever credentials aws-config finds (env, profile, SSO).
environment = "production"
region      = "eu-central-1"
account_id  = "210987654321"

aws {
  profile     = "restartix-production-readonly"
  assume_role = "arn:aws:iam::210987654321:role/verify-readonly"
}

rds "core" {
  identifier         = "restartix-production"
  multi_az           = true
  backup_retention   = 14
  max_restorable_lag = "15m"
  failover_budget    = "120s"
}

pgbouncer {
  cluster      = "restartix-production"
  service      = "pgbouncer"
  target_group = "restartix-production-pgbouncer"
  min_tasks    = 2
  min_azs      = 2
  endpoint     = "pgbouncer.internal.restartix.pro:6432"
  # The image's STOPSIGNAL and pgbouncer version (no AWS API shows them):
  # SIGINT is pgbouncer's safe shutdown in every version.
  stop_signal = "SIGINT"
  version     = "1.23"
}

edge {
  load_balancer    = "restartix-production-core-api"
  hostnames        = ["api.restartix.pro"]
  health_path      = "/health"
  min_cert_days    = 21
  hsts_min_max_age = "180d"

  cloudflare {
    zone             = "restartix.pro"
    token_env        = "CLOUDFLARE_API_TOKEN"
    custom_hostnames = ["app.physio-bucharest.ro", "portal.kinetic-cluj.ro"]
  }
}

scheduled_task "audit-partition-roll" {
  rule           = "restartix-production-audit-partition-roll"
  expression     = "cron(0 2 25 * ? *)"
  cluster        = "restartix-production"
  task_family    = "audit-partition-roll"
  max_age        = "35d"
  log_group      = "/ecs/audit-partition-roll"
  success_marker = "task completed successfully"
}

scheduled_task "usage-quota-reset" {
  rule           = "restartix-production-usage-quota-reset"
  expression     = "cron(0 0 1 * ? *)"
  cluster        = "restartix-production"
  task_family    = "usage-quota-reset"
  max_age        = "35d"
  log_group      = "/ecs/usage-quota-reset"
  success_marker = "task completed successfully"
}

scheduled_task "usage-summary-rollup" {
  rule           = "restartix-production-usage-summary-rollup"
  expression     = "cron(15 * * * ? *)"
  cluster        = "restartix-production"
  task_family    = "usage-summary-rollup"
  max_age        = "2h"
  log_group      = "/ecs/usage-summary-rollup"
  success_marker = "task completed successfully"
}

scheduled_task "check-providers" {
  rule           = "restartix-production-check-providers"
  expression     = "rate(5 minutes)"
  cluster        = "restartix-production"
  task_family    = "check-providers"
  max_age        = "30m"
  log_group      = "/ecs/check-providers"
  success_marker = "task completed successfully"
}

alarms {
  topic = "restartix-production-alerts"
  required = [
    "restartix-production-core-api-5xx",
    "restartix-production-core-api-p99",
    "restartix-production-rds-connections",
    "restartix-production-audit-partition-roll-failed",
  ]
  route = "slack"
}

budget "monthly" {
  name       = "restartix-production-monthly"
  limit_usd  = 3000
  thresholds = [50, 80, 100]
}

ses {
  domain            = "restartix.pro"
  mail_from         = "mail.restartix.pro"
  configuration_set = "restartix-production"
  feedback_topic    = "restartix-production-ses-feedback"
  feedback_endpoint = "https://api.restartix.pro/v1/internal/ses-feedback"
}

network {
  vpc     = "restartix-production"
  min_azs = 3
}

drills {
  allowed = false # production refuses drills unless true

  rds_failover {
    # postgres://user:password@<instance endpoint>:5432/<db>, from the pipeline's secrets.
    database_url_env  = "RESTARTIX_DRILL_DATABASE_URL"
    max_unavailable   = "120s"
    abort_unavailable = "5m"
    timeout           = "15m"
    stop_alarms       = ["restartix-production-core-api-5xx"]
  }

  pgbouncer_drain {
    # postgres://user:password@<pgbouncer NLB>:6432/<db>, from the pipeline's secrets.
    database_url_env   = "RESTARTIX_DRILL_PGBOUNCER_URL"
    clients            = 16
    hold               = "20ms"
    max_connect_errors = 32
    max_recovery       = "5m"
    timeout            = "15m"
    stop_alarms        = ["restartix-production-core-api-5xx"]
  }

  pitr_restore {
    database_url_env  = "RESTARTIX_DRILL_DATABASE_URL"
    max_duration      = "1h"   # the launch gate: PITR restore works in < 1 h
    restorable_within = "15m"  # RDS uploads WAL about every 5 minutes
  }
}
