//! HCL → [`Environment`], strictly, with a position on every error.
//!
//! Built on `hcl-edit` (the span-keeping parser of the hcl-rs project) so that
//! an unknown key or a wrong value points at its own line and column.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hcl_edit::Span;
use hcl_edit::expr::{Expression, TraversalOperator};
use hcl_edit::structure::{Attribute, Block, BlockLabel, Body, Structure};
use terraform_json::Outputs;

use super::*;

mod alarm_route;
mod az_outage;
mod dependents;
mod gates;
mod launch;
mod protection;
mod storage;
mod terraform;

/// Reads and validates `path`.
pub fn load(path: &Path) -> Result<Environment, SpecError> {
    load_with(path, None)
}

/// [`load`], with the Terraform outputs that `output.NAME` references read
/// (`None`: a spec with such a reference is an error naming its position).
pub fn load_with(path: &Path, outputs: Option<&Outputs>) -> Result<Environment, SpecError> {
    let source = read_utf8(path)?;
    parse_with(&source, path, outputs)
}

/// Reads `path` as UTF-8 text. A file that cannot be read is [`SpecError::Read`];
/// one that is not UTF-8 is [`SpecError::Invalid`] at the line and column of
/// its first bad byte (the column counts the characters before it, plus one).
pub fn read_utf8(path: &Path) -> Result<String, SpecError> {
    let bytes = std::fs::read(path).map_err(|source| SpecError::Read {
        file: path.to_path_buf(),
        source,
    })?;
    decode_utf8(bytes, path)
}

/// [`read_utf8`] on bytes already read; `file` is only used in the error.
pub fn decode_utf8(bytes: Vec<u8>, file: &Path) -> Result<String, SpecError> {
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let valid_up_to = e.utf8_error().valid_up_to();
        // The prefix up to the first bad byte is valid UTF-8 by definition.
        let before = std::str::from_utf8(&bytes[..valid_up_to]).unwrap_or_default();
        let line = before.matches('\n').count() + 1;
        let column = before
            .rsplit('\n')
            .next()
            .map(|l| l.chars().count())
            .unwrap_or(0)
            + 1;
        let bad = bytes.get(valid_up_to).copied().unwrap_or_default();
        SpecError::Invalid {
            file: file.to_path_buf(),
            line,
            column,
            message: format!("the file is not valid UTF-8 (byte 0x{bad:02X}); save it as UTF-8"),
        }
    })
}

/// Parses and validates a spec; `file` is only used in error messages.
pub fn parse(source: &str, file: &Path) -> Result<Environment, SpecError> {
    parse_with(source, file, None)
}

/// [`parse`], with the Terraform outputs `output.NAME` references read.
pub fn parse_with(
    source: &str,
    file: &Path,
    outputs: Option<&Outputs>,
) -> Result<Environment, SpecError> {
    let doc = Doc {
        file,
        source,
        outputs,
    };
    let body = hcl_edit::parser::parse_body(source).map_err(|e| SpecError::Invalid {
        file: file.to_path_buf(),
        line: e.location().line(),
        column: e.location().column(),
        message: format!("HCL syntax error: {}", e.message()),
    })?;
    let mut top = Section::new(&doc, &body, "the environment spec".into(), Some(0..0))?;
    let name = top.required_string("environment")?;
    let region = top.required_string("region")?;
    let account_id = top.required_string("account_id")?;
    if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(top.invalid_value("account_id", "a 12-digit AWS account id"));
    }
    let aws = match top.single_block("aws")? {
        Some(block) => aws_access(&doc, block)?,
        None => AwsAccess::default(),
    };
    let rds: Vec<RdsSpec> = top
        .labelled_blocks("rds")?
        .into_iter()
        .map(|(label, b)| rds(&doc, label, b))
        .collect::<Result<_, _>>()?;
    let pgbouncer = top
        .single_block("pgbouncer")?
        .map(|b| pgbouncer(&doc, b))
        .transpose()?;
    let edge = top
        .single_block("edge")?
        .map(|b| edge(&doc, b))
        .transpose()?;
    let scheduled_tasks = top
        .labelled_blocks("scheduled_task")?
        .into_iter()
        .map(|(label, b)| scheduled_task(&doc, label, b))
        .collect::<Result<_, _>>()?;
    let alarms = top
        .single_block("alarms")?
        .map(|b| alarms(&doc, b))
        .transpose()?;
    let budgets = top
        .labelled_blocks("budget")?
        .into_iter()
        .map(|(label, b)| budget(&doc, label, b))
        .collect::<Result<_, _>>()?;
    let ses = top.single_block("ses")?.map(|b| ses(&doc, b)).transpose()?;
    let network = top
        .single_block("network")?
        .map(|b| network(&doc, b))
        .transpose()?;
    let kms = top
        .single_block("kms")?
        .map(|b| protection::kms(&doc, b))
        .transpose()?;
    let secrets = top
        .labelled_blocks("secret")?
        .into_iter()
        .map(|(label, b)| protection::secret(&doc, label, b))
        .collect::<Result<_, _>>()?;
    let s3_buckets = top
        .labelled_blocks("s3_bucket")?
        .into_iter()
        .map(|(label, b)| storage::s3_bucket(&doc, label, b))
        .collect::<Result<_, _>>()?;
    let logs = top
        .single_block("logs")?
        .map(|b| storage::logs(&doc, b))
        .transpose()?;
    let metrics = top
        .labelled_blocks("metric")?
        .into_iter()
        .map(|(label, b)| gates::metric(&doc, label, b))
        .collect::<Result<_, _>>()?;
    let canaries = top
        .labelled_blocks("canary")?
        .into_iter()
        .map(|(label, b)| gates::canary(&doc, label, b))
        .collect::<Result<Vec<_>, _>>()?;
    let rds_snapshots = top
        .labelled_blocks("rds_snapshot")?
        .into_iter()
        .map(|(label, b)| launch::rds_snapshot(&doc, label, b, &rds))
        .collect::<Result<_, _>>()?;
    let mail = top
        .single_block("mail")?
        .map(|b| launch::mail(&doc, b))
        .transpose()?;
    let launch = top
        .single_block("launch")?
        .map(|b| launch::launch(&doc, b))
        .transpose()?;
    let drills = match top.single_block("drills")? {
        Some(block) => drills(&doc, block, &rds, &canaries)?,
        None => DrillsSpec::default(),
    };
    let terraform = match top.single_block("terraform")? {
        Some(block) => terraform::settings(&doc, block)?,
        None => TerraformInputs::default(),
    };
    top.finish()?;
    Ok(Environment {
        name,
        region,
        account_id,
        aws,
        rds,
        pgbouncer,
        edge,
        scheduled_tasks,
        alarms,
        budgets,
        ses,
        network,
        kms,
        secrets,
        s3_buckets,
        logs,
        metrics,
        canaries,
        rds_snapshots,
        mail,
        launch,
        drills,
        terraform,
        source: file.to_path_buf(),
        declarations: declarations(&doc, &body),
    })
}

