//! The environment spec: what must be true of one environment, declared in
//! HCL next to the Terraform that built it (`infra-tests/environments/<env>.hcl`).
//!
//! The checks read what *is*; this module only says what *should be*. Parsing is
//! strict: an unknown key, a wrong type, a missing required attribute or a bad
//! duration is a [`SpecError`] naming file, line and column.
//!
//! ```
//! let env = envspec::parse(
//!     r#"
//!     environment = "staging"
//!     region      = "eu-central-1"
//!     account_id  = "123456789012"
//!     rds "core" {
//!       identifier = "restartix-staging"
//!     }
//!     "#,
//!     "staging.hcl".as_ref(),
//! )
//! .unwrap();
//! assert_eq!(env.rds[0].identifier, "restartix-staging");
//! assert_eq!(env.rds[0].backup_retention_days, 7);
//! ```

pub mod inputs;
mod parse;
pub mod secret_env;
pub mod signoffs;
pub mod waivers;

use std::path::PathBuf;
use std::time::Duration;

pub use parse::{decode_utf8, load, load_with, parse, parse_with, read_utf8};
pub use terraform_json::Outputs;

/// Where the spec named `name` lives: `name` itself when it ends in `.hcl`
/// (a path), else `<environments>/<name>.hcl`.
///
/// ```
/// use std::path::Path;
/// let dir = Path::new("infra-tests/environments");
/// assert_eq!(envspec::resolve("production", dir), dir.join("production.hcl"));
/// assert_eq!(envspec::resolve("ci/wrong.hcl", dir), Path::new("ci/wrong.hcl"));
/// ```
pub fn resolve(name: &str, environments: &std::path::Path) -> PathBuf {
    if name.ends_with(".hcl") {
        PathBuf::from(name)
    } else {
        environments.join(format!("{name}.hcl"))
    }
}

/// One environment, as declared.
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    /// `environment = "production"`: the name reports carry.
    pub name: String,
    pub region: String,
    /// The account the credentials must belong to.
    pub account_id: String,
    pub aws: AwsAccess,
    pub rds: Vec<RdsSpec>,
    pub pgbouncer: Option<PgbouncerSpec>,
    pub edge: Option<EdgeSpec>,
    pub scheduled_tasks: Vec<ScheduledTaskSpec>,
    pub alarms: Option<AlarmsSpec>,
    pub budgets: Vec<BudgetSpec>,
    pub ses: Option<SesSpec>,
    pub network: Option<NetworkSpec>,
    /// `kms { … }`: the keys `kms.rotation` judges, besides those the
    /// declared resources use.
    pub kms: Option<KmsSpec>,
    /// `secret "<label>" { … }`: Secrets Manager secrets judged by `secrets.<label>`.
    pub secrets: Vec<SecretSpec>,
    /// `s3_bucket "<label>" { … }`: buckets judged by `s3.<label>.*`.
    pub s3_buckets: Vec<S3BucketSpec>,
    /// `logs { … }`: the log groups `logs.retention` judges.
    pub logs: Option<LogsSpec>,
    /// `metric "<name>" { … }`: the post-cutover metric gates (`metrics.<name>`).
    pub metrics: Vec<MetricGateSpec>,
    /// `canary "<name>" { … }`: synthetic requests through the real edge (`canary.<name>`).
    pub canaries: Vec<CanarySpec>,
    /// `rds_snapshot "<label>" { … }`: the launch checklist's manual
    /// snapshots (`rds.snapshots.<label>`).
    pub rds_snapshots: Vec<RdsSnapshotSpec>,
    /// `mail { … }`: the mail domains and where their MX records point (`dns.mx`).
    pub mail: Option<MailSpec>,
    /// `launch { window = [from, to] }`: the launch window `maintenance.*`
    /// looks in; `None` when undeclared (those checks skip).
    pub launch: Option<LaunchSpec>,
    pub drills: DrillsSpec,
    /// Terraform's JSON for this run (`--terraform-plan`, `--terraform-state`,
    /// filled in by the harness), and the spec's `terraform { … }` block:
    /// how old a plan may be, and the other regions it may name.
    pub terraform: TerraformInputs,
    /// The file this was read from (empty when parsed from a string).
    pub source: PathBuf,
    /// Where each block of the spec starts, in file order: every top-level
    /// block, and the blocks inside an unlabelled one (`edge.cloudflare`,
    /// `drills.rds_failover`). What a report points at (SARIF's locations).
    pub declarations: Vec<Declaration>,
}

impl Environment {
    /// Where block `block` labelled `label` starts (`("rds", Some("core"))`,
    /// `("edge.cloudflare", None)`).
    ///
    /// ```
    /// let env = envspec::parse(
    ///     "environment = \"s\"\nregion = \"eu-central-1\"\naccount_id = \"123456789012\"\n\
    ///      rds \"core\" {\n  identifier = \"db\"\n}\n",
    ///     "s.hcl".as_ref(),
    /// )
    /// .unwrap();
    /// let rds = env.declaration("rds", Some("core")).unwrap();
    /// assert_eq!((rds.line, rds.column), (4, 1));
    /// assert!(env.declaration("edge", None).is_none());
    /// ```
    pub fn declaration(&self, block: &str, label: Option<&str>) -> Option<&Declaration> {
        self.declarations
            .iter()
            .find(|d| d.block == block && d.label.as_deref() == label)
    }

    /// Every block named `block`, in file order.
    pub fn declarations_of<'a>(&'a self, block: &'a str) -> impl Iterator<Item = &'a Declaration> {
        self.declarations.iter().filter(move |d| d.block == block)
    }
}

/// Where one block of a spec starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    /// Its name, after its parent's for a nested block: `rds`, `budget`,
    /// `edge`, `edge.cloudflare`, `drills.pitr_restore`.
    pub block: String,
    /// Its (first) label: `core` of `rds "core"`; `None` when it has none.
    pub label: Option<String>,
    /// 1-based line of the block's name.
    pub line: usize,
    /// 1-based column (in characters) of the block's name.
    pub column: usize,
}

