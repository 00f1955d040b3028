//! The evidence digest: one SHA-256 that names what a run showed, so that a
//! sign-off can say which run it approved (`evidence_digest` in a `signoff`
//! block) and a later run whose evidence differs makes it stale.
//!
//! It covers three things and nothing else:
//! - every check's id and status as the report shows it (a waived check
//!   counts as `waived`, not as what the waiver covers: the waiver is part of
//!   what was approved, and its expiry changes the digest);
//! - the Terraform plan's `resource_changes` (not the plan file's bytes: key
//!   order, whitespace, `timestamp` and everything outside `resource_changes`
//!   do not count), when `--terraform-plan` was given;
//! - the commit (`--commit SHA`), when given.
//!
//! Byte for byte, the digest is `sha256:` and the lowercase hex SHA-256 of
//! this UTF-8 text ([`preimage`]), each line ending in `\n`:
//!
//! ```text
//! verify-evidence-digest/1
//! check <id> <status>        one line per check, sorted by id (bytewise)
//! plan <resource_changes>    the canonical JSON below, or `plan -` without a plan
//! commit <sha>               lowercase, or `commit -` without --commit
//! ```
//!
//! The canonical `resource_changes` is a JSON array with no whitespace
//! between tokens: each entry of the plan's `resource_changes` (an absent
//! list is `[]`) written with object keys sorted (bytewise, at every depth),
//! strings escaped as JSON requires (`"` `\` and control characters; `\b`
//! `\f` `\n` `\r` `\t` short, others `\u00xx`; nothing else, non-ASCII as
//! UTF-8), numbers as written by `serde_json`; then the entries sorted
//! bytewise by that text. Python recomputes it with
//! `sorted(json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False) for e in changes)`,
//! joined by `,` inside `[` `]`.
//!
//! ```
//! use report_model::digest::{evidence_digest, preimage};
//! use serde_json::json;
//! let checks = [("rds.multi_az", "pass"), ("budgets.monthly", "waived")];
//! let plan = json!([{"address": "aws_db_instance.core", "change": {"actions": ["no-op"]}}]);
//! assert_eq!(
//!     preimage(checks, Some(&plan), Some("ABC123")),
//!     "verify-evidence-digest/1\n\
//!      check budgets.monthly waived\n\
//!      check rds.multi_az pass\n\
//!      plan [{\"address\":\"aws_db_instance.core\",\"change\":{\"actions\":[\"no-op\"]}}]\n\
//!      commit abc123\n"
//! );
//! let digest = evidence_digest(checks, Some(&plan), Some("abc123"));
//! assert!(digest.starts_with("sha256:") && digest.len() == 7 + 64);
//! ```

use std::fmt::Write;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The first line of the digested text: its version.
pub const VERSION_LINE: &str = "verify-evidence-digest/1";

/// What the digest of a run covered besides its checks, as the JSON report
/// records it (`evidence_inputs`): enough to say which part changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceInputs {
    /// `sha256:` of the canonical `resource_changes` ([`canonical_resource_changes`]);
    /// `None` when no plan was given.
    pub plan: Option<String>,
    /// The commit (`--commit`), lowercase; `None` when not given.
    pub commit: Option<String>,
}

impl EvidenceInputs {
    /// The inputs of a run with `resource_changes` (the plan's, `None`
    /// without one) and `commit`.
    pub fn of(resource_changes: Option<&Value>, commit: Option<&str>) -> EvidenceInputs {
        EvidenceInputs {
            plan: resource_changes.map(|rc| sha256(canonical_resource_changes(rc).as_bytes())),
            commit: commit.map(normalise_commit),
        }
    }
}

/// `sha256:<hex>` of the run's evidence ([module docs](self)).
/// `checks` are `(id, status)` pairs as reports spell them.
pub fn evidence_digest<'a>(
    checks: impl IntoIterator<Item = (&'a str, &'a str)>,
    resource_changes: Option<&Value>,
    commit: Option<&str>,
) -> String {
    sha256(preimage(checks, resource_changes, commit).as_bytes())
}