/// Where every top-level block starts, and every block inside an
/// unlabelled one (`edge { cloudflare { … } }` is `edge.cloudflare`).
fn declarations(doc: &Doc, body: &Body) -> Vec<Declaration> {
    let declared = |block: &Block, name: String| {
        let (line, column) = doc.position(block.ident.span());
        Declaration {
            block: name,
            label: block.labels.first().map(|l| label_str(l).to_string()),
            line,
            column,
        }
    };
    let mut out = Vec::new();
    for block in body.blocks() {
        let name = block.ident.as_str();
        out.push(declared(block, name.to_string()));
        if block.labels.is_empty() {
            for inner in block.body.blocks() {
                out.push(declared(inner, format!("{name}.{}", inner.ident.as_str())));
            }
        }
    }
    out
}

fn drills(
    doc: &Doc,
    block: &Block,
    rds: &[RdsSpec],
    canaries: &[CanarySpec],
) -> Result<DrillsSpec, SpecError> {
    let mut s = Section::of_block(doc, block)?;
    let allowed = s.bool("allowed")?.unwrap_or(false);
    let rds_failover = s
        .single_block("rds_failover")?
        .map(|b| rds_failover(doc, b, rds, canaries))
        .transpose()?;
    let pgbouncer_drain = s
        .single_block("pgbouncer_drain")?
        .map(|b| pgbouncer_drain(doc, b, canaries))
        .transpose()?;
    let pitr_restore = s
        .single_block("pitr_restore")?
        .map(|b| pitr_restore(doc, b, rds, canaries))
        .transpose()?;
    let alarm_route = alarm_route::alarm_route(doc, &mut s, canaries)?;
    let az_outage = az_outage::az_outage(doc, &mut s, rds, canaries)?;
    s.finish()?;
    Ok(DrillsSpec {
        allowed,
        rds_failover,
        pgbouncer_drain,
        pitr_restore,
        alarm_route,
        az_outage,
    })
}

fn pitr_restore(
    doc: &Doc,
    block: &Block,
    rds: &[RdsSpec],
    canaries: &[CanarySpec],
) -> Result<PitrRestoreDrill, SpecError> {
    let mut s = Section::of_block(doc, block)?;
    let d = PitrRestoreDrill::defaults();
    let drill = PitrRestoreDrill {
        rds: s.string("rds")?,
        database_url_env: s.string("database_url_env")?.unwrap_or(d.database_url_env),
        database_url: None,
        max_duration: s.duration("max_duration")?.unwrap_or(d.max_duration),
        restorable_within: s
            .duration("restorable_within")?
            .unwrap_or(d.restorable_within),
        connect_timeout: s.duration("connect_timeout")?.unwrap_or(d.connect_timeout),
        statement_timeout: s
            .duration("statement_timeout")?
            .unwrap_or(d.statement_timeout),
        ca_file: s.string("ca_file")?.map(|f| spec_relative(doc, f)),
        stop_alarms: s.strings("stop_alarms")?.unwrap_or_default(),
        dependents: dependents::dependents(doc, &mut s, canaries)?,
    };
    match &drill.rds {
        Some(label) if !rds.iter().any(|r| &r.label == label) => {
            return Err(s.invalid_value("rds", "the label of an `rds` block of this spec"));
        }
        None if rds.len() != 1 => {
            return Err(
                s.invalid_value("rds", "set: the spec has no single `rds` block to restore")
            );
        }
        _ => {}
    }
    if drill.database_url_env.trim().is_empty() {
        return Err(s.invalid_value("database_url_env", "a non-empty variable name"));
    }
    for (key, value) in [
        ("max_duration", drill.max_duration),
        ("restorable_within", drill.restorable_within),
        ("connect_timeout", drill.connect_timeout),
        ("statement_timeout", drill.statement_timeout),
    ] {
        if value.is_zero() {
            return Err(s.invalid_value(key, "a duration above zero"));
        }
    }
    s.finish()?;
    Ok(drill)
}

/// A `ca_file` as written, relative to the spec's directory.
fn spec_relative(doc: &Doc, file: String) -> PathBuf {
    let f = PathBuf::from(file);
    match doc.file.parent() {
        Some(dir) if f.is_relative() => dir.join(f),
        _ => f,
    }
}

fn pgbouncer_drain(
    doc: &Doc,
    block: &Block,
    canaries: &[CanarySpec],
) -> Result<PgbouncerDrainDrill, SpecError> {
    let mut s = Section::of_block(doc, block)?;
    let d = PgbouncerDrainDrill::defaults();
    let drill = PgbouncerDrainDrill {
        database_url_env: s.string("database_url_env")?.unwrap_or(d.database_url_env),
        database_url: None,
        clients: s.count("clients", 1)?.unwrap_or(d.clients),
        hold: s.duration("hold")?.unwrap_or(d.hold),
        interval: s.duration("interval")?.unwrap_or(d.interval),
        max_connect_errors: s.count("max_connect_errors", 0)?,
        max_recovery: s.duration("max_recovery")?.unwrap_or(d.max_recovery),
        timeout: s.duration("timeout")?.unwrap_or(d.timeout),
        stop_alarms: s.strings("stop_alarms")?.unwrap_or_default(),
        dependents: dependents::dependents(doc, &mut s, canaries)?,
        connect_timeout: s.duration("connect_timeout")?.unwrap_or(d.connect_timeout),
        statement_timeout: s
            .duration("statement_timeout")?
            .unwrap_or(d.statement_timeout),
        ca_file: s.string("ca_file")?.map(|f| spec_relative(doc, f)),
        stop_az: s.string("stop_az")?,
    };
    if drill.database_url_env.trim().is_empty() {
        return Err(s.invalid_value("database_url_env", "a non-empty variable name"));
    }
    if drill
        .stop_az
        .as_deref()
        .is_some_and(|az| az.trim().is_empty())
    {
        return Err(s.invalid_value("stop_az", "an availability zone name"));
    }
    if drill.clients > 256 {
        return Err(s.invalid_value("clients", "between 1 and 256"));
    }
    if drill.hold > Duration::from_secs(1) {
        return Err(s.invalid_value("hold", "at most 1s (short transactions)"));
    }
    if drill.interval.is_zero() || drill.interval > Duration::from_millis(50) {
        return Err(s.invalid_value("interval", "between 1ms and 50ms"));
    }
    for (key, value) in [
        ("max_recovery", drill.max_recovery),
        ("timeout", drill.timeout),
        ("connect_timeout", drill.connect_timeout),
        ("statement_timeout", drill.statement_timeout),
    ] {
        if value.is_zero() {
            return Err(s.invalid_value(key, "a duration above zero"));
        }
    }
    if drill.statement_timeout <= drill.hold {
        return Err(s.invalid_value(
            "statement_timeout",
            "longer than hold, or every transaction times out",
        ));
    }
    if drill.timeout <= drill.max_recovery {
        return Err(s.invalid_value(
            "timeout",
            &format!(
                "longer than max_recovery ({})",
                humantime::format_duration(drill.max_recovery)
            ),
        ));
    }
    s.finish()?;
    Ok(drill)
}