/// The Terraform documents a run judges: `terraform.idempotent` reads the
/// plan, `terraform.declared` the state; each skips when its file is not
/// given. The files are given to the run (`--terraform-plan`,
/// `--terraform-state`); what a plan or state may be is declared in the
/// spec's optional `terraform { … }` block.
#[derive(Debug, Clone, PartialEq)]
pub struct TerraformInputs {
    /// `terraform show -json PLANFILE`, taken right after apply.
    pub plan: Option<PathBuf>,
    /// `terraform show -json` of the state after apply.
    pub state: Option<PathBuf>,
    /// `max_plan_age`: a plan older than this (by its `timestamp`) is not
    /// judged; `None` when the spec says `"off"`. Default
    /// [`DEFAULT_MAX_PLAN_AGE`].
    pub max_plan_age: Option<Duration>,
    /// `extra_regions`: the regions besides `region` that the resources of
    /// a plan or state may be in (`us-east-1` for CloudFront's
    /// certificates). Default: none.
    pub extra_regions: Vec<String>,
}

/// How old a plan may be when `terraform { max_plan_age }` is not declared.
pub const DEFAULT_MAX_PLAN_AGE: Duration = Duration::from_secs(6 * 3600);

impl Default for TerraformInputs {
    fn default() -> Self {
        TerraformInputs {
            plan: None,
            state: None,
            max_plan_age: Some(DEFAULT_MAX_PLAN_AGE),
            extra_regions: Vec::new(),
        }
    }
}

/// How to reach AWS: aws-config's standard chain (env, profile, SSO, IMDS),
/// optionally a named profile, a role to assume and an endpoint override.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsAccess {
    pub profile: Option<String>,
    pub assume_role: Option<String>,
    /// Send every AWS call here instead of the public endpoints.
    pub endpoint: Option<String>,
    /// The endpoint and credentials come from the running sandbox
    /// (`target/sandbox/state.json`), filled in by the harness.
    pub sandbox: bool,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    /// Bound on one operation including its retries.
    pub operation_timeout: Duration,
    /// Attempts per operation (throttling and transient errors back off and retry).
    pub max_attempts: u32,
}

impl Default for AwsAccess {
    fn default() -> Self {
        AwsAccess {
            profile: None,
            assume_role: None,
            endpoint: None,
            sandbox: false,
            connect_timeout: Duration::from_secs(3),
            read_timeout: Duration::from_secs(10),
            operation_timeout: Duration::from_secs(30),
            max_attempts: 5,
        }
    }
}

