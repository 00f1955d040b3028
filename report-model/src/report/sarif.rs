//! `--report sarif=PATH`: SARIF 2.1.0, for code-scanning views (GitHub code
//! scanning, IDE SARIF viewers) that show a finding at a line of a file.
//!
//! - One `run` per environment (a single run's file has one), its
//!   `automationDetails.id` `verify/<environment>/` so that the runs of one
//!   file are told apart (GitHub's category).
//! - `tool.driver`: `verify`, its version, and one rule per check id that
//!   ran: `id`, `shortDescription` (the check's title), `help` (the check's
//!   area in `docs/checks.md`) and, when an absolute address of that page is
//!   known ([`Context::docs_url`]), `helpUri`. SARIF requires `helpUri` to be
//!   an absolute URI, and GitHub refuses a file whose `helpUri` is relative,
//!   so without an address there is none.
//! - Results: `fail` and `error` are `level: "error"` results; `waived` is a
//!   result of the same level with `suppressions: [{"kind": "external",
//!   "justification": …}]` (the waiver's). `pass` and `skip` are not results:
//!   SARIF results are findings, and code-scanning views turn every result
//!   into an alert (one of level `none` still shows); the run's
//!   `properties.summary` counts them, and the JSON report lists them.
//! - Every result has one location: the spec file ([`SpecFile`]) at the
//!   line of the block that declared what the check judges
//!   ([`Context::regions`]; line 1 for a check no block declares, such as
//!   `terraform.*`), `message.text` the check's message, and
//!   `partialFingerprints["verifyCheck/v1"]` a stable hash of the check id
//!   and the resources it judged.
//! - An environment that could not run is a run without results whose
//!   invocation failed, with the reason as a notification.

use std::collections::BTreeMap;
use std::path::{Component, Path};

use serde_json::{Value, json};

use super::combined::Combined;
use super::{CheckOutcome, Report, Status};
use crate::Tool;
use crate::area::Area;

/// `$schema` of every SARIF file written: the OASIS standard's schema
/// (vendored as `docs/schemas/vendor/sarif-schema-2.1.0.json`).
pub const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The key of each result's `partialFingerprints`.
pub const FINGERPRINT: &str = "verifyCheck/v1";

/// What a SARIF run needs beyond the report: where the spec is, where each
/// check's block starts in it, and each check's title.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// The environment's spec file.
    pub spec: SpecFile,
    /// Check id → where the block that declared what it judges starts;
    /// a check without one is located at line 1.
    pub regions: BTreeMap<String, Region>,
    /// Check id → its title (the rule's `shortDescription`); the id when absent.
    pub titles: BTreeMap<String, String>,
    /// The absolute address of `docs/checks.md` (no fragment), for the
    /// rules' `helpUri`; `None`: the rules carry `help` text only.
    pub docs_url: Option<String>,
}

/// Where a block starts: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub line: usize,
    pub column: usize,
}

/// A file as SARIF names it: a relative reference against a named base
/// (`uriBaseId`, whose absolute `file://` URI the run's
/// `originalUriBaseIds` gives), or an absolute `file://` URI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecFile {
    /// Percent-encoded, `/`-separated.
    pub uri: String,
    /// The base's id (`SRCROOT`, `CWD`) and its absolute URI, ending in `/`.
    pub base: Option<(String, String)>,
}

impl SpecFile {
    /// `path` (absolute) relative to the first of `roots` (absolute
    /// directories, each with the id SARIF names it by) that holds it, or
    /// as an absolute `file://` URI when none does.
    ///
    /// ```
    /// use std::path::Path;
    /// use report_model::report::sarif::SpecFile;
    /// let spec = Path::new("/repo/infra tests/prod.hcl");
    /// let f = SpecFile::locate(spec, &[("SRCROOT", Path::new("/repo"))]);
    /// assert_eq!(f.uri, "infra%20tests/prod.hcl");
    /// assert_eq!(f.base, Some(("SRCROOT".into(), "file:///repo/".into())));
    /// let f = SpecFile::locate(spec, &[("SRCROOT", Path::new("/elsewhere"))]);
    /// assert_eq!((f.uri.as_str(), f.base), ("file:///repo/infra%20tests/prod.hcl", None));
    /// ```
    pub fn locate(path: &Path, roots: &[(&str, &Path)]) -> SpecFile {
        for (id, root) in roots {
            if let Ok(relative) = path.strip_prefix(root)
                && relative
                    .components()
                    .all(|c| matches!(c, Component::Normal(_)))
                && relative.components().next().is_some()
            {
                let mut base = file_uri(root);
                if !base.ends_with('/') {
                    base.push('/');
                }
                return SpecFile {
                    uri: encode_path(relative),
                    base: Some((id.to_string(), base)),
                };
            }
        }
        SpecFile {
            uri: file_uri(path),
            base: None,
        }
    }

