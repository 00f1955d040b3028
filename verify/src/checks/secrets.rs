//! `secrets.*`: the declared secrets exist, rotate, and (opt-in) hold production values.
//!
//! One check per `secret "<label>"` block: the secret exists
//! (`DescribeSecret`), is not scheduled for deletion (`DeletedDate`), was
//! rotated within its declared `max_age` (`LastRotatedDate`; never rotated
//! is a fail), and, only with `check_value = true`, its current value (or
//! the declared `json_key` of it) matches the declared `pattern`. The value
//! never leaves the process: no message, evidence or log holds it, a
//! prefix, its length or where a match was; it is dropped once judged.

use std::time::{Duration, SystemTime};

use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use serde_json::{Value, json};

use crate::aws;
use crate::aws::secretsmanager::{DESCRIBE_SECRET, SecretValue};
use crate::check::{
    Check, CheckDef, CheckError, CheckResult, Fields, Finding, Grant, human_duration,
};
use crate::context::Context;
use crate::iam::Arns;
use crate::spec::{Environment, SecretSpec};

// --- what: the checks, declared ----------------------------------------------

/// `DescribeSecret` on every declared secret (`kms.rotation` reads it too,
/// for the secret's key).
pub(crate) const DESCRIBE: Grant = Grant::on(
    "SecretsManagerDescribeDeclaredSecrets",
    "secretsmanager:DescribeSecret",
    |env, a| env.secrets.iter().map(|s| secret_arn(a, s)).collect(),
);

/// One per declared secret: an instance of this template.
pub(crate) const SECRET: CheckDef = CheckDef {
    id: "secrets.<label>",
    title: "the declared secret exists, is not being deleted, was rotated in time, and (opt-in) holds a production value",
    doc: "the secret exists in Secrets Manager and has no `DeletedDate`; with `max_age`, `LastRotatedDate` is within it (never rotated fails; `RotationEnabled` reported); with `check_value = true` only, its value (or `json_key` of it) matches the declared `pattern`, read with `secretsmanager:GetSecretValue` granted on that secret alone and `kms:Decrypt` only via Secrets Manager. The value never leaves the process",
    iam: &[
        DESCRIBE,
        Grant::on(
            "SecretsManagerReadCheckedValues",
            "secretsmanager:GetSecretValue",
            |env, a| {
                env.secrets
                    .iter()
                    .filter(|s| s.check_value)
                    .map(|s| secret_arn(a, s))
                    .collect()
            },
        ),
        // Secrets Manager decrypts with the secret's key on the caller's
        // behalf: only through it, never a direct Decrypt.
        Grant::on(
            "KmsDecryptCheckedSecretsViaSecretsManager",
            "kms:Decrypt",
            |env, a| {
                if env.secrets.iter().any(|s| s.check_value) {
                    vec![a.arn("kms", "key/*")]
                } else {
                    Vec::new()
                }
            },
        )
        .condition("StringEquals", "kms:ViaService", |env, _| {
            vec![format!("secretsmanager.{}.amazonaws.com", env.region)]
        }),
    ],
};

/// The checks a spec names, as templates for the catalogue.
pub(crate) const TEMPLATES: &[&CheckDef] = &[&SECRET];

/// The ARN IAM matches for `spec`: the declared one, else the name and
/// Secrets Manager's random 6-character suffix (`-??????`).
pub(crate) fn secret_arn(a: &Arns<'_>, spec: &SecretSpec) -> String {
    spec.arn
        .clone()
        .unwrap_or_else(|| a.arn("secretsmanager", &format!("secret:{}-??????", spec.name)))
}

/// One check per declared item.
pub fn checks(env: &Environment) -> Vec<Check> {
    env.secrets
        .iter()
        .map(|s| {
            let label = s.label.clone();
            Check::instance(&SECRET, format!("secrets.{}", s.label), move |cx| {
                let label = label.clone();
                Box::pin(async move { secret(cx, spec_of(cx, &label)?).await })
            })
        })
        .collect()
}

// --- how: the judges ----------------------------------------------------------