/// `rds "<label>" { … }`: one RDS instance and what must hold for it.
#[derive(Debug, Clone, PartialEq)]
pub struct RdsSpec {
    pub label: String,
    pub identifier: String,
    pub multi_az: bool,
    pub backup_retention_days: u32,
    pub max_restorable_lag: Duration,
    pub failover_budget: Duration,
    /// `performance_insights = true`: Performance Insights must be on
    /// (`rds.performance_insights`); not declared, not judged.
    pub performance_insights: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PgbouncerSpec {
    pub cluster: String,
    pub service: String,
    pub target_group: String,
    pub min_tasks: u32,
    pub min_azs: u32,
    pub endpoint: Option<String>,
    /// The target group's deregistration delay must be at least this
    /// (default 5 s): with 0 the balancer cuts a stopping task's
    /// connections at once.
    pub min_deregistration_delay: Duration,
    pub max_deregistration_delay: Duration,
    pub max_stop_timeout: Duration,
    /// The signal ECS sends the pgbouncer container on stop: the image's
    /// `STOPSIGNAL`, `SIGTERM` when it sets none. No AWS API shows it, so
    /// the spec declares it (default `SIGTERM`).
    pub stop_signal: String,
    /// The pgbouncer version the image runs (`"1.18"`): before 1.23 SIGTERM
    /// is an immediate shutdown, from 1.23 a safe one.
    pub version: Option<(u32, u32)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EdgeSpec {
    pub load_balancer: String,
    pub hostnames: Vec<String>,
    pub health_path: String,
    pub min_cert_days: u32,
    pub hsts_min_max_age: Duration,
    pub allowed_tls_policies: Vec<String>,
    /// hostname → address, instead of DNS (the sandbox points hostnames at loopback).
    pub resolve: Vec<(String, String)>,
    /// PEM file of an extra trusted CA (the sandbox CA); production uses the platform roots.
    pub ca_file: Option<PathBuf>,
    pub cloudflare: Option<CloudflareSpec>,
    /// `security_headers { … }`: the browser security headers judged on
    /// each hostname and path (`edge.https.security_headers`); `None`: not judged.
    pub security_headers: Option<SecurityHeadersSpec>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CloudflareSpec {
    pub zone: String,
    pub token_env: String,
    pub api_url: Option<String>,
    pub custom_hostnames: Vec<String>,
    /// The managed WAF ruleset `cloudflare.waf` expects executing; `None`:
    /// the one the zone's plan runs (Free: the Managed Free Ruleset).
    pub managed_ruleset: Option<String>,
    /// `custom_hostname_waf = "…"`: how the custom hostnames get a WAF,
    /// judged by `cloudflare.custom_hostname_waf`; `None`: not decided.
    pub custom_hostname_waf: Option<CustomHostnameWaf>,
    /// The token itself, set by a harness (the sandbox); specs name `token_env` instead.
    pub token: Option<String>,
}

/// The decision on WAF coverage for the custom hostnames (the clinics'
/// own domains), inside `edge { cloudflare { … } }`:
///
/// ```hcl
/// custom_hostname_waf = "waf_for_saas"     # Cloudflare's managed ruleset covers them
/// # or
/// custom_hostname_waf = "aws_waf_on_alb"   # AWS WAF on the ALB, with these managed groups:
/// aws_waf_rule_groups = ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"]
/// # or
/// custom_hostname_waf = "accepted_gap"     # no WAF for them: fails unless a waiver accepts it
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomHostnameWaf {
    /// `waf_for_saas`: an enabled managed-ruleset `execute` rule of the
    /// zone's managed-firewall phase covers every custom hostname.
    WafForSaas,
    /// `aws_waf_on_alb`: the web ACL associated with the edge's load
    /// balancer runs each of these AWS managed rule groups, blocking.
    AwsWafOnAlb { rule_groups: Vec<String> },
    /// `accepted_gap`: no WAF in front of the custom hostnames; the check
    /// fails, so only a waiver (justification, expiry) lets the gate pass.
    AcceptedGap,
}

impl CustomHostnameWaf {
    /// The spec's spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            CustomHostnameWaf::WafForSaas => "waf_for_saas",
            CustomHostnameWaf::AwsWafOnAlb { .. } => "aws_waf_on_alb",
            CustomHostnameWaf::AcceptedGap => "accepted_gap",
        }
    }
}

/// `scheduled_task "<name>" { … }`: an EventBridge rule or Scheduler schedule running an ECS task.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledTaskSpec {
    pub name: String,
    pub trigger: ScheduleTrigger,
    pub expression: String,
    pub cluster: String,
    pub task_family: String,
    pub max_age: Duration,
    pub log_group: Option<String>,
    pub success_marker: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ScheduleTrigger {
    Rule(String),
    Schedule(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlarmsSpec {
    pub topic: String,
    pub required: Vec<String>,
    pub route: AlarmRoute,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmRoute {
    Slack,
    Chatbot,
    Lambda,
}

/// `budget "<label>" { … }`: an AWS Budgets cost budget and its alert thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetSpec {
    pub label: String,
    pub name: String,
    pub limit_usd: f64,
    /// Percentages of the limit, default 50, 80, 100.
    pub thresholds: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SesSpec {
    pub domain: String,
    pub mail_from: String,
    pub configuration_set: String,
    pub feedback_topic: String,
    pub feedback_endpoint: String,
    /// Nameserver (`ip:port`) to ask for SPF/DMARC instead of the system resolver.
    pub nameserver: Option<String>,
}

/// `kms { … }`: the KMS keys that must rotate automatically (`kms.rotation`),
/// besides the customer-managed keys the declared resources use (the RDS
/// instances', the secrets', the alarm and SES feedback topics', the buckets').
///
/// ```hcl
/// kms {
///   keys = ["alias/restartix-production-rds", "arn:aws:kms:eu-central-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"]
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KmsSpec {
    /// Key ids, key ARNs, alias names (`alias/…`) or alias ARNs, as declared.
    pub keys: Vec<String>,
}

/// `secret "<label>" { … }`: one Secrets Manager secret (`secrets.<label>`):
/// it exists, is not scheduled for deletion, was rotated within `max_age`
/// when declared, and, only with `check_value = true`, its value matches
/// `pattern`. The value never leaves the process.
///
/// ```hcl
/// secret "stripe_live_key" {
///   name        = "restartix-production/stripe-live-key"
///   max_age     = "90d"          # rotated within (LastRotatedDate)
///   check_value = true           # grants secretsmanager:GetSecretValue on this secret only
///   pattern     = "^sk_live_"    # a Rust `regex`; matched, never shown
///   json_key    = "api_key"      # the value is JSON: match this key's string
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SecretSpec {
    pub label: String,
    /// The secret's name.
    pub name: String,
    /// Its full ARN (with Secrets Manager's 6-character suffix), when
    /// declared: the IAM policy is then scoped to exactly it.
    pub arn: Option<String>,
    /// It must have been rotated within this long (`LastRotatedDate`).
    pub max_age: Option<Duration>,
    /// `check_value = true`: read the value and match it against [`Self::pattern`].
    pub check_value: bool,
    /// The `regex` the value (or its `json_key`) must match; set exactly
    /// when `check_value` is true, and valid (the reader compiles it).
    pub pattern: Option<String>,
    /// The value is a JSON object: match this key's string value.
    pub json_key: Option<String>,
}

impl SecretSpec {
    /// What `DescribeSecret` and `GetSecretValue` are asked for: the ARN when declared, else the name.
    pub fn secret_id(&self) -> &str {
        self.arn.as_deref().unwrap_or(&self.name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NetworkSpec {
    pub vpc: String,
    pub min_azs: u32,
}

/// `s3_bucket "<label>" { … }`: one bucket, judged by
/// `s3.<label>.versioning`, `.encryption` and `.public_access_block` (a
/// label, because bucket names may hold dots, which ids split on).
///
/// ```hcl
/// s3_bucket "uploads" {
///   name       = "restartix-production.uploads"
///   encryption = "aws:kms"             # or "aws:kms:dsse", "AES256"
///   kms_key    = "alias/restartix-uploads"  # an alias, key ARN or key id (KMS only)
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct S3BucketSpec {
    pub label: String,
    /// The bucket's name.
    pub name: String,
    /// The default encryption's algorithm required.
    pub encryption: S3Encryption,
    /// The KMS key the default encryption must use: `alias/…`, an alias or
    /// key ARN, or a key id. Set exactly when `encryption` is a KMS one.
    pub kms_key: Option<String>,
}

/// A bucket's default-encryption algorithm, as S3 names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3Encryption {
    /// `AES256`: SSE-S3, every bucket's default since January 2023.
    Aes256,
    /// `aws:kms`: SSE-KMS.
    AwsKms,
    /// `aws:kms:dsse`: dual-layer SSE-KMS.
    AwsKmsDsse,
}

impl S3Encryption {
    /// Every algorithm, in the order a message lists them.
    pub const ALL: [S3Encryption; 3] = [
        S3Encryption::AwsKms,
        S3Encryption::AwsKmsDsse,
        S3Encryption::Aes256,
    ];

    /// As S3 spells it (`SSEAlgorithm`).
    pub fn as_str(self) -> &'static str {
        match self {
            S3Encryption::Aes256 => "AES256",
            S3Encryption::AwsKms => "aws:kms",
            S3Encryption::AwsKmsDsse => "aws:kms:dsse",
        }
    }

    /// Whether a KMS key is part of it.
    pub fn uses_kms(self) -> bool {
        !matches!(self, S3Encryption::Aes256)
    }
}

/// `logs { … }`: the log groups `logs.retention` judges, each with the
/// retention range it must have.
///
/// ```hcl
/// logs {
///   groups             = ["/ecs/restartix-core-api", "/ecs/restartix-*"]
///   min_retention_days = 30
///   max_retention_days = 400
///   allow_never_expire = false
///   group "/aws/lambda/restartix-audit-export" {   # its own range
///     min_retention_days = 365
///     max_retention_days = 3653
///   }
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LogsSpec {
    /// Every declared group (or family), in file order: the `groups` list,
    /// then the `group` blocks.
    pub groups: Vec<LogGroupRule>,
}

/// One declared log group, or a family (`/ecs/restartix-*`), and its range.
#[derive(Debug, Clone, PartialEq)]
pub struct LogGroupRule {
    /// The exact group name, or a prefix followed by one `*` at the end.
    pub name: String,
    /// Retention must be at least this many days.
    pub min_retention_days: u32,
    /// And at most this many, when set.
    pub max_retention_days: Option<u32>,
    /// Whether "never expire" (no retention set) passes.
    pub allow_never_expire: bool,
}

impl LogGroupRule {
    /// The prefix a family covers (`/ecs/restartix-` of `/ecs/restartix-*`);
    /// `None` for one exact group.
    pub fn family_prefix(&self) -> Option<&str> {
        self.name.strip_suffix('*')
    }
}

/// `metric "<name>" { … }`: a CloudWatch metric (or metric math over several)
/// judged over a window against a threshold.
///
/// ```hcl
/// metric "core_api_5xx_rate" {
///   expression = "100 * FILL(errors, 0) / requests"   # metric math over the queries
///   query "errors" {
///     namespace    = "AWS/ApplicationELB"
///     metric       = "HTTPCode_Target_5XX_Count"
///     target_group = "restartix-production-core-api"  # → TargetGroup and LoadBalancer dimensions
///     statistic    = "Sum"
///   }
///   query "requests" { … }
///   period     = "1m"
///   window     = "30m"
///   comparison = ">"        # breaching when the value is > threshold …
///   threshold  = 0.5
///   sustained  = "10m"      # … for 10 minutes running
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MetricGateSpec {
    pub name: String,
    pub description: Option<String>,
    /// The metrics read; one (and no `expression`) for a plain metric gate.
    pub queries: Vec<MetricQuerySpec>,
    /// Metric math over the query ids; `None`: the single query is the value.
    pub expression: Option<String>,
    pub period: Duration,
    /// How far back from now the gate judges.
    pub window: Duration,
    pub comparison: Comparison,
    pub threshold: f64,
    /// Breaching only when every datapoint over this long a stretch breaches;
    /// `None`: any breaching datapoint fails the gate.
    pub sustained: Option<Duration>,
    pub missing_data: MissingData,
    /// Fewer datapoints in the window than this is `error` (default 1).
    pub min_datapoints: u32,
    /// How old the newest datapoint may be (its period's end before the
    /// window's end): `max_staleness`, by default two periods and five
    /// minutes; `None` (a sparse metric, `missing_data = "not_breaching"`,
    /// that declares none): silence is fine.
    pub max_staleness: Option<Duration>,
    /// More than this share (0–1) of the window's periods without a judged
    /// datapoint is `error`: `max_missing_share`, by default 0.5; `None` (a
    /// sparse metric that declares none): not checked.
    pub max_missing_share: Option<f64>,
    /// A percentile's period judged only when it summarises at least this
    /// many samples (`SampleCount`, read in the same call): `min_samples`,
    /// default 100; a thinner period counts as missing. Only for gates with
    /// a percentile statistic (0 otherwise).
    pub min_samples: u32,
}

impl MetricGateSpec {
    /// Whether any of the gate's queries reads a percentile (`p99`).
    pub fn has_percentile(&self) -> bool {
        self.queries.iter().any(MetricQuerySpec::is_percentile)
    }
}

/// `query "<id>" { … }` of a metric gate (or the gate's own attributes for a
/// plain metric gate, id `m`).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricQuerySpec {
    /// Starts with a lowercase letter (CloudWatch's rule for query ids).
    pub id: String,
    pub namespace: String,
    pub metric: String,
    /// Literal dimensions, name → value.
    pub dimensions: Vec<(String, String)>,
    /// Load balancer name whose ARN suffix is the `LoadBalancer` dimension.
    pub load_balancer: Option<String>,
    /// Target group name whose ARN suffix is the `TargetGroup` dimension
    /// (and its load balancer's the `LoadBalancer` one).
    pub target_group: Option<String>,
    /// `Average`, `Sum`, `Minimum`, `Maximum`, `SampleCount` or a percentile `pNN[.N]`.
    pub statistic: String,
    pub unit: Option<String>,
}

impl MetricQuerySpec {
    /// Whether the statistic is a percentile (`pNN[.N]`).
    pub fn is_percentile(&self) -> bool {
        self.statistic.starts_with('p')
    }
}

/// The breaching side of a metric gate's threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

impl Comparison {
    /// Whether `value` breaches `threshold`.
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::Greater => value > threshold,
            Comparison::GreaterOrEqual => value >= threshold,
            Comparison::Less => value < threshold,
            Comparison::LessOrEqual => value <= threshold,
        }
    }

    /// `>`, `>=`, `<`, `<=`.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Greater => ">",
            Comparison::GreaterOrEqual => ">=",
            Comparison::Less => "<",
            Comparison::LessOrEqual => "<=",
        }
    }
}