    fn artifact_location(&self) -> Value {
        match &self.base {
            Some((id, _)) => json!({ "uri": self.uri, "uriBaseId": id }),
            None => json!({ "uri": self.uri }),
        }
    }
}

/// `file:///…` of an absolute path.
fn file_uri(path: &Path) -> String {
    let encoded = encode_path(path);
    if encoded.starts_with('/') {
        format!("file://{encoded}")
    } else {
        format!("file:///{encoded}")
    }
}

/// A path's components, percent-encoded (RFC 3986: all but unreserved
/// characters) and joined by `/`.
fn encode_path(path: &Path) -> String {
    let mut out = String::new();
    for (i, component) in path.components().enumerate() {
        match component {
            Component::RootDir => out.push('/'),
            other => {
                if i > 0 && !out.ends_with('/') {
                    out.push('/');
                }
                for b in other.as_os_str().to_string_lossy().bytes() {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        out.push(b as char);
                    } else {
                        out.push_str(&format!("%{b:02X}"));
                    }
                }
            }
        }
    }
    out
}

/// The anchor in `docs/checks.md` of a check's area: its heading
/// (`### <title> (`<prefix>.*`)`) as GitHub makes it an anchor.
///
/// ```
/// use report_model::report::sarif::catalogue_anchor;
/// assert_eq!(catalogue_anchor("rds.multi_az"), "rds-rds");
/// assert_eq!(catalogue_anchor("edge.tls.certificate"), "edge-alb-tls-https-edge");
/// ```
pub fn catalogue_anchor(check_id: &str) -> String {
    match Area::of(check_id) {
        Some(area) => slug(&format!("{} (`{}.*`)", area.title(), area.prefix())),
        None => "check-catalogue".into(),
    }
}

/// GitHub's heading anchor: lower case; letters, digits, `-` and `_` kept,
/// each space a `-`, everything else dropped.
fn slug(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// A stable hash of the check id and the resources it judged (FNV-1a, 64
/// bits, as 16 hex digits): the same finding on the same resources keeps
/// its fingerprint across runs and releases.
fn fingerprint(check: &CheckOutcome) -> String {
    let mut resources: Vec<&str> = check
        .evidence
        .resources
        .iter()
        .map(String::as_str)
        .collect();
    resources.sort_unstable();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in std::iter::once(check.id.as_str())
        .chain(resources)
        .flat_map(|s| s.bytes().chain(std::iter::once(0)))
    {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// One environment's report as a SARIF log with one run.
pub fn render(report: &Report, context: &Context) -> String {
    log(vec![run(report, context)])
}

/// A run over several environments: one SARIF run per environment, in
/// order; `contexts[i]` is `combined.runs[i]`'s.
pub fn render_combined(combined: &Combined, contexts: &[Context]) -> String {
    let empty = Context::default();
    let runs = combined
        .runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let context = contexts.get(i).unwrap_or(&empty);
            match &r.report {
                Ok(report) => run(report, context),
                Err(error) => could_not_run(&r.environment, error, &combined.tool, context),
            }
        })
        .collect();
    log(runs)
}

fn log(runs: Vec<Value>) -> String {
    serde_json::to_string_pretty(&json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": runs,
    }))
    .expect("SARIF serialises")
}

fn driver(tool: &Tool, rules: Vec<Value>) -> Value {
    let mut driver = json!({
        "name": tool.name,
        "version": tool.version,
        "rules": rules,
    });
    if let Some(commit) = &tool.commit {
        driver["properties"] = json!({ "commit": commit });
    }
    driver
}

fn base_ids(context: &Context) -> Option<Value> {
    context
        .spec
        .base
        .as_ref()
        .map(|(id, uri)| json!({ id.as_str(): { "uri": uri } }))
}

