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
}

pgbouncer {
  cluster      = "restartix-sandbox"
  service      = "pgbouncer"
  target_group = "restartix-sandbox-pgbouncer"
  min_tasks    = 2
  min_azs      = 2
}

edge {
  load_balancer = "restartix-sandbox-core-api"
}

budget "monthly" {
  name       = "restartix-sandbox-monthly"
  limit_usd  = 3000
  thresholds = [50, 80, 100]
}

network {
  vpc     = "restartix-sandbox"
  min_azs = 3
}
