//! `s3_bucket "<label>"` and `logs` blocks: what `s3.<label>.*` and
//! `logs.retention` judge, read as strictly as the rest.

use super::*;

pub(super) fn s3_bucket(
    doc: &Doc,
    label: String,
    block: &Block,
) -> Result<S3BucketSpec, SpecError> {
    let mut s = Section::of_block(doc, block)?;
    let name = s.required_string("name")?;
    if !bucket_name_ok(&name) {
        return Err(s.invalid_value(
            "name",
            "an S3 bucket name: 3–63 lowercase letters, digits, dots and hyphens, \
             starting and ending with a letter or digit",
        ));
    }
    let expected_algorithm = "one of \"aws:kms\", \"aws:kms:dsse\", \"AES256\" (S3's SSEAlgorithm)";
    let encryption = match s.string("encryption")? {
        None => return Err(s.missing("encryption", expected_algorithm)),
        Some(text) => S3Encryption::ALL
            .into_iter()
            .find(|a| a.as_str() == text)
            .ok_or_else(|| s.invalid_value("encryption", expected_algorithm))?,
    };
    let kms_key = s.string("kms_key")?;
    match (&kms_key, encryption.uses_kms()) {
        (None, true) => {
            return Err(s.missing(
                "kms_key",
                "the KMS key the bucket's default encryption must use: \"alias/…\", a key ARN or a key id",
            ));
        }
        (Some(_), false) => {
            return Err(s.invalid_value(
                "kms_key",
                "left out: `encryption = \"AES256\"` uses no KMS key",
            ));
        }
        (Some(key), true) if !kms_key_ok(key) => {
            return Err(s.invalid_value(
                "kms_key",
                "\"alias/<name>\", a KMS key or alias ARN, or a key id",
            ));
        }
        _ => {}
    }
    s.finish()?;
    Ok(S3BucketSpec {
        label,
        name,
        encryption,
        kms_key,
    })
}

/// S3's naming rules (general purpose buckets), enough to catch a typo
/// such as an ARN or an upper-case letter.
fn bucket_name_ok(name: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && edge(name.chars().next())
        && edge(name.chars().last())
        && !name.contains("..")
}

/// `alias/<name>`, an ARN of a KMS key or alias, or a key id (no `/`, no blanks).
fn kms_key_ok(key: &str) -> bool {
    if let Some(alias) = key.strip_prefix("alias/") {
        return !alias.is_empty();
    }
    if key.starts_with("arn:") {
        let parts: Vec<&str> = key.splitn(6, ':').collect();
        return parts.len() == 6
            && parts[2] == "kms"
            && (parts[5].starts_with("key/") || parts[5].starts_with("alias/"))
            && parts[5].len() > 6;
    }
    !key.is_empty() && !key.contains(['/', ' ', ':'])
}

pub(super) fn logs(doc: &Doc, block: &Block) -> Result<LogsSpec, SpecError> {
    let mut s = Section::of_block(doc, block)?;
    let names = s.strings("groups")?.unwrap_or_default();
    let range = Range::read(&mut s)?;
    let group_blocks = s.labelled_blocks("group")?;
    if names.is_empty() && group_blocks.is_empty() {
        return Err(s.missing(
            "groups",
            "a list of log group names (a name may end in `*` for a family), or `group \"<name>\"` blocks",
        ));
    }
    let mut groups = Vec::new();
    for name in names {
        check_group_name(&s, "groups", &name)?;
        if groups.iter().any(|g: &LogGroupRule| g.name == name) {
            return Err(s.invalid_value(
                "groups",
                &format!("a list without repeats (\"{name}\" is twice)"),
            ));
        }
        let Some(min) = range.min else {
            return Err(s.missing(
                "min_retention_days",
                "the least retention, in days, the groups in `groups` must have",
            ));
        };
        groups.push(LogGroupRule {
            name,
            min_retention_days: min,
            max_retention_days: range.max,
            allow_never_expire: range.never.unwrap_or(false),
        });
    }
    for (name, b) in group_blocks {
        let mut g = Section::of_block(doc, b)?;
        check_group_name(&g, "", &name).map_err(|_| {
            doc.error(
                b.labels[0].span(),
                format!(
                    "{}: the label must be a log group name, or a prefix ending in one `*`",
                    g.what
                ),
            )
        })?;
        if groups.iter().any(|r| r.name == name) {
            return Err(doc.error(
                b.labels[0].span(),
                format!(
                    "{}: log group \"{name}\" is already declared in `groups`",
                    g.what
                ),
            ));
        }
        let own = Range::read(&mut g)?;
        let Some(min) = own.min.or(range.min) else {
            return Err(g.missing(
                "min_retention_days",
                "the least retention, in days (here or in the `logs` block)",
            ));
        };
        let max = own.max.or(range.max);
        if max.is_some_and(|max| max < min) {
            return Err(g.invalid_value(
                if own.max.is_some() {
                    "max_retention_days"
                } else {
                    "min_retention_days"
                },
                "a range whose max_retention_days is at least its min_retention_days",
            ));
        }
        g.finish()?;
        groups.push(LogGroupRule {
            name,
            min_retention_days: min,
            max_retention_days: max,
            allow_never_expire: own.never.or(range.never).unwrap_or(false),
        });
    }
    s.finish()?;
    Ok(LogsSpec { groups })
}

/// The range attributes of a `logs` or `group` block, as written.
struct Range {
    min: Option<u32>,
    max: Option<u32>,
    never: Option<bool>,
}

