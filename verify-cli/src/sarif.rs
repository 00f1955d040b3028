//! What a SARIF report needs to know about an environment's spec
//! ([`report_model::report::sarif::Context`]): the file, named as a
//! repository names it, the line of the block each check judges, and each
//! check's title.
//!
//! - The file: relative to the root of the git checkout that holds it
//!   (`uriBaseId` `SRCROOT`: the nearest directory above it with a `.git`),
//!   else to the current directory (`CWD`), else an absolute `file://` URI.
//! - The line: each check's area names the block that declared what it
//!   judges ([`declaration`]); a check no block declares (`terraform.*`,
//!   read from the `--terraform-*` files) is at line 1.

use std::path::{Path, PathBuf};

use envspec::{Declaration, Environment};
use report_model::area::Area;
use report_model::report::CheckOutcome;
use report_model::report::sarif::{Context, Region, SpecFile};

/// The absolute address of `docs/checks.md` this build links its rules'
/// `helpUri` to, when the build was given one (`VERIFY_CHECKS_URL`, e.g.
/// `https://github.com/<org>/verify/blob/v0.1.0/docs/checks.md`). SARIF
/// wants an absolute `helpUri`; without one the rules carry `help` text.
const CHECKS_URL: Option<&str> = option_env!("VERIFY_CHECKS_URL");

/// The SARIF context of `env`'s run, whose outcomes are `checks`.
pub fn context(env: &Environment, checks: &[CheckOutcome]) -> Context {
    let catalogue = verify::checks::catalogue(env);
    Context {
        spec: spec_file(&env.source),
        regions: checks
            .iter()
            .filter_map(|c| {
                declaration(env, c).map(|d| {
                    (
                        c.id.clone(),
                        Region {
                            line: d.line,
                            column: d.column,
                        },
                    )
                })
            })
            .collect(),
        titles: catalogue
            .iter()
            .map(|c| (c.id.clone(), c.title().to_string()))
            .collect(),
        docs_url: CHECKS_URL.filter(|u| !u.is_empty()).map(str::to_string),
    }
}

/// The spec file, relative to its git checkout's root or the current directory.
fn spec_file(source: &Path) -> SpecFile {
    let spec = real(source);
    let cwd = std::env::current_dir().ok().map(|d| real(&d));
    let checkout = spec.parent().and_then(git_root);
    let mut roots: Vec<(&str, &Path)> = Vec::new();
    if let Some(root) = &checkout {
        roots.push(("SRCROOT", root));
    }
    if let Some(cwd) = &cwd {
        roots.push(("CWD", cwd));
    }
    SpecFile::locate(&spec, &roots)
}

/// `path` absolute, its symbolic links resolved when it exists.
fn real(path: &Path) -> PathBuf {
    path.canonicalize()
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// The nearest directory from `dir` up that holds a `.git` (a directory,
/// or a file in a worktree or submodule).
fn git_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// The block of `env`'s spec that declared what `check` judges: by the
/// check's area, and for an area of several items (`rds`, `budget`) the
/// item its message names (a failing check's message starts with the
/// failing resource), else the first of its resources, else the first
/// block. `None`: no block (line 1).
pub fn declaration<'a>(env: &'a Environment, check: &CheckOutcome) -> Option<&'a Declaration> {
    let id = check.id.as_str();
    let one = |block: &str| env.declaration(block, None);
    let labelled = |block: &str, label: &str| env.declaration(block, Some(label));
    // The label of a template check: `metrics.<name>`, `scheduled.<task>.<what>`.
    let after = |prefix: &str| id.strip_prefix(prefix);
    match Area::of(id)? {
        Area::Rds if id.starts_with("rds.snapshots.") => {
            after("rds.snapshots.").and_then(|label| labelled("rds_snapshot", label))
        }
        Area::Rds => item(
            env,
            "rds",
            env.rds
                .iter()
                .map(|r| (r.label.as_str(), r.identifier.as_str())),
            check,
        ),
        Area::Pgbouncer => one("pgbouncer"),
        Area::Edge => one("edge"),
        Area::Cloudflare => one("edge.cloudflare").or_else(|| one("edge")),
        Area::Scheduled => after("scheduled.")
            .and_then(|rest| rest.rsplit_once('.'))
            .and_then(|(task, _)| labelled("scheduled_task", task)),
        Area::Alarms => one("alarms"),
        Area::Budgets => item(
            env,
            "budget",
            env.budgets
                .iter()
                .map(|b| (b.label.as_str(), b.name.as_str())),
            check,
        ),
        Area::Ses => one("ses"),
        Area::Dns => one("mail"),
        Area::Kms => one("kms"),
        Area::Secrets => after("secrets.").and_then(|label| labelled("secret", label)),
        Area::S3 => after("s3.")
            .and_then(|rest| rest.rsplit_once('.'))
            .and_then(|(label, _)| labelled("s3_bucket", label)),
        Area::Logs => one("logs"),
        Area::Network => one("network"),
        // Judged from the --terraform-plan/--terraform-state files: no block.
        Area::Terraform => None,
        Area::Metrics => after("metrics.").and_then(|name| labelled("metric", name)),
        Area::Canary => after("canary.").and_then(|name| labelled("canary", name)),
        // Both judge what is scheduled inside `launch { window }`.
        Area::Maintenance => one("launch"),
        Area::Drill => one("drills"),
    }
}