/// What a metric gate concludes from a window with no datapoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingData {
    /// `error`: the gate could not see (the default).
    #[default]
    Error,
    /// `fail`, as CloudWatch's `breaching`.
    Breaching,
    /// `pass`, as CloudWatch's `notBreaching`; the report says no data was seen.
    NotBreaching,
}

/// `canary "<name>" { … }`: one request or a sequence of steps through the
/// real edge, each judged on status, body and latency. A canary that writes
/// runs only when the run allows writes (`verify run --allow-writes`), and
/// declares the `undo` steps that put back what it wrote.
///
/// ```hcl
/// canary "t0" {
///   writes   = true                       # any step but GET/HEAD needs this, and an `undo`
///   base_url = "https://api.restartix.pro"
///   secrets  = { password = "VERIFY_SECRET_CANARY_PASSWORD" }   # {{password}} ← $VERIFY_SECRET_CANARY_PASSWORD
///   step "sign_in" {
///     method        = "POST"
///     path          = "/v1/auth/sign-in"
///     json          = { email = "canary@restartix.pro", password = "{{password}}" }
///     expect_status = 200
///     capture       = { token = "/token" }          # JSON pointer into the body
///   }
///   step "orgs" {
///     path    = "/v1/orgs"
///     headers = { authorization = "Bearer {{token}}" }
///     expect { pointer = "/items/0/name", exists = true }
///   }
///   undo "sign_out" {                     # after the steps, on every path
///     undoes        = "sign_in"
///     method        = "DELETE"
///     path          = "/v1/auth/session"
///     headers       = { authorization = "Bearer {{token}}" }
///     expect_status = 204
///   }
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CanarySpec {
    pub name: String,
    pub description: Option<String>,
    /// Whether the canary may send anything but GET/HEAD.
    pub writes: bool,
    pub base_url: String,
    /// Placeholder name → the environment variable holding its value (its
    /// name within the run's secret prefix: [`secret_env`]).
    pub secrets: Vec<(String, String)>,
    /// Bound on each step's request (default 10 s).
    pub timeout: Duration,
    pub steps: Vec<CanaryStep>,
    /// `undo "<name>" { … }`: what puts back the steps' writes, run after
    /// the steps however they ended, in the order declared.
    pub undo: Vec<CanaryUndo>,
}

