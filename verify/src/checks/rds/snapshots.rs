//! `rds.snapshots.<label>`, one per `rds_snapshot` block: the launch
//! checklist's manual snapshots (T-7 "known-clean", T-0 "post-import").
//! The newest manual snapshot of the declared instance that carries the
//! declared tag(s) and name prefix is judged: `available`, encrypted, and
//! created within the declared age. None matching fails.
//!
//! One `DescribeDBSnapshots` (SnapshotType `manual`, every page) per
//! instance per run, shared by every block naming that instance. Instance
//! snapshots only: Aurora cluster snapshots (`DescribeDBClusterSnapshots`)
//! are not read.

use std::time::{Duration, SystemTime};

use aws_sdk_rds::types::DbSnapshot;
use serde_json::json;

use crate::aws;
use crate::aws::rds::DESCRIBE_DB_SNAPSHOTS as DESCRIBE;
use crate::check::{Check, CheckDef, CheckError, CheckResult, Fields, Grant, human_duration};
use crate::context::Context;
use crate::spec::{Environment, RdsSnapshotSpec};

use super::MAX_CLOCK_SKEW;

// --- what: the checks, declared ----------------------------------------------

/// One check per declared `rds_snapshot` block: instances of this template.
pub(crate) const SNAPSHOT: CheckDef = CheckDef {
    id: "rds.snapshots.<label>",
    title: "the declared manual snapshot exists, is available, encrypted and recent",
    doc: "the newest manual snapshot (`DescribeDBSnapshots`, `SnapshotType` manual) of the declared instance with the declared tag(s) or name prefix is `available`, `Encrypted = true` and created within `max_age`; none matching fails. Instance snapshots only: Aurora cluster snapshots are not read",
    iam: &[Grant::on(
        "RdsReadDeclaredSnapshots",
        "rds:DescribeDBSnapshots",
        |env, a| {
            let mut arns: Vec<String> = env
                .rds_snapshots
                .iter()
                .map(|s| a.db(&s.instance))
                .collect();
            arns.sort();
            arns.dedup();
            if !arns.is_empty() {
                arns.push(a.arn("rds", "snapshot:*"));
            }
            arns
        },
    )],
};

/// The checks a spec names, as templates for the catalogue.
pub(crate) const TEMPLATES: &[&CheckDef] = &[&SNAPSHOT];

/// One check per declared `rds_snapshot` block.
pub fn checks(env: &Environment) -> Vec<Check> {
    env.rds_snapshots
        .iter()
        .map(|s| {
            let label = s.label.clone();
            Check::instance(&SNAPSHOT, format!("rds.snapshots.{label}"), move |cx| {
                let label = label.clone();
                Box::pin(async move { snapshot(cx, &label).await })
            })
        })
        .collect()
}

// --- how: the judges ----------------------------------------------------------

async fn snapshot(cx: &Context, label: &str) -> CheckResult {
    let spec = cx
        .env()
        .rds_snapshots
        .iter()
        .find(|s| s.label == label)
        .ok_or_else(|| CheckError::NotFound {
            operation: "spec".into(),
            resource: format!("rds_snapshot \"{label}\""),
        })?;
    let snapshots = aws::rds::manual_snapshots(cx.aws(), &spec.instance).await?;
    judge(spec, &snapshots, SystemTime::now())
}

/// What the block asks for, as a message says it: `tagged k=v and named p*`.
fn wanted(spec: &RdsSnapshotSpec) -> String {
    let mut parts = Vec::new();
    if !spec.tags.is_empty() {
        let tags: Vec<String> = spec.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        parts.push(format!("tagged {}", tags.join(", ")));
    }
    if let Some(prefix) = &spec.name_prefix {
        parts.push(format!("named {prefix}*"));
    }
    parts.join(" and ")
}

