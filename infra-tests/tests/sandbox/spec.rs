//! Invalid environment specs are refused with file, line, column and what was
//! expected; every shipped spec parses; no input panics.

use std::path::Path;

use rstest::rstest;
use verify::SpecError;

const GOOD_HEAD: &str =
    "environment = \"x\"\nregion = \"eu-central-1\"\naccount_id = \"123456789012\"\n";

fn parse(text: &str) -> Result<verify::Environment, SpecError> {
    verify::spec::parse(text, Path::new("environments/bad.hcl"))
}

#[rstest]
#[case::syntax("environment = \"x\n", 1, "HCL syntax error")]
#[case::missing_required(
    "region = \"eu-central-1\"\naccount_id = \"123456789012\"\n",
    1,
    "missing required attribute `environment`"
)]
#[case::unknown_top_level_key(
    "environment = \"x\"\nregion = \"eu-central-1\"\naccount_id = \"123456789012\"\nregoin = \"x\"\n",
    4,
    "unknown attribute `regoin`"
)]
#[case::unknown_block(&format!("{GOOD_HEAD}databases {{\n}}\n"), 4, "unknown block `databases`")]
#[case::unknown_key_in_block(&format!("{GOOD_HEAD}rds \"core\" {{\n  identifier = \"a\"\n  multiaz = true\n}}\n"), 6, "block `rds \"core\"`: unknown attribute `multiaz`; expected one of:")]
#[case::wrong_type_bool(&format!("{GOOD_HEAD}rds \"core\" {{\n  identifier = \"a\"\n  multi_az = \"yes\"\n}}\n"), 6, "`multi_az` must be true or false, found the string \"yes\"")]
#[case::wrong_type_number(&format!("{GOOD_HEAD}budget \"m\" {{\n  name = \"b\"\n  limit_usd = \"3000\"\n}}\n"), 6, "`limit_usd` must be a number")]
#[case::wrong_list_item(&format!("{GOOD_HEAD}budget \"m\" {{\n  name = \"b\"\n  limit_usd = 3000\n  thresholds = [50, \"80\"]\n}}\n"), 7, "must be a list of numbers, found the string \"80\"")]
#[case::missing_in_block(&format!("{GOOD_HEAD}rds \"core\" {{\n  multi_az = true\n}}\n"), 4, "block `rds \"core\"`: missing required attribute `identifier`")]
#[case::bad_duration(&format!("{GOOD_HEAD}rds \"core\" {{\n  identifier = \"a\"\n  max_restorable_lag = \"15 minutes please\"\n}}\n"), 6, "is not a valid duration")]
#[case::duration_not_string(&format!("{GOOD_HEAD}rds \"core\" {{\n  identifier = \"a\"\n  max_restorable_lag = 15\n}}\n"), 6, "must be a duration string")]
#[case::negative_count(&format!("{GOOD_HEAD}rds \"core\" {{\n  identifier = \"a\"\n  backup_retention = -1\n}}\n"), 6, "`backup_retention` must be a whole number ≥ 1")]
#[case::bad_account(
    "environment = \"x\"\nregion = \"eu-central-1\"\naccount_id = \"1234\"\n",
    3,
    "12-digit AWS account id"
)]
#[case::account_as_number(
    "environment = \"x\"\nregion = \"eu-central-1\"\naccount_id = 123456789012\n",
    3,
    "`account_id` must be a string"
)]
#[case::duplicate_attribute("environment = \"x\"\nenvironment = \"y\"\n", 2, "redefined attribute")]
#[case::duplicate_label(&format!("{GOOD_HEAD}rds \"a\" {{\n  identifier = \"a\"\n}}\nrds \"a\" {{\n  identifier = \"b\"\n}}\n"), 7, "declared twice")]
#[case::missing_label(&format!("{GOOD_HEAD}rds {{\n  identifier = \"a\"\n}}\n"), 4, "needs exactly one label")]
#[case::label_on_single_block(&format!("{GOOD_HEAD}network \"x\" {{\n  vpc = \"v\"\n}}\n"), 4, "takes no label")]
#[case::block_twice(&format!("{GOOD_HEAD}network {{\n  vpc = \"v\"\n}}\nnetwork {{\n  vpc = \"w\"\n}}\n"), 7, "may appear only once")]
#[case::drain_interval_too_long(&format!("{GOOD_HEAD}drills {{\n  pgbouncer_drain {{\n    interval = \"1s\"\n  }}\n}}\n"), 6, "`interval` must be between 1ms and 50ms")]
#[case::drain_blank_stop_az(&format!("{GOOD_HEAD}drills {{\n  pgbouncer_drain {{\n    stop_az = \" \"\n  }}\n}}\n"), 6, "`stop_az` must be an availability zone name")]
#[case::drain_no_clients(&format!("{GOOD_HEAD}drills {{\n  pgbouncer_drain {{\n    clients = 0\n  }}\n}}\n"), 6, "`clients` must be a whole number ≥ 1")]
#[case::drain_timeout_within_recovery(&format!("{GOOD_HEAD}drills {{\n  pgbouncer_drain {{\n    max_recovery = \"10m\"\n    timeout = \"5m\"\n  }}\n}}\n"), 7, "`timeout` must be longer than max_recovery")]
#[case::pitr_zero_duration(&format!("{GOOD_HEAD}rds \"core\" {{\n  identifier = \"a\"\n}}\ndrills {{\n  pitr_restore {{\n    max_duration = \"0s\"\n  }}\n}}\n"), 9, "`max_duration` must be a duration above zero")]
#[case::pitr_unknown_rds(&format!("{GOOD_HEAD}rds \"core\" {{\n  identifier = \"a\"\n}}\ndrills {{\n  pitr_restore {{\n    rds = \"other\"\n  }}\n}}\n"), 9, "`rds` must be the label of an `rds` block")]
#[case::pgbouncer_bad_version(&format!("{GOOD_HEAD}pgbouncer {{\n  cluster = \"c\"\n  service = \"s\"\n  target_group = \"t\"\n  version = \"new\"\n}}\n"), 8, "`version` must be a pgbouncer version")]
#[case::interpolation(&format!("{GOOD_HEAD}rds \"core\" {{\n  identifier = \"${{var.x}}\"\n}}\n"), 5, "string template")]
#[case::reference(&format!("{GOOD_HEAD}rds \"core\" {{\n  identifier = var.x\n}}\n"), 5, "only literal values")]
#[case::empty_thresholds(&format!("{GOOD_HEAD}budget \"m\" {{\n  name = \"b\"\n  limit_usd = 3000\n  thresholds = []\n}}\n"), 7, "non-empty list of percentages")]
#[case::bad_route(&format!("{GOOD_HEAD}alarms {{\n  topic = \"t\"\n  required = [\"a\"]\n  route = \"pager\"\n}}\n"), 7, "one of \"slack\", \"chatbot\", \"lambda\"")]
#[case::rule_and_schedule(&format!("{GOOD_HEAD}scheduled_task \"t\" {{\n  rule = \"r\"\n  schedule = \"s\"\n  expression = \"rate(5 minutes)\"\n  cluster = \"c\"\n  task_family = \"f\"\n  max_age = \"1h\"\n}}\n"), 6, "either `rule` or `schedule`, not both")]
#[case::long_max_age_without_marker(&format!("{GOOD_HEAD}scheduled_task \"t\" {{\n  rule = \"r\"\n  expression = \"rate(1 day)\"\n  cluster = \"c\"\n  task_family = \"f\"\n  max_age = \"35d\"\n}}\n"), 9, "ECS forgets stopped tasks after about an hour, so the task must declare its success marker; missing `success_marker` and `log_group`")]
#[case::long_max_age_without_log_group(&format!("{GOOD_HEAD}scheduled_task \"t\" {{\n  rule = \"r\"\n  expression = \"rate(1 hour)\"\n  cluster = \"c\"\n  task_family = \"f\"\n  max_age = \"2h\"\n  success_marker = \"done\"\n}}\n"), 9, "missing `log_group`")]
#[case::bad_role(&format!("{GOOD_HEAD}aws {{\n  assume_role = \"verify-readonly\"\n}}\n"), 5, "a role ARN")]
#[case::drill_probe_too_slow(&format!("{GOOD_HEAD}rds \"core\" {{\n  identifier = \"a\"\n}}\ndrills {{\n  allowed = true\n  rds_failover {{\n    probe_interval = \"1s\"\n  }}\n}}\n"), 10, "`probe_interval` must be between 1ms and 50ms")]
#[case::drill_abort_before_bound(&format!("{GOOD_HEAD}rds \"core\" {{\n  identifier = \"a\"\n}}\ndrills {{\n  rds_failover {{\n    max_unavailable = \"2m\"\n    abort_unavailable = \"1m\"\n  }}\n}}\n"), 10, "`abort_unavailable` must be longer than max_unavailable (2m)")]
#[case::drill_abort_defaults_to_budget(&format!("{GOOD_HEAD}rds \"core\" {{\n  identifier = \"a\"\n  failover_budget = \"10m\"\n}}\ndrills {{\n  rds_failover {{\n  }}\n}}\n"), 9, "`abort_unavailable` must be longer than max_unavailable (10m)")]
#[case::drill_unknown_rds(&format!("{GOOD_HEAD}rds \"core\" {{\n  identifier = \"a\"\n}}\ndrills {{\n  rds_failover {{\n    rds = \"main\"\n  }}\n}}\n"), 9, "the label of an `rds` block")]
#[case::drill_bad_proxy_endpoint(&format!("{GOOD_HEAD}rds \"core\" {{\n  identifier = \"a\"\n}}\ndrills {{\n  rds_failover {{\n    proxy_endpoint = \"core-proxy.internal\"\n  }}\n}}\n"), 9, "`proxy_endpoint` must be \"host:port\"")]
#[case::drill_no_rds(&format!("{GOOD_HEAD}drills {{\n  rds_failover {{\n  }}\n}}\n"), 5, "no single `rds` block")]
#[case::drill_unknown_key(&format!("{GOOD_HEAD}rds \"core\" {{\n  identifier = \"a\"\n}}\ndrills {{\n  rds_failover {{\n    database_url = \"postgres://u:secret@h/db\"\n  }}\n}}\n"), 9, "unknown attribute `database_url`")]
#[case::metric_unknown_query_id(&format!("{GOOD_HEAD}metric \"m\" {{\n  expression = \"100 * errs / requests\"\n  query \"requests\" {{\n    namespace = \"AWS/ApplicationELB\"\n    metric = \"RequestCount\"\n    statistic = \"Sum\"\n  }}\n  period = \"1m\"\n  window = \"30m\"\n  comparison = \">\"\n  threshold = 1\n}}\n"), 5, "`errs` is not one")]
#[case::metric_bad_statistic(&format!("{GOOD_HEAD}metric \"m\" {{\n  namespace = \"AWS/RDS\"\n  metric = \"DatabaseConnections\"\n  statistic = \"p999x\"\n  period = \"1m\"\n  window = \"30m\"\n  comparison = \">\"\n  threshold = 80\n}}\n"), 7, "a percentile such as \"p99\"")]
#[case::metric_no_comparison(&format!("{GOOD_HEAD}metric \"m\" {{\n  namespace = \"AWS/RDS\"\n  metric = \"DatabaseConnections\"\n  statistic = \"Maximum\"\n  period = \"1m\"\n  window = \"30m\"\n  threshold = 80\n}}\n"), 4, "missing required attribute `comparison`")]
#[case::metric_sustained_over_window(&format!("{GOOD_HEAD}metric \"m\" {{\n  namespace = \"AWS/RDS\"\n  metric = \"DatabaseConnections\"\n  statistic = \"Maximum\"\n  period = \"1m\"\n  window = \"10m\"\n  comparison = \">\"\n  threshold = 80\n  sustained = \"1h\"\n}}\n"), 12, "between one `period` and the `window`")]
#[case::metric_missing_data_policy(&format!("{GOOD_HEAD}metric \"m\" {{\n  namespace = \"AWS/RDS\"\n  metric = \"DatabaseConnections\"\n  statistic = \"Maximum\"\n  period = \"1m\"\n  window = \"10m\"\n  comparison = \">\"\n  threshold = 80\n  missing_data = \"ignore\"\n}}\n"), 12, "\"error\" (the default), \"breaching\" or \"not_breaching\"")]
#[case::metric_window_not_whole_periods(&format!("{GOOD_HEAD}metric \"m\" {{\n  namespace = \"AWS/RDS\"\n  metric = \"DatabaseConnections\"\n  statistic = \"Maximum\"\n  period = \"1m\"\n  window = \"90s\"\n  comparison = \">\"\n  threshold = 80\n}}\n"), 9, "a whole number of `period`s")]
#[case::metric_sub_minute_past_retention(&format!("{GOOD_HEAD}metric \"m\" {{\n  namespace = \"AWS/RDS\"\n  metric = \"DatabaseConnections\"\n  statistic = \"Maximum\"\n  period = \"10s\"\n  window = \"4h\"\n  comparison = \">\"\n  threshold = 80\n}}\n"), 9, "at most 3 hours (how long CloudWatch keeps 10s-period data)")]
#[case::metric_min_samples_without_percentile(&format!("{GOOD_HEAD}metric \"m\" {{\n  namespace = \"AWS/RDS\"\n  metric = \"DatabaseConnections\"\n  statistic = \"Maximum\"\n  period = \"1m\"\n  window = \"10m\"\n  comparison = \">\"\n  threshold = 80\n  min_samples = 10\n}}\n"), 12, "no query reads a percentile")]
#[case::metric_missing_share_over_one(&format!("{GOOD_HEAD}metric \"m\" {{\n  namespace = \"AWS/RDS\"\n  metric = \"DatabaseConnections\"\n  statistic = \"Maximum\"\n  period = \"1m\"\n  window = \"10m\"\n  comparison = \">\"\n  threshold = 80\n  max_missing_share = 1.5\n}}\n"), 12, "from 0 to 1")]
#[case::metric_staleness_zero(&format!("{GOOD_HEAD}metric \"m\" {{\n  namespace = \"AWS/RDS\"\n  metric = \"DatabaseConnections\"\n  statistic = \"Maximum\"\n  period = \"1m\"\n  window = \"10m\"\n  comparison = \">\"\n  threshold = 80\n  max_staleness = \"0s\"\n}}\n"), 12, "a positive duration within the `window`")]
#[case::canary_writes_without_consent(&format!("{GOOD_HEAD}canary \"c\" {{\n  base_url = \"https://api.example\"\n  step \"s\" {{\n    method = \"POST\"\n    path = \"/x\"\n  }}\n}}\n"), 7, "unless the canary says `writes = true`")]
#[case::canary_unknown_placeholder(&format!("{GOOD_HEAD}canary \"c\" {{\n  base_url = \"https://api.example\"\n  path = \"/x/{{{{id}}}}\"\n}}\n"), 4, "uses {{id}}, which is neither in `secrets` nor captured by an earlier step")]
#[case::canary_two_tests(&format!("{GOOD_HEAD}canary \"c\" {{\n  base_url = \"https://api.example\"\n  path = \"/x\"\n  expect {{\n    pointer = \"/a\"\n    exists = true\n    equals = 1\n  }}\n}}\n"), 7, "exactly one of `exists = true`, `equals = …` or `contains = …`")]
#[case::canary_writes_without_undo(&format!("{GOOD_HEAD}canary \"c\" {{\n  writes = true\n  base_url = \"https://api.example\"\n  step \"s\" {{\n    method = \"POST\"\n    path = \"/x\"\n  }}\n}}\n"), 4, "`writes = true` needs an `undo` block that puts back what it writes")]
#[case::canary_undo_of_an_unknown_step(&format!("{GOOD_HEAD}canary \"c\" {{\n  writes = true\n  base_url = \"https://api.example\"\n  step \"s\" {{\n    method = \"POST\"\n    path = \"/x\"\n  }}\n  undo \"u\" {{\n    undoes = \"nope\"\n    path = \"/x\"\n  }}\n}}\n"), 12, "`undoes` must be the name of one of the canary's steps (s)")]
#[case::canary_undo_of_a_read(&format!("{GOOD_HEAD}canary \"c\" {{\n  writes = true\n  base_url = \"https://api.example\"\n  step \"s\" {{\n    method = \"GET\"\n    path = \"/x\"\n  }}\n  undo \"u\" {{\n    undoes = \"s\"\n    path = \"/x\"\n  }}\n}}\n"), 12, "a step that writes (step `s` sends GET, which writes nothing)")]
#[case::canary_undo_unknown_placeholder(&format!("{GOOD_HEAD}canary \"c\" {{\n  writes = true\n  base_url = \"https://api.example\"\n  step \"s\" {{\n    method = \"POST\"\n    path = \"/x\"\n  }}\n  undo \"u\" {{\n    undoes = \"s\"\n    path = \"/x/{{{{id}}}}\"\n  }}\n}}\n"), 13, "undo `u` uses {{id}}, which is neither in `secrets` nor captured by a step")]
#[case::canary_undo_status_out_of_range(&format!("{GOOD_HEAD}canary \"c\" {{\n  writes = true\n  base_url = \"https://api.example\"\n  step \"s\" {{\n    method = \"POST\"\n    path = \"/x\"\n  }}\n  undo \"u\" {{\n    undoes = \"s\"\n    path = \"/x\"\n    expect_status = [204, 700]\n  }}\n}}\n"), 14, "`expect_status` must be an HTTP status (100 to 599) or a list of them")]
#[case::canary_secret_over_plain_http(&format!("{GOOD_HEAD}canary \"c\" {{\n  base_url = \"http://api.example\"\n  path = \"/x\"\n  secrets = {{ p = \"VERIFY_SECRET_P\" }}\n}}\n"), 5, "an https:// URL when the canary has `secrets` (a secret is sent only over https)")]
#[case::s3_no_encryption(&format!("{GOOD_HEAD}s3_bucket \"b\" {{\n  name = \"restartix.uploads\"\n}}\n"), 4, "missing required attribute `encryption`")]
#[case::s3_bad_algorithm(&format!("{GOOD_HEAD}s3_bucket \"b\" {{\n  name = \"restartix.uploads\"\n  encryption = \"SSE-KMS\"\n}}\n"), 6, "one of \"aws:kms\", \"aws:kms:dsse\", \"AES256\"")]
#[case::s3_kms_without_key(&format!("{GOOD_HEAD}s3_bucket \"b\" {{\n  name = \"restartix.uploads\"\n  encryption = \"aws:kms\"\n}}\n"), 4, "missing required attribute `kms_key`")]
#[case::s3_key_with_sse_s3(&format!("{GOOD_HEAD}s3_bucket \"b\" {{\n  name = \"restartix.uploads\"\n  encryption = \"AES256\"\n  kms_key = \"alias/x\"\n}}\n"), 7, "`kms_key` must be left out")]
#[case::s3_bad_name(&format!("{GOOD_HEAD}s3_bucket \"b\" {{\n  name = \"arn:aws:s3:::uploads\"\n  encryption = \"AES256\"\n}}\n"), 5, "an S3 bucket name")]
#[case::s3_unknown_key(&format!("{GOOD_HEAD}s3_bucket \"b\" {{\n  name = \"restartix.uploads\"\n  encryption = \"AES256\"\n  versioning = true\n}}\n"), 7, "unknown attribute `versioning`")]
#[case::s3_key_not_a_string(&format!("{GOOD_HEAD}s3_bucket \"b\" {{\n  name = \"restartix.uploads\"\n  encryption = \"aws:kms\"\n  kms_key = 42\n}}\n"), 7, "`kms_key` must be a string")]
#[case::logs_no_groups(&format!("{GOOD_HEAD}logs {{\n  min_retention_days = 30\n}}\n"), 4, "missing required attribute `groups`")]
#[case::logs_no_minimum(&format!("{GOOD_HEAD}logs {{\n  groups = [\"/ecs/a\"]\n}}\n"), 4, "missing required attribute `min_retention_days`")]
#[case::logs_max_below_min(&format!("{GOOD_HEAD}logs {{\n  groups = [\"/ecs/a\"]\n  min_retention_days = 30\n  max_retention_days = 7\n}}\n"), 7, "`max_retention_days` must be at least min_retention_days (30)")]
#[case::logs_star_inside(&format!("{GOOD_HEAD}logs {{\n  groups = [\"/ecs/*/a\"]\n  min_retention_days = 30\n}}\n"), 5, "a prefix ending in one `*`")]
#[case::logs_group_twice(&format!("{GOOD_HEAD}logs {{\n  groups = [\"/ecs/a\"]\n  min_retention_days = 30\n  group \"/ecs/a\" {{\n  }}\n}}\n"), 7, "already declared in `groups`")]
#[case::logs_days_not_a_number(&format!("{GOOD_HEAD}logs {{\n  groups = [\"/ecs/a\"]\n  min_retention_days = \"30d\"\n}}\n"), 6, "`min_retention_days` must be a whole number ≥ 1")]
#[case::logs_unknown_key(&format!("{GOOD_HEAD}logs {{\n  groups = [\"/ecs/a\"]\n  min_retention_days = 30\n  never_expire = true\n}}\n"), 7, "unknown attribute `never_expire`")]
#[case::snapshot_neither_tag_nor_prefix(&format!("{GOOD_HEAD}rds_snapshot \"k\" {{\n  instance = \"db\"\n  max_age = \"8d\"\n}}\n"), 4, "missing required attribute `tag`")]
#[case::snapshot_no_max_age(&format!("{GOOD_HEAD}rds_snapshot \"k\" {{\n  instance = \"db\"\n  name_prefix = \"db-\"\n}}\n"), 4, "missing required attribute `max_age`")]
#[case::snapshot_label_not_an_id(&format!("{GOOD_HEAD}rds_snapshot \"known clean\" {{\n  instance = \"db\"\n  name_prefix = \"db-\"\n  max_age = \"8d\"\n}}\n"), 4, "may hold only letters, digits")]
#[case::snapshot_tag_not_an_object(&format!("{GOOD_HEAD}rds_snapshot \"k\" {{\n  instance = \"db\"\n  tag = \"known-clean\"\n  max_age = \"8d\"\n}}\n"), 6, "`tag` must be an object of strings")]
#[case::snapshot_bad_age(&format!("{GOOD_HEAD}rds_snapshot \"k\" {{\n  instance = \"db\"\n  name_prefix = \"db-\"\n  max_age = \"a week\"\n}}\n"), 7, "is not a valid duration")]
#[case::snapshot_unknown_key(&format!("{GOOD_HEAD}rds_snapshot \"k\" {{\n  instance = \"db\"\n  name_prefix = \"db-\"\n  max_age = \"8d\"\n  min_age = \"1d\"\n}}\n"), 8, "unknown attribute `min_age`")]
#[case::mail_unknown_provider(&format!("{GOOD_HEAD}mail {{\n  domains = [\"restartix.pro\"]\n  provider = \"gmail\"\n}}\n"), 6, "`provider` must be one of google_workspace, microsoft_365")]
#[case::mail_no_provider(&format!("{GOOD_HEAD}mail {{\n  domains = [\"restartix.pro\"]\n}}\n"), 4, "missing required attribute `provider`")]
#[case::mail_provider_and_hosts(&format!("{GOOD_HEAD}mail {{\n  domains = [\"restartix.pro\"]\n  provider = \"zoho\"\n  mx_hosts = [\"mx.zoho.eu\"]\n}}\n"), 7, "`mx_hosts` must be left out when `provider` is set")]
#[case::mail_bad_domain(&format!("{GOOD_HEAD}mail {{\n  domains = [\"support@restartix.pro\"]\n  provider = \"zoho\"\n}}\n"), 5, "a list of domain names")]
#[case::mail_bad_nameserver(&format!("{GOOD_HEAD}mail {{\n  domains = [\"restartix.pro\"]\n  provider = \"zoho\"\n  nameserver = \"localhost\"\n}}\n"), 7, "\"ip:port\" of a DNS server")]
#[case::security_headers_relative_path(&format!("{GOOD_HEAD}edge {{\n  load_balancer = \"lb\"\n  security_headers {{\n    paths = [\"app\"]\n  }}\n}}\n"), 7, "each starting with `/`")]
#[case::security_headers_bad_referrer_policy(&format!("{GOOD_HEAD}edge {{\n  load_balancer = \"lb\"\n  security_headers {{\n    referrer_policies = [\"strict\"]\n  }}\n}}\n"), 7, "a non-empty list of no-referrer")]
#[case::security_headers_unknown_key(&format!("{GOOD_HEAD}edge {{\n  load_balancer = \"lb\"\n  security_headers {{\n    require_xfo = true\n  }}\n}}\n"), 7, "unknown attribute `require_xfo`")]
#[case::security_headers_flag_not_a_bool(&format!("{GOOD_HEAD}edge {{\n  load_balancer = \"lb\"\n  security_headers {{\n    require_csp = \"yes\"\n  }}\n}}\n"), 7, "`require_csp` must be true or false")]
#[case::canary_rate_limit_over_the_cap(&format!("{GOOD_HEAD}canary \"c\" {{\n  writes = true\n  base_url = \"https://api.example\"\n  step \"s\" {{\n    method = \"POST\"\n    path = \"/x\"\n    rate_limit {{\n      requests = 101\n      limited_from = 6\n    }}\n  }}\n}}\n"), 11, "block `rate_limit`: `requests` must be at most 100 (found 101)")]
#[case::canary_rate_limit_limited_after_the_last(&format!("{GOOD_HEAD}canary \"c\" {{\n  writes = true\n  base_url = \"https://api.example\"\n  step \"s\" {{\n    method = \"POST\"\n    path = \"/x\"\n    rate_limit {{\n      requests = 6\n      limited_from = 7\n    }}\n  }}\n}}\n"), 12, "`limited_from` must be at most `requests` (6), found 7")]
#[case::canary_rate_limit_with_capture(&format!("{GOOD_HEAD}canary \"c\" {{\n  writes = true\n  base_url = \"https://api.example\"\n  step \"s\" {{\n    method = \"POST\"\n    path = \"/x\"\n    capture = {{ t = \"/t\" }}\n    rate_limit {{\n      requests = 6\n      limited_from = 6\n    }}\n  }}\n}}\n"), 10, "`capture` must be left out of a step with `rate_limit`")]
#[case::canary_rate_limit_unknown_key(&format!("{GOOD_HEAD}canary \"c\" {{\n  writes = true\n  base_url = \"https://api.example\"\n  step \"s\" {{\n    method = \"POST\"\n    path = \"/x\"\n    rate_limit {{\n      requests = 6\n      limited_from = 6\n      burst = true\n    }}\n  }}\n}}\n"), 13, "block `rate_limit`: unknown attribute `burst`")]
#[case::custom_hostname_waf_unknown(&format!("{GOOD_HEAD}edge {{\n  load_balancer = \"lb\"\n  cloudflare {{\n    zone = \"z\"\n    custom_hostname_waf = \"cloudflare\"\n  }}\n}}\n"), 8, "`custom_hostname_waf` must be one of \"waf_for_saas\", \"aws_waf_on_alb\", \"accepted_gap\"")]
#[case::custom_hostname_waf_alb_without_groups(&format!("{GOOD_HEAD}edge {{\n  load_balancer = \"lb\"\n  cloudflare {{\n    zone = \"z\"\n    custom_hostname_waf = \"aws_waf_on_alb\"\n  }}\n}}\n"), 6, "missing required attribute `aws_waf_rule_groups`")]
#[case::custom_hostname_waf_groups_without_alb(&format!("{GOOD_HEAD}edge {{\n  load_balancer = \"lb\"\n  cloudflare {{\n    zone = \"z\"\n    custom_hostname_waf = \"waf_for_saas\"\n    aws_waf_rule_groups = [\"AWSManagedRulesCommonRuleSet\"]\n  }}\n}}\n"), 9, "`aws_waf_rule_groups` must be left out unless `custom_hostname_waf = \"aws_waf_on_alb\"`")]
#[case::kms_bad_key(&format!("{GOOD_HEAD}kms {{\n  keys = [\"not a key\"]\n}}\n"), 5, "\"not a key\" is none of them")]
#[case::kms_unknown_attribute(&format!("{GOOD_HEAD}kms {{\n  rotate = true\n}}\n"), 5, "unknown attribute `rotate`")]
#[case::secret_without_name(&format!("{GOOD_HEAD}secret \"s\" {{\n  max_age = \"90d\"\n}}\n"), 4, "missing required attribute `name`")]
#[case::secret_label_with_a_dot(&format!("{GOOD_HEAD}secret \"a.b\" {{\n  name = \"n\"\n}}\n"), 4, "letters, digits, `_` and `-` only")]
#[case::secret_unknown_attribute(&format!("{GOOD_HEAD}secret \"s\" {{\n  name  = \"n\"\n  value = \"sk_live_x\"\n}}\n"), 6, "unknown attribute `value`")]
#[case::secret_pattern_without_check_value(&format!("{GOOD_HEAD}secret \"s\" {{\n  name    = \"n\"\n  pattern = \"^sk_live_\"\n}}\n"), 6, "`pattern` must be left out unless `check_value = true`")]
#[case::secret_check_value_without_pattern(&format!("{GOOD_HEAD}secret \"s\" {{\n  name        = \"n\"\n  check_value = true\n}}\n"), 4, "missing required attribute `pattern`")]
#[case::secret_invalid_regex(&format!("{GOOD_HEAD}secret \"s\" {{\n  name        = \"n\"\n  check_value = true\n  pattern     = \"^sk_(live\"\n}}\n"), 7, "`pattern` must be a valid regular expression")]
#[case::secret_arn_of_another_name(&format!("{GOOD_HEAD}secret \"s\" {{\n  name = \"n\"\n  arn  = \"arn:aws:secretsmanager:eu-central-1:123456789012:secret:other-AbC123\"\n}}\n"), 6, "`arn` must be the secret's full ARN")]
#[case::secret_max_age_zero(&format!("{GOOD_HEAD}secret \"s\" {{\n  name    = \"n\"\n  max_age = \"0s\"\n}}\n"), 6, "`max_age` must be a duration above zero")]
fn an_invalid_spec_is_refused_with_its_position(
    #[case] text: &str,
    #[case] line: usize,
    #[case] says: &str,
) {
    let _sandbox = infra_tests::reading();
    match parse(text) {
        Ok(env) => panic!("accepted an invalid spec: {env:?}"),
        Err(SpecError::Invalid {
            file,
            line: l,
            column,
            message,
        }) => {
            assert_eq!(file, Path::new("environments/bad.hcl"));
            assert_eq!(l, line, "line of {message:?}");
            assert!(column >= 1, "column of {message:?}");
            assert!(message.contains(says), "{message:?} should say {says:?}");
        }
        Err(other) => panic!("unexpected error kind: {other}"),
    }
}

