//! The check model: a check has an id, reads state, and ends in one
//! [`Status`] with a message and typed [`Evidence`]: the resources it looked
//! at, what was expected, what was observed (the runner adds the AWS
//! operations it relied on).

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::context::Context;
pub use crate::error::{CheckError, error_chain, required};
pub use crate::iam::Grant;

pub use report_model::{Evidence, Outcome, Status};

/// What a check concluded from what it read: pass, fail or skip, with evidence.
///
/// The pass and the fail of one check carry the same evidence shape: the
/// same resources, the same `expected`, and `observed` with the same keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Pass, fail or skip.
    pub status: Status,
    /// What was found, in a line: resource, expected, observed.
    pub message: String,
    /// Filled in by the check but for `operations`, which the runner records.
    pub evidence: Evidence,
}

impl Finding {
    /// A pass.
    pub fn pass(message: impl Into<String>, evidence: Evidence) -> Self {
        Finding {
            status: Status::Pass,
            message: message.into(),
            evidence,
        }
    }

    /// A fail.
    pub fn fail(message: impl Into<String>, evidence: Evidence) -> Self {
        Finding {
            status: Status::Fail,
            message: message.into(),
            evidence,
        }
    }

    /// Could not judge (`error`), with the evidence of what it did: for a
    /// check that acts before it judges (a canary writes, then undoes), what
    /// it did is part of the report however it ended. A [`CheckError`] is
    /// the usual way to say "could not look"; this keeps the evidence.
    pub fn error(message: impl Into<String>, evidence: Evidence) -> Self {
        Finding {
            status: Status::Error,
            message: message.into(),
            evidence,
        }
    }

    /// Not judged: nothing declared for it (empty evidence).
    pub fn skip(message: impl Into<String>) -> Self {
        Finding {
            status: Status::Skip,
            message: message.into(),
            evidence: Evidence::default(),
        }
    }

    /// One field of one resource compared with what is declared: the
    /// message (`<resource>: <field> expected <e>, observed <o>` when they
    /// differ) and the evidence (`expected` and `observed` keyed by the
    /// field) from the same four facts. Equal is a pass.
    ///
    /// ```
    /// use verify::{Finding, Status};
    /// let f = Finding::field("rds instance 'db'", "DeletionProtection", true, false);
    /// assert_eq!(f.status, Status::Fail);
    /// assert_eq!(f.message, "rds instance 'db': DeletionProtection expected true, observed false");
    /// assert_eq!(f.evidence.observed["DeletionProtection"], false);
    /// let f = Finding::field("budget 'b'", "TimeUnit", "MONTHLY", "MONTHLY");
    /// assert_eq!((f.status, f.message.as_str()), (Status::Pass, "budget 'b': TimeUnit MONTHLY"));
    /// ```
    pub fn field(
        resource: &str,
        field: &str,
        expected: impl Into<Value>,
        observed: impl Into<Value>,
    ) -> Self {
        let mut fields = Fields::of(resource);
        fields.expect(field, expected, observed);
        let shown = shown(&fields.observed[field]);
        fields.finish(format!("{resource}: {field} {shown}"))
    }

    /// Keeps `value` under `key` in the evidence's details ([`Evidence::detail`]).
    pub fn with_detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.evidence = self.evidence.detail(key, value);
        self
    }
}

/// A value as a message shows it: a string without its quotes.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The fields of one resource compared with what is declared, turned into
/// one [`Finding`]: each comparison goes into the evidence (`expected` and
/// `observed` keyed by field) and, when it fails, into the message as
/// `<field> expected <e>, observed <o>`. The shape every judge shares.
///
/// ```
/// use verify::check::Fields;
/// use verify::Status;
/// let mut f = Fields::of("target group 'pgbouncer'");
/// f.expect("protocol", "TCP", "TCP");
/// f.judge("deregistration_delay", "≤ 300s", "900s", false);
/// let finding = f.finish("target group 'pgbouncer': drains gracefully");
/// assert_eq!(finding.status, Status::Fail);
/// assert_eq!(
///     finding.message,
///     "target group 'pgbouncer': deregistration_delay expected ≤ 300s, observed 900s"
/// );
/// assert_eq!(finding.evidence.observed["protocol"], "TCP");
/// ```
#[derive(Debug, Clone)]
pub struct Fields {
    resource: String,
    expected: Map<String, Value>,
    observed: Map<String, Value>,
    problems: Vec<String>,
    /// Whether the latest comparison failed (what [`Fields::because`] explains).
    last_failed: bool,
}