/// Whether `snapshot` carries every declared tag and the declared prefix.
/// `Err`: a prefix is declared and RDS did not name the snapshot.
fn matches(spec: &RdsSnapshotSpec, snapshot: &DbSnapshot) -> Result<bool, CheckError> {
    if snapshot
        .snapshot_type()
        .is_some_and(|t| !t.eq_ignore_ascii_case("manual"))
    {
        return Ok(false);
    }
    // RDS leaves an empty TagList out: no tags.
    let tagged = spec.tags.iter().all(|(k, v)| {
        snapshot
            .tag_list()
            .iter()
            .any(|t| t.key() == Some(k.as_str()) && t.value() == Some(v.as_str()))
    });
    let named = match &spec.name_prefix {
        None => true,
        Some(prefix) => crate::check::required(
            snapshot.db_snapshot_identifier(),
            DESCRIBE,
            &instance(spec),
            "DBSnapshotIdentifier",
        )?
        .to_ascii_lowercase()
        .starts_with(prefix.as_str()),
    };
    Ok(tagged && named)
}

fn instance(spec: &RdsSnapshotSpec) -> String {
    format!("rds instance '{}'", spec.instance)
}

/// `rds.snapshots.<label>` on the manual snapshots of the declared instance.
fn judge(spec: &RdsSnapshotSpec, snapshots: &[DbSnapshot], now: SystemTime) -> CheckResult {
    let wanted = wanted(spec);
    let mut matching = Vec::new();
    for s in snapshots {
        if matches(spec, s)? {
            matching.push(s);
        }
    }
    let expected = json!({
        "instance": spec.instance,
        "SnapshotType": "manual",
        "tags": spec.tags.iter().map(|(k, v)| json!({ "Key": k, "Value": v })).collect::<Vec<_>>(),
        "name_prefix": spec.name_prefix,
    });
    // The newest by creation time; one still being created has none yet
    // and is listed, not judged.
    let newest = matching
        .iter()
        .filter_map(|s| s.snapshot_create_time().map(|t| (*t, *s)))
        .max_by(|a, b| a.0.cmp(&b.0));
    let Some((created, newest)) = newest else {
        if let Some(first) = matching.first() {
            // Matches, none with a creation time: AWS did not say when.
            return Err(CheckError::Missing {
                operation: DESCRIBE.into(),
                resource: format!(
                    "rds snapshot '{}'",
                    first.db_snapshot_identifier().unwrap_or("?")
                ),
                field: "SnapshotCreateTime".into(),
            });
        }
        let mut f = Fields::of(instance(spec));
        f.problem(format!(
            "no manual snapshot of {} {wanted} (expected one within {}, observed {} manual snapshot(s), none matching)",
            spec.instance,
            human_duration(spec.max_age),
            snapshots.len()
        ));
        f.observe("DBSnapshotIdentifier", serde_json::Value::Null);
        f.observe("Status", serde_json::Value::Null);
        f.observe("Encrypted", serde_json::Value::Null);
        f.observe("created", serde_json::Value::Null);
        f.observe("SnapshotCreateTime", serde_json::Value::Null);
        f.observe("age_s", serde_json::Value::Null);
        f.observe("matching", json!([]));
        f.observe("manual_snapshots", snapshots.len());
        let mut finding = f.finish(String::new());
        finish_expected(&mut finding, expected, spec);
        return Ok(finding);
    };
    let id = crate::check::required(
        newest.db_snapshot_identifier(),
        DESCRIBE,
        &instance(spec),
        "DBSnapshotIdentifier",
    )?;
    let resource = format!("rds snapshot '{id}' of {}", instance(spec));
    let status = crate::check::required(newest.status(), DESCRIBE, &resource, "Status")?;
    let encrypted = crate::check::required(newest.encrypted(), DESCRIBE, &resource, "Encrypted")?;
    let created_at = SystemTime::try_from(created).map_err(|_| CheckError::Missing {
        operation: DESCRIBE.into(),
        resource: resource.clone(),
        field: format!("a representable SnapshotCreateTime (got {created})"),
    })?;
    let age = match now.duration_since(created_at) {
        Ok(age) => age,
        Err(ahead) if ahead.duration() <= MAX_CLOCK_SKEW => Duration::ZERO,
        Err(ahead) => {
            return Err(CheckError::Aws {
                operation: DESCRIBE.into(),
                resource,
                code: None,
                message: format!(
                    "SnapshotCreateTime is {} in the future: clock skew or bad data, the snapshot's age cannot be judged",
                    human_duration(Duration::from_secs(ahead.duration().as_secs()))
                ),
            });
        }
    };
    let mut f = Fields::of(&resource);
    f.observe("DBSnapshotIdentifier", id);
    f.judge("Status", "available", status, status == "available");
    f.expect("Encrypted", true, encrypted);
    f.judge(
        "created",
        format!("within {}", human_duration(spec.max_age)),
        format!("{} ago", human_duration(Duration::from_secs(age.as_secs()))),
        age <= spec.max_age,
    );
    f.observe(
        "SnapshotCreateTime",
        humantime::format_rfc3339_seconds(created_at).to_string(),
    );
    f.observe("age_s", age.as_secs());
    f.observe(
        "matching",
        matching
            .iter()
            .map(|s| s.db_snapshot_identifier().unwrap_or("?"))
            .collect::<Vec<_>>(),
    );
    f.observe("manual_snapshots", snapshots.len());
    let mut finding = f.finish(format!(
        "{resource}: {wanted}, available, encrypted, created {} ago",
        human_duration(Duration::from_secs(age.as_secs()))
    ));
    finish_expected(&mut finding, expected, spec);
    Ok(finding)
}