/// `undo "<name>" { undoes = "<step>", method, path, headers, json | body,
/// expect_status }`: one request that reverses what a writing step wrote.
/// It runs when the step it undoes was sent and every placeholder it uses
/// has a value (a secret, or captured by a step that ran).
#[derive(Debug, Clone, PartialEq)]
pub struct CanaryUndo {
    pub name: String,
    /// The writing step whose write this reverses.
    pub undoes: String,
    /// Default `DELETE`.
    pub method: String,
    /// Appended to the canary's `base_url`; `{{name}}` placeholders allowed.
    pub path: String,
    pub headers: Vec<(String, String)>,
    /// The request body, as a step's.
    pub body: Option<String>,
    /// As [`CanaryStep::body_is_json`].
    pub body_is_json: bool,
    /// The statuses that mean the write is gone (`expect_status = 204` or
    /// `[204, 404]`; default 200, 202 and 204).
    pub expect_status: Vec<u16>,
}

/// One request of a canary.
#[derive(Debug, Clone, PartialEq)]
pub struct CanaryStep {
    pub name: String,
    pub method: String,
    /// Appended to the canary's `base_url`; `{{name}}` placeholders allowed.
    pub path: String,
    pub headers: Vec<(String, String)>,
    /// The request body (JSON text from `json = { … }`, or `body = "…"`).
    pub body: Option<String>,
    /// The body came from `json`: placeholders in it are filled JSON-escaped,
    /// and `content-type: application/json` is sent unless a header sets it.
    pub body_is_json: bool,
    pub expect_status: u16,
    /// The step fails when it took longer (default: none beyond `timeout`).
    pub max_latency: Option<Duration>,
    pub expect: Vec<BodyExpectation>,
    /// Placeholder name → JSON pointer into this step's response body.
    pub capture: Vec<(String, String)>,
    /// `rate_limit { … }`: the step is a burst of requests that a rate
    /// limit must answer 429 from a given one on ([`RateLimit`]).
    pub rate_limit: Option<RateLimit>,
}

/// `rate_limit { … }` inside a canary step (`requests = 6`, `limited_from = 6`): the
/// step sends its request `requests` times, one after another; each before
/// the `limited_from`th must not be answered 429 (and must be the step's
/// `expect_status` when it sets one), that one and every later one must be
/// 429. A canary with such a step runs after every other canary of the run
/// (an IP limit would throttle them).
///
/// ```hcl
/// step "sign_in_burst" {
///   method        = "POST"
///   path          = "/v1/auth/sign-in"
///   json          = { email = "rate-limit-{{run_id}}@restartix.pro", password = "not-the-password" }
///   expect_status = 401          # each request before the limit (default: anything but 429)
///   rate_limit {
///     requests     = 6           # 2 to 100
///     limited_from = 6           # 429 from the 6th on (2 to `requests`)
///     within       = "30s"       # every request sent and answered within this (default 60s, at most 5m)
///     interval     = "0s"        # pause between requests (default none: as fast as answered)
///   }
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimit {
    /// How many requests the step sends (2 to [`RateLimit::MAX_REQUESTS`]).
    pub requests: u32,
    /// The first request (1-based) that must be answered 429.
    pub limited_from: u32,
    /// Bound on the whole burst, every request sent and answered.
    pub within: Duration,
    /// Pause between one answer and the next request.
    pub interval: Duration,
    /// The status each request before `limited_from` must answer (the
    /// step's `expect_status`); `None`: any but 429.
    pub status_before: Option<u16>,
}

impl RateLimit {
    /// The most requests one step may send.
    pub const MAX_REQUESTS: u32 = 100;
    /// The longest `within`.
    pub const MAX_WITHIN: Duration = Duration::from_secs(300);
    /// `within` when the spec sets none.
    pub const DEFAULT_WITHIN: Duration = Duration::from_secs(60);
}

impl CanarySpec {
    /// Whether a step is a rate-limit burst: the run puts this canary after
    /// every other one.
    pub fn rate_limited(&self) -> bool {
        self.steps.iter().any(|s| s.rate_limit.is_some())
    }
}

/// The placeholder every canary may use without declaring it: the run's id
/// (`{{run_id}}`, as sent in `X-Verify-Canary`), e.g. to make an address
/// unique to the run.
pub const RUN_ID_PLACEHOLDER: &str = "run_id";

/// `expect { pointer = "/items", contains = "…" }`: one assertion on a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct BodyExpectation {
    /// A JSON pointer (RFC 6901); `""` is the whole body.
    pub pointer: String,
    pub test: BodyTest,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BodyTest {
    /// The value is there and is not `null`.
    Exists,
    /// The value equals this JSON value (strings may hold `{{placeholders}}`).
    Equals(serde_json::Value),
    /// A string holding this text, or an array with an element equal to it.
    Contains(serde_json::Value),
}

/// `drills { … }`: whether drills may run here, and how each is bounded.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DrillsSpec {
    /// Drills change state; an environment refuses them unless this is true.
    pub allowed: bool,
    /// `rds_failover { … }`; `None` when the spec has no such block (the
    /// drill then runs with [`RdsFailoverDrill::defaults`] if there is exactly
    /// one `rds` block).
    pub rds_failover: Option<RdsFailoverDrill>,
    /// `pgbouncer_drain { … }`; `None` when the spec has no such block (the
    /// drill then runs with [`PgbouncerDrainDrill::defaults`]).
    pub pgbouncer_drain: Option<PgbouncerDrainDrill>,
    /// `pitr_restore { … }`; `None` when the spec has no such block (the
    /// drill then runs with [`PitrRestoreDrill::defaults`] if there is
    /// exactly one `rds` block).
    pub pitr_restore: Option<PitrRestoreDrill>,
    /// `alarm_route { … }`; `None` when the spec has no such block (the
    /// drill needs one: its `alarm` has no default).
    pub alarm_route: Option<AlarmRouteDrill>,
    /// `az_outage { … }`; `None` when the spec has no such block (the drill
    /// needs one: its `az` has no default).
    pub az_outage: Option<AzOutageDrill>,
}

