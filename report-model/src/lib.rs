//! What a run reports, shared by the library that writes it (`verify`, the
//! gate suite) and the harness that reads it (`xtask`): one check's
//! [`Outcome`], its [`Status`], and the [`verdict`]. A small crate of its own
//! so xtask can read reports without compiling the AWS SDK.
//!
//! ```
//! use report_model::{Outcome, Status};
//! let line = r#"{"id":"rds.multi_az","status":"fail","message":"m","duration_ms":3,
//!   "evidence":{"resources":["rds instance 'db'"],"expected":{"MultiAZ":true},
//!   "observed":{"MultiAZ":false},"operations":["rds:DescribeDBInstances"]}}"#;
//! let outcome: Outcome = serde_json::from_str(line).unwrap();
//! assert_eq!((outcome.area(), outcome.status), ("rds", Status::Fail));
//! assert!(outcome.status.blocks_go());
//! assert_eq!(outcome.evidence.resources, ["rds instance 'db'"]);
//! ```

pub mod area;
pub mod diff;
pub mod digest;
pub mod gates;
pub mod report;
pub mod signoffs;
pub mod timeline;
pub mod verdict;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// The version of every JSON document verify writes (the gate report, the
/// combined report, the drill record), as their top-level `schema_version`.
/// Semver, for the documents' shape (`docs/schemas/`): the major part goes
/// up when a field is removed or renamed or its meaning changes; the minor
/// part when a field or an enum value is added; the patch part for a
/// correction that changes no document. A reader accepts any version with
/// the major part it knows.
pub const SCHEMA_VERSION: &str = "1.2.0";

/// What wrote a document: `tool` in every JSON report. The `verify` binary
/// fills it in from its own package version and the commit `verify
/// --version` names ([`Tool::new`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    /// `verify`.
    pub name: String,
    /// The binary's package version (`0.1.0`).
    pub version: String,
    /// The commit it was built from, when the build knew it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

impl Tool {
    /// `verify` at `version`, built from `commit` (`unknown` or empty: not known).
    ///
    /// ```
    /// let tool = report_model::Tool::new("0.1.0", "unknown");
    /// assert_eq!((tool.name.as_str(), tool.commit), ("verify", None));
    /// ```
    pub fn new(version: &str, commit: &str) -> Tool {
        let commit = commit.trim();
        Tool {
            name: "verify".into(),
            version: version.into(),
            commit: (!commit.is_empty() && commit != "unknown").then(|| commit.to_string()),
        }
    }
}

/// A report built without naming its writer ([`report::Report::new`]):
/// `verify` of an unknown version. The binary always names itself.
impl Default for Tool {
    fn default() -> Tool {
        Tool {
            name: "verify".into(),
            version: "unknown".into(),
            commit: None,
        }
    }
}

/// How a check ended. Only `pass`, `skip` and `waived` count toward go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Error,
    Skip,
    Waived,
}

impl Status {
    /// Every status, in report order.
    pub const ALL: [Status; 5] = [
        Status::Pass,
        Status::Fail,
        Status::Error,
        Status::Skip,
        Status::Waived,
    ];

    /// As reports spell it: `pass`, `fail`, `error`, `skip`, `waived`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Skip => "skip",
            Status::Waived => "waived",
        }
    }

    /// `fail` and `error` block the go verdict ([`verdict::blocks_go`]).
    pub fn blocks_go(self) -> bool {
        verdict::blocks_go(self.as_str())
    }
}

/// One check's result, as every report shows it (and as the gate suite
/// writes it, one JSON line per check).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub id: String,
    pub status: Status,
    pub message: String,
    pub duration_ms: u64,
    /// What the verdict rests on. A line written before evidence was typed
    /// (`"evidence": null`, `{}`, or no key at all) reads as empty evidence.
    #[serde(default, deserialize_with = "evidence_or_null")]
    pub evidence: Evidence,
}

fn evidence_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<Evidence, D::Error> {
    Option::<Evidence>::deserialize(d).map(Option::unwrap_or_default)
}