impl Range {
    fn read(s: &mut Section) -> Result<Range, SpecError> {
        let range = Range {
            min: s.count("min_retention_days", 1)?,
            max: s.count("max_retention_days", 1)?,
            never: s.bool("allow_never_expire")?,
        };
        if let (Some(min), Some(max)) = (range.min, range.max)
            && max < min
        {
            return Err(s.invalid_value(
                "max_retention_days",
                &format!("at least min_retention_days ({min})"),
            ));
        }
        Ok(range)
    }
}

/// A log group name (1–512 characters, no blanks), or a prefix and one `*` at the end.
fn check_group_name(s: &Section, key: &str, name: &str) -> Result<(), SpecError> {
    let base = name.strip_suffix('*').unwrap_or(name);
    let ok = !base.is_empty()
        && name.len() <= 512
        && !base.contains('*')
        && !name.chars().any(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(s.invalid_value(
            key,
            &format!(
                "a list of log group names, each a name or a prefix ending in one `*` (\"{name}\" is neither)"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(body: &str) -> Result<Environment, SpecError> {
        parse(
            &format!(
                "environment = \"s\"\nregion = \"eu-central-1\"\naccount_id = \"123456789012\"\n{body}"
            ),
            "s.hcl".as_ref(),
        )
    }

    fn message(body: &str) -> String {
        spec(body).unwrap_err().to_string()
    }

    #[test]
    fn a_bucket_declares_its_algorithm_and_its_kms_key() {
        let env = spec(
            "s3_bucket \"uploads\" {\n  name = \"restartix.uploads\"\n  encryption = \"aws:kms\"\n  kms_key = \"alias/uploads\"\n}\n\
             s3_bucket \"logs\" {\n  name = \"restartix-logs\"\n  encryption = \"AES256\"\n}\n",
        )
        .unwrap();
        assert_eq!(env.s3_buckets.len(), 2);
        assert_eq!(env.s3_buckets[0].encryption, S3Encryption::AwsKms);
        assert_eq!(env.s3_buckets[0].kms_key.as_deref(), Some("alias/uploads"));
        assert_eq!(env.s3_buckets[1].kms_key, None);
        for (body, needle) in [
            (
                "name = \"b-1\"\n",
                "missing required attribute `encryption`",
            ),
            (
                "name = \"b-1\"\nencryption = \"aws:kms\"\n",
                "missing required attribute `kms_key`",
            ),
            (
                "name = \"b-1\"\nencryption = \"AES256\"\nkms_key = \"alias/x\"\n",
                "`kms_key` must be left out",
            ),
            (
                "name = \"b-1\"\nencryption = \"SSE-S3\"\n",
                "`encryption` must be one of",
            ),
            (
                "name = \"Bucket\"\nencryption = \"AES256\"\n",
                "`name` must be an S3 bucket name",
            ),
            (
                "name = \"b-1\"\nencryption = \"aws:kms\"\nkms_key = \"arn:aws:s3:::x\"\n",
                "`kms_key` must be",
            ),
            (
                "name = \"b-1\"\nencryption = \"AES256\"\nversioning = false\n",
                "unknown attribute `versioning`",
            ),
        ] {
            let m = message(&format!("s3_bucket \"b\" {{\n{body}}}\n"));
            assert!(m.contains(needle), "{body}: {m}");
        }
        assert!(kms_key_ok("1234abcd-12ab-34cd-56ef-1234567890ab"));
        assert!(kms_key_ok("arn:aws:kms:eu-central-1:123456789012:alias/x"));
        assert!(!kms_key_ok("alias/"));
    }

    #[test]
    fn log_groups_take_the_blocks_range_or_their_own() {
        let env = spec(
            "logs {\n  groups = [\"/ecs/a\", \"/ecs/app-*\"]\n  min_retention_days = 30\n  max_retention_days = 400\n\
             group \"/aws/lambda/x\" {\n    min_retention_days = 365\n    max_retention_days = 3653\n    allow_never_expire = true\n  }\n}\n",
        )
        .unwrap();
        let groups = &env.logs.unwrap().groups;
        assert_eq!(groups.len(), 3);
        assert_eq!(
            (
                groups[0].min_retention_days,
                groups[0].max_retention_days,
                groups[0].allow_never_expire
            ),
            (30, Some(400), false)
        );
        assert_eq!(groups[1].family_prefix(), Some("/ecs/app-"));
        assert_eq!(
            (
                groups[2].min_retention_days,
                groups[2].max_retention_days,
                groups[2].allow_never_expire
            ),
            (365, Some(3653), true)
        );
        for (body, needle) in [
            ("", "missing required attribute `groups`"),
            (
                "groups = [\"/a\"]\n",
                "missing required attribute `min_retention_days`",
            ),
            (
                "groups = [\"/a\"]\nmin_retention_days = 30\nmax_retention_days = 7\n",
                "at least min_retention_days (30)",
            ),
            (
                "groups = [\"/a*b\"]\nmin_retention_days = 30\n",
                "a prefix ending in one `*`",
            ),
            (
                "groups = [\"/a\", \"/a\"]\nmin_retention_days = 30\n",
                "without repeats",
            ),
            (
                "groups = [\"/a\"]\nmin_retention_days = 0\n",
                "a whole number ≥ 1",
            ),
            ("group \"/a\" {\n}\n", "(here or in the `logs` block)"),
            (
                "groups = [\"/a\"]\nmin_retention_days = 1\ngroup \"/a\" {\n}\n",
                "already declared in `groups`",
            ),
            (
                "groups = [\"/a\"]\nmin_retention_days = 1\nretention = 3\n",
                "unknown attribute `retention`",
            ),
        ] {
            let m = message(&format!("logs {{\n{body}}}\n"));
            assert!(m.contains(needle), "{body}: {m}");
        }
    }
}