impl Fields {
    /// No comparison yet, of `resource` (as messages name it).
    pub fn of(resource: impl Into<String>) -> Self {
        Fields {
            resource: resource.into(),
            expected: Map::new(),
            observed: Map::new(),
            problems: Vec::new(),
            last_failed: false,
        }
    }

    /// `field` must equal `expected`.
    pub fn expect(
        &mut self,
        field: &str,
        expected: impl Into<Value>,
        observed: impl Into<Value>,
    ) -> &mut Self {
        let (expected, observed) = (expected.into(), observed.into());
        let ok = expected == observed;
        self.judge(field, expected, observed, ok)
    }

    /// `field` judged by the caller (`ok`): `expected` says what would
    /// pass, as the message should show it (`"≥ 2"`, `"10–120s"`).
    pub fn judge(
        &mut self,
        field: &str,
        expected: impl Into<Value>,
        observed: impl Into<Value>,
        ok: bool,
    ) -> &mut Self {
        let (expected, observed) = (expected.into(), observed.into());
        self.last_failed = !ok;
        if !ok {
            self.problems.push(format!(
                "{field} expected {}, observed {}",
                shown(&expected),
                shown(&observed)
            ));
        }
        self.expected.insert(field.into(), expected);
        self.observed.insert(field.into(), observed);
        self
    }

    /// Adds why to the latest comparison's problem line, when that
    /// comparison failed (`(the NLB resets open connections)`).
    pub fn because(&mut self, why: impl std::fmt::Display) -> &mut Self {
        if self.last_failed
            && let Some(last) = self.problems.last_mut()
        {
            last.push_str(&format!(" ({why})"));
        }
        self
    }

    /// A fact observed for context, judged by nothing (`AvailabilityZone`
    /// beside `MultiAZ`): evidence only.
    pub fn observe(&mut self, field: &str, observed: impl Into<Value>) -> &mut Self {
        self.observed.insert(field.into(), observed.into());
        self
    }

    /// A problem that is not one field's comparison, in words.
    pub fn problem(&mut self, text: impl Into<String>) -> &mut Self {
        self.last_failed = false;
        self.problems.push(text.into());
        self
    }

    /// The problems so far, one line each.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// A pass saying `pass` when nothing failed, else a fail naming the
    /// resource and every problem (`<resource>: <p1>; <p2>`).
    pub fn finish(self, pass: impl Into<String>) -> Finding {
        let evidence = Evidence::of(&self.resource)
            .expected(Value::Object(self.expected))
            .observed(Value::Object(self.observed));
        if self.problems.is_empty() {
            Finding::pass(pass, evidence)
        } else {
            Finding::fail(
                format!("{}: {}", self.resource, self.problems.join("; ")),
                evidence,
            )
        }
    }
}

/// A declared duration as a person wrote it: `35d`, `2h`, `15m`, else
/// humantime's form (`1m 30s`). humantime alone turns 35 days into months.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(verify::check::human_duration(Duration::from_secs(35 * 86_400)), "35d");
/// assert_eq!(verify::check::human_duration(Duration::from_secs(7200)), "2h");
/// assert_eq!(verify::check::human_duration(Duration::from_secs(90)), "1m 30s");
/// ```
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0s".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        _ => humantime::format_duration(Duration::from_secs(s)).to_string(),
    }
}

/// What a check function returns.
pub type CheckResult = Result<Finding, CheckError>;

/// The future a check's run function returns.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = CheckResult> + Send + 'a>>;

type RunFn = dyn for<'a> Fn(&'a Context) -> CheckFuture<'a> + Send + Sync;

/// A check as its area declares it: everything about it but its code. The
/// IAM policy, the report groups (by [`crate::checks::Area`]), the
/// catalogue page (`docs/checks.md`), `verify checks` and the `cargo test`
/// trials are all derived from these.
///
/// ```
/// use verify::check::CheckDef;
/// const ALWAYS: CheckDef = CheckDef {
///     id: "demo.always",
///     title: "always passes",
///     doc: "nothing; a demonstration",
///     iam: &[],
/// };
/// assert_eq!(ALWAYS.id, "demo.always");
/// ```
#[derive(Clone, Copy)]
pub struct CheckDef {
    /// The public id (`rds.multi_az`); a template for checks a spec names
    /// (`scheduled.<task>.succeeded`, `metrics.<name>`).
    pub id: &'static str,
    /// What a pass means, in a line (`verify checks` lists it).
    pub title: &'static str,
    /// What it asserts, for the catalogue page (Markdown, one line).
    pub doc: &'static str,
    /// The IAM permissions it needs, scoped by the spec ([`crate::iam`]).
    pub iam: &'static [Grant],
}