fn rule(id: &str, context: &Context) -> Value {
    let anchor = catalogue_anchor(id);
    let title = context.titles.get(id).map_or(id, String::as_str);
    let page = format!("docs/checks.md#{anchor}");
    let mut rule = json!({
        "id": id,
        "shortDescription": { "text": title },
        "help": {
            "text": format!("{title}. What the check asserts: {page} in verify's repository."),
            "markdown": format!("{title}. What the check asserts: [`{page}`]({page}) in verify's repository."),
        },
        "defaultConfiguration": { "level": "error" },
        "properties": { "group": crate::gates::group_of(id) },
    });
    if let Some(url) = &context.docs_url {
        rule["helpUri"] = json!(format!("{url}#{anchor}"));
    }
    rule
}

fn run(report: &Report, context: &Context) -> Value {
    let ids: Vec<&str> = report.checks.iter().map(|c| c.id.as_str()).collect();
    let rules: Vec<Value> = ids.iter().map(|id| rule(id, context)).collect();
    let results: Vec<Value> = report
        .checks
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c.status, Status::Fail | Status::Error | Status::Waived))
        .map(|(index, c)| result(c, index, context))
        .collect();
    let mut run = json!({
        "tool": { "driver": driver(&report.tool, rules) },
        "automationDetails": { "id": format!("verify/{}/", report.environment) },
        "invocations": [{
            "executionSuccessful": true,
            "startTimeUtc": report.started_at,
        }],
        "columnKind": "unicodeCodePoints",
        "results": results,
        "properties": {
            "environment": report.environment,
            "verdict": report.verdict,
            "summary": report.summary,
            "duration_ms": report.duration_ms,
        },
    });
    if let Some(ids) = base_ids(context) {
        run["originalUriBaseIds"] = ids;
    }
    run
}

fn could_not_run(environment: &str, error: &str, tool: &Tool, context: &Context) -> Value {
    let mut run = json!({
        "tool": { "driver": driver(tool, Vec::new()) },
        "automationDetails": { "id": format!("verify/{environment}/") },
        "invocations": [{
            "executionSuccessful": false,
            "toolExecutionNotifications": [{
                "level": "error",
                "message": { "text": format!("could not run: {error}") },
                "locations": [location(&context.spec, None)],
            }],
        }],
        "columnKind": "unicodeCodePoints",
        "results": [],
        "properties": { "environment": environment, "verdict": "could-not-run" },
    });
    if let Some(ids) = base_ids(context) {
        run["originalUriBaseIds"] = ids;
    }
    run
}

fn location(spec: &SpecFile, region: Option<Region>) -> Value {
    let region = match region {
        Some(r) => json!({ "startLine": r.line, "startColumn": r.column }),
        None => json!({ "startLine": 1 }),
    };
    json!({
        "physicalLocation": {
            "artifactLocation": spec.artifact_location(),
            "region": region,
        }
    })
}

