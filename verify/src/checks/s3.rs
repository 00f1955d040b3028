//! `s3.<label>.*`, three per declared bucket (`s3_bucket "<label>"`): the
//! bucket is versioned, its default encryption is the declared algorithm
//! and key (every bucket is encrypted by default since January 2023, so
//! "encrypted" alone would never fail), and it is closed to the public by
//! all four public access block flags, each at account or bucket level.
//! Each first confirms the bucket is in the spec's region.

use aws_sdk_s3::types::{BucketVersioningStatus, ServerSideEncryptionRule};
use serde_json::{Value, json};

use crate::aws;
use crate::check::{Check, CheckDef, CheckError, CheckResult, Fields, Finding, Grant};
use crate::context::Context;
use crate::spec::{Environment, S3BucketSpec, S3Encryption};

// --- what: the checks, declared ----------------------------------------------

/// Every declared bucket, as IAM names it (S3 ARNs have no region or account).
fn buckets(env: &Environment, _: &crate::iam::Arns<'_>) -> Vec<String> {
    env.s3_buckets
        .iter()
        .map(|b| format!("arn:aws:s3:::{}", b.name))
        .collect()
}

const SID: &str = "S3ReadDeclaredBuckets";
/// Every `s3.*` check first confirms the bucket's region.
const LOCATION: Grant = Grant::on(SID, "s3:GetBucketLocation", buckets);

pub(crate) const VERSIONING: CheckDef = CheckDef {
    id: "s3.<label>.versioning",
    title: "the bucket keeps every version of its objects",
    doc: "the declared bucket is in the spec's region and its versioning `Status` is `Enabled` (never enabled or `Suspended` fails)",
    iam: &[LOCATION, Grant::on(SID, "s3:GetBucketVersioning", buckets)],
};

pub(crate) const ENCRYPTION: CheckDef = CheckDef {
    id: "s3.<label>.encryption",
    title: "the bucket's default encryption is the declared algorithm and key",
    doc: "the default encryption rule's `SSEAlgorithm` is the declared one (`aws:kms`, `aws:kms:dsse`, `AES256`) and, for KMS, its `KMSMasterKeyID` is the declared key (an alias and a key are compared through `kms:DescribeKey`); `BucketKeyEnabled` reported",
    iam: &[
        LOCATION,
        Grant::on(SID, "s3:GetEncryptionConfiguration", buckets),
        Grant::on("KmsResolveBucketKeyAliases", "kms:DescribeKey", |env, a| {
            if env.s3_buckets.iter().any(|b| b.kms_key.is_some()) {
                vec![a.arn("kms", "key/*")]
            } else {
                Vec::new()
            }
        })
        .only_when("the declared key and the bucket's KMSMasterKeyID name it differently, one by alias and one by key"),
    ],
};

pub(crate) const PUBLIC_ACCESS_BLOCK: CheckDef = CheckDef {
    id: "s3.<label>.public_access_block",
    title: "the bucket is closed to the public by all four public access block flags",
    doc: "`BlockPublicAcls`, `IgnorePublicAcls`, `BlockPublicPolicy` and `RestrictPublicBuckets` are each true at account level (S3 Control) or bucket level; the evidence says which level set each",
    iam: &[
        LOCATION,
        Grant::on(SID, "s3:GetBucketPublicAccessBlock", buckets),
        Grant::any("s3:GetAccountPublicAccessBlock", |env| {
            !env.s3_buckets.is_empty()
        }),
    ],
};

/// The checks a spec names, as templates for the catalogue.
pub(crate) const TEMPLATES: &[&CheckDef] = &[&VERSIONING, &ENCRYPTION, &PUBLIC_ACCESS_BLOCK];

/// Three checks per declared bucket.
pub fn checks(env: &Environment) -> Vec<Check> {
    env.s3_buckets
        .iter()
        .flat_map(|bucket| {
            let label = &bucket.label;
            let (a, b, c) = (label.clone(), label.clone(), label.clone());
            [
                Check::instance(&VERSIONING, format!("s3.{label}.versioning"), move |g| {
                    let label = a.clone();
                    Box::pin(async move { versioning(g, spec_of(g, &label)?).await })
                }),
                Check::instance(&ENCRYPTION, format!("s3.{label}.encryption"), move |g| {
                    let label = b.clone();
                    Box::pin(async move { encryption(g, spec_of(g, &label)?).await })
                }),
                Check::instance(
                    &PUBLIC_ACCESS_BLOCK,
                    format!("s3.{label}.public_access_block"),
                    move |g| {
                        let label = c.clone();
                        Box::pin(async move { public_access_block(g, spec_of(g, &label)?).await })
                    },
                ),
            ]
        })
        .collect()
}

