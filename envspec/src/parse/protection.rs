//! `kms { … }` and `secret "<label>" { … }`: the keys `kms.rotation`
//! judges, and the secrets `secrets.<label>` judges.
//!
//! ```hcl
//! kms {
//!   keys = ["alias/restartix-production-rds"]   # key ids, key ARNs, alias names or alias ARNs
//! }
//!
//! secret "stripe_live_key" {
//!   name        = "restartix-production/stripe-live-key"
//!   arn         = "arn:aws:secretsmanager:eu-central-1:210987654321:secret:restartix-production/stripe-live-key-AbCdEf"
//!   max_age     = "90d"
//!   check_value = true
//!   pattern     = "^sk_live_"
//!   json_key    = "api_key"
//! }
//! ```

use super::*;

pub(super) fn kms(doc: &Doc, block: &Block) -> Result<KmsSpec, SpecError> {
    let mut s = Section::of_block(doc, block)?;
    let keys = s.strings("keys")?.unwrap_or_default();
    if let Some(bad) = keys.iter().find(|k| !is_key_reference(k)) {
        return Err(s.invalid_value(
            "keys",
            &format!(
                "a list of KMS key ids, key ARNs, alias names (`alias/…`) or alias ARNs; \"{bad}\" is none of them"
            ),
        ));
    }
    s.finish()?;
    Ok(KmsSpec { keys })
}

/// A key id (`1234abcd-…`, `mrk-…`), a key ARN, `alias/<name>` or an alias ARN.
fn is_key_reference(key: &str) -> bool {
    let word = |t: &str| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_/".contains(c))
    };
    if let Some(rest) = key.strip_prefix("arn:") {
        // arn:<partition>:kms:<region>:<account>:key/<id> | alias/<name>
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        return matches!(parts.as_slice(), [_, "kms", region, account, resource]
            if !region.is_empty()
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && (resource.strip_prefix("key/").is_some_and(word)
                    || resource.strip_prefix("alias/").is_some_and(word)));
    }
    match key.strip_prefix("alias/") {
        Some(name) => word(name),
        None => !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
    }
}

pub(super) fn secret(doc: &Doc, label: String, block: &Block) -> Result<SecretSpec, SpecError> {
    let mut s = Section::of_block(doc, block)?;
    if label.is_empty()
        || !label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(doc.error(
            block.labels.first().and_then(|l| l.span()),
            format!(
                "block `secret \"{label}\"`: the label is part of the check id `secrets.<label>`: letters, digits, `_` and `-` only"
            ),
        ));
    }
    let name = s.required_string("name")?;
    if name.starts_with("arn:") {
        return Err(s.invalid_value("name", "the secret's name (its ARN goes in `arn`)"));
    }
    let arn = s.string("arn")?;
    if let Some(arn) = &arn
        && !is_secret_arn_of(arn, &name)
    {
        return Err(s.invalid_value(
            "arn",
            &format!(
                "the secret's full ARN, `arn:aws:secretsmanager:<region>:<account>:secret:{name}-` and its 6-character suffix"
            ),
        ));
    }
    let max_age = s.duration("max_age")?;
    if max_age.is_some_and(|d| d.is_zero()) {
        return Err(s.invalid_value("max_age", "a duration above zero, such as \"90d\""));
    }
    let check_value = s.bool("check_value")?.unwrap_or(false);
    let pattern = s.string("pattern")?;
    let json_key = s.string("json_key")?;
    if !check_value {
        for (key, set) in [
            ("pattern", pattern.is_some()),
            ("json_key", json_key.is_some()),
        ] {
            if set {
                return Err(s.invalid_value(
                    key,
                    "left out unless `check_value = true` (the value is read only then)",
                ));
            }
        }
    }
    match &pattern {
        None if check_value => {
            return Err(s.missing(
                "pattern",
                "with `check_value = true`, the regex the value must match, e.g. \"^sk_live_\"",
            ));
        }
        Some(p) => {
            if let Err(e) = regex::Regex::new(p) {
                // The regex crate's message spans lines (the pattern, a caret, the reason).
                let reason = e.to_string();
                let reason = reason.lines().last().unwrap_or_default().trim().to_string();
                return Err(s.invalid_value(
                    "pattern",
                    &format!("a valid regular expression (Rust `regex` syntax): {reason}"),
                ));
            }
        }
        None => {}
    }
    if json_key.as_deref().is_some_and(|k| k.is_empty()) {
        return Err(s.invalid_value("json_key", "a non-empty key of the secret's JSON object"));
    }
    s.finish()?;
    Ok(SecretSpec {
        label,
        name,
        arn,
        max_age,
        check_value,
        pattern,
        json_key,
    })
}