/// `host:port` or `[v6]:port` as (host, port); `None` when it is not one.
fn host_port(text: &str) -> Option<(String, u16)> {
    let (host, port) = text.trim().rsplit_once(':')?;
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.strip_suffix(']')?,
        None if host.contains(':') => return None,
        None => host,
    };
    let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
    let bad = |c: char| c.is_whitespace() || "/?@#[]".contains(c);
    (!host.is_empty() && !host.contains(bad)).then(|| (host.to_string(), port))
}

fn rds_failover(
    doc: &Doc,
    block: &Block,
    rds: &[RdsSpec],
    canaries: &[CanarySpec],
) -> Result<RdsFailoverDrill, SpecError> {
    let mut s = Section::of_block(doc, block)?;
    let d = RdsFailoverDrill::defaults();
    let drill = RdsFailoverDrill {
        rds: s.string("rds")?,
        database_url_env: s.string("database_url_env")?.unwrap_or(d.database_url_env),
        database_url: None,
        max_unavailable: s.duration("max_unavailable")?,
        timeout: s.duration("timeout")?.unwrap_or(d.timeout),
        abort_unavailable: s
            .duration("abort_unavailable")?
            .unwrap_or(d.abort_unavailable),
        stop_alarms: s.strings("stop_alarms")?.unwrap_or_default(),
        dependents: dependents::dependents(doc, &mut s, canaries)?,
        probe_interval: s.duration("probe_interval")?.unwrap_or(d.probe_interval),
        connect_timeout: s.duration("connect_timeout")?.unwrap_or(d.connect_timeout),
        statement_timeout: s
            .duration("statement_timeout")?
            .unwrap_or(d.statement_timeout),
        ca_file: s.string("ca_file")?.map(|f| spec_relative(doc, f)),
        proxy_endpoint: match s.string("proxy_endpoint")? {
            None => None,
            Some(text) => Some(host_port(&text).ok_or_else(|| {
                s.invalid_value(
                    "proxy_endpoint",
                    "\"host:port\" (\"[v6]:port\" for IPv6), the proxy's endpoint",
                )
            })?),
        },
    };
    match &drill.rds {
        Some(label) if !rds.iter().any(|r| &r.label == label) => {
            return Err(s.invalid_value("rds", "the label of an `rds` block of this spec"));
        }
        None if rds.len() != 1 => {
            return Err(s.invalid_value(
                "rds",
                "set: the spec has no single `rds` block to fail over",
            ));
        }
        _ => {}
    }
    if drill.database_url_env.trim().is_empty() {
        return Err(s.invalid_value("database_url_env", "a non-empty variable name"));
    }
    if drill.probe_interval.is_zero() || drill.probe_interval > Duration::from_millis(50) {
        return Err(s.invalid_value("probe_interval", "between 1ms and 50ms"));
    }
    for (key, value) in [
        ("timeout", drill.timeout),
        ("connect_timeout", drill.connect_timeout),
        ("statement_timeout", drill.statement_timeout),
    ] {
        if value.is_zero() {
            return Err(s.invalid_value(key, "a duration above zero"));
        }
    }
    let max_unavailable = drill.max_unavailable.unwrap_or_else(|| {
        let label = drill.rds.as_deref();
        rds.iter()
            .find(|r| label.is_none_or(|l| r.label == l))
            .map(|r| r.failover_budget)
            .unwrap_or(Duration::from_secs(120))
    });
    if drill.abort_unavailable <= max_unavailable {
        return Err(s.invalid_value(
            "abort_unavailable",
            &format!(
                "longer than max_unavailable ({}), or the drill aborts before it can judge",
                humantime::format_duration(max_unavailable)
            ),
        ));
    }
    if drill.timeout <= drill.abort_unavailable {
        return Err(s.invalid_value(
            "timeout",
            &format!(
                "longer than abort_unavailable ({})",
                humantime::format_duration(drill.abort_unavailable)
            ),
        ));
    }
    s.finish()?;
    Ok(drill)
}

fn aws_access(doc: &Doc, block: &Block) -> Result<AwsAccess, SpecError> {
    let mut s = Section::of_block(doc, block)?;
    let d = AwsAccess::default();
    let access = AwsAccess {
        profile: s.string("profile")?,
        assume_role: s.string("assume_role")?,
        endpoint: s.string("endpoint")?,
        sandbox: s.bool("sandbox")?.unwrap_or(false),
        connect_timeout: s.duration("connect_timeout")?.unwrap_or(d.connect_timeout),
        read_timeout: s.duration("read_timeout")?.unwrap_or(d.read_timeout),
        operation_timeout: s
            .duration("operation_timeout")?
            .unwrap_or(d.operation_timeout),
        max_attempts: s.count("max_attempts", 1)?.unwrap_or(d.max_attempts),
    };
    if let Some(role) = &access.assume_role
        && !role.starts_with("arn:")
    {
        return Err(s.invalid_value(
            "assume_role",
            "a role ARN (arn:aws:iam::<account>:role/<name>)",
        ));
    }
    s.finish()?;
    Ok(access)
}

fn rds(doc: &Doc, label: String, block: &Block) -> Result<RdsSpec, SpecError> {
    let mut s = Section::of_block(doc, block)?;
    let spec = RdsSpec {
        label,
        identifier: s.required_string("identifier")?,
        multi_az: s.bool("multi_az")?.unwrap_or(true),
        backup_retention_days: s.count("backup_retention", 1)?.unwrap_or(7),
        max_restorable_lag: s
            .duration("max_restorable_lag")?
            .unwrap_or(Duration::from_secs(15 * 60)),
        failover_budget: s
            .duration("failover_budget")?
            .unwrap_or(Duration::from_secs(120)),
        performance_insights: s.bool("performance_insights")?.unwrap_or(false),
    };
    s.finish()?;
    Ok(spec)
}

