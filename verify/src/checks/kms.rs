//! `kms.*`: customer-managed keys rotate automatically, and have rotated.
//!
//! `kms.rotation` judges the keys the `kms` block declares and the keys the
//! declared resources use: the RDS instances' storage key (`KmsKeyId`), the
//! secrets' (`KmsKeyId`; none is the AWS managed `aws/secretsmanager`), the
//! alarm and SES feedback topics' (`KmsMasterKeyId`; none is an unencrypted
//! topic) and the buckets' default-encryption key (`KMSMasterKeyID`). Each
//! key, by its ARN once: enabled (a disabled key or one pending deletion
//! fails); AWS managed passes as rotated by AWS; one KMS cannot rotate
//! automatically (asymmetric, HMAC, imported material, a custom key store)
//! fails saying so; otherwise automatic rotation is on and, once the key is
//! older than its rotation period, at least one rotation happened.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_sdk_kms::operation::get_key_rotation_status::GetKeyRotationStatusOutput;
use aws_sdk_kms::types::{
    KeyManagerType, KeyMetadata, KeySpec, KeyState, OriginType, RotationsListEntry,
};
use serde_json::json;

use crate::aws;
use crate::aws::kms::{DESCRIBE_KEY, GET_KEY_ROTATION_STATUS, LIST_KEY_ROTATIONS};
use crate::check::{
    Check, CheckDef, CheckError, CheckResult, Fields, Finding, Grant, combine, required,
};
use crate::context::Context;
use crate::iam::Arns;
use crate::spec::Environment;

const NONE_DECLARED: &str = "no kms block declared for this environment";

// --- what: the checks, declared ----------------------------------------------

fn declared(env: &Environment) -> bool {
    env.kms.is_some()
}

/// Every key of the account and region (the keys the resources use are not
/// in the spec), and the declared keys of other accounts or regions.
fn keys(env: &Environment, a: &Arns<'_>) -> Vec<String> {
    let Some(kms) = &env.kms else {
        return Vec::new();
    };
    let ours = a.arn("kms", "key/*");
    let mut out = vec![ours.clone()];
    for key in &kms.keys {
        let parts: Vec<&str> = key.splitn(6, ':').collect();
        if let ["arn", partition, "kms", region, account, resource] = parts.as_slice() {
            let arn = if resource.starts_with("key/") {
                key.clone()
            } else {
                // An alias ARN authorises as its key, which the spec does not name.
                format!("arn:{partition}:kms:{region}:{account}:key/*")
            };
            if arn != ours && !out.contains(&arn) {
                out.push(arn);
            }
        }
    }
    out
}

const SID: &str = "KmsReadKeyRotation";

const ROTATION: CheckDef = CheckDef {
    id: "kms.rotation",
    title: "the declared KMS keys, and the customer-managed keys the declared resources use, rotate automatically",
    doc: "each key of `kms { keys }` and each key the declared RDS instances, secrets, alarm and SES feedback topics and buckets use is enabled (not disabled, not pending deletion); AWS managed keys pass as rotated by AWS; a customer-managed key has automatic rotation on (`GetKeyRotationStatus`) and, once older than its rotation period, at least one rotation (`ListKeyRotations`); a key KMS cannot rotate automatically (asymmetric, HMAC, imported material, custom key store) fails saying so",
    iam: &[
        Grant::on(SID, "kms:DescribeKey", keys),
        Grant::on(SID, "kms:GetKeyRotationStatus", keys),
        Grant::on(SID, "kms:ListKeyRotations", keys),
        Grant::on(
            "RdsReadDeclaredInstances",
            "rds:DescribeDBInstances",
            |env, a| {
                if declared(env) {
                    env.rds.iter().map(|r| a.db(&r.identifier)).collect()
                } else {
                    Vec::new()
                }
            },
        ),
        Grant::on(
            "SecretsManagerDescribeDeclaredSecrets",
            "secretsmanager:DescribeSecret",
            |env, a| {
                if declared(env) {
                    env.secrets
                        .iter()
                        .map(|s| super::secrets::secret_arn(a, s))
                        .collect()
                } else {
                    Vec::new()
                }
            },
        ),
        Grant::on(
            "SnsReadDeclaredTopicKeys",
            "sns:GetTopicAttributes",
            |env, a| {
                if declared(env) {
                    topics(env).iter().map(|t| a.topic(t)).collect()
                } else {
                    Vec::new()
                }
            },
        ),
        Grant::on(
            "S3ReadDeclaredBuckets",
            "s3:GetEncryptionConfiguration",
            |env, _| {
                if declared(env) {
                    env.s3_buckets
                        .iter()
                        .map(|b| format!("arn:aws:s3:::{}", b.name))
                        .collect()
                } else {
                    Vec::new()
                }
            },
        ),
    ],
};