/// Of the `block` blocks (label, the name AWS knows the item by), the one
/// whose name the check's message or resources quote (`'core-production'`).
fn item<'a, 'b>(
    env: &'a Environment,
    block: &str,
    items: impl Iterator<Item = (&'b str, &'b str)> + Clone,
    check: &CheckOutcome,
) -> Option<&'a Declaration> {
    let texts = std::iter::once(check.message.as_str())
        .chain(check.evidence.resources.iter().map(String::as_str));
    let named = texts.into_iter().find_map(|text| {
        items
            .clone()
            .find(|(_, name)| text.contains(&format!("'{name}'")))
    });
    match named {
        Some((label, _)) => env.declaration(block, Some(label)),
        None => env.declarations.iter().find(|d| d.block == block),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use report_model::{Evidence, Status};

    const SPEC: &str = r#"environment = "staging"
region      = "eu-central-1"
account_id  = "123456789012"

rds "core" {
  identifier = "core-staging"
}

rds "audit" {
  identifier = "audit-staging"
}

budget "monthly" {
  name      = "staging-monthly"
  limit_usd = 100
}

scheduled_task "audit.roll" {
  rule        = "audit-roll"
  expression  = "rate(1 day)"
  cluster     = "c"
  task_family = "audit"
  max_age     = "30m"
}
"#;

    fn outcome(id: &str, message: &str, resources: &[&str]) -> CheckOutcome {
        CheckOutcome {
            id: id.into(),
            status: Status::Fail,
            message: message.into(),
            duration_ms: 1,
            evidence: Evidence::default().resources(resources.iter().copied()),
        }
    }

    #[test]
    fn each_check_finds_the_block_it_judges() {
        let env = envspec::parse(SPEC, "staging.hcl".as_ref()).unwrap();
        let line = |c: &CheckOutcome| declaration(&env, c).map(|d| d.line);
        // The failing item, by the name its message quotes.
        let audit = outcome(
            "rds.multi_az",
            "rds instance 'audit-staging': MultiAZ expected true, observed false",
            &[
                "rds instance 'core-staging'",
                "rds instance 'audit-staging'",
            ],
        );
        assert_eq!(line(&audit), Some(9));
        // An error naming no item: the first block.
        assert_eq!(
            line(&outcome(
                "rds.backups",
                "rds:DescribeDBInstances failed",
                &[]
            )),
            Some(5)
        );
        assert_eq!(
            line(&outcome(
                "budgets.thresholds",
                "x",
                &["budget 'staging-monthly'"]
            )),
            Some(13)
        );
        // A task whose name has a dot.
        assert_eq!(
            line(&outcome("scheduled.audit.roll.succeeded", "x", &[])),
            Some(18)
        );
        // Not declared, or declared by no block: none (line 1).
        assert_eq!(line(&outcome("ses.identity", "x", &[])), None);
        assert_eq!(line(&outcome("terraform.idempotent", "x", &[])), None);
        let context = context(&env, &[audit]);
        assert_eq!(context.regions["rds.multi_az"].line, 9);
        assert!(context.titles.contains_key("rds.multi_az"));
        assert!(
            context
                .titles
                .contains_key("scheduled.audit.roll.succeeded")
        );
    }

    #[test]
    fn the_spec_is_named_relative_to_its_checkout() {
        let spec =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra-tests/environments/sandbox.hcl");
        let file = spec_file(&spec);
        if let Some((id, base)) = &file.base
            && id == "SRCROOT"
        {
            assert_eq!(file.uri, "infra-tests/environments/sandbox.hcl");
            assert!(
                base.starts_with("file:///") && base.ends_with('/'),
                "{base}"
            );
        } else {
            // A copy of the workspace outside a git checkout: relative to
            // the current directory, or absolute.
            assert!(file.uri.ends_with("infra-tests/environments/sandbox.hcl"));
        }
    }
}