// --- how: the judges ----------------------------------------------------------

fn spec_of<'a>(cx: &'a Context, label: &str) -> Result<&'a S3BucketSpec, CheckError> {
    cx.env()
        .s3_buckets
        .iter()
        .find(|b| b.label == label)
        .ok_or_else(|| CheckError::NotFound {
            operation: "spec".into(),
            resource: format!("s3_bucket \"{label}\""),
        })
}

/// The bucket's region, judged before anything else: a bucket outside the
/// spec's region is a fail naming it (data kept where it must not be, or a
/// spec naming another environment's bucket). `None`: in the region.
async fn outside_region(cx: &Context, spec: &S3BucketSpec) -> Result<Option<Finding>, CheckError> {
    let env = cx.env();
    let region = aws::s3::region(cx.aws(), &spec.name, &env.account_id).await?;
    Ok(judge_region(spec, &env.region, &region))
}

/// `Some(fail)` when the bucket is not in `expected`.
fn judge_region(spec: &S3BucketSpec, expected: &str, observed: &str) -> Option<Finding> {
    (observed != expected).then(|| {
        let mut f = Fields::of(aws::s3::resource(&spec.name));
        f.judge("region", expected, observed, false)
            .because("the spec's region; GetBucketLocation");
        f.finish("")
    })
}

/// `s3.<label>.versioning`.
async fn versioning(cx: &Context, spec: &S3BucketSpec) -> CheckResult {
    if let Some(fail) = outside_region(cx, spec).await? {
        return Ok(fail);
    }
    let out = aws::s3::versioning(cx.aws(), &spec.name, &cx.env().account_id).await?;
    Ok(judge_versioning(
        spec,
        out.status(),
        out.mfa_delete().map(|m| m.as_str()),
    ))
}

/// `s3.<label>.versioning` from `GetBucketVersioning`: no `Status` means
/// versioning was never enabled (S3 leaves it out), a fail.
fn judge_versioning(
    spec: &S3BucketSpec,
    status: Option<&BucketVersioningStatus>,
    mfa_delete: Option<&str>,
) -> Finding {
    let observed = status.map_or("never enabled", |s| s.as_str());
    let mut f = Fields::of(aws::s3::resource(&spec.name));
    f.expect("Status", "Enabled", observed);
    if status == Some(&BucketVersioningStatus::Suspended) {
        f.because("new objects are written without versions");
    }
    f.observe("MFADelete", mfa_delete.unwrap_or("Disabled"));
    f.finish(format!(
        "{}: versioning Enabled",
        aws::s3::resource(&spec.name)
    ))
}

/// How the declared key and the bucket's key were found to be one key or not.
#[derive(Debug, Clone, PartialEq)]
enum KeyName {
    /// `alias/<name>` (from `alias/x` or an alias ARN), with its ARN's account if given.
    Alias {
        name: String,
        account: Option<String>,
    },
    /// A key id (from an id or a key ARN), with its ARN's account if given.
    Key { id: String, account: Option<String> },
}

impl KeyName {
    /// A KMS key reference as written: `alias/x`, `arn:…:alias/x`, `arn:…:key/<id>`, `<id>`.
    fn parse(text: &str) -> KeyName {
        let (account, resource) = match text.strip_prefix("arn:") {
            Some(_) => {
                let parts: Vec<&str> = text.splitn(6, ':').collect();
                (
                    parts
                        .get(4)
                        .map(|a| a.to_string())
                        .filter(|a| !a.is_empty()),
                    parts.get(5).copied().unwrap_or(""),
                )
            }
            None => (None, text),
        };
        match resource.strip_prefix("key/") {
            Some(id) => KeyName::Key {
                id: id.into(),
                account,
            },
            None if resource.starts_with("alias/") => KeyName::Alias {
                name: resource.into(),
                account,
            },
            None => KeyName::Key {
                id: resource.into(),
                account,
            },
        }
    }
}