/// `arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-XXXXXX`.
fn is_secret_arn_of(arn: &str, name: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    let [
        "arn",
        _partition,
        "secretsmanager",
        region,
        account,
        "secret",
        resource,
    ] = parts.as_slice()
    else {
        return false;
    };
    let suffix = resource
        .strip_prefix(name)
        .and_then(|rest| rest.strip_prefix('-'));
    !region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && suffix.is_some_and(|s| s.len() == 6 && s.chars().all(|c| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str =
        "environment = \"s\"\nregion = \"eu-central-1\"\naccount_id = \"123456789012\"\n";

    fn parse(body: &str) -> Result<Environment, SpecError> {
        crate::parse(&format!("{HEAD}{body}"), "s.hcl".as_ref())
    }

    fn refused(body: &str) -> String {
        parse(body).expect_err("refused").to_string()
    }

    #[test]
    fn keys_and_secrets_are_read() {
        let env = parse(
            r#"
kms {
  keys = ["alias/rds", "1234abcd-12ab-34cd-56ef-1234567890ab", "arn:aws:kms:eu-central-1:123456789012:key/mrk-1", "arn:aws:kms:eu-central-1:123456789012:alias/x"]
}
secret "stripe" {
  name        = "p/stripe"
  arn         = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:p/stripe-AbC123"
  max_age     = "90d"
  check_value = true
  pattern     = "^sk_live_"
  json_key    = "api_key"
}
secret "plain" {
  name = "p/plain"
}
"#,
        )
        .unwrap();
        assert_eq!(env.kms.as_ref().unwrap().keys.len(), 4);
        let stripe = &env.secrets[0];
        assert_eq!(stripe.secret_id(), stripe.arn.as_deref().unwrap());
        assert_eq!(stripe.max_age, Some(Duration::from_secs(90 * 86_400)));
        assert!(stripe.check_value);
        assert_eq!(stripe.pattern.as_deref(), Some("^sk_live_"));
        let plain = &env.secrets[1];
        assert_eq!(
            (plain.secret_id(), plain.check_value, plain.max_age),
            ("p/plain", false, None)
        );
        assert!(parse("").unwrap().kms.is_none());
    }

    #[test]
    fn each_mistake_is_refused_at_its_position() {
        for (body, position, words) in [
            (
                "kms {\n  keys = [\"not a key\"]\n}\n",
                ":5:10:",
                "\"not a key\" is none of them",
            ),
            ("kms {\n  key = []\n}\n", ":5:3:", "unknown attribute `key`"),
            (
                "secret \"s\" {\n  name = \"n\"\n  check_value = true\n}\n",
                ":4:1:",
                "missing required attribute `pattern`",
            ),
            (
                "secret \"s\" {\n  name = \"n\"\n  pattern = \"^x\"\n}\n",
                ":6:13:",
                "left out unless `check_value = true`",
            ),
            (
                "secret \"s\" {\n  name = \"n\"\n  check_value = true\n  pattern = \"^sk_(live\"\n}\n",
                ":7:13:",
                "a valid regular expression",
            ),
            (
                "secret \"s\" {\n  name = \"n\"\n  arn = \"arn:aws:secretsmanager:eu-central-1:123456789012:secret:other-AbC123\"\n}\n",
                ":6:9:",
                "the secret's full ARN",
            ),
            (
                "secret \"s\" {\n  name = \"n\"\n  max_age = \"0s\"\n}\n",
                ":6:13:",
                "above zero",
            ),
            (
                "secret \"a.b\" {\n  name = \"n\"\n}\n",
                ":4:8:",
                "letters, digits",
            ),
            (
                "secret \"s\" {\n  name = \"n\"\n  check_value = \"yes\"\n}\n",
                ":6:17:",
                "true or false",
            ),
        ] {
            let message = refused(body);
            assert!(
                message.contains(position) && message.contains(words),
                "{body}\n→ {message}"
            );
        }
    }

    #[test]
    fn key_references() {
        for good in [
            "alias/aws/rds",
            "mrk-1234abcd12ab34cd56ef1234567890ab",
            "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws-cn:kms:cn-north-1:123456789012:alias/x",
        ] {
            assert!(is_key_reference(good), "{good}");
        }
        for bad in [
            "",
            "alias/",
            "arn:aws:kms:eu-central-1:1234:key/x",
            "arn:aws:s3:::bucket",
            "a key",
        ] {
            assert!(!is_key_reference(bad), "{bad}");
        }
    }
}