fn pgbouncer(doc: &Doc, block: &Block) -> Result<PgbouncerSpec, SpecError> {
    let mut s = Section::of_block(doc, block)?;
    let mut spec = PgbouncerSpec {
        cluster: s.required_string("cluster")?,
        service: s.required_string("service")?,
        target_group: s.required_string("target_group")?,
        min_tasks: s.count("min_tasks", 1)?.unwrap_or(2),
        min_azs: s.count("min_azs", 1)?.unwrap_or(2),
        endpoint: s.string("endpoint")?,
        min_deregistration_delay: s
            .duration("min_deregistration_delay")?
            .unwrap_or(Duration::from_secs(5)),
        max_deregistration_delay: s
            .duration("max_deregistration_delay")?
            .unwrap_or(Duration::from_secs(300)),
        max_stop_timeout: s
            .duration("max_stop_timeout")?
            .unwrap_or(Duration::from_secs(120)),
        stop_signal: s.string("stop_signal")?.unwrap_or_else(|| "SIGTERM".into()),
        version: None,
    };
    if let Some(text) = s.string("version")? {
        let mut parts = text.trim().split('.');
        let parsed = match (parts.next(), parts.next()) {
            (Some(major), Some(minor)) => major.parse::<u32>().ok().zip(minor.parse::<u32>().ok()),
            _ => None,
        };
        match parsed {
            Some(v) => spec.version = Some(v),
            None => {
                return Err(s.invalid_value(
                    "version",
                    "a pgbouncer version such as \"1.18\" or \"1.23.1\"",
                ));
            }
        }
    }
    if spec.min_deregistration_delay > spec.max_deregistration_delay {
        return Err(s.invalid_value(
            "min_deregistration_delay",
            "at most max_deregistration_delay",
        ));
    }
    if !spec.stop_signal.starts_with("SIG") || spec.stop_signal.len() < 4 {
        return Err(s.invalid_value(
            "stop_signal",
            "a signal name such as \"SIGINT\" or \"SIGTERM\"",
        ));
    }
    s.finish()?;
    Ok(spec)
}

/// `custom_hostname_waf` (and, for `aws_waf_on_alb`, `aws_waf_rule_groups`).
fn custom_hostname_waf(c: &mut Section) -> Result<Option<CustomHostnameWaf>, SpecError> {
    const CHOICES: &str = "one of \"waf_for_saas\", \"aws_waf_on_alb\", \"accepted_gap\"";
    let choice = c.string("custom_hostname_waf")?;
    let groups = c.strings("aws_waf_rule_groups")?;
    let decision = match (choice.as_deref(), groups) {
        (None, None) => return Ok(None),
        (Some("aws_waf_on_alb"), Some(groups)) => {
            if groups.is_empty()
                || groups.iter().any(|g| {
                    g.is_empty()
                        || !g
                            .chars()
                            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
                })
            {
                return Err(c.invalid_value(
                    "aws_waf_rule_groups",
                    "a non-empty list of AWS managed rule group names, e.g. [\"AWSManagedRulesCommonRuleSet\"]",
                ));
            }
            CustomHostnameWaf::AwsWafOnAlb {
                rule_groups: groups,
            }
        }
        (Some("aws_waf_on_alb"), None) => {
            return Err(c.missing(
                "aws_waf_rule_groups",
                "the AWS managed rule groups the load balancer's web ACL must run, e.g. [\"AWSManagedRulesCommonRuleSet\", \"AWSManagedRulesKnownBadInputsRuleSet\"]",
            ));
        }
        (Some("waf_for_saas" | "accepted_gap"), Some(_)) | (None, Some(_)) => {
            return Err(c.invalid_value(
                "aws_waf_rule_groups",
                "left out unless `custom_hostname_waf = \"aws_waf_on_alb\"`",
            ));
        }
        (Some("waf_for_saas"), None) => CustomHostnameWaf::WafForSaas,
        (Some("accepted_gap"), None) => CustomHostnameWaf::AcceptedGap,
        (Some(_), _) => return Err(c.invalid_value("custom_hostname_waf", CHOICES)),
    };
    Ok(Some(decision))
}

fn edge(doc: &Doc, block: &Block) -> Result<EdgeSpec, SpecError> {
    let mut s = Section::of_block(doc, block)?;
    let cloudflare = match s.single_block("cloudflare")? {
        Some(b) => {
            let mut c = Section::of_block(doc, b)?;
            let spec = CloudflareSpec {
                zone: c.required_string("zone")?,
                token_env: c
                    .string("token_env")?
                    .unwrap_or_else(|| secret_env::default_name("CLOUDFLARE_API_TOKEN")),
                api_url: c.string("api_url")?,
                custom_hostnames: c.strings("custom_hostnames")?.unwrap_or_default(),
                managed_ruleset: c.string("managed_ruleset")?,
                custom_hostname_waf: custom_hostname_waf(&mut c)?,
                token: None,
            };
            if let Some(id) = &spec.managed_ruleset
                && (id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                return Err(c.invalid_value(
                    "managed_ruleset",
                    "a Cloudflare ruleset id (32 hexadecimal digits)",
                ));
            }
            c.finish()?;
            Some(spec)
        }
        None => None,
    };
    let resolve = match s.single_block("resolve")? {
        Some(b) => {
            let mut r = Section::of_block(doc, b)?;
            let pairs = r.all_string_attributes()?;
            r.finish()?;
            pairs
        }
        None => Vec::new(),
    };
    let hostnames = s.strings("hostnames")?.unwrap_or_default();
    let security_headers = s
        .single_block("security_headers")?
        .map(|b| launch::security_headers(doc, b, &hostnames))
        .transpose()?;
    let spec = EdgeSpec {
        load_balancer: s.required_string("load_balancer")?,
        hostnames,
        health_path: s.string("health_path")?.unwrap_or_else(|| "/health".into()),
        min_cert_days: s.count("min_cert_days", 0)?.unwrap_or(21),
        hsts_min_max_age: s
            .duration("hsts_min_max_age")?
            .unwrap_or(Duration::from_secs(180 * 86_400)),
        allowed_tls_policies: s.strings("allowed_tls_policies")?.unwrap_or_else(|| {
            vec![
                "ELBSecurityPolicy-TLS13-1-2-2021-06".into(),
                "ELBSecurityPolicy-TLS13-1-2-Res-2021-06".into(),
                "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04".into(),
                "ELBSecurityPolicy-TLS13-1-3-2021-06".into(),
            ]
        }),
        resolve,
        ca_file: s.string("ca_file")?.map(|f| spec_relative(doc, f)),
        cloudflare,
        security_headers,
    };
    s.finish()?;
    Ok(spec)
}