fn result(check: &CheckOutcome, rule_index: usize, context: &Context) -> Value {
    let mut result = json!({
        "ruleId": check.id,
        "ruleIndex": rule_index,
        "kind": "fail",
        "level": "error",
        "message": { "text": check.message },
        "locations": [location(&context.spec, context.regions.get(&check.id).copied())],
        "partialFingerprints": { FINGERPRINT: fingerprint(check) },
        "properties": {
            "status": check.status.as_str(),
            "evidence": check.evidence,
        },
    });
    if check.status == Status::Waived {
        let waiver = check.evidence.details.get("waiver");
        let text = |key: &str| {
            waiver
                .and_then(|w| w.get(key))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let justification = match (text("justification"), text("expires")) {
            (Some(j), Some(e)) => format!("{j} (waived until {e})"),
            (Some(j), None) => j,
            _ => check.message.clone(),
        };
        result["suppressions"] = json!([{ "kind": "external", "justification": justification }]);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> Context {
        Context {
            spec: SpecFile {
                uri: "infra-tests/environments/sandbox.hcl".into(),
                base: Some(("SRCROOT".into(), "file:///repo/".into())),
            },
            regions: BTreeMap::from([(
                "rds.multi_az".to_string(),
                Region {
                    line: 12,
                    column: 1,
                },
            )]),
            titles: BTreeMap::from([(
                "rds.multi_az".to_string(),
                "Multi-AZ with a standby in another AZ".to_string(),
            )]),
            docs_url: None,
        }
    }

    #[test]
    fn fail_error_and_waived_are_results_located_in_the_spec() {
        let report = super::super::sample();
        let v: Value = serde_json::from_str(&render(&report, &context())).unwrap();
        assert_eq!(v["version"], "2.1.0");
        let run = &v["runs"][0];
        assert_eq!(run["automationDetails"]["id"], "verify/sandbox/");
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), report.checks.len());
        assert_eq!(
            rules[0]["shortDescription"]["text"],
            "Multi-AZ with a standby in another AZ"
        );
        // No absolute address of the catalogue: help text, no helpUri.
        assert!(rules[0].get("helpUri").is_none());
        assert!(
            rules[0]["help"]["markdown"]
                .as_str()
                .unwrap()
                .contains("(docs/checks.md#rds-rds)")
        );
        let results = run["results"].as_array().unwrap();
        let ids: Vec<&str> = results
            .iter()
            .map(|r| r["ruleId"].as_str().unwrap())
            .collect();
        // pass and skip are not results.
        assert_eq!(
            ids,
            ["rds.multi_az", "budgets.monthly", "budgets.thresholds"]
        );
        for r in results {
            assert_eq!(r["level"], "error");
            let index = r["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[index]["id"], r["ruleId"]);
            assert_eq!(
                r["partialFingerprints"][FINGERPRINT]
                    .as_str()
                    .unwrap()
                    .len(),
                16
            );
        }
        let at = &results[0]["locations"][0]["physicalLocation"];
        assert_eq!(
            at["artifactLocation"],
            json!({ "uri": "infra-tests/environments/sandbox.hcl", "uriBaseId": "SRCROOT" })
        );
        assert_eq!(at["region"], json!({ "startLine": 12, "startColumn": 1 }));
        assert_eq!(
            results[0]["message"]["text"],
            "rds instance 'core': MultiAZ expected true, observed false"
        );
        // A check without a block: line 1 of the spec.
        assert_eq!(
            results[1]["locations"][0]["physicalLocation"]["region"],
            json!({ "startLine": 1 })
        );
        assert!(results[0].get("suppressions").is_none());
        assert_eq!(results[2]["suppressions"][0]["kind"], "external");
        assert_eq!(run["originalUriBaseIds"]["SRCROOT"]["uri"], "file:///repo/");
    }

    #[test]
    fn the_fingerprint_is_stable_and_follows_id_and_resources() {
        let report = super::super::sample();
        let a = fingerprint(&report.checks[0]);
        let mut moved = report.checks[0].clone();
        moved.message = "another message".into();
        moved.duration_ms = 999;
        assert_eq!(fingerprint(&moved), a);
        moved.evidence.resources.push("rds instance 'other'".into());
        assert_ne!(fingerprint(&moved), a);
        let mut other = report.checks[0].clone();
        other.id = "rds.encrypted".into();
        assert_ne!(fingerprint(&other), a);
        // Fixed: a change of hash function changes every alert's identity.
        assert_eq!(
            fingerprint(&CheckOutcome {
                id: "rds.multi_az".into(),
                status: Status::Fail,
                message: String::new(),
                duration_ms: 0,
                evidence: crate::Evidence::of("rds instance 'core'"),
            }),
            "51d49bc9b0dfec32"
        );
    }

    #[test]
    fn a_helpuri_only_from_an_absolute_address() {
        let mut context = context();
        context.docs_url = Some("https://example.com/verify/blob/abc/docs/checks.md".into());
        let v: Value = serde_json::from_str(&render(&super::super::sample(), &context)).unwrap();
        assert_eq!(
            v["runs"][0]["tool"]["driver"]["rules"][0]["helpUri"],
            "https://example.com/verify/blob/abc/docs/checks.md#rds-rds"
        );
    }

    /// Every area's anchor is a heading of `docs/checks.md` (the drills'
    /// outcomes are not reported by `verify run`).
    #[test]
    fn every_area_anchor_is_a_catalogue_heading() {
        let page = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/checks.md"),
        )
        .unwrap();
        let anchors: Vec<String> = page
            .lines()
            .filter_map(|l| l.strip_prefix("### "))
            .map(slug)
            .collect();
        for area in Area::ALL.into_iter().filter(|a| *a != Area::Drill) {
            let anchor = catalogue_anchor(&format!("{}.x", area.prefix()));
            assert!(anchors.contains(&anchor), "{anchor} not in {anchors:?}");
        }
    }
}