/// Two references compared as written: `Some(same)` when both are aliases
/// or both keys (accounts compared when both say one), `None` when one is
/// an alias and the other a key (only KMS can tell).
fn same_as_written(a: &KeyName, b: &KeyName) -> Option<bool> {
    let accounts = |x: &Option<String>, y: &Option<String>| match (x, y) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    };
    match (a, b) {
        (
            KeyName::Alias {
                name: n1,
                account: a1,
            },
            KeyName::Alias {
                name: n2,
                account: a2,
            },
        )
        | (
            KeyName::Key {
                id: n1,
                account: a1,
            },
            KeyName::Key {
                id: n2,
                account: a2,
            },
        ) => Some(n1 == n2 && accounts(a1, a2)),
        _ => None,
    }
}

/// The AWS managed key S3 uses for `aws:kms` when the rule names none.
const AWS_MANAGED_S3_KEY: &str = "alias/aws/s3";

/// `s3.<label>.encryption`.
async fn encryption(cx: &Context, spec: &S3BucketSpec) -> CheckResult {
    if let Some(fail) = outside_region(cx, spec).await? {
        return Ok(fail);
    }
    let rules = aws::s3::encryption_rules(cx.aws(), &spec.name, &cx.env().account_id).await?;
    let observed = default_rule(spec, &rules)?;
    // The key, resolved through KMS only when one side names an alias and
    // the other a key.
    let mut resolved = None;
    if let (Some(declared), true) = (&spec.kms_key, is_kms(&observed.algorithm)) {
        let bucket_key = observed.key.as_deref().unwrap_or(AWS_MANAGED_S3_KEY);
        let (d, o) = (KeyName::parse(declared), KeyName::parse(bucket_key));
        if same_as_written(&d, &o).is_none() {
            let alias = if matches!(d, KeyName::Alias { .. }) {
                declared.as_str()
            } else {
                bucket_key
            };
            let key = aws::kms::key(cx.aws(), alias).await?;
            let arn = key.arn().ok_or_else(|| CheckError::Missing {
                operation: aws::kms::DESCRIBE_KEY.into(),
                resource: aws::kms::resource(alias),
                field: "Arn".into(),
            })?;
            resolved = Some(Resolved {
                alias: alias.to_string(),
                key_arn: arn.to_string(),
            });
        }
    }
    Ok(judge_encryption(spec, &observed, resolved.as_ref()))
}

/// The bucket's default rule, as the judge reads it.
#[derive(Debug, Clone, PartialEq)]
struct DefaultRule {
    algorithm: String,
    /// `KMSMasterKeyID` as S3 stores it.
    key: Option<String>,
    bucket_key_enabled: Option<bool>,
}

/// Whether S3's `SSEAlgorithm` is a KMS one (`aws:kms`, `aws:kms:dsse`).
fn is_kms(algorithm: &str) -> bool {
    algorithm.starts_with("aws:kms")
}

/// The rule with a default (`ApplyServerSideEncryptionByDefault`); S3
/// always has one since January 2023, so none is an error.
fn default_rule(
    spec: &S3BucketSpec,
    rules: &[ServerSideEncryptionRule],
) -> Result<DefaultRule, CheckError> {
    rules
        .iter()
        .find_map(|r| {
            r.apply_server_side_encryption_by_default()
                .map(|d| DefaultRule {
                    algorithm: d.sse_algorithm().as_str().to_string(),
                    key: d.kms_master_key_id().map(str::to_string),
                    bucket_key_enabled: r.bucket_key_enabled(),
                })
        })
        .ok_or_else(|| CheckError::Missing {
            operation: aws::s3::GET_BUCKET_ENCRYPTION.into(),
            resource: aws::s3::resource(&spec.name),
            field: "ApplyServerSideEncryptionByDefault".into(),
        })
}

/// What `kms:DescribeKey` said an alias names.
#[derive(Debug, Clone, PartialEq)]
struct Resolved {
    alias: String,
    key_arn: String,
}