/// `drills { az_outage { … } }`: one AZ cut (its database member and
/// pgbouncer tasks gone, their addresses black-holed) for `duration`, then
/// back; on AWS a declared FIS experiment template does the cut.
#[derive(Debug, Clone, PartialEq)]
pub struct AzOutageDrill {
    /// The AZ cut (`eu-central-1a`).
    pub az: String,
    /// How long the AZ stays cut (default 30 s; on AWS the template's own
    /// actions decide, this bounds the wait for its end).
    pub duration: Duration,
    /// Client-observed unavailability allowed (default: the `rds` block's
    /// `failover_budget`).
    pub max_unavailable: Option<Duration>,
    /// The pgbouncer service back at its desired count across ≥ 2 AZs, and
    /// the database failed over, within this long of the cut (default 5 min).
    pub max_recovery: Duration,
    /// The whole drill's bound (default 20 min).
    pub timeout: Duration,
    /// The FIS experiment template started on AWS (its id, `EXT…`); required there.
    pub fis_experiment_template: Option<String>,
    /// The `rds "<label>"` block whose instance must fail over (default: the only one).
    pub rds: Option<String>,
    /// The environment variable holding the probes' database URL, through
    /// the load-balanced pgbouncer endpoint.
    pub database_url_env: String,
    /// Filled in by the harness (on the sandbox from its state); never read from the spec.
    pub database_url: Option<String>,
    /// The stand-ins' control API (the sandbox's cut); filled in by the harness.
    pub sandbox_control_url: Option<String>,
    /// Stop condition: these CloudWatch alarms (on AWS the template's stop
    /// conditions must be exactly these).
    pub stop_alarms: Vec<String>,
    /// What must work again once the AZ is back.
    pub dependents: Vec<Dependent>,
    /// Sampling interval of the probes (default 50 ms, at most 50 ms).
    pub probe_interval: Duration,
    /// Bound on one connection attempt (default 2 s).
    pub connect_timeout: Duration,
    /// Bound on one statement (default 2 s).
    pub statement_timeout: Duration,
    /// PEM roots trusted beside the public ones for the probes' TLS.
    pub ca_file: Option<PathBuf>,
}

impl AzOutageDrill {
    /// The drill with `az` and nothing else set.
    pub fn defaults(az: &str) -> Self {
        AzOutageDrill {
            az: az.to_string(),
            duration: Duration::from_secs(30),
            max_unavailable: None,
            max_recovery: Duration::from_secs(5 * 60),
            timeout: Duration::from_secs(20 * 60),
            fis_experiment_template: None,
            rds: None,
            database_url_env: secret_env::default_name("DRILL_PGBOUNCER_URL"),
            database_url: None,
            sandbox_control_url: None,
            stop_alarms: Vec::new(),
            dependents: Vec::new(),
            probe_interval: Duration::from_millis(50),
            connect_timeout: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(2),
            ca_file: None,
        }
    }
}

/// `drills { alarm_route { … } }`: a dedicated test alarm put into `ALARM`
/// with `SetAlarmState`, its notification followed along the declared route.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmRouteDrill {
    /// The alarm set to `ALARM` (metric or composite): a dedicated test
    /// alarm whose actions are SNS topics only.
    pub alarm: String,
    /// The route's topic (a name in the spec's region and account, or an
    /// ARN); default the `alarms` block's `topic`.
    pub topic: Option<String>,
    /// The notification must be delivered within this long of the
    /// `SetAlarmState` call (default 2 min).
    pub within: Duration,
    /// `/aws/lambda/<fn>`: a Lambda forwarder's own log group (this region),
    /// where a line naming this run proves delivery.
    pub forwarder_log_group: Option<String>,
    /// `/aws/chatbot/<configuration>`: AWS Chatbot's log group, read in
    /// us-east-1 (where Chatbot writes its logs).
    pub chatbot_log_group: Option<String>,
    /// Stop condition: any of these CloudWatch alarms in `ALARM` (or
    /// unreadable) refuses the drill before the alarm is set, and ends the
    /// wait (the alarm put back).
    pub stop_alarms: Vec<String>,
    /// `dependent "<name>" { … }` blocks, judged after the alarm is put back.
    pub dependents: Vec<Dependent>,
}

impl AlarmRouteDrill {
    /// The default delivery bound.
    pub const DEFAULT_WITHIN: Duration = Duration::from_secs(120);
}

/// `dependent "<name>" { canary = "<canary>" | url = "https://…", recover_within = "60s" }`
/// inside a drill's block: something that relies on what the drill breaks
/// (the application behind a database), judged after the drill saw
/// recovery. A database that came back while the application never
/// reconnected is a failed drill.
#[derive(Debug, Clone, PartialEq)]
pub struct Dependent {
    /// The block's label: what the timeline and the assertion call it.
    pub name: String,
    /// What is tried until it succeeds.
    pub target: DependentTarget,
    /// How long after recovery it may take to succeed again.
    pub recover_within: Duration,
}

/// What a [`Dependent`] tries.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DependentTarget {
    /// A `canary "<name>"` of the spec, run as `canary.<name>` runs (a
    /// writing canary only with the run-time opt-in).
    Canary(String),
    /// An https URL that must answer 2xx (a health endpoint).
    Url(String),
}

/// `drills { pitr_restore { … } }`: a point-in-time restore into a scratch
/// instance, judged by marker rows written before and after the restore time.
#[derive(Debug, Clone, PartialEq)]
pub struct PitrRestoreDrill {
    /// The `rds "<label>"` block whose instance is restored (default: the only one).
    pub rds: Option<String>,
    /// The environment variable holding the source's database URL (the
    /// master user; the scratch instance keeps its credentials).
    pub database_url_env: String,
    /// Filled in by the harness; never read from the spec.
    pub database_url: Option<String>,
    /// The restore must be available within this long (default 1 h).
    pub max_duration: Duration,
    /// How long to wait for the source's `LatestRestorableTime` to pass the
    /// restore time (RDS uploads WAL every 5 minutes; default 15 min).
    pub restorable_within: Duration,
    /// Bound on one connection attempt (default 5 s).
    pub connect_timeout: Duration,
    /// Bound on one statement (default 5 s).
    pub statement_timeout: Duration,
    /// PEM roots trusted beside the public ones (Amazon's `global-bundle.pem`).
    pub ca_file: Option<PathBuf>,
    /// Stop condition: any of these CloudWatch alarms in `ALARM` (or
    /// unreadable) refuses the drill before its markers are written, and
    /// aborts it (the scratch instance deleted) while it waits.
    pub stop_alarms: Vec<String>,
    /// `dependent "<name>" { … }` blocks: what relies on what the drill
    /// breaks, each of which must work again within its `recover_within`
    /// once the drill has seen recovery.
    pub dependents: Vec<Dependent>,
}