impl Debug for CheckDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckDef").field("id", &self.id).finish()
    }
}

/// A check: its declaration, its concrete id, and the function that reads
/// and judges.
#[derive(Clone)]
pub struct Check {
    /// The concrete id: the declaration's, or a template's instance
    /// (`scheduled.audit-partition-roll.succeeded`).
    pub id: String,
    /// Its declaration.
    pub def: &'static CheckDef,
    run: Arc<RunFn>,
    /// Whether the runner starts it only once every other canary of the run
    /// has ended ([`Check::after_canaries`]).
    after_canaries: bool,
}

impl Check {
    /// The check `def` declares, judged by `run`.
    ///
    /// ```
    /// use verify::check::{Check, CheckDef, Finding};
    /// static ALWAYS: CheckDef =
    ///     CheckDef { id: "demo.always", title: "always passes", doc: "", iam: &[] };
    /// let check = Check::new(&ALWAYS, |_cx| {
    ///     Box::pin(async { Ok(Finding::pass("ok", verify::Evidence::of("demo resource"))) })
    /// });
    /// assert_eq!(check.id, "demo.always");
    /// ```
    pub fn new<F>(def: &'static CheckDef, run: F) -> Self
    where
        F: for<'a> Fn(&'a Context) -> CheckFuture<'a> + Send + Sync + 'static,
    {
        Check::instance(def, def.id, run)
    }

    /// An instance `id` of the template `def` (one per declared task,
    /// metric gate or canary).
    pub fn instance<F>(def: &'static CheckDef, id: impl Into<String>, run: F) -> Self
    where
        F: for<'a> Fn(&'a Context) -> CheckFuture<'a> + Send + Sync + 'static,
    {
        Check {
            id: id.into(),
            def,
            run: Arc::new(run),
            after_canaries: false,
        }
    }

    /// The same check, started by the runner only after every canary
    /// (`canary.*`) not so marked has ended: a rate-limit canary, whose
    /// burst would throttle the others' sign-ins.
    pub fn after_canaries(mut self) -> Self {
        self.after_canaries = true;
        self
    }

    /// Whether it waits for the other canaries ([`Check::after_canaries`]).
    pub fn runs_after_canaries(&self) -> bool {
        self.after_canaries
    }

    /// Whether it is a canary the checks marked [`Check::after_canaries`] wait for.
    pub fn is_awaited_canary(&self) -> bool {
        self.area() == "canary" && !self.after_canaries
    }

    /// What a pass means, in a line.
    pub fn title(&self) -> &'static str {
        self.def.title
    }

    /// The area is the id up to the first dot (`rds.multi_az` → `rds`).
    pub fn area(&self) -> &str {
        area_of(&self.id)
    }

    pub(crate) fn run<'a>(&self, cx: &'a Context) -> CheckFuture<'a> {
        (self.run)(cx)
    }
}

impl Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check").field("id", &self.id).finish()
    }
}

/// `rds.multi_az` → `rds`; `scheduled.audit-partition-roll.succeeded` → `scheduled`.
pub fn area_of(id: &str) -> &str {
    id.split('.').next().unwrap_or(id)
}