/// What a check looked at, what it required, what it saw, and which AWS
/// operations it relied on. Serialised as one JSON object: the four fields,
/// then every [`details`](Evidence::details) entry beside them.
///
/// A check builds it with the helpers; the runner fills in `operations`.
///
/// ```
/// use report_model::Evidence;
/// use serde_json::json;
/// let evidence = Evidence::of("rds instance 'core-production'")
///     .expected(json!({ "MultiAZ": true }))
///     .observed(json!({ "MultiAZ": false, "AvailabilityZone": "eu-central-1a" }))
///     .detail("note", "standby being replaced");
/// assert_eq!(
///     serde_json::to_value(&evidence).unwrap(),
///     json!({
///         "resources": ["rds instance 'core-production'"],
///         "expected": { "MultiAZ": true },
///         "observed": { "MultiAZ": false, "AvailabilityZone": "eu-central-1a" },
///         "operations": [],
///         "note": "standby being replaced",
///     })
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The resources the check looked at, as its messages and errors name
    /// them: kind and id (`rds instance 'core-production'`, `target group
    /// 'pgbouncer'`, `certificate arn:aws:acm:…`), a hostname or a URL.
    #[serde(default)]
    pub resources: Vec<String>,
    /// What the spec or the catalogue requires, as values to compare with
    /// `observed` (same key when it is equality, `min_…`/`max_…` for bounds,
    /// words where a value cannot say it). `null` when nothing was judged.
    #[serde(default)]
    pub expected: Value,
    /// What was read: the facts the verdict rests on. `null` when nothing
    /// was judged.
    #[serde(default)]
    pub observed: Value,
    /// The AWS operations (`service:Operation`) the check relied on, as the
    /// call counter recorded them while it ran (calls behind shared cached
    /// reads included); never a hand-written list. Probes outside AWS (TLS,
    /// HTTP, DNS, Cloudflare) are not AWS operations: a check names them in
    /// `details` (`probe`).
    #[serde(default)]
    pub operations: Vec<String>,
    /// Anything else worth keeping, serialised beside the fields above:
    /// `error` and `operation` for a check that could not look, `waiver`
    /// for a waived one, `probe` for a check that looked outside AWS.
    /// Never keyed by a field's name (see [`Evidence::detail`]).
    #[serde(flatten)]
    pub details: Map<String, Value>,
}

/// The names of [`Evidence`]'s fields; a detail cannot take one of them.
const FIELDS: [&str; 4] = ["resources", "expected", "observed", "operations"];

/// Compact JSON, as the reports write it.
impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let json = serde_json::to_string(self).map_err(|_| std::fmt::Error)?;
        f.write_str(&json)
    }
}

impl Evidence {
    /// Evidence about one resource (more with [`Evidence::resource`]).
    pub fn of(resource: impl Into<String>) -> Evidence {
        Evidence::default().resource(resource)
    }

    /// Adds a resource looked at (once: a repeat is ignored).
    pub fn resource(mut self, resource: impl Into<String>) -> Evidence {
        let resource = resource.into();
        if !self.resources.contains(&resource) {
            self.resources.push(resource);
        }
        self
    }

    /// Adds every resource of `resources`, in order ([`Evidence::resource`]).
    pub fn resources<S: Into<String>>(self, resources: impl IntoIterator<Item = S>) -> Evidence {
        resources.into_iter().fold(self, Evidence::resource)
    }

    /// What the spec or the catalogue requires.
    pub fn expected(mut self, expected: Value) -> Evidence {
        self.expected = expected;
        self
    }

    /// What was read.
    pub fn observed(mut self, observed: Value) -> Evidence {
        self.observed = observed;
        self
    }

    /// Keeps `value` under `key` in [`details`](Evidence::details). A key
    /// named like a field (`resources`, `expected`, `observed`,
    /// `operations`) would collide with it in the JSON object, so it is
    /// kept as `_<key>` instead.
    ///
    /// ```
    /// let e = report_model::Evidence::default().detail("probe", "dns txt").detail("expected", 1);
    /// assert_eq!(e.details["probe"], "dns txt");
    /// assert_eq!(e.details["_expected"], 1);
    /// ```
    pub fn detail(mut self, key: impl Into<String>, value: impl Into<Value>) -> Evidence {
        let key = key.into();
        let key = if FIELDS.contains(&key.as_str()) {
            format!("_{key}")
        } else {
            key
        };
        self.details.insert(key, value.into());
        self
    }
}

impl Outcome {
    /// The area is the id up to the first dot (`rds.multi_az` → `rds`).
    pub fn area(&self) -> &str {
        self.id.split('.').next().unwrap_or(&self.id)
    }
}