fn spec_of<'a>(cx: &'a Context, label: &str) -> Result<&'a SecretSpec, CheckError> {
    cx.env()
        .secrets
        .iter()
        .find(|s| s.label == label)
        .ok_or_else(|| CheckError::NotFound {
            operation: "spec".into(),
            resource: format!("secret \"{label}\""),
        })
}

fn resource(spec: &SecretSpec) -> String {
    aws::secretsmanager::resource(&spec.name)
}

/// `secrets.<label>`.
async fn secret(cx: &Context, spec: &SecretSpec) -> CheckResult {
    let described = aws::secretsmanager::describe(cx.aws(), spec.secret_id()).await?;
    let Some(described) = described.as_ref() else {
        return Ok(not_found(spec));
    };
    // The value is read only when declared, and not for a secret being
    // deleted (Secrets Manager refuses it then). It is judged and dropped
    // here: only the verdict, which holds none of it, goes on.
    let verdict = if spec.check_value && described.deleted_date.is_none() {
        let value = aws::secretsmanager::value(cx.aws(), spec.secret_id()).await?;
        let verdict = judge_value(spec, &value)?;
        drop(value);
        Some(verdict)
    } else {
        None
    };
    judge(spec, described, verdict, SystemTime::now())
}

/// A declared secret Secrets Manager does not have.
fn not_found(spec: &SecretSpec) -> Finding {
    let mut f = Fields::of(resource(spec));
    f.judge("exists", true, false, false)
        .because("DescribeSecret: ResourceNotFoundException");
    f.finish("")
}

/// What the value was found to be: never the value, a part of it, its
/// length or where a match was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ValueVerdict {
    Matches,
    DoesNotMatch,
    /// `SecretBinary` only: no text to match.
    Binary,
    /// `json_key` declared; the value is not JSON.
    NotJson,
    /// `json_key` declared; the JSON is not an object, or has no such key.
    NoKey,
    /// `json_key` declared; its value is not a string (the JSON type's name).
    NotString(&'static str),
}

impl ValueVerdict {
    /// The observed side of the comparison, as the message and evidence show it.
    fn observed(&self, spec: &SecretSpec) -> String {
        let key = spec.json_key.as_deref().unwrap_or_default();
        match self {
            ValueVerdict::Matches => "matches the declared pattern".into(),
            ValueVerdict::DoesNotMatch => "does not match the declared pattern".into(),
            ValueVerdict::Binary => "a binary secret (SecretBinary): no text to match".into(),
            ValueVerdict::NotJson => "is not valid JSON".into(),
            ValueVerdict::NoKey => format!("a JSON value without the key \"{key}\""),
            ValueVerdict::NotString(kind) => {
                format!("the key \"{key}\" holds {kind}, not a string")
            }
        }
    }
}

/// The value judged against the declared pattern (and `json_key`).
fn judge_value(spec: &SecretSpec, value: &SecretValue) -> Result<ValueVerdict, CheckError> {
    let pattern = spec.pattern.as_deref().unwrap_or_default();
    // The reader compiled it already; a spec built another way is named, not trusted.
    let regex = regex::Regex::new(pattern).map_err(|_| CheckError::Probe {
        probe: "regex".into(),
        target: resource(spec),
        message: format!("the declared pattern {pattern} is not a valid regular expression"),
    })?;
    let SecretValue::Text(text) = value else {
        return Ok(ValueVerdict::Binary);
    };
    let matches = |s: &str| {
        if regex.is_match(s) {
            ValueVerdict::Matches
        } else {
            ValueVerdict::DoesNotMatch
        }
    };
    let Some(key) = &spec.json_key else {
        return Ok(matches(text.expose()));
    };
    // serde_json's errors are not shown: some quote what they read.
    let Ok(json) = serde_json::from_str::<Value>(text.expose()) else {
        return Ok(ValueVerdict::NotJson);
    };
    Ok(match json.get(key) {
        None => ValueVerdict::NoKey,
        Some(Value::String(s)) => matches(s),
        Some(Value::Null) => ValueVerdict::NotString("null"),
        Some(Value::Bool(_)) => ValueVerdict::NotString("a boolean"),
        Some(Value::Number(_)) => ValueVerdict::NotString("a number"),
        Some(Value::Array(_)) => ValueVerdict::NotString("an array"),
        Some(Value::Object(_)) => ValueVerdict::NotString("an object"),
    })
}