/// The declared SNS topics: the alarms' and the SES feedback one.
fn topics(env: &Environment) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    let declared = env.alarms.iter().map(|a| a.topic.as_str());
    for t in declared.chain(env.ses.iter().map(|s| s.feedback_topic.as_str())) {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

pub fn checks() -> Vec<Check> {
    vec![Check::new(&ROTATION, |cx| Box::pin(rotation(cx)))]
}

// --- how: the judges ----------------------------------------------------------

/// A key to judge, as first named, and what named it.
struct Named {
    reference: String,
    used_by: Vec<String>,
}

/// `kms.rotation`.
async fn rotation(cx: &Context) -> CheckResult {
    let env = cx.env();
    if env.kms.is_none() {
        return Ok(Finding::skip(NONE_DECLARED));
    }
    let (named, notes) = gather(cx).await?;
    // One judgement per key, by its ARN: two names of one key judge it
    // once, under the first (the spec's alias rather than an ARN).
    type Key = (String, Vec<String>, std::sync::Arc<KeyMetadata>);
    let mut by_arn: BTreeMap<String, Key> = BTreeMap::new();
    let mut order = Vec::new();
    for n in named {
        let meta = aws::kms::key(cx.aws(), &n.reference).await?;
        let arn = required(
            meta.arn(),
            DESCRIBE_KEY,
            &aws::kms::resource(&n.reference),
            "Arn",
        )?;
        let entry = by_arn.entry(arn.to_string()).or_insert_with(|| {
            order.push(arn.to_string());
            (n.reference.clone(), Vec::new(), meta.clone())
        });
        entry.1.extend(n.used_by);
    }
    let now = SystemTime::now();
    let mut items = Vec::new();
    for arn in order {
        let (name, used_by, meta) = &by_arn[&arn];
        let (status, rotations) = if rotates_itself(meta) {
            let status = aws::kms::rotation_status(cx.aws(), &arn).await?;
            let rotations = if status.key_rotation_enabled() {
                Some(aws::kms::rotations(cx.aws(), &arn).await?)
            } else {
                None
            };
            (Some(status), rotations)
        } else {
            (None, None)
        };
        let judged = judge_key(
            name,
            meta,
            status.as_deref(),
            rotations.as_deref().map(Vec::as_slice),
            now,
        )
        .map(|f| f.with_detail("used_by", json!(used_by)));
        items.push((name.clone(), judged));
    }
    let mut finding = combine(
        items,
        "no KMS key declared or used by the declared resources",
    )?;
    if !notes.is_empty() {
        finding = finding.with_detail("not_judged", json!(notes));
    }
    Ok(finding)
}

/// The declared keys, and the keys the declared resources use; `notes`
/// say which resources use no customer key of their own (evidence only).
async fn gather(cx: &Context) -> Result<(Vec<Named>, Vec<String>), CheckError> {
    let env = cx.env();
    let mut named: Vec<Named> = Vec::new();
    let mut notes = Vec::new();
    let mut add =
        |reference: &str, by: String| match named.iter_mut().find(|n| n.reference == reference) {
            Some(n) => n.used_by.push(by),
            None => named.push(Named {
                reference: reference.to_string(),
                used_by: vec![by],
            }),
        };
    for key in env.kms.iter().flat_map(|k| &k.keys) {
        add(key, "kms.keys".into());
    }
    for r in &env.rds {
        let db = aws::rds::instance(cx.aws(), &r.identifier).await?;
        let resource = format!("rds instance '{}'", r.identifier);
        if db.storage_encrypted() == Some(true) {
            let key = required(
                db.kms_key_id(),
                aws::rds::DESCRIBE_DB_INSTANCES,
                &resource,
                "KmsKeyId",
            )?;
            add(key, resource);
        } else {
            notes.push(format!(
                "{resource}: storage not encrypted (rds.encrypted judges it)"
            ));
        }
    }
    for s in &env.secrets {
        let resource = aws::secretsmanager::resource(&s.name);
        match aws::secretsmanager::describe(cx.aws(), s.secret_id())
            .await?
            .as_ref()
        {
            None => notes.push(format!(
                "{resource}: not found (secrets.{} judges it)",
                s.label
            )),
            Some(d) => match d.kms_key_id() {
                Some(key) => add(key, resource),
                None => notes.push(format!(
                    "{resource}: the AWS managed key aws/secretsmanager (rotated by AWS)"
                )),
            },
        }
    }
    for topic in topics(env) {
        let arn = aws::sns::topic_arn(env, topic);
        let attributes = aws::sns::topic_attributes(cx.aws(), &arn).await?;
        let resource = format!("topic {arn}");
        match attributes.get("KmsMasterKeyId").filter(|k| !k.is_empty()) {
            Some(key) => add(key, resource),
            None => notes.push(format!("{resource}: not encrypted with KMS")),
        }
    }
    for b in &env.s3_buckets {
        let resource = aws::s3::resource(&b.name);
        match aws::s3::default_kms_key(cx.aws(), &b.name, &env.account_id).await? {
            Some(key) => add(&key, resource),
            None => notes.push(format!(
                "{resource}: no customer key (SSE-S3, or the AWS managed aws/s3)"
            )),
        }
    }
    Ok((named, notes))
}

/// Whether the key's rotation is ours to read: a customer-managed,
/// enabled, symmetric key with KMS-made material in KMS's own store.
fn rotates_itself(meta: &KeyMetadata) -> bool {
    meta.key_manager() == Some(&KeyManagerType::Customer)
        && meta.key_state() == Some(&KeyState::Enabled)
        && meta.key_spec() == Some(&KeySpec::SymmetricDefault)
        && meta.origin() == Some(&OriginType::AwsKms)
        && meta.custom_key_store_id().is_none()
}

/// A KMS date as a time, when it is one RFC 3339 can write (1970–9999).
fn time(t: &aws_smithy_types::DateTime) -> Option<SystemTime> {
    (0..=253_402_300_799)
        .contains(&t.secs())
        .then(|| SystemTime::try_from(*t).ok())
        .flatten()
}

fn date(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// `kms.rotation` for one key, from `DescribeKey`, and for a key that
/// [`rotates_itself`] `GetKeyRotationStatus` and (rotation on)
/// `ListKeyRotations`: pure, a table row per case.
fn judge_key(
    name: &str,
    meta: &KeyMetadata,
    status: Option<&GetKeyRotationStatusOutput>,
    rotations: Option<&[RotationsListEntry]>,
    now: SystemTime,
) -> CheckResult {
    let resource = aws::kms::resource(name);
    let manager = required(meta.key_manager(), DESCRIBE_KEY, &resource, "KeyManager")?;
    let state = required(meta.key_state(), DESCRIBE_KEY, &resource, "KeyState")?;
    let mut f = Fields::of(&resource);
    f.observe("Arn", meta.arn());
    f.observe("KeyManager", manager.as_str());
    f.expect("KeyState", "Enabled", state.as_str());
    match state {
        KeyState::PendingDeletion | KeyState::PendingReplicaDeletion => {
            let when = meta
                .deletion_date()
                .and_then(time)
                .map(|t| format!(" on {}", date(t)))
                .unwrap_or_default();
            f.because(format!("scheduled for deletion{when}"));
        }
        KeyState::Disabled => {
            f.because("disabled: nothing it protects can be decrypted");
        }
        _ => {}
    }
    if *manager == KeyManagerType::Aws {
        f.observe("rotation", "rotated by AWS (AWS managed key, yearly)");
        return Ok(f.finish(format!("{resource} (AWS managed): rotated by AWS")));
    }
    let spec = required(meta.key_spec(), DESCRIBE_KEY, &resource, "KeySpec")?;
    let origin = required(meta.origin(), DESCRIBE_KEY, &resource, "Origin")?;
    let created = required(
        meta.creation_date(),
        DESCRIBE_KEY,
        &resource,
        "CreationDate",
    )?;
    let created = time(created).ok_or_else(|| CheckError::Missing {
        operation: DESCRIBE_KEY.into(),
        resource: resource.clone(),
        field: format!("a representable CreationDate (got {created})"),
    })?;
    f.observe("CreationDate", date(created));
    f.observe("Origin", origin.as_str());
    f.observe("CustomKeyStoreId", meta.custom_key_store_id());
    let mut rotatable = true;
    if *spec != KeySpec::SymmetricDefault {
        rotatable = false;
        let kind = if spec.as_str().starts_with("HMAC") {
            "an HMAC key"
        } else {
            "an asymmetric key"
        };
        f.judge("KeySpec", "SYMMETRIC_DEFAULT", spec.as_str(), false)
            .because(format!("{kind}: KMS cannot rotate it automatically"));
    } else {
        f.observe("KeySpec", spec.as_str());
    }
    if *origin == OriginType::External {
        rotatable = false;
        f.judge("Origin", "AWS_KMS", origin.as_str(), false)
            .because("imported key material: KMS cannot rotate it automatically");
    }
    if let Some(store) = meta.custom_key_store_id() {
        rotatable = false;
        f.judge("CustomKeyStoreId", "none", store, false)
            .because("a key in a custom key store: KMS cannot rotate it automatically");
    } else if matches!(
        origin,
        OriginType::AwsCloudhsm | OriginType::ExternalKeyStore
    ) {
        rotatable = false;
        f.judge("Origin", "AWS_KMS", origin.as_str(), false)
            .because("a key in a custom key store: KMS cannot rotate it automatically");
    }
    if !rotatable || *state != KeyState::Enabled {
        return Ok(f.finish(""));
    }
    let status = status.ok_or_else(|| CheckError::Missing {
        operation: GET_KEY_ROTATION_STATUS.into(),
        resource: resource.clone(),
        field: "KeyRotationEnabled".into(),
    })?;
    let enabled = status.key_rotation_enabled();
    f.expect("KeyRotationEnabled", true, enabled);
    if !enabled {
        return Ok(f.finish(""));
    }
    let period = required(
        status.rotation_period_in_days(),
        GET_KEY_ROTATION_STATUS,
        &resource,
        "RotationPeriodInDays",
    )?;
    f.observe("RotationPeriodInDays", period);
    f.observe(
        "NextRotationDate",
        status.next_rotation_date().and_then(time).map(date),
    );
    let rotations = rotations.ok_or_else(|| CheckError::Missing {
        operation: LIST_KEY_ROTATIONS.into(),
        resource: resource.clone(),
        field: "Rotations".into(),
    })?;
    let latest = rotations
        .iter()
        .filter_map(|r| r.rotation_date())
        .filter_map(time)
        .max();
    f.observe("LastRotationDate", latest.map(date));
    let age = now.duration_since(created).unwrap_or(Duration::ZERO);
    let age_days = age.as_secs() / 86_400;
    let period_days = u64::try_from(period.max(0)).unwrap_or(0);
    if age > Duration::from_secs(period_days * 86_400) {
        f.judge(
            "rotations",
            format!("≥ 1 (the key is {age_days}d old, rotation every {period_days}d)"),
            rotations.len(),
            !rotations.is_empty(),
        )
        .because("KMS first rotates a key one period after rotation was turned on: rotate it on demand once");
    } else {
        f.observe("rotations", rotations.len());
    }
    let last = match latest {
        Some(t) => format!("last rotated {}", date(t)),
        None => format!("{age_days}d old, not yet due"),
    };
    Ok(f.finish(format!(
        "{resource}: automatic rotation every {period_days}d, {last}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;
    use aws_smithy_types::DateTime;

    const ARN: &str =
        "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    fn days_ago(d: u64) -> DateTime {
        DateTime::from(SystemTime::now() - Duration::from_secs(d * 86_400))
    }

    fn key(age_days: u64) -> aws_sdk_kms::types::builders::KeyMetadataBuilder {
        KeyMetadata::builder()
            .key_id("1234abcd-12ab-34cd-56ef-1234567890ab")
            .arn(ARN)
            .key_manager(KeyManagerType::Customer)
            .key_state(KeyState::Enabled)
            .key_spec(KeySpec::SymmetricDefault)
            .origin(OriginType::AwsKms)
            .creation_date(days_ago(age_days))
    }

    fn status(enabled: bool, period: Option<i32>) -> GetKeyRotationStatusOutput {
        GetKeyRotationStatusOutput::builder()
            .key_rotation_enabled(enabled)
            .set_rotation_period_in_days(period)
            .build()
    }

    fn rotated(days: u64) -> RotationsListEntry {
        RotationsListEntry::builder()
            .key_id(ARN)
            .rotation_date(days_ago(days))
            .build()
    }

    fn judged(
        meta: KeyMetadata,
        status: Option<GetKeyRotationStatusOutput>,
        rotations: Option<Vec<RotationsListEntry>>,
    ) -> CheckResult {
        judge_key(
            ARN,
            &meta,
            status.as_ref(),
            rotations.as_deref(),
            SystemTime::now(),
        )
    }

    #[test]
    fn each_judgement_passes_fails_and_errors_on_silence() {
        // Rotating, rotated once, older than its period: pass.
        let pass = judged(
            key(400).build().unwrap(),
            Some(status(true, Some(365))),
            Some(vec![rotated(35)]),
        )
        .unwrap();
        assert_eq!(pass.status, Status::Pass, "{}", pass.message);
        assert!(
            pass.message
                .contains("automatic rotation every 365d, last rotated"),
            "{}",
            pass.message
        );
        assert_eq!(pass.evidence.observed["KeyRotationEnabled"], true);
        assert_eq!(pass.evidence.observed["rotations"], 1);

        // Young and never rotated: not yet due.
        let young = judged(
            key(10).build().unwrap(),
            Some(status(true, Some(365))),
            Some(vec![]),
        )
        .unwrap();
        assert_eq!(young.status, Status::Pass, "{}", young.message);
        assert!(young.message.contains("not yet due"));

        // Old and never rotated: fail.
        let never = judged(
            key(400).build().unwrap(),
            Some(status(true, Some(365))),
            Some(vec![]),
        )
        .unwrap();
        assert_eq!(never.status, Status::Fail);
        assert!(
            never.message.contains(
                "rotations expected ≥ 1 (the key is 400d old, rotation every 365d), observed 0"
            ),
            "{}",
            never.message
        );

        // Rotation off: fail, naming the key.
        let off = judged(key(10).build().unwrap(), Some(status(false, None)), None).unwrap();
        assert_eq!(off.status, Status::Fail);
        assert_eq!(
            off.message,
            format!("kms key '{ARN}': KeyRotationEnabled expected true, observed false")
        );
        assert_eq!(off.evidence.expected["KeyRotationEnabled"], true);

        // AWS managed: pass, rotated by AWS, no rotation read.
        let aws_managed = judged(
            key(999).key_manager(KeyManagerType::Aws).build().unwrap(),
            None,
            None,
        )
        .unwrap();
        assert_eq!(aws_managed.status, Status::Pass);
        assert!(aws_managed.message.contains("rotated by AWS"));
        assert!(
            aws_managed.evidence.observed["rotation"]
                .as_str()
                .unwrap()
                .contains("rotated by AWS")
        );

        // Disabled, pending deletion: fail.
        let disabled = judged(
            key(10).key_state(KeyState::Disabled).build().unwrap(),
            None,
            None,
        )
        .unwrap();
        assert_eq!(disabled.status, Status::Fail);
        assert!(
            disabled
                .message
                .contains("KeyState expected Enabled, observed Disabled")
        );
        let deleting = judged(
            key(10)
                .key_state(KeyState::PendingDeletion)
                .deletion_date(days_ago(0))
                .build()
                .unwrap(),
            None,
            None,
        )
        .unwrap();
        assert!(
            deleting
                .message
                .contains("observed PendingDeletion (scheduled for deletion on"),
            "{}",
            deleting.message
        );

        // Keys KMS cannot rotate automatically: fail with the reason.
        for (meta, words) in [
            (
                key(10).key_spec(KeySpec::Rsa2048).build().unwrap(),
                "an asymmetric key",
            ),
            (
                key(10).key_spec(KeySpec::Hmac256).build().unwrap(),
                "an HMAC key",
            ),
            (
                key(10).origin(OriginType::External).build().unwrap(),
                "imported key material",
            ),
            (
                key(10)
                    .custom_key_store_id("cks-1")
                    .origin(OriginType::AwsCloudhsm)
                    .build()
                    .unwrap(),
                "custom key store",
            ),
        ] {
            let f = judged(meta, None, None).unwrap();
            assert_eq!(f.status, Status::Fail, "{}", f.message);
            assert!(
                f.message.contains(words) && f.message.contains("cannot rotate it automatically"),
                "{}",
                f.message
            );
        }

        // Silence is an error, never a pass.
        assert!(
            judged(
                key(10).build().unwrap(),
                Some(status(true, None)),
                Some(vec![])
            )
            .is_err()
        );
        assert!(
            judged(
                KeyMetadata::builder().key_id("k").build().unwrap(),
                None,
                None
            )
            .is_err()
        );
        assert!(judged(key(10).build().unwrap(), None, None).is_err());
        let mut no_date = key(10);
        no_date = no_date.set_creation_date(None);
        assert!(
            judged(
                no_date.build().unwrap(),
                Some(status(true, Some(365))),
                Some(vec![])
            )
            .is_err()
        );
        assert!(
            judged(
                key(400).build().unwrap(),
                Some(status(true, Some(365))),
                None
            )
            .is_err()
        );
    }

    #[test]
    fn the_policy_reads_keys_of_the_account_and_declared_foreign_ones() {
        let env = crate::spec::parse(
            r#"
            environment = "production"
            region      = "eu-central-1"
            account_id  = "210987654321"
            kms {
              keys = ["alias/rds", "arn:aws:kms:eu-west-1:111122223333:key/abc", "arn:aws:kms:eu-west-1:111122223333:alias/x"]
            }
            "#,
            "production.hcl".as_ref(),
        )
        .unwrap();
        let policy = crate::iam::policy(&env, false);
        let statement = policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == SID)
            .unwrap();
        assert_eq!(
            statement["Action"],
            json!([
                "kms:DescribeKey",
                "kms:GetKeyRotationStatus",
                "kms:ListKeyRotations"
            ])
        );
        assert_eq!(
            statement["Resource"],
            json!([
                "arn:aws:kms:eu-central-1:210987654321:key/*",
                "arn:aws:kms:eu-west-1:111122223333:key/*",
                "arn:aws:kms:eu-west-1:111122223333:key/abc",
            ])
        );
        let mut none = env.clone();
        none.kms = None;
        let actions = crate::iam::actions(&crate::iam::policy(&none, false));
        assert!(
            !actions.iter().any(|a| a.starts_with("kms:")),
            "{actions:?}"
        );
    }
}