/// `s3.<label>.encryption` from the default rule (and, when one side named
/// an alias and the other a key, what KMS resolved the alias to).
fn judge_encryption(
    spec: &S3BucketSpec,
    rule: &DefaultRule,
    resolved: Option<&Resolved>,
) -> Finding {
    let resource = aws::s3::resource(&spec.name);
    let mut f = Fields::of(&resource);
    f.expect(
        "SSEAlgorithm",
        spec.encryption.as_str(),
        rule.algorithm.as_str(),
    );
    if spec.encryption == S3Encryption::Aes256 && rule.algorithm != "AES256" {
        f.because("the spec declares SSE-S3");
    }
    if let Some(declared) = &spec.kms_key
        && is_kms(&rule.algorithm)
    {
        let shown = rule
            .key
            .clone()
            .unwrap_or_else(|| format!("none (the AWS managed key {AWS_MANAGED_S3_KEY})"));
        let bucket_key = rule.key.as_deref().unwrap_or(AWS_MANAGED_S3_KEY);
        let (d, o) = (KeyName::parse(declared), KeyName::parse(bucket_key));
        let (same, how) = match (same_as_written(&d, &o), resolved) {
            (Some(same), _) => (same, "as written".to_string()),
            (None, Some(r)) => {
                let key = if r.alias == *declared { &o } else { &d };
                let resolved_key = KeyName::parse(&r.key_arn);
                (
                    same_as_written(key, &resolved_key) == Some(true),
                    format!("kms:DescribeKey {} → {}", r.alias, r.key_arn),
                )
            }
            // The caller resolves before judging; unresolved is not the same.
            (None, None) => (false, "not resolved".to_string()),
        };
        f.judge("KMSMasterKeyID", declared.as_str(), shown, same);
        f.observe("KeyComparedBy", how);
    } else if spec.encryption.uses_kms() {
        f.judge(
            "KMSMasterKeyID",
            spec.kms_key.clone().unwrap_or_default(),
            Value::Null,
            false,
        );
    }
    f.observe("BucketKeyEnabled", rule.bucket_key_enabled.unwrap_or(false));
    let key = spec
        .kms_key
        .as_deref()
        .map(|k| format!(" with {k}"))
        .unwrap_or_default();
    f.finish(format!(
        "{resource}: default encryption {}{key}",
        spec.encryption.as_str()
    ))
}

/// `s3.<label>.public_access_block`.
async fn public_access_block(cx: &Context, spec: &S3BucketSpec) -> CheckResult {
    if let Some(fail) = outside_region(cx, spec).await? {
        return Ok(fail);
    }
    let account_id = &cx.env().account_id;
    let account = aws::s3control::account_public_access_block(cx.aws(), account_id).await?;
    let bucket = aws::s3::public_access_block(cx.aws(), &spec.name, account_id).await?;
    let account = account.as_ref().as_ref().map(|c| {
        [
            c.block_public_acls(),
            c.ignore_public_acls(),
            c.block_public_policy(),
            c.restrict_public_buckets(),
        ]
    });
    let bucket = bucket.as_ref().as_ref().map(|c| {
        [
            c.block_public_acls(),
            c.ignore_public_acls(),
            c.block_public_policy(),
            c.restrict_public_buckets(),
        ]
    });
    judge_public_access_block(spec, account_id, account, bucket)
}

const FLAGS: [&str; 4] = [
    "BlockPublicAcls",
    "IgnorePublicAcls",
    "BlockPublicPolicy",
    "RestrictPublicBuckets",
];

/// Four flags at one level: `None` when no block is set there; a flag
/// `None` when S3 left it out.
type Level = Option<[Option<bool>; 4]>;