impl PitrRestoreDrill {
    /// The drill as a `pitr_restore {}` block with nothing set.
    pub fn defaults() -> Self {
        PitrRestoreDrill {
            rds: None,
            database_url_env: secret_env::default_name("DRILL_DATABASE_URL"),
            database_url: None,
            max_duration: Duration::from_secs(3600),
            restorable_within: Duration::from_secs(15 * 60),
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(5),
            ca_file: None,
            stop_alarms: Vec::new(),
            dependents: Vec::new(),
        }
    }
}

/// `drills { pgbouncer_drain { … } }`: one pgbouncer task stopped under a
/// concurrent client workload through the load-balanced endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct PgbouncerDrainDrill {
    /// The environment variable holding the workload's database URL, through
    /// the load-balanced pgbouncer endpoint: never a password in the spec.
    pub database_url_env: String,
    /// Filled in by the harness from `database_url_env` (or, on the sandbox,
    /// from its state); never read from the spec.
    pub database_url: Option<String>,
    /// Concurrent clients (default 8).
    pub clients: u32,
    /// How long each transaction stays open between `BEGIN` and `COMMIT`
    /// (default 20 ms): a drain must let transactions in flight finish.
    pub hold: Duration,
    /// Pause between one client's transactions (default 10 ms, at most 50 ms).
    pub interval: Duration,
    /// Connection errors before `BEGIN` allowed (default: one per client).
    pub max_connect_errors: Option<u32>,
    /// The service must be back to its desired count across the declared
    /// AZs within this long after the stop (default 5 min).
    pub max_recovery: Duration,
    /// The whole drill's bound (default 15 min; longer than `max_recovery`).
    pub timeout: Duration,
    /// Stop condition: any of these CloudWatch alarms in `ALARM` aborts the drill.
    pub stop_alarms: Vec<String>,
    /// `dependent "<name>" { … }` blocks: what relies on what the drill
    /// breaks, each of which must work again within its `recover_within`
    /// once the drill has seen recovery.
    pub dependents: Vec<Dependent>,
    /// Bound on one connection attempt (default 2 s).
    pub connect_timeout: Duration,
    /// Bound on one statement (default 2 s).
    pub statement_timeout: Duration,
    /// PEM roots trusted beside the public ones for the workload's TLS.
    pub ca_file: Option<PathBuf>,
    /// The AZ whose task is stopped; `None` (the default): the task
    /// carrying the most workload clients.
    pub stop_az: Option<String>,
}

impl PgbouncerDrainDrill {
    /// The drill as a `pgbouncer_drain {}` block with nothing set.
    pub fn defaults() -> Self {
        PgbouncerDrainDrill {
            database_url_env: secret_env::default_name("DRILL_PGBOUNCER_URL"),
            database_url: None,
            clients: 8,
            hold: Duration::from_millis(20),
            interval: Duration::from_millis(10),
            max_connect_errors: None,
            max_recovery: Duration::from_secs(5 * 60),
            timeout: Duration::from_secs(15 * 60),
            stop_alarms: Vec::new(),
            dependents: Vec::new(),
            connect_timeout: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(2),
            ca_file: None,
            stop_az: None,
        }
    }

    /// The connection-error bound in force: declared, or one per client.
    pub fn connect_error_bound(&self) -> u32 {
        self.max_connect_errors.unwrap_or(self.clients)
    }
}

/// `drills { rds_failover { … } }`: a forced Multi-AZ failover, judged by
/// what a Postgres client saw.
#[derive(Debug, Clone, PartialEq)]
pub struct RdsFailoverDrill {
    /// The `rds "<label>"` block whose instance fails over (default: the only one).
    pub rds: Option<String>,
    /// The environment variable holding the probe's database URL
    /// (`postgres://user:password@host:port/db`): never a password in the spec.
    pub database_url_env: String,
    /// Filled in by the harness from `database_url_env` (or, on the sandbox,
    /// from its state); never read from the spec.
    pub database_url: Option<String>,
    /// Client-observed unavailability allowed; default the `rds` block's
    /// `failover_budget` (120 s), so the state check and the drill agree.
    pub max_unavailable: Option<Duration>,
    /// The whole wait for recovery (default 15 min).
    pub timeout: Duration,
    /// Stop condition: an outage this long aborts the drill (default 5 min;
    /// must exceed `max_unavailable`).
    pub abort_unavailable: Duration,
    /// Stop condition: any of these CloudWatch alarms in `ALARM` aborts the drill.
    pub stop_alarms: Vec<String>,
    /// `dependent "<name>" { … }` blocks: what relies on what the drill
    /// breaks, each of which must work again within its `recover_within`
    /// once the drill has seen recovery.
    pub dependents: Vec<Dependent>,
    /// How often each probe samples (default 50 ms, at most 50 ms).
    pub probe_interval: Duration,
    /// Bound on one connection attempt (default 2 s).
    pub connect_timeout: Duration,
    /// Bound on one statement (default 2 s).
    pub statement_timeout: Duration,
    /// PEM roots trusted beside the public ones for the probe's TLS (for
    /// RDS, Amazon's `global-bundle.pem`); relative to the spec's directory.
    pub ca_file: Option<PathBuf>,
    /// `proxy_endpoint = "host:port"`: a proxy in front of the instance
    /// (RDS Proxy, a pooler) the probes may connect through instead of the
    /// instance's own endpoint; host and port. Without it the probe URL must
    /// name the instance's endpoint (`DescribeDBInstances`).
    pub proxy_endpoint: Option<(String, u16)>,
}