/// How long ECS keeps listing a stopped task (about an hour).
const ECS_STOPPED_TASK_MEMORY: Duration = Duration::from_secs(3600);

fn scheduled_task(doc: &Doc, name: String, block: &Block) -> Result<ScheduledTaskSpec, SpecError> {
    let mut s = Section::of_block(doc, block)?;
    let trigger = match (s.string("rule")?, s.string("schedule")?) {
        (Some(rule), None) => ScheduleTrigger::Rule(rule),
        (None, Some(schedule)) => ScheduleTrigger::Schedule(schedule),
        (Some(_), Some(_)) => {
            return Err(s.invalid_value("schedule", "either `rule` or `schedule`, not both"));
        }
        (None, None) => {
            return Err(s.missing(
                "rule",
                "a string: the EventBridge rule name (or set `schedule`)",
            ));
        }
    };
    let spec = ScheduledTaskSpec {
        name,
        trigger,
        expression: s.required_string("expression")?,
        cluster: s.required_string("cluster")?,
        task_family: s.required_string("task_family")?,
        max_age: s.required_duration("max_age")?,
        log_group: s.string("log_group")?,
        success_marker: s.string("success_marker")?,
    };
    let what = s.what.clone();
    let max_age_span = s
        .attributes
        .iter()
        .find(|a| a.key.as_str() == "max_age")
        .and_then(|a| a.value.span())
        .or(s.span.clone());
    s.finish()?;
    // ECS forgets a stopped task after about an hour: past that, only the
    // success marker in the task's logs can prove the last run succeeded.
    if spec.max_age > ECS_STOPPED_TASK_MEMORY
        && (spec.log_group.is_none() || spec.success_marker.is_none())
    {
        let missing: Vec<&str> = [
            ("success_marker", spec.success_marker.is_none()),
            ("log_group", spec.log_group.is_none()),
        ]
        .into_iter()
        .filter(|(_, absent)| *absent)
        .map(|(key, _)| key)
        .collect();
        return Err(doc.error(
            max_age_span,
            format!(
                "{}: `max_age` = \"{}\" is over an hour, and ECS forgets stopped tasks after \
                 about an hour, so the task must declare its success marker; missing `{}`",
                what,
                humantime::format_duration(spec.max_age),
                missing.join("` and `")
            ),
        ));
    }
    Ok(spec)
}

fn alarms(doc: &Doc, block: &Block) -> Result<AlarmsSpec, SpecError> {
    let mut s = Section::of_block(doc, block)?;
    let topic = s.required_string("topic")?;
    let required = s.required_strings("required")?;
    let route = match s.string("route")?.as_deref() {
        None | Some("slack") => AlarmRoute::Slack,
        Some("chatbot") => AlarmRoute::Chatbot,
        Some("lambda") => AlarmRoute::Lambda,
        Some(_) => {
            return Err(s.invalid_value("route", "one of \"slack\", \"chatbot\", \"lambda\""));
        }
    };
    s.finish()?;
    Ok(AlarmsSpec {
        topic,
        required,
        route,
    })
}

fn budget(doc: &Doc, label: String, block: &Block) -> Result<BudgetSpec, SpecError> {
    let mut s = Section::of_block(doc, block)?;
    let name = s.required_string("name")?;
    let limit_usd = s.required_number("limit_usd")?;
    if limit_usd <= 0.0 {
        return Err(s.invalid_value("limit_usd", "a positive amount in USD"));
    }
    let thresholds = s
        .numbers("thresholds")?
        .unwrap_or_else(|| vec![50.0, 80.0, 100.0]);
    if thresholds.is_empty() || thresholds.iter().any(|t| *t <= 0.0 || *t > 1000.0) {
        return Err(s.invalid_value("thresholds", "a non-empty list of percentages in (0, 1000]"));
    }
    s.finish()?;
    Ok(BudgetSpec {
        label,
        name,
        limit_usd,
        thresholds,
    })
}

fn ses(doc: &Doc, block: &Block) -> Result<SesSpec, SpecError> {
    let mut s = Section::of_block(doc, block)?;
    let spec = SesSpec {
        domain: s.required_string("domain")?,
        mail_from: s.required_string("mail_from")?,
        configuration_set: s.required_string("configuration_set")?,
        feedback_topic: s.required_string("feedback_topic")?,
        feedback_endpoint: s.required_string("feedback_endpoint")?,
        nameserver: s.string("nameserver")?,
    };
    s.finish()?;
    Ok(spec)
}

fn network(doc: &Doc, block: &Block) -> Result<NetworkSpec, SpecError> {
    let mut s = Section::of_block(doc, block)?;
    let spec = NetworkSpec {
        vpc: s.required_string("vpc")?,
        min_azs: s.count("min_azs", 1)?.unwrap_or(3),
    };
    s.finish()?;
    Ok(spec)
}

// ---------------------------------------------------------------------------
// The reader: typed access to one body, remembering which keys were asked for
// so that `finish` can name every key nobody asked for.

struct Doc<'a> {
    file: &'a Path,
    source: &'a str,
    outputs: Option<&'a Outputs>,
}