/// One drill's run, as the drill runner writes it (`drill.json`) and the
/// harness renders it: the outcome (`drill.rds_failover` …), its timeline,
/// and the steady-state checks before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillRecord {
    pub environment: String,
    pub outcome: Outcome,
    pub timeline: timeline::Timeline,
    /// The steady-state checks run before anything was injected.
    pub steady_state_before: Vec<Outcome>,
    /// The same checks after recovery (empty when the drill stopped before).
    pub steady_state_after: Vec<Outcome>,
}

impl DrillRecord {
    /// The JSON document `verify drill … --report json=PATH` writes: the
    /// record's fields after `schema_version` ([`SCHEMA_VERSION`]) and
    /// `tool` (`docs/schemas/drill-record.schema.json`).
    pub fn to_json(&self, tool: &Tool) -> String {
        #[derive(Serialize)]
        struct Document<'a> {
            schema_version: &'static str,
            tool: &'a Tool,
            #[serde(flatten)]
            record: &'a DrillRecord,
        }
        serde_json::to_string_pretty(&Document {
            schema_version: SCHEMA_VERSION,
            tool,
            record: self,
        })
        .expect("a drill record serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::json;

    fn line(evidence: &str) -> String {
        format!(r#"{{"id":"rds.a","status":"pass","message":"m","duration_ms":1{evidence}}}"#)
    }

    #[test]
    fn evidence_round_trips_as_one_json_object() {
        let evidence = Evidence::of("rds instance 'db'")
            .resource("security group 'sg-1'")
            .resource("rds instance 'db'")
            .expected(json!({ "PubliclyAccessible": false }))
            .observed(json!({ "PubliclyAccessible": true, "port": 5432 }))
            .detail("probe", "none");
        let evidence = Evidence {
            operations: vec!["rds:DescribeDBInstances".into()],
            ..evidence
        };
        let value = serde_json::to_value(&evidence).unwrap();
        assert_eq!(
            value,
            json!({
                "resources": ["rds instance 'db'", "security group 'sg-1'"],
                "expected": { "PubliclyAccessible": false },
                "observed": { "PubliclyAccessible": true, "port": 5432 },
                "operations": ["rds:DescribeDBInstances"],
                "probe": "none",
            })
        );
        // Displayed as the same JSON (compared parsed: key order depends on
        // whether another crate turned on serde_json's `preserve_order`).
        let displayed: Value = serde_json::from_str(&evidence.to_string()).unwrap();
        assert_eq!(displayed, value);
        let back: Evidence = serde_json::from_value(value).unwrap();
        assert_eq!(back, evidence);
        let outcome = Outcome {
            id: "rds.not_public".into(),
            status: Status::Fail,
            message: "m".into(),
            duration_ms: 2,
            evidence,
        };
        let text = serde_json::to_string(&outcome).unwrap();
        assert_eq!(serde_json::from_str::<Outcome>(&text).unwrap(), outcome);
    }

    #[test]
    fn null_empty_missing_and_untyped_evidence_still_read() {
        for evidence in [r#","evidence":null"#, r#","evidence":{}"#, ""] {
            let outcome: Outcome = serde_json::from_str(&line(evidence)).unwrap();
            assert_eq!(outcome.evidence, Evidence::default(), "{evidence}");
        }
        // An outcome written before evidence was typed: its keys become details.
        let old: Outcome = serde_json::from_str(&line(
            r#","evidence":{"identifier":"db","MultiAZ":false,"operations":["rds:DescribeDBInstances"]}"#,
        ))
        .unwrap();
        assert_eq!(old.evidence.operations, ["rds:DescribeDBInstances"]);
        assert_eq!(old.evidence.details["MultiAZ"], json!(false));
        assert!(old.evidence.resources.is_empty() && old.evidence.expected.is_null());
    }

    #[test]
    fn a_detail_never_takes_a_field_name() {
        let e = Evidence::default().detail("operations", json!(["x"]));
        let value = serde_json::to_value(&e).unwrap();
        assert_eq!(value["operations"], json!([]));
        assert_eq!(value["_operations"], json!(["x"]));
        assert_eq!(serde_json::from_value::<Evidence>(value).unwrap(), e);
    }

    #[test]
    fn only_fail_and_error_block_go() {
        let blocking: Vec<Status> = Status::ALL.into_iter().filter(|s| s.blocks_go()).collect();
        assert_eq!(blocking, [Status::Fail, Status::Error]);
    }
}