/// `s3.<label>.public_access_block` from both levels: each flag true at
/// one of them. A flag S3 left out at a level that would decide it is an
/// error, never read as false.
fn judge_public_access_block(
    spec: &S3BucketSpec,
    account_id: &str,
    account: Level,
    bucket: Level,
) -> CheckResult {
    let resource = aws::s3::resource(&spec.name);
    let mut f = Fields::of(&resource);
    let shown = |level: &Level, i: usize| match level {
        None => "not set".to_string(),
        Some(flags) => match flags[i] {
            Some(v) => v.to_string(),
            None => "not reported".to_string(),
        },
    };
    for (i, flag) in FLAGS.iter().enumerate() {
        let at = |level: &Level| level.is_some_and(|l| l[i] == Some(true));
        let observed = match (at(&account), at(&bucket)) {
            (true, true) => "true at account and bucket".to_string(),
            (true, false) => "true at account".to_string(),
            (false, true) => "true at bucket".to_string(),
            (false, false) => {
                for (level, name, operation) in [
                    (&account, "account", aws::s3control::GET_PUBLIC_ACCESS_BLOCK),
                    (&bucket, "bucket", aws::s3::GET_PUBLIC_ACCESS_BLOCK),
                ] {
                    if level.is_some_and(|l| l[i].is_none()) {
                        return Err(CheckError::Missing {
                            operation: operation.into(),
                            resource: format!("{resource} ({name} level)"),
                            field: flag.to_string(),
                        });
                    }
                }
                format!(
                    "{} at account, {} at bucket",
                    shown(&account, i),
                    shown(&bucket, i)
                )
            }
        };
        let ok = observed.starts_with("true");
        f.judge(flag, "true at account or bucket level", observed, ok);
    }
    let level_json = |level: &Level| match level {
        None => json!("not set"),
        Some(flags) => Value::Object(
            FLAGS
                .iter()
                .zip(flags)
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect(),
        ),
    };
    f.observe("AccountLevel", level_json(&account));
    f.observe("BucketLevel", level_json(&bucket));
    let mut finding = f.finish(format!(
        "{resource}: all four public access block flags on (account {account_id} or bucket)"
    ));
    finding.evidence = finding
        .evidence
        .resource(aws::s3control::resource(account_id));
    Ok(finding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;

    fn bucket(encryption: S3Encryption, kms_key: Option<&str>) -> S3BucketSpec {
        S3BucketSpec {
            label: "uploads".into(),
            name: "restartix.uploads".into(),
            encryption,
            kms_key: kms_key.map(str::to_string),
        }
    }

    fn rule(algorithm: &str, key: Option<&str>) -> DefaultRule {
        DefaultRule {
            algorithm: algorithm.into(),
            key: key.map(str::to_string),
            bucket_key_enabled: Some(true),
        }
    }

    const KEY_ARN: &str =
        "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn versioning_passes_only_when_enabled() {
        let spec = bucket(S3Encryption::Aes256, None);
        let pass = judge_versioning(&spec, Some(&BucketVersioningStatus::Enabled), None);
        assert_eq!(pass.status, Status::Pass, "{}", pass.message);
        assert_eq!(pass.evidence.observed["Status"], "Enabled");
        let suspended = judge_versioning(&spec, Some(&BucketVersioningStatus::Suspended), None);
        assert_eq!(suspended.status, Status::Fail);
        assert!(
            suspended.message.contains(
                "s3 bucket 'restartix.uploads': Status expected Enabled, observed Suspended"
            ),
            "{}",
            suspended.message
        );
        let never = judge_versioning(&spec, None, None);
        assert_eq!(never.status, Status::Fail);
        assert!(never.message.contains("observed never enabled"));
    }

    #[test]
    fn a_bucket_outside_the_region_fails_naming_it() {
        let spec = bucket(S3Encryption::Aes256, None);
        assert!(judge_region(&spec, "eu-central-1", "eu-central-1").is_none());
        let fail = judge_region(&spec, "eu-central-1", "us-east-1").unwrap();
        assert_eq!(fail.status, Status::Fail);
        assert!(
            fail.message
                .contains("region expected eu-central-1, observed us-east-1")
        );
        assert_eq!(aws::s3::region_of(None), "us-east-1");
        assert_eq!(aws::s3::region_of(Some("EU")), "eu-west-1");
    }

    #[test]
    fn encryption_compares_the_algorithm_and_the_key_meaningfully() {
        let kms = |key: &str| bucket(S3Encryption::AwsKms, Some(key));
        let resolved = Resolved {
            alias: "alias/uploads".into(),
            key_arn: KEY_ARN.into(),
        };
        let cases: Vec<(S3BucketSpec, DefaultRule, Option<&Resolved>, Status, &str)> = vec![
            // Same form: compared as written.
            (
                kms(KEY_ARN),
                rule("aws:kms", Some(KEY_ARN)),
                None,
                Status::Pass,
                "as written",
            ),
            (
                kms(KEY_ID),
                rule("aws:kms", Some(KEY_ARN)),
                None,
                Status::Pass,
                "as written",
            ),
            (
                kms("alias/uploads"),
                rule(
                    "aws:kms",
                    Some("arn:aws:kms:eu-central-1:123456789012:alias/uploads"),
                ),
                None,
                Status::Pass,
                "as written",
            ),
            (
                kms(KEY_ID),
                rule("aws:kms", Some("0000")),
                None,
                Status::Fail,
                "as written",
            ),
            // An alias against a key: through KMS.
            (
                kms("alias/uploads"),
                rule("aws:kms", Some(KEY_ARN)),
                Some(&resolved),
                Status::Pass,
                "kms:DescribeKey alias/uploads",
            ),
            (
                kms("alias/uploads"),
                rule(
                    "aws:kms",
                    Some("arn:aws:kms:eu-central-1:123456789012:key/other"),
                ),
                Some(&resolved),
                Status::Fail,
                "kms:DescribeKey",
            ),
            // The algorithm.
            (kms(KEY_ARN), rule("AES256", None), None, Status::Fail, ""),
            (
                bucket(S3Encryption::Aes256, None),
                rule("AES256", None),
                None,
                Status::Pass,
                "",
            ),
            (
                bucket(S3Encryption::Aes256, None),
                rule("aws:kms", Some(KEY_ARN)),
                None,
                Status::Fail,
                "",
            ),
            (
                bucket(S3Encryption::AwsKmsDsse, Some(KEY_ARN)),
                rule("aws:kms", Some(KEY_ARN)),
                None,
                Status::Fail,
                "as written",
            ),
        ];
        for (spec, rule, resolved, status, how) in cases {
            let f = judge_encryption(&spec, &rule, resolved);
            assert_eq!(f.status, status, "{spec:?} {rule:?}: {}", f.message);
            assert_eq!(f.evidence.observed["BucketKeyEnabled"], true);
            if !how.is_empty() {
                let by = f.evidence.observed["KeyComparedBy"].as_str().unwrap_or("");
                assert!(by.starts_with(how), "{by}");
            }
        }
        let f = judge_encryption(&kms(KEY_ARN), &rule("AES256", None), None);
        assert!(
            f.message
                .contains("SSEAlgorithm expected aws:kms, observed AES256"),
            "{}",
            f.message
        );
        // No key named: the AWS managed key, not the declared one.
        let f = judge_encryption(&kms("alias/uploads"), &rule("aws:kms", None), None);
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("alias/aws/s3"), "{}", f.message);
    }

    #[test]
    fn no_default_rule_is_an_error() {
        let spec = bucket(S3Encryption::Aes256, None);
        assert!(matches!(
            default_rule(&spec, &[]),
            Err(CheckError::Missing { .. })
        ));
    }

    #[test]
    fn the_public_access_block_takes_each_flag_from_either_level() {
        let spec = bucket(S3Encryption::Aes256, None);
        let all = Some([Some(true); 4]);
        let pass = judge_public_access_block(&spec, "123456789012", all, None).unwrap();
        assert_eq!(pass.status, Status::Pass, "{}", pass.message);
        assert_eq!(pass.evidence.observed["BlockPublicAcls"], "true at account");
        assert_eq!(pass.evidence.observed["BucketLevel"], "not set");
        let split = judge_public_access_block(
            &spec,
            "123456789012",
            Some([Some(true), Some(true), Some(false), Some(false)]),
            Some([Some(false), Some(true), Some(true), Some(true)]),
        )
        .unwrap();
        assert_eq!(split.status, Status::Pass, "{}", split.message);
        assert_eq!(
            split.evidence.observed["IgnorePublicAcls"],
            "true at account and bucket"
        );
        assert_eq!(
            split.evidence.observed["RestrictPublicBuckets"],
            "true at bucket"
        );
        let open = judge_public_access_block(&spec, "123456789012", None, None).unwrap();
        assert_eq!(open.status, Status::Fail);
        assert!(
            open.message.contains(
                "BlockPublicAcls expected true at account or bucket level, observed not set at account, not set at bucket"
            ),
            "{}",
            open.message
        );
        // A flag S3 did not report, deciding the verdict: error.
        let silent = judge_public_access_block(
            &spec,
            "123456789012",
            None,
            Some([None, Some(true), Some(true), Some(true)]),
        );
        assert!(
            matches!(silent, Err(CheckError::Missing { .. })),
            "{silent:?}"
        );
    }

    #[test]
    fn key_references_parse_as_aliases_or_keys() {
        assert_eq!(
            KeyName::parse("alias/x"),
            KeyName::Alias {
                name: "alias/x".into(),
                account: None
            }
        );
        assert_eq!(
            KeyName::parse(KEY_ARN),
            KeyName::Key {
                id: KEY_ID.into(),
                account: Some("123456789012".into())
            }
        );
        assert_eq!(
            same_as_written(
                &KeyName::parse(KEY_ARN),
                &KeyName::parse(
                    "arn:aws:kms:eu-central-1:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab"
                )
            ),
            Some(false)
        );
        assert_eq!(
            same_as_written(&KeyName::parse("alias/x"), &KeyName::parse(KEY_ID)),
            None
        );
    }
}