impl Doc<'_> {
    /// The value an `output.NAME` reference (optionally indexed: `output.NAME["key"]`,
    /// `output.NAME.key`, `output.NAME[0]`) stands for; `None` when `expr` is
    /// not such a reference. `key` and `what` name the attribute in errors.
    fn output_value(
        &self,
        expr: &Expression,
        what: &str,
        key: &str,
    ) -> Option<Result<serde_json::Value, SpecError>> {
        let Expression::Traversal(t) = expr else {
            return None;
        };
        let Expression::Variable(root) = &t.expr else {
            return None;
        };
        if root.value().as_str() != "output" {
            return None;
        }
        let span = expr.span();
        let err = |message: String| Some(Err(self.error(span.clone(), message)));
        let mut operators = t.operators.iter().map(|op| op.value());
        let Some(TraversalOperator::GetAttr(name)) = operators.next() else {
            return err(format!(
                "{what}: `{key}` = output… must name an output: `output.NAME`"
            ));
        };
        let name = name.value().as_str();
        let Some(outputs) = self.outputs else {
            return err(format!(
                "{what}: `{key}` takes `output.{name}` from Terraform, but no outputs were given: \
                 pass --terraform-outputs FILE (`terraform output -json`) or --terraform-state FILE"
            ));
        };
        let Some(output) = outputs.values.get(name) else {
            return err(format!(
                "{what}: `{key}`: no Terraform output `{name}` in {} (it has: {})",
                outputs.source.display(),
                if outputs.values.is_empty() {
                    "none".to_string()
                } else {
                    outputs.names().join(", ")
                }
            ));
        };
        let mut value = &output.value;
        let mut path = format!("output.{name}");
        for op in operators {
            let next = match op {
                TraversalOperator::GetAttr(k) => {
                    path.push_str(&format!(".{}", k.value().as_str()));
                    value.get(k.value().as_str())
                }
                TraversalOperator::Index(Expression::String(k)) => {
                    path.push_str(&format!("[{:?}]", k.value().as_str()));
                    value.get(k.value().as_str())
                }
                TraversalOperator::Index(index) => match number_of(index) {
                    Some(n) if n >= 0.0 && n.fract() == 0.0 => {
                        path.push_str(&format!("[{n}]"));
                        value.get(n as usize)
                    }
                    _ => {
                        return err(format!(
                            "{what}: `{key}`: {path} takes a string key or a whole-number index"
                        ));
                    }
                },
                TraversalOperator::LegacyIndex(n) => {
                    path.push_str(&format!(".{}", n.value()));
                    value.get(*n.value() as usize)
                }
                TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => {
                    return err(format!(
                        "{what}: `{key}`: splat expressions are not supported on outputs"
                    ));
                }
            };
            match next {
                Some(v) => value = v,
                None => {
                    return err(format!(
                        "{what}: `{key}`: {path} is not in output `{name}` of {}",
                        outputs.source.display()
                    ));
                }
            }
        }
        Some(Ok(value.clone()))
    }

    /// [`Doc::output_value`] that must be a string.
    fn output_string(
        &self,
        expr: &Expression,
        what: &str,
        key: &str,
    ) -> Option<Result<String, SpecError>> {
        self.output_value(expr, what, key).map(|r| {
            r.and_then(|v| match v {
                serde_json::Value::String(s) => Ok(s),
                other => Err(self.error(
                    expr.span(),
                    format!(
                        "{what}: `{key}` must be a string, but the Terraform output is {}",
                        json_kind(&other)
                    ),
                )),
            })
        })
    }
    /// The 1-based line and column (in characters) where `span` starts
    /// (1:1 without a span).
    fn position(&self, span: Option<Range<usize>>) -> (usize, usize) {
        let offset = span.map(|s| s.start).unwrap_or(0).min(self.source.len());
        let before = &self.source[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before
            .rsplit('\n')
            .next()
            .map(|l| l.chars().count())
            .unwrap_or(0)
            + 1;
        (line, column)
    }

    fn error(&self, span: Option<Range<usize>>, message: String) -> SpecError {
        let (line, column) = self.position(span);
        SpecError::Invalid {
            file: self.file.to_path_buf(),
            line,
            column,
            message,
        }
    }
}

struct Section<'a> {
    doc: &'a Doc<'a>,
    what: String,
    span: Option<Range<usize>>,
    attributes: Vec<&'a Attribute>,
    blocks: Vec<&'a Block>,
    known: BTreeSet<&'static str>,
}

impl<'a> Section<'a> {
    fn new(
        doc: &'a Doc<'a>,
        body: &'a Body,
        what: String,
        span: Option<Range<usize>>,
    ) -> Result<Self, SpecError> {
        let mut attributes: Vec<&Attribute> = Vec::new();
        let mut blocks = Vec::new();
        for structure in body.iter() {
            match structure {
                Structure::Attribute(a) => {
                    if attributes
                        .iter()
                        .any(|seen| seen.key.as_str() == a.key.as_str())
                    {
                        return Err(doc.error(
                            a.key.span(),
                            format!("{what}: attribute `{}` is set twice", a.key.as_str()),
                        ));
                    }
                    attributes.push(a);
                }
                Structure::Block(b) => blocks.push(b),
            }
        }
        Ok(Section {
            doc,
            what,
            span,
            attributes,
            blocks,
            known: BTreeSet::new(),
        })
    }

    fn of_block(doc: &'a Doc<'a>, block: &'a Block) -> Result<Self, SpecError> {
        let mut what = format!("block `{}", block.ident.as_str());
        for label in &block.labels {
            what.push_str(&format!(" \"{}\"", label_str(label)));
        }
        what.push('`');
        Section::new(doc, &block.body, what, block.ident.span())
    }