/// An age as a person says it: whole days from a day on, else hours or minutes.
fn age_text(age: Duration) -> String {
    let s = age.as_secs();
    match s {
        s if s >= 86_400 => format!("{}d", (s + 43_200) / 86_400),
        s if s >= 3600 => format!("{}h", (s + 1800) / 3600),
        s => format!("{}m", s / 60),
    }
}

fn date(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

fn time_of(
    t: &aws_smithy_types::DateTime,
    spec: &SecretSpec,
    field: &str,
) -> Result<SystemTime, CheckError> {
    // RFC 3339 has years 0000–9999; before 1970 is no date of a secret.
    let secs = t.secs();
    let representable = (0..=253_402_300_799).contains(&secs);
    representable
        .then(|| SystemTime::try_from(*t).ok())
        .flatten()
        .ok_or_else(|| CheckError::Missing {
            operation: DESCRIBE_SECRET.into(),
            resource: resource(spec),
            field: format!("a representable {field} (got {t})"),
        })
}

/// `secrets.<label>` from `DescribeSecret` and the value's verdict (when
/// the value was read): pure, a table row per case.
fn judge(
    spec: &SecretSpec,
    d: &DescribeSecretOutput,
    verdict: Option<ValueVerdict>,
    now: SystemTime,
) -> CheckResult {
    let mut f = Fields::of(resource(spec));
    let mut said = Vec::new();
    f.observe("ARN", d.arn());
    f.observe(
        "KmsKeyId",
        d.kms_key_id().unwrap_or("aws/secretsmanager (AWS managed)"),
    );
    f.observe("RotationEnabled", d.rotation_enabled());
    match d.deleted_date() {
        None => {
            f.judge("DeletedDate", "none", "none", true);
            said.push("not scheduled for deletion".to_string());
        }
        Some(t) => {
            let when = date(time_of(t, spec, "DeletedDate")?);
            f.judge(
                "DeletedDate",
                "none",
                format!("{when} (scheduled for deletion)"),
                false,
            );
        }
    }
    if let Some(max_age) = spec.max_age {
        let expected = format!("within {}", human_duration(max_age));
        match d.last_rotated_date() {
            None => {
                f.judge("LastRotatedDate", expected, "never rotated", false);
            }
            Some(t) => {
                let at = time_of(t, spec, "LastRotatedDate")?;
                // A rotation a little in the future is clock skew: age 0.
                let age = now.duration_since(at).unwrap_or(Duration::ZERO);
                let age_text = age_text(age);
                f.judge(
                    "LastRotatedDate",
                    expected,
                    format!("{} ({age_text} ago)", date(at)),
                    age <= max_age,
                );
                said.push(format!(
                    "rotated {} ago (within {})",
                    age_text,
                    human_duration(max_age)
                ));
            }
        }
    }
    if let Some(verdict) = &verdict {
        let pattern = spec.pattern.as_deref().unwrap_or_default();
        let field = match &spec.json_key {
            Some(key) => format!("value[\"{key}\"]"),
            None => "value".to_string(),
        };
        f.judge(
            &field,
            format!("matches {pattern}"),
            verdict.observed(spec),
            *verdict == ValueVerdict::Matches,
        );
        said.push(format!("{field} matches {pattern}"));
    }
    let mut finding = f.finish(format!("{}: exists, {}", resource(spec), said.join(", ")));
    finding.evidence.observed["RotationEnabled"] = json!(d.rotation_enabled());
    Ok(finding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::secretsmanager::Redacted;
    use crate::check::Status;
    use aws_smithy_types::DateTime;

    const VALUE: &str = "sk_live_51Hxx_not_a_real_key_0000";

    fn spec(check_value: bool, json_key: Option<&str>) -> SecretSpec {
        SecretSpec {
            label: "stripe".into(),
            name: "restartix/stripe".into(),
            arn: None,
            max_age: Some(Duration::from_secs(90 * 86_400)),
            check_value,
            pattern: check_value.then(|| "^sk_live_".to_string()),
            json_key: json_key.map(str::to_string),
        }
    }

    fn described(rotated_days_ago: Option<u64>, deleted: bool) -> DescribeSecretOutput {
        let now = SystemTime::now();
        let ago = |d: u64| DateTime::from(now - Duration::from_secs(d * 86_400));
        DescribeSecretOutput::builder()
            .arn("arn:aws:secretsmanager:eu-central-1:123456789012:secret:restartix/stripe-AbC123")
            .name("restartix/stripe")
            .rotation_enabled(true)
            .set_last_rotated_date(rotated_days_ago.map(ago))
            .set_deleted_date(
                deleted.then(|| DateTime::from(now + Duration::from_secs(7 * 86_400))),
            )
            .build()
    }

    fn text(s: &str) -> SecretValue {
        SecretValue::Text(Redacted::new(s.to_string()))
    }

    #[test]
    fn each_judgement_passes_fails_and_errors_on_silence() {
        let now = SystemTime::now();
        let pass = judge(
            &spec(true, None),
            &described(Some(10), false),
            Some(ValueVerdict::Matches),
            now,
        )
        .unwrap();
        assert_eq!(pass.status, Status::Pass, "{}", pass.message);
        assert!(
            pass.message.contains("rotated 10d ago (within 90d)"),
            "{}",
            pass.message
        );
        assert_eq!(pass.evidence.observed["RotationEnabled"], true);

        let stale = judge(&spec(false, None), &described(Some(120), false), None, now).unwrap();
        assert_eq!(stale.status, Status::Fail);
        assert!(
            stale
                .message
                .contains("LastRotatedDate expected within 90d, observed"),
            "{}",
            stale.message
        );
        assert!(stale.message.contains("(120d ago)"), "{}", stale.message);

        let never = judge(&spec(false, None), &described(None, false), None, now).unwrap();
        assert_eq!(never.status, Status::Fail);
        assert!(
            never.message.contains("observed never rotated"),
            "{}",
            never.message
        );

        let deleted = judge(&spec(false, None), &described(Some(1), true), None, now).unwrap();
        assert_eq!(deleted.status, Status::Fail);
        assert!(
            deleted
                .message
                .contains("DeletedDate expected none, observed"),
            "{}",
            deleted.message
        );
        assert!(deleted.message.contains("(scheduled for deletion)"));

        let mismatch = judge(
            &spec(true, None),
            &described(Some(1), false),
            Some(ValueVerdict::DoesNotMatch),
            now,
        )
        .unwrap();
        assert_eq!(mismatch.status, Status::Fail);
        assert_eq!(
            mismatch.message,
            "secret 'restartix/stripe': value expected matches ^sk_live_, observed does not match the declared pattern"
        );

        let missing = not_found(&spec(false, None));
        assert_eq!(missing.status, Status::Fail);
        assert!(
            missing
                .message
                .starts_with("secret 'restartix/stripe': exists expected true, observed false")
        );

        // No max_age: rotation is reported, not judged.
        let mut no_age = spec(false, None);
        no_age.max_age = None;
        let pass = judge(&no_age, &described(None, false), None, now).unwrap();
        assert_eq!(pass.status, Status::Pass, "{}", pass.message);

        // A date the SDK cannot represent as a SystemTime is an error, never a pass.
        let odd = DescribeSecretOutput::builder()
            .last_rotated_date(DateTime::from_secs(i64::MIN / 2))
            .build();
        assert!(judge(&spec(false, None), &odd, None, now).is_err());
    }

    #[test]
    fn the_value_is_judged_without_ever_being_shown() {
        let plain = spec(true, None);
        assert_eq!(
            judge_value(&plain, &text(VALUE)).unwrap(),
            ValueVerdict::Matches
        );
        assert_eq!(
            judge_value(&plain, &text("sk_test_51Hxx_not_a_real_key")).unwrap(),
            ValueVerdict::DoesNotMatch
        );
        assert_eq!(
            judge_value(&plain, &SecretValue::Binary).unwrap(),
            ValueVerdict::Binary
        );
        let keyed = spec(true, Some("api_key"));
        let json = format!(r#"{{"api_key": "{VALUE}", "account": "acct_1"}}"#);
        assert_eq!(
            judge_value(&keyed, &text(&json)).unwrap(),
            ValueVerdict::Matches
        );
        assert_eq!(
            judge_value(&keyed, &text(VALUE)).unwrap(),
            ValueVerdict::NotJson
        );
        assert_eq!(
            judge_value(&keyed, &text(r#"{"other": 1}"#)).unwrap(),
            ValueVerdict::NoKey
        );
        assert_eq!(
            judge_value(&keyed, &text(r#"["sk_live_x"]"#)).unwrap(),
            ValueVerdict::NoKey
        );
        assert_eq!(
            judge_value(&keyed, &text(r#"{"api_key": 5}"#)).unwrap(),
            ValueVerdict::NotString("a number")
        );
        // Every verdict's words, in the message and the evidence, hold none of it.
        let now = SystemTime::now();
        for verdict in [
            ValueVerdict::Matches,
            ValueVerdict::DoesNotMatch,
            ValueVerdict::Binary,
            ValueVerdict::NotJson,
            ValueVerdict::NoKey,
            ValueVerdict::NotString("a number"),
        ] {
            let finding = judge(&keyed, &described(Some(1), false), Some(verdict), now).unwrap();
            let all = format!("{} {:?}", finding.message, finding.evidence);
            assert!(
                !all.contains("sk_live_51") && !all.contains("acct_1"),
                "{all}"
            );
        }
        let mut bad = spec(true, None);
        bad.pattern = Some("(".into());
        assert!(judge_value(&bad, &text(VALUE)).is_err());
    }

    #[test]
    fn get_secret_value_is_granted_only_on_checked_secrets_via_secrets_manager() {
        let env = crate::spec::parse(
            r#"
            environment = "production"
            region      = "eu-central-1"
            account_id  = "210987654321"
            secret "stripe" {
              name        = "restartix/stripe"
              check_value = true
              pattern     = "^sk_live_"
            }
            secret "webhook" {
              name        = "restartix/webhook"
              arn         = "arn:aws:secretsmanager:eu-central-1:210987654321:secret:restartix/webhook-Xy12Zq"
              check_value = true
              pattern     = "^whsec_"
            }
            secret "cloudflare" {
              name = "restartix/cloudflare"
            }
            "#,
            "production.hcl".as_ref(),
        )
        .unwrap();
        let policy = crate::iam::policy(&env, false);
        let statements = policy["Statement"].as_array().unwrap();
        let with = |action: &str| -> Vec<&Value> {
            statements
                .iter()
                .filter(|s| s["Action"].as_array().unwrap().iter().any(|a| a == action))
                .collect()
        };
        let get = with("secretsmanager:GetSecretValue");
        assert_eq!(get.len(), 1);
        assert_eq!(
            get[0]["Resource"],
            json!([
                "arn:aws:secretsmanager:eu-central-1:210987654321:secret:restartix/stripe-??????",
                "arn:aws:secretsmanager:eu-central-1:210987654321:secret:restartix/webhook-Xy12Zq",
            ])
        );
        assert_eq!(get[0]["Action"], json!(["secretsmanager:GetSecretValue"]));
        let describe = with("secretsmanager:DescribeSecret");
        assert!(describe[0]["Resource"].as_array().unwrap().iter().any(|r| r
            == "arn:aws:secretsmanager:eu-central-1:210987654321:secret:restartix/cloudflare-??????"));
        let decrypt = with("kms:Decrypt");
        assert_eq!(decrypt.len(), 1);
        assert_eq!(decrypt[0]["Action"], json!(["kms:Decrypt"]));
        assert_eq!(
            decrypt[0]["Condition"],
            json!({"StringEquals": {"kms:ViaService": ["secretsmanager.eu-central-1.amazonaws.com"]}})
        );
        assert_eq!(
            decrypt[0]["Resource"],
            json!(["arn:aws:kms:eu-central-1:210987654321:key/*"])
        );

        // No secret checks its value: neither is granted.
        let mut unchecked = env.clone();
        for s in &mut unchecked.secrets {
            s.check_value = false;
            s.pattern = None;
        }
        let actions = crate::iam::actions(&crate::iam::policy(&unchecked, false));
        assert!(actions.contains("secretsmanager:DescribeSecret"));
        assert!(
            !actions.contains("secretsmanager:GetSecretValue") && !actions.contains("kms:Decrypt")
        );
    }
}