#[test]
fn the_error_displays_as_file_line_column() {
    let _sandbox = infra_tests::reading();
    let err = parse(&format!(
        "{GOOD_HEAD}rds \"core\" {{\n  identifier = \"a\"\n    multiaz = true\n}}\n"
    ))
    .unwrap_err();
    assert!(
        err.to_string().starts_with("environments/bad.hcl:6:5: "),
        "{err}"
    );
}

/// The success-marker rule points at `max_age` itself, as `file:line:column`.
#[test]
fn a_long_max_age_without_marker_points_at_max_age() {
    let _sandbox = infra_tests::reading();
    let err = parse(&format!(
        "{GOOD_HEAD}scheduled_task \"t\" {{\n  rule = \"r\"\n  expression = \"rate(1 day)\"\n  cluster = \"c\"\n  task_family = \"f\"\n  max_age = \"35d\"\n}}\n"
    ))
    .unwrap_err();
    assert!(
        err.to_string().starts_with("environments/bad.hcl:9:13: "),
        "{err}"
    );
}

/// Up to an hour ECS still lists the last run; a marker is optional.
#[test]
fn a_max_age_of_an_hour_needs_no_marker() {
    let _sandbox = infra_tests::reading();
    let env = parse(&format!(
        "{GOOD_HEAD}scheduled_task \"t\" {{\n  rule = \"r\"\n  expression = \"rate(5 minutes)\"\n  cluster = \"c\"\n  task_family = \"f\"\n  max_age = \"1h\"\n}}\n"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(env.scheduled_tasks[0].success_marker, None);
}

/// A spec or waivers file that is not UTF-8 is refused at its first bad byte
/// (line and column, the column counting characters), not as a bare read error.
#[rstest]
#[case::spec(true)]
#[case::waivers(false)]
fn a_non_utf8_file_is_refused_at_its_first_bad_byte(#[case] spec: bool) {
    let _sandbox = infra_tests::reading();
    let dir = std::env::temp_dir().join(format!("verify-utf8-{}-{spec}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("latin1.hcl");
    let mut bytes = GOOD_HEAD.as_bytes().to_vec();
    // Line 4: two 2-byte characters, then a Latin-1 'é' (0xE9) at column 14.
    bytes.extend_from_slice("# café ünd x ".as_bytes());
    bytes.push(0xE9);
    bytes.extend_from_slice(b"\n");
    std::fs::write(&file, &bytes).unwrap();
    let err = if spec {
        verify::spec::load(&file).map(|_| ()).unwrap_err()
    } else {
        verify::waivers::load(&file).map(|_| ()).unwrap_err()
    };
    let _ = std::fs::remove_dir_all(&dir);
    match &err {
        SpecError::Invalid {
            line,
            column,
            message,
            ..
        } => {
            assert_eq!((*line, *column), (4, 14), "{err}");
            assert!(message.contains("not valid UTF-8 (byte 0xE9)"), "{err}");
        }
        other => panic!("expected a position, got {other}"),
    }
    assert!(
        err.to_string()
            .starts_with(&format!("{}:4:14: ", file.display())),
        "{err}"
    );
}

#[test]
fn an_unreadable_file_is_an_error_naming_it() {
    let _sandbox = infra_tests::reading();
    let err = verify::spec::load(Path::new("environments/does-not-exist.hcl")).unwrap_err();
    assert!(matches!(err, SpecError::Read { .. }));
    assert!(err.to_string().contains("does-not-exist.hcl"), "{err}");
}

/// The example `terraform output -json` production's `output.NAME` references read.
fn production_outputs() -> verify::spec::Outputs {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/production/outputs.json");
    verify::spec::Outputs::load(&file).unwrap_or_else(|e| panic!("{e}"))
}

/// A shipped spec; production takes its identifiers from Terraform outputs.
fn shipped(name: &str) -> Result<verify::Environment, SpecError> {
    let path = verify::spec::resolve(name, &infra_tests::environments_dir());
    if name == "production" {
        verify::spec::load_with(&path, Some(&production_outputs()))
    } else {
        verify::spec::load(&path)
    }
}

#[rstest]
#[case("sandbox")]
#[case("staging")]
#[case("production")]
fn every_shipped_environment_parses(#[case] name: &str) {
    let _sandbox = infra_tests::reading();
    let env = shipped(name).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(env.name, name);
    assert!(!env.rds.is_empty() && !env.budgets.is_empty());
    // Every secret's variable is inside the default prefix, so a run
    // without --secret-env-prefix reads them; each names at least one.
    verify::spec::secret_env::check(&env, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(!verify::spec::secret_env::references(&env).is_empty());
}

#[test]
fn production_refuses_drills_and_declares_every_area() {
    let _sandbox = infra_tests::reading();
    let env = shipped("production").unwrap();
    assert!(!env.drills.allowed);
    assert_eq!(env.scheduled_tasks.len(), 4);
    assert!(
        env.pgbouncer.is_some()
            && env.edge.is_some()
            && env.alarms.is_some()
            && env.ses.is_some()
            && env.network.is_some()
    );
    assert_eq!(env.budgets[0].thresholds, vec![50.0, 80.0, 100.0]);
    assert_eq!(env.s3_buckets.len(), 2);
    assert!(env.logs.is_some());
}

/// No input panics: truncations and byte flips of a real spec only ever give `Ok` or `Err`.
#[test]
fn no_input_panics() {
    let _sandbox = infra_tests::reading();
    let text =
        std::fs::read_to_string(infra_tests::environments_dir().join("production.hcl")).unwrap();
    let bytes = text.as_bytes();
    for cut in (0..bytes.len()).step_by(7) {
        let truncated = String::from_utf8_lossy(&bytes[..cut]);
        let _ = parse(&truncated);
    }
    for (i, replacement) in (0..bytes.len()).step_by(13).zip(
        [b'{', b'}', b'"', b'=', b'[', b'\n', b'#', b'$']
            .iter()
            .cycle(),
    ) {
        let mut mutated = bytes.to_vec();
        mutated[i] = *replacement;
        let _ = parse(&String::from_utf8_lossy(&mutated));
    }
}

/// `output.NAME` takes an identifier from Terraform: strings, map entries
/// and lists of strings; each misuse is an error at its position.
#[test]
fn identifiers_come_from_terraform_outputs() {
    let _sandbox = infra_tests::reading();
    let outputs = verify::spec::Outputs::parse(
        br#"{"db": {"sensitive": false, "type": "string", "value": "restartix-production"},
             "rules": {"sensitive": false, "type": ["map", "string"], "value": {"roll": "rule-roll"}},
             "alarms": {"sensitive": false, "type": ["list", "string"], "value": ["a-5xx", "a-p99"]},
             "count": {"sensitive": false, "type": "number", "value": 3}}"#,
        Path::new("outputs.json"),
    )
    .unwrap();
    let spec = |body: &str| format!("{GOOD_HEAD}{body}");
    let parse_with = |text: &str, outputs: Option<&verify::spec::Outputs>| {
        verify::spec::parse_with(text, Path::new("environments/bad.hcl"), outputs)
    };
    let good = spec(
        "rds \"core\" {\n  identifier = output.db\n}\nalarms {\n  topic = output.rules[\"roll\"]\n  required = output.alarms\n}\nnetwork {\n  vpc = output.rules.roll\n}\n",
    );
    let env = parse_with(&good, Some(&outputs)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(env.rds[0].identifier, "restartix-production");
    let alarms = env.alarms.unwrap();
    assert_eq!(
        (alarms.topic.as_str(), alarms.required.clone()),
        ("rule-roll", vec!["a-5xx".to_string(), "a-p99".to_string()])
    );
    assert_eq!(env.network.unwrap().vpc, "rule-roll");

    let cases: [(&str, Option<&verify::spec::Outputs>, &str); 5] = [
        (
            "rds \"core\" {\n  identifier = output.db\n}\n",
            None,
            "no outputs were given: pass --terraform-outputs",
        ),
        (
            "rds \"core\" {\n  identifier = output.dbb\n}\n",
            Some(&outputs),
            "no Terraform output `dbb` in outputs.json (it has: alarms, count, db, rules)",
        ),
        (
            "rds \"core\" {\n  identifier = output.count\n}\n",
            Some(&outputs),
            "must be a string, but the Terraform output is the number 3",
        ),
        (
            "rds \"core\" {\n  identifier = output.rules[\"nope\"]\n}\n",
            Some(&outputs),
            "output.rules[\"nope\"] is not in output `rules`",
        ),
        (
            "rds \"core\" {\n  identifier = outputs.db\n}\n",
            Some(&outputs),
            "only literal values, or `output.NAME`",
        ),
    ];
    for (body, outputs, says) in cases {
        match parse_with(&spec(body), outputs) {
            Err(SpecError::Invalid {
                line,
                column,
                message,
                ..
            }) => {
                assert_eq!((line, column), (5, 16), "{message}");
                assert!(message.contains(says), "{message:?} should say {says:?}");
            }
            other => panic!("{body}: {other:?}"),
        }
    }
}

/// Production without its outputs cannot run: the first reference is named.
#[test]
fn production_without_outputs_names_the_first_reference() {
    let _sandbox = infra_tests::reading();
    let err = infra_tests::load_environment("production").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("production.hcl:21:"), "{text}");
    assert!(text.contains("output.rds_identifier"), "{text}");
}