    fn attribute(&mut self, key: &'static str) -> Option<&'a Attribute> {
        self.known.insert(key);
        self.attributes
            .iter()
            .copied()
            .find(|a| a.key.as_str() == key)
    }

    fn wrong_type(&self, attr: &Attribute, expected: &str) -> SpecError {
        self.doc.error(
            attr.value.span(),
            format!(
                "{}: `{}` must be {expected}, found {}",
                self.what,
                attr.key.as_str(),
                describe(&attr.value)
            ),
        )
    }

    fn invalid_value(&self, key: &str, expected: &str) -> SpecError {
        let attr = self.attributes.iter().find(|a| a.key.as_str() == key);
        let span = attr.and_then(|a| a.value.span()).or(self.span.clone());
        self.doc
            .error(span, format!("{}: `{key}` must be {expected}", self.what))
    }

    fn missing(&self, key: &str, expected: &str) -> SpecError {
        self.doc.error(
            self.span.clone(),
            format!(
                "{}: missing required attribute `{key}` ({expected})",
                self.what
            ),
        )
    }

    fn string(&mut self, key: &'static str) -> Result<Option<String>, SpecError> {
        let Some(attr) = self.attribute(key) else {
            return Ok(None);
        };
        if let Some(from_output) = self.doc.output_string(&attr.value, &self.what, key) {
            return from_output.map(Some);
        }
        match &attr.value {
            Expression::String(s) => Ok(Some(s.value().to_string())),
            _ => Err(self.wrong_type(attr, "a string")),
        }
    }

    fn required_string(&mut self, key: &'static str) -> Result<String, SpecError> {
        let value = self.string(key)?;
        let value = value.ok_or_else(|| self.missing(key, "a string"))?;
        if value.trim().is_empty() {
            return Err(self.invalid_value(key, "a non-empty string"));
        }
        Ok(value)
    }

    fn bool(&mut self, key: &'static str) -> Result<Option<bool>, SpecError> {
        let Some(attr) = self.attribute(key) else {
            return Ok(None);
        };
        match &attr.value {
            Expression::Bool(b) => Ok(Some(*b.value())),
            _ => Err(self.wrong_type(attr, "true or false")),
        }
    }

    fn number(&mut self, key: &'static str) -> Result<Option<f64>, SpecError> {
        let Some(attr) = self.attribute(key) else {
            return Ok(None);
        };
        number_of(&attr.value)
            .map(Some)
            .ok_or_else(|| self.wrong_type(attr, "a number"))
    }

    fn required_number(&mut self, key: &'static str) -> Result<f64, SpecError> {
        let value = self.number(key)?;
        value.ok_or_else(|| self.missing(key, "a number"))
    }

    /// A whole number ≥ `min`.
    fn count(&mut self, key: &'static str, min: u32) -> Result<Option<u32>, SpecError> {
        let Some(attr) = self.attribute(key) else {
            return Ok(None);
        };
        let expected = format!("a whole number ≥ {min}");
        let n = number_of(&attr.value).ok_or_else(|| self.wrong_type(attr, &expected))?;
        if n.fract() != 0.0 || n < f64::from(min) || n > f64::from(u32::MAX) {
            return Err(self.invalid_value(key, &expected));
        }
        Ok(Some(n as u32))
    }

    fn duration(&mut self, key: &'static str) -> Result<Option<Duration>, SpecError> {
        let Some(attr) = self.attribute(key) else {
            return Ok(None);
        };
        const EXPECTED: &str = "a duration string such as \"90s\", \"15m\", \"12h\" or \"35d\"";
        let Expression::String(text) = &attr.value else {
            return Err(self.wrong_type(attr, EXPECTED));
        };
        humantime::parse_duration(text.value().trim())
            .map(Some)
            .map_err(|e| {
                self.doc.error(
                    attr.value.span(),
                    format!(
                        "{}: `{key}` = \"{}\" is not a valid duration ({e}); expected {EXPECTED}",
                        self.what,
                        text.value()
                    ),
                )
            })
    }

    fn required_duration(&mut self, key: &'static str) -> Result<Duration, SpecError> {
        let value = self.duration(key)?;
        value.ok_or_else(|| self.missing(key, "a duration such as \"35d\""))
    }

    fn strings(&mut self, key: &'static str) -> Result<Option<Vec<String>>, SpecError> {
        let Some(attr) = self.attribute(key) else {
            return Ok(None);
        };
        if let Some(from_output) = self.doc.output_value(&attr.value, &self.what, key) {
            let value = from_output?;
            return match value.as_array().map(|items| {
                items
                    .iter()
                    .map(|i| i.as_str().map(String::from))
                    .collect::<Option<Vec<_>>>()
            }) {
                Some(Some(list)) => Ok(Some(list)),
                _ => Err(self.doc.error(
                    attr.value.span(),
                    format!(
                        "{}: `{key}` must be a list of strings, but the Terraform output is {}",
                        self.what,
                        json_kind(&value)
                    ),
                )),
            };
        }
        let Expression::Array(items) = &attr.value else {
            return Err(self.wrong_type(attr, "a list of strings"));
        };
        items
            .iter()
            .map(|item| match item {
                Expression::String(s) => Ok(s.value().to_string()),
                other if self.doc.output_value(other, &self.what, key).is_some() => self
                    .doc
                    .output_string(other, &self.what, key)
                    .expect("an output reference"),
                other => Err(self.doc.error(
                    other.span(),
                    format!(
                        "{}: `{key}` must be a list of strings, found {} in it",
                        self.what,
                        describe(other)
                    ),
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    fn required_strings(&mut self, key: &'static str) -> Result<Vec<String>, SpecError> {
        let value = self.strings(key)?;
        let value = value.ok_or_else(|| self.missing(key, "a list of strings"))?;
        if value.is_empty() {
            return Err(self.invalid_value(key, "a non-empty list of strings"));
        }
        Ok(value)
    }

    fn numbers(&mut self, key: &'static str) -> Result<Option<Vec<f64>>, SpecError> {
        let Some(attr) = self.attribute(key) else {
            return Ok(None);
        };
        let Expression::Array(items) = &attr.value else {
            return Err(self.wrong_type(attr, "a list of numbers"));
        };
        items
            .iter()
            .map(|item| {
                number_of(item).ok_or_else(|| {
                    self.doc.error(
                        item.span(),
                        format!(
                            "{}: `{key}` must be a list of numbers, found {} in it",
                            self.what,
                            describe(item)
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// Every attribute of a map-like block (`resolve { "api.example.com" = "127.0.0.1" }`).
    fn all_string_attributes(&mut self) -> Result<Vec<(String, String)>, SpecError> {
        let attributes = std::mem::take(&mut self.attributes);
        attributes
            .iter()
            .map(|attr| match &attr.value {
                Expression::String(s) => Ok((attr.key.as_str().to_string(), s.value().to_string())),
                _ => Err(self.wrong_type(attr, "a string (an IP address)")),
            })
            .collect()
    }

    fn take_blocks(&mut self, name: &'static str) -> Vec<&'a Block> {
        self.known.insert(name);
        let (taken, rest) = self.blocks.iter().partition(|b| b.ident.as_str() == name);
        self.blocks = rest;
        taken
    }

    fn single_block(&mut self, name: &'static str) -> Result<Option<&'a Block>, SpecError> {
        let blocks = self.take_blocks(name);
        if let Some(second) = blocks.get(1) {
            return Err(self.doc.error(
                second.ident.span(),
                format!("{}: block `{name}` may appear only once", self.what),
            ));
        }
        if let Some(block) = blocks.first()
            && let Some(label) = block.labels.first()
        {
            return Err(self.doc.error(
                label.span(),
                format!("{}: block `{name}` takes no label", self.what),
            ));
        }
        Ok(blocks.first().copied())
    }

    fn labelled_blocks(
        &mut self,
        name: &'static str,
    ) -> Result<Vec<(String, &'a Block)>, SpecError> {
        let mut out: Vec<(String, &Block)> = Vec::new();
        for block in self.take_blocks(name) {
            if block.labels.len() != 1 {
                return Err(self.doc.error(
                    block.ident.span(),
                    format!("{}: block `{name}` needs exactly one label, e.g. `{name} \"core\" {{ … }}`", self.what),
                ));
            }
            let label = label_str(&block.labels[0]).to_string();
            if out.iter().any(|(seen, _)| *seen == label) {
                return Err(self.doc.error(
                    block.labels[0].span(),
                    format!(
                        "{}: block `{name} \"{label}\"` is declared twice",
                        self.what
                    ),
                ));
            }
            out.push((label, block));
        }
        Ok(out)
    }

    /// Fails on the first attribute or block that no reader asked for.
    fn finish(self) -> Result<(), SpecError> {
        let expected = self.known.iter().copied().collect::<Vec<_>>().join(", ");
        if let Some(attr) = self
            .attributes
            .iter()
            .find(|a| !self.known.contains(a.key.as_str()))
        {
            return Err(self.doc.error(
                attr.key.span(),
                format!(
                    "{}: unknown attribute `{}`; expected one of: {expected}",
                    self.what,
                    attr.key.as_str()
                ),
            ));
        }
        if let Some(block) = self.blocks.first() {
            return Err(self.doc.error(
                block.ident.span(),
                format!(
                    "{}: unknown block `{}`; expected one of: {expected}",
                    self.what,
                    block.ident.as_str()
                ),
            ));
        }
        Ok(())
    }
}

fn label_str(label: &BlockLabel) -> &str {
    match label {
        BlockLabel::Ident(i) => i.as_str(),
        BlockLabel::String(s) => s.value().as_str(),
    }
}

fn number_of(expr: &Expression) -> Option<f64> {
    match expr {
        Expression::Number(n) => n.value().as_f64(),
        _ => None,
    }
}

/// What a JSON value is, for "the Terraform output is …".
fn json_kind(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "null".into(),
        serde_json::Value::Bool(b) => format!("the bool {b}"),
        serde_json::Value::Number(n) => format!("the number {n}"),
        serde_json::Value::String(s) => format!("the string {s:?}"),
        serde_json::Value::Array(_) => "a list".into(),
        serde_json::Value::Object(_) => "a map or object".into(),
    }
}

fn describe(expr: &Expression) -> String {
    match expr {
        Expression::Null(_) => "null".into(),
        Expression::Bool(b) => format!("the bool {}", b.value()),
        Expression::Number(n) => format!("the number {}", n.value()),
        Expression::String(s) => format!("the string {:?}", s.value().as_str()),
        Expression::Array(_) => "a list".into(),
        Expression::Object(_) => "an object".into(),
        Expression::StringTemplate(_) | Expression::HeredocTemplate(_) => {
            "a string template (interpolation is not supported here)".into()
        }
        Expression::Variable(v) => format!("the reference `{}`", v.value().as_str()),
        Expression::Traversal(_) => {
            "a reference (only literal values, or `output.NAME` for a Terraform output, are supported)".into()
        }
        _ => "an expression (only literal values are supported)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `drills { rds_failover { proxy_endpoint } }` is a host and a port.
    #[test]
    fn a_proxy_endpoint_is_a_host_and_a_port() {
        let ok = |text: &str| host_port(text).map(|(h, p)| format!("{h} {p}"));
        assert_eq!(
            ok("proxy.internal:5432").as_deref(),
            Some("proxy.internal 5432")
        );
        assert_eq!(ok("[fd00::5]:6432").as_deref(), Some("fd00::5 6432"));
        assert_eq!(ok(" 10.0.0.5:5432 ").as_deref(), Some("10.0.0.5 5432"));
        for bad in [
            "proxy.internal",
            "proxy.internal:",
            "proxy.internal:0",
            "proxy.internal:65536",
            ":5432",
            "fd00::5:5432",
            "u:p@proxy:5432",
            "postgres://proxy:5432",
        ] {
            assert_eq!(host_port(bad), None, "{bad}");
        }
    }

    /// `edge { cloudflare { managed_ruleset } }` overrides the plan's
    /// ruleset, and must look like a ruleset id.
    #[test]
    fn a_declared_managed_ruleset_is_a_ruleset_id() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra-tests/environments/sandbox.hcl");
        let source = std::fs::read_to_string(&path).unwrap();
        let with = |id: &str| {
            source.replacen(
                "  cloudflare {",
                &format!("  cloudflare {{\n    managed_ruleset = \"{id}\""),
                1,
            )
        };
        let env = parse(&with("77454fe2d30c4220b5701f6fdfb893ba"), &path).unwrap();
        assert_eq!(
            env.edge
                .and_then(|e| e.cloudflare)
                .and_then(|c| c.managed_ruleset)
                .as_deref(),
            Some("77454fe2d30c4220b5701f6fdfb893ba")
        );
        let err = parse(&with("free"), &path).unwrap_err().to_string();
        assert!(
            err.contains("`managed_ruleset` must be a Cloudflare ruleset id"),
            "{err}"
        );
    }

    /// `edge { ca_file }` is read from the spec's folder, as the drills'
    /// `ca_file` is, whatever the working directory.
    #[test]
    fn an_edge_ca_file_is_relative_to_the_spec() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra-tests/environments/sandbox.hcl");
        let source = std::fs::read_to_string(&path).unwrap();
        let with_ca = source.replacen("edge {", "edge {\n  ca_file = \"certs/ca.pem\"", 1);
        let env = parse(&with_ca, Path::new("/specs/team/sandbox.hcl")).unwrap();
        assert_eq!(
            env.edge.and_then(|e| e.ca_file),
            Some(PathBuf::from("/specs/team/certs/ca.pem"))
        );
    }

    /// Every top-level block of the shipped sandbox spec, and the blocks
    /// inside an unlabelled one, at the line and column of its name.
    #[test]
    fn declarations_are_where_the_blocks_start() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra-tests/environments/sandbox.hcl");
        let env = load(&path).unwrap();
        let source = std::fs::read_to_string(&path).unwrap();
        let line_of = |start: &str| {
            source
                .lines()
                .position(|l| l.starts_with(start))
                .map(|i| i + 1)
                .unwrap_or_else(|| panic!("no line starting {start:?}"))
        };
        let at = |block: &str, label: Option<&str>| {
            let d = env
                .declaration(block, label)
                .unwrap_or_else(|| panic!("{block} {label:?} not declared"));
            (d.line, d.column)
        };
        assert_eq!(at("rds", Some("core")), (line_of("rds \"core\" {"), 1));
        assert_eq!(
            at("budget", Some("monthly")),
            (line_of("budget \"monthly\""), 1)
        );
        assert_eq!(at("edge", None), (line_of("edge {"), 1));
        assert_eq!(at("edge.cloudflare", None), (line_of("  cloudflare {"), 3));
        assert_eq!(
            at("scheduled_task", Some("usage-quota-reset")),
            (line_of("scheduled_task \"usage-quota-reset\""), 1)
        );
        assert_eq!(
            at("metric", Some("core_api_p99_latency")).0,
            line_of("metric \"core_api_p99_latency\"")
        );
        assert_eq!(at("canary", Some("t0")).0, line_of("canary \"t0\""));
        assert_eq!(
            at("drills.pitr_restore", None).0,
            line_of("  pitr_restore {")
        );
        // Blocks inside a labelled one (a metric's queries, a canary's steps) are not listed.
        assert!(
            env.declarations
                .iter()
                .all(|d| !d.block.contains("query") && !d.block.contains("step"))
        );
        let tasks: Vec<&str> = env
            .declarations_of("scheduled_task")
            .filter_map(|d| d.label.as_deref())
            .collect();
        let declared: Vec<&str> = env
            .scheduled_tasks
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(tasks, declared);
        // In file order.
        assert!(env.declarations.windows(2).all(|w| w[0].line < w[1].line));
    }
}