/// Judges every declared item of an area and folds the per-item findings into
/// one: any error → error, any fail → fail (all failing messages), else pass.
///
/// The evidence: every item's resources in item order (each once);
/// `expected` and `observed` objects keyed by item (an item that judged
/// nothing, a skipped one, is left out); an item's details under its key.
pub(crate) fn combine(items: Vec<(String, CheckResult)>, none_declared: &str) -> CheckResult {
    if items.is_empty() {
        return Ok(Finding::skip(none_declared));
    }
    let mut evidence = Evidence::default();
    let (mut expected, mut observed) = (Map::new(), Map::new());
    let mut failures = Vec::new();
    let mut passes = Vec::new();
    let mut skips = 0;
    for (key, result) in items {
        let finding = result?;
        match finding.status {
            Status::Fail => failures.push(finding.message.clone()),
            Status::Skip => skips += 1,
            _ => passes.push(finding.message.clone()),
        }
        let item = finding.evidence;
        evidence = evidence.resources(item.resources);
        if !item.expected.is_null() {
            expected.insert(key.clone(), item.expected);
        }
        if !item.observed.is_null() {
            observed.insert(key.clone(), item.observed);
        }
        if !item.details.is_empty() {
            evidence = evidence.detail(key, Value::Object(item.details));
        }
    }
    let evidence = evidence
        .expected(Value::Object(expected))
        .observed(Value::Object(observed));
    if !failures.is_empty() {
        Ok(Finding::fail(failures.join("; "), evidence))
    } else if passes.is_empty() && skips > 0 {
        Ok(Finding {
            status: Status::Skip,
            message: none_declared.into(),
            evidence,
        })
    } else {
        Ok(Finding::pass(passes.join("; "), evidence))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_reason_explains_only_the_comparison_just_failed() {
        let mut f = Fields::of("r");
        f.expect("a", 1, 2).because("why a");
        f.expect("b", 1, 1).because("never shown");
        f.judge("c", "≥ 2", 1, false).because("why c");
        f.problem("free").because("not a comparison");
        f.observe("zone", "eu-central-1a");
        let finding = f.finish("fine");
        assert_eq!(
            finding.message,
            "r: a expected 1, observed 2 (why a); c expected ≥ 2, observed 1 (why c); free"
        );
        assert_eq!(
            finding.evidence.observed,
            json!({"a": 2, "b": 1, "c": 1, "zone": "eu-central-1a"})
        );
        assert_eq!(
            finding.evidence.expected,
            json!({"a": 1, "b": 1, "c": "≥ 2"})
        );
    }

    fn item(status: Status, resource: &str, min: u32, seen: u32) -> CheckResult {
        Ok(Finding {
            status,
            message: format!("{resource}: {}", status.as_str()),
            evidence: Evidence::of(resource)
                .resource("shared group")
                .expected(json!({ "min_days": min }))
                .observed(json!({ "days": seen })),
        })
    }

    #[test]
    fn combine_keys_expected_and_observed_by_item_and_keeps_resource_order() {
        let combined = combine(
            vec![
                ("b".into(), item(Status::Pass, "budget 'b'", 7, 9)),
                ("a".into(), item(Status::Fail, "budget 'a'", 7, 1)),
                ("c".into(), Ok(Finding::skip("c: not declared"))),
            ],
            "none",
        )
        .unwrap();
        assert_eq!(combined.status, Status::Fail);
        assert_eq!(combined.message, "budget 'a': fail");
        let e = combined.evidence;
        assert_eq!(e.resources, ["budget 'b'", "shared group", "budget 'a'"]);
        assert_eq!(
            e.expected,
            json!({ "b": { "min_days": 7 }, "a": { "min_days": 7 } })
        );
        assert_eq!(
            e.observed,
            json!({ "b": { "days": 9 }, "a": { "days": 1 } })
        );
        assert!(e.operations.is_empty() && e.details.is_empty());
    }

    #[test]
    fn combine_stops_at_an_error_and_its_evidence_names_the_resource() {
        let error = CheckError::Missing {
            operation: "budgets:DescribeBudget".into(),
            resource: "budget 'a'".into(),
            field: "BudgetLimit".into(),
        };
        let result = combine(
            vec![
                ("b".into(), item(Status::Pass, "budget 'b'", 7, 9)),
                ("a".into(), Err(error.clone())),
            ],
            "none",
        );
        assert_eq!(result, Err(error.clone()));
        let e = error.evidence();
        assert_eq!(e.resources, ["budget 'a'"]);
        assert_eq!(e.details["operation"], json!("budgets:DescribeBudget"));
        assert_eq!(e.details["error"], json!(error.to_string()));
        let timeout = CheckError::Timeout(Duration::from_secs(90)).evidence();
        assert!(timeout.resources.is_empty());
        assert_eq!(timeout.details["operation"], Value::Null);
    }

    #[test]
    fn nothing_declared_skips_with_empty_evidence() {
        let skipped = combine(Vec::new(), "no budget declared").unwrap();
        assert_eq!(skipped.status, Status::Skip);
        assert_eq!(skipped.evidence, Evidence::default());
    }
}