/// The declared match and bounds, in the evidence's `expected` of a pass
/// and a fail alike.
fn finish_expected(
    finding: &mut crate::check::Finding,
    declared: serde_json::Value,
    spec: &RdsSnapshotSpec,
) {
    if !finding.evidence.expected.is_object() {
        finding.evidence.expected = json!({});
    }
    let e = &mut finding.evidence.expected;
    if let Some(obj) = declared.as_object() {
        for (k, v) in obj {
            e[k] = v.clone();
        }
    }
    e["Status"] = json!("available");
    e["Encrypted"] = json!(true);
    e["created"] = json!(format!("within {}", human_duration(spec.max_age)));
    e["max_age_s"] = json!(spec.max_age.as_secs());
    if !finding
        .evidence
        .resources
        .iter()
        .any(|r| r == &instance(spec))
    {
        finding.evidence.resources.push(instance(spec));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_rds::types::Tag;
    use aws_smithy_types::DateTime;

    const DAY: Duration = Duration::from_secs(86_400);
    /// One "now" for the snapshots built and the judge.
    static NOW: std::sync::LazyLock<SystemTime> = std::sync::LazyLock::new(SystemTime::now);

    fn spec() -> RdsSnapshotSpec {
        RdsSnapshotSpec {
            label: "known_clean".into(),
            instance: "db".into(),
            tags: vec![("verify:purpose".into(), "known-clean".into())],
            name_prefix: None,
            max_age: 8 * DAY,
        }
    }

    fn snap(
        id: &str,
        purpose: &str,
        age: Duration,
    ) -> aws_sdk_rds::types::builders::DbSnapshotBuilder {
        DbSnapshot::builder()
            .db_snapshot_identifier(id)
            .db_instance_identifier("db")
            .snapshot_type("manual")
            .status("available")
            .encrypted(true)
            .snapshot_create_time(DateTime::from(*NOW - age))
            .tag_list(Tag::builder().key("verify:purpose").value(purpose).build())
    }

    fn status(result: CheckResult) -> String {
        match result {
            Ok(f) => format!("{}: {}", f.status.as_str(), f.message),
            Err(e) => format!("error: {e}"),
        }
    }

    /// Pass, fail and error on silence, the newest match judged.
    #[test]
    fn the_newest_match_is_judged_pass_fail_and_error_on_silence() {
        let now = *NOW;
        let good = || snap("db-known-clean", "known-clean", DAY);
        let cases: Vec<(&str, RdsSnapshotSpec, Vec<DbSnapshot>, &str)> = vec![
            (
                "fresh",
                spec(),
                vec![good().build()],
                "pass: rds snapshot 'db-known-clean' of rds instance 'db': tagged verify:purpose=known-clean, available, encrypted, created 1d ago",
            ),
            (
                "none at all",
                spec(),
                vec![],
                "fail: rds instance 'db': no manual snapshot of db tagged verify:purpose=known-clean (expected one within 8d, observed 0 manual snapshot(s), none matching)",
            ),
            (
                "only another purpose",
                spec(),
                vec![snap("db-post-import", "post-import", DAY).build()],
                "fail: rds instance 'db': no manual snapshot of db tagged verify:purpose=known-clean",
            ),
            (
                "stale",
                spec(),
                vec![snap("db-known-clean", "known-clean", 10 * DAY).build()],
                "fail: rds snapshot 'db-known-clean' of rds instance 'db': created expected within 8d, observed 10d ago",
            ),
            (
                "the newest is judged, not the oldest",
                spec(),
                vec![
                    snap("old", "known-clean", 30 * DAY).build(),
                    snap("new", "known-clean", DAY).build(),
                ],
                "pass: rds snapshot 'new'",
            ),
            (
                "newest unencrypted",
                spec(),
                vec![
                    snap("old", "known-clean", 3 * DAY).build(),
                    snap("new", "known-clean", DAY).encrypted(false).build(),
                ],
                "fail: rds snapshot 'new' of rds instance 'db': Encrypted expected true, observed false",
            ),
            (
                "creating",
                spec(),
                vec![good().status("creating").build()],
                "fail: rds snapshot 'db-known-clean' of rds instance 'db': Status expected available, observed creating",
            ),
            (
                "an automated snapshot never counts",
                spec(),
                vec![good().snapshot_type("automated").build()],
                "fail: rds instance 'db': no manual snapshot",
            ),
            (
                "by name prefix",
                RdsSnapshotSpec {
                    tags: vec![],
                    name_prefix: Some("db-known-".into()),
                    ..spec()
                },
                vec![good().build(), snap("other", "known-clean", DAY).build()],
                "pass: rds snapshot 'db-known-clean' of rds instance 'db': named db-known-*",
            ),
            (
                "encryption unsaid",
                spec(),
                vec![good().set_encrypted(None).build()],
                "error: rds:DescribeDBSnapshots did not report Encrypted",
            ),
            (
                "status unsaid",
                spec(),
                vec![good().set_status(None).build()],
                "error: rds:DescribeDBSnapshots did not report Status",
            ),
            (
                "creation time unsaid",
                spec(),
                vec![good().set_snapshot_create_time(None).build()],
                "error: rds:DescribeDBSnapshots did not report SnapshotCreateTime",
            ),
            (
                "identifier unsaid with a prefix declared",
                RdsSnapshotSpec {
                    name_prefix: Some("db-".into()),
                    ..spec()
                },
                vec![good().set_db_snapshot_identifier(None).build()],
                "error: rds:DescribeDBSnapshots did not report DBSnapshotIdentifier",
            ),
            (
                "created an hour in the future",
                spec(),
                vec![
                    good()
                        .snapshot_create_time(DateTime::from(now + Duration::from_secs(3600)))
                        .build(),
                ],
                "error: rds:DescribeDBSnapshots failed for rds snapshot 'db-known-clean' of rds instance 'db': SnapshotCreateTime is 1h in the future",
            ),
        ];
        for (case, spec, snapshots, expected) in cases {
            let got = status(judge(&spec, &snapshots, now));
            assert!(
                got.starts_with(expected),
                "{case}: expected {expected:?}, got {got:?}"
            );
        }
    }

    /// A pass and a fail carry the same evidence keys, the instance named.
    #[test]
    fn pass_and_fail_carry_the_same_evidence_shape() {
        let now = *NOW;
        let pass = judge(&spec(), &[snap("s", "known-clean", DAY).build()], now).unwrap();
        let stale = judge(&spec(), &[snap("s", "known-clean", 9 * DAY).build()], now).unwrap();
        let none = judge(&spec(), &[], now).unwrap();
        let keys = |v: &serde_json::Value| -> Vec<String> {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        for fail in [&stale, &none] {
            assert_eq!(keys(&pass.evidence.observed), keys(&fail.evidence.observed));
            assert_eq!(keys(&pass.evidence.expected), keys(&fail.evidence.expected));
            assert!(
                fail.evidence
                    .resources
                    .contains(&"rds instance 'db'".to_string())
            );
        }
        assert_eq!(pass.evidence.observed["Status"], "available");
        assert_eq!(pass.evidence.observed["Encrypted"], true);
        assert_eq!(pass.evidence.expected["max_age_s"], 8 * 86_400);
        assert_eq!(none.evidence.observed["manual_snapshots"], 0);
    }
}