/// The text [`evidence_digest`] hashes.
pub fn preimage<'a>(
    checks: impl IntoIterator<Item = (&'a str, &'a str)>,
    resource_changes: Option<&Value>,
    commit: Option<&str>,
) -> String {
    let mut pairs: Vec<(&str, &str)> = checks.into_iter().collect();
    pairs.sort_unstable();
    let mut text = String::with_capacity(64 + pairs.len() * 40);
    text.push_str(VERSION_LINE);
    text.push('\n');
    for (id, status) in pairs {
        let _ = writeln!(text, "check {id} {status}");
    }
    match resource_changes {
        Some(rc) => {
            let _ = writeln!(text, "plan {}", canonical_resource_changes(rc));
        }
        None => text.push_str("plan -\n"),
    }
    match commit {
        Some(c) => {
            let _ = writeln!(text, "commit {}", normalise_commit(c));
        }
        None => text.push_str("commit -\n"),
    }
    text
}

/// A commit as the digest writes it: trimmed, lowercase.
fn normalise_commit(commit: &str) -> String {
    commit.trim().to_ascii_lowercase()
}

/// Whether `text` is a commit `--commit` accepts: 7 to 64 hex digits.
///
/// ```
/// use report_model::digest::is_commit;
/// assert!(is_commit("0123abc") && is_commit(&"f".repeat(40)));
/// assert!(!is_commit("main") && !is_commit("abc") && !is_commit("0123abc "));
/// ```
pub fn is_commit(text: &str) -> bool {
    (7..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether `text` is a digest as this module writes it: `sha256:` and 64 lowercase hex digits.
///
/// ```
/// use report_model::digest::is_digest;
/// assert!(is_digest(&format!("sha256:{}", "0a".repeat(32))));
/// assert!(!is_digest(&format!("sha256:{}", "0A".repeat(32))));
/// assert!(!is_digest("sha256:abc"));
/// ```
pub fn is_digest(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The plan's `resource_changes` as the digest writes it: each entry
/// [`canonical_json`], the entries sorted bytewise, inside `[` `]`. Anything
/// but an array (a plan without the list reads as `[]`) is written as its
/// canonical JSON alone.
pub fn canonical_resource_changes(resource_changes: &Value) -> String {
    let Value::Array(entries) = resource_changes else {
        return canonical_json(resource_changes);
    };
    let mut entries: Vec<String> = entries.iter().map(canonical_json).collect();
    entries.sort_unstable();
    format!("[{}]", entries.join(","))
}

/// `value` as JSON with no whitespace and object keys sorted bytewise at
/// every depth (whatever order the map kept them in).
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(key).expect("a string serialises"));
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&serde_json::to_string(scalar).expect("a scalar serialises")),
    }
}