impl RdsFailoverDrill {
    /// The drill as an `rds_failover {}` block with nothing set.
    pub fn defaults() -> Self {
        RdsFailoverDrill {
            rds: None,
            database_url_env: secret_env::default_name("DRILL_DATABASE_URL"),
            database_url: None,
            max_unavailable: None,
            timeout: Duration::from_secs(15 * 60),
            abort_unavailable: Duration::from_secs(5 * 60),
            stop_alarms: Vec::new(),
            dependents: Vec::new(),
            probe_interval: Duration::from_millis(50),
            connect_timeout: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(2),
            ca_file: None,
            proxy_endpoint: None,
        }
    }
}

/// Why a spec could not be used. Displayed as `file:line:column: message`.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{}: cannot read environment spec: {source}", file.display())]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: {message}", file.display())]
    Invalid {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

/// `rds_snapshot "<label>" { … }`: a manual snapshot of one instance that
/// must exist, available, encrypted and recent (`rds.snapshots.<label>`):
/// the launch checklist's "known-clean" and "post-import" snapshots.
///
/// ```hcl
/// rds_snapshot "known_clean" {
///   instance = "core"                              # an `rds` block's label, or an instance identifier
///   tag      = { "verify:purpose" = "known-clean" } # and/or name_prefix = "restartix-known-clean-"
///   max_age  = "8d"
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RdsSnapshotSpec {
    pub label: String,
    /// The DB instance identifier (an `rds` block's label is read as its identifier).
    pub instance: String,
    /// Tags (key, value) the snapshot must carry, every one.
    pub tags: Vec<(String, String)>,
    /// The snapshot identifier must start with this (RDS keeps identifiers lowercase).
    pub name_prefix: Option<String>,
    /// The newest match must have been created within this long.
    pub max_age: Duration,
}

/// `mail { … }`: every declared domain has MX records, each pointing at a
/// host of the declared provider (`dns.mx`).
///
/// ```hcl
/// mail {
///   domains  = ["restartix.pro"]
///   provider = "google_workspace"     # or mx_hosts = ["aspmx.l.google.com", "*.mail.protection.outlook.com"]
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MailSpec {
    pub domains: Vec<String>,
    /// The provider named (`provider = "…"`, a key of [`MX_PROVIDERS`]); `None` with `mx_hosts`.
    pub provider: Option<String>,
    /// The MX hosts allowed, lowercase without a trailing dot: the
    /// provider's ([`MX_PROVIDERS`]) or the declared `mx_hosts`. `*.suffix`
    /// matches any name ending in `.suffix`.
    pub mx_hosts: Vec<String>,
    /// Nameserver (`ip:port`) to ask instead of the system resolver.
    pub nameserver: Option<String>,
    /// Bound on each lookup (default 5 s).
    pub timeout: Duration,
}

/// `launch { window = ["2027-01-18T06:00:00Z", "2027-01-25T06:00:00Z"] }`:
/// when the launch happens, in UTC. `maintenance.rds` and
/// `maintenance.health` fail on RDS maintenance or an AWS Health scheduled
/// change that falls inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaunchSpec {
    /// `[from, to)`: from before to, both RFC 3339 times in UTC (`Z`).
    pub window: (std::time::SystemTime, std::time::SystemTime),
}

/// The mail providers `mail { provider = "…" }` knows, each with the MX
/// hosts its documentation tells customers to publish (`*.` a suffix).
pub const MX_PROVIDERS: &[(&str, &[&str])] = &[
    (
        "google_workspace",
        &[
            "smtp.google.com",
            "aspmx.l.google.com",
            "alt1.aspmx.l.google.com",
            "alt2.aspmx.l.google.com",
            "alt3.aspmx.l.google.com",
            "alt4.aspmx.l.google.com",
            "aspmx2.googlemail.com",
            "aspmx3.googlemail.com",
            "aspmx4.googlemail.com",
            "aspmx5.googlemail.com",
        ],
    ),
    (
        "microsoft_365",
        &["*.mail.protection.outlook.com", "*.mx.microsoft"],
    ),
    (
        "zoho",
        &[
            "mx.zoho.com",
            "mx2.zoho.com",
            "mx3.zoho.com",
            "mx.zoho.eu",
            "mx2.zoho.eu",
            "mx3.zoho.eu",
        ],
    ),
    (
        "fastmail",
        &[
            "in1-smtp.messagingengine.com",
            "in2-smtp.messagingengine.com",
        ],
    ),
    ("proton", &["mail.protonmail.ch", "mailsec.protonmail.ch"]),
    (
        "amazon_workmail",
        &[
            "inbound-smtp.us-east-1.amazonaws.com",
            "inbound-smtp.us-west-2.amazonaws.com",
            "inbound-smtp.eu-west-1.amazonaws.com",
        ],
    ),
];

/// `edge { security_headers { … } }`: the headers a browser needs to keep
/// the app from being framed, sniffed or leaking its URLs, judged on every
/// declared hostname at each path (`edge.https.security_headers`).
///
/// ```hcl
/// security_headers {
///   hostnames         = ["app.restartix.pro"]      # default: the edge's hostnames
///   paths             = ["/", "/app"]
///   require_csp       = true                     # a Content-Security-Policy header (default false)
///   require_hsts      = true                     # Strict-Transport-Security on these paths too (default false)
///   referrer_policies = ["strict-origin-when-cross-origin", "no-referrer"]
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityHeadersSpec {
    /// The hostnames requested (default: the `edge` block's `hostnames`).
    pub hostnames: Vec<String>,
    /// Paths requested on each hostname (default `["/"]`).
    pub paths: Vec<String>,
    /// A Content-Security-Policy header is required (else `frame-ancestors`
    /// or X-Frame-Options suffices for framing).
    pub require_csp: bool,
    /// Strict-Transport-Security with a `max-age` is required on these paths.
    pub require_hsts: bool,
    /// The Referrer-Policy values allowed (default: every valid one but `unsafe-url`).
    pub referrer_policies: Vec<String>,
}

/// The Referrer-Policy tokens browsers know (the W3C Referrer Policy spec).
pub const REFERRER_POLICIES: [&str; 8] = [
    "no-referrer",
    "no-referrer-when-downgrade",
    "same-origin",
    "origin",
    "strict-origin",
    "origin-when-cross-origin",
    "strict-origin-when-cross-origin",
    "unsafe-url",
];