/// `sha256:` and the lowercase hex SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in hash.iter() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PASS: [(&str, &str); 3] = [
        ("rds.multi_az", "pass"),
        ("budgets.monthly", "waived"),
        ("ses.identity", "skip"),
    ];

    fn plan_text(text: &str) -> Value {
        let plan: Value = serde_json::from_str(text).unwrap();
        plan.get("resource_changes")
            .cloned()
            .unwrap_or(Value::Array(vec![]))
    }

    const PLAN: &str = r#"{"format_version":"1.2","timestamp":"2026-11-23T19:00:00Z",
      "resource_changes":[
        {"address":"aws_db_instance.core","type":"aws_db_instance","change":{"actions":["no-op"],"before":{"multi_az":true,"engine":"postgres"},"after":{"multi_az":true,"engine":"postgres"}}},
        {"address":"aws_s3_bucket.logs","type":"aws_s3_bucket","change":{"actions":["no-op"],"before":{"bucket":"logs"},"after":{"bucket":"logs"}}}
      ]}"#;

    /// The same plan with its keys in another order, other whitespace,
    /// another timestamp, other top-level fields and its entries swapped.
    const PLAN_REORDERED: &str = r#"{
      "resource_changes": [
        { "change": { "after": { "bucket": "logs" }, "before": { "bucket": "logs" }, "actions": [ "no-op" ] },
          "type": "aws_s3_bucket", "address": "aws_s3_bucket.logs" },
        { "type": "aws_db_instance", "address": "aws_db_instance.core",
          "change": { "actions": ["no-op"], "after": {"engine": "postgres", "multi_az": true}, "before": {"engine": "postgres", "multi_az": true} } }
      ],
      "timestamp": "2026-12-01T08:00:00Z",
      "terraform_version": "1.9.0",
      "format_version": "1.2"
    }"#;

    #[test]
    fn the_order_of_checks_does_not_count() {
        let mut reversed = PASS;
        reversed.reverse();
        assert_eq!(
            evidence_digest(PASS, None, None),
            evidence_digest(reversed, None, None)
        );
    }

    #[test]
    fn a_status_change_changes_it_and_waived_counts_as_waived() {
        let base = evidence_digest(PASS, None, None);
        let mut failing = PASS;
        failing[0].1 = "fail";
        assert_ne!(base, evidence_digest(failing, None, None));
        let mut unwaived = PASS;
        unwaived[1].1 = "fail";
        assert_ne!(base, evidence_digest(unwaived, None, None));
        // A check more or fewer changes it too.
        assert_ne!(base, evidence_digest(PASS[..2].iter().copied(), None, None));
    }

    #[test]
    fn the_plan_counts_by_its_resource_changes_not_its_bytes() {
        let a = plan_text(PLAN);
        let b = plan_text(PLAN_REORDERED);
        assert_eq!(
            evidence_digest(PASS, Some(&a), None),
            evidence_digest(PASS, Some(&b), None)
        );
        assert_eq!(
            EvidenceInputs::of(Some(&a), None),
            EvidenceInputs::of(Some(&b), None)
        );
        // No plan and a plan that changes nothing differ.
        let empty = plan_text(r#"{"format_version":"1.2"}"#);
        assert_eq!(canonical_resource_changes(&empty), "[]");
        assert_ne!(
            evidence_digest(PASS, None, None),
            evidence_digest(PASS, Some(&empty), None)
        );
        // A resource change that changes changes it.
        let changed = plan_text(&PLAN.replace(
            r#""after":{"multi_az":true,"engine":"postgres"}"#,
            r#""after":{"multi_az":false,"engine":"postgres"}"#,
        ));
        assert_ne!(
            evidence_digest(PASS, Some(&a), None),
            evidence_digest(PASS, Some(&changed), None)
        );
        let actions = plan_text(&PLAN.replacen(r#"["no-op"]"#, r#"["update"]"#, 1));
        assert_ne!(
            evidence_digest(PASS, Some(&a), None),
            evidence_digest(PASS, Some(&actions), None)
        );
    }

    #[test]
    fn the_commit_counts_when_given_in_any_case() {
        let none = evidence_digest(PASS, None, None);
        let one = evidence_digest(PASS, None, Some("0123abcd"));
        assert_ne!(none, one);
        assert_eq!(one, evidence_digest(PASS, None, Some("0123ABCD")));
        assert_ne!(one, evidence_digest(PASS, None, Some("0123abce")));
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth_and_escapes_as_json() {
        let v = json!({"b": [{"z": 1, "a": null}], "a": "x\"\n\u{1}é", "c": 1.5});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":"x\"\n\u0001é","b":[{"a":null,"z":1}],"c":1.5}"#
        );
    }

    /// The digest of a fixed input, so that a change to the format is seen
    /// (and the version line goes up with it). Recomputed by hand with
    /// `printf 'verify-evidence-digest/1\ncheck a.x pass\nplan -\ncommit -\n' | sha256sum`.
    #[test]
    fn a_known_digest() {
        assert_eq!(
            preimage([("a.x", "pass")], None, None),
            "verify-evidence-digest/1\ncheck a.x pass\nplan -\ncommit -\n"
        );
        assert_eq!(
            sha256(b"verify-evidence-digest/1\ncheck a.x pass\nplan -\ncommit -\n"),
            evidence_digest([("a.x", "pass")], None, None)
        );
        assert_eq!(
            sha256(b"abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
