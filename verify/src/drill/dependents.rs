//! A drill's dependents ([`envspec::Dependent`]): once the drill has seen
//! recovery, each must work again within its `recover_within`.
//!
//! - From the drill's recovery (its last [`MarkKind::Recovered`] mark, else
//!   the call), every dependent is tried side by side until it succeeds or
//!   its bound passes, a pause of [`PAUSE`] between attempts. Each attempt
//!   is bounded by the time left (and by the check's bound for a canary,
//!   by the edge probes' for a URL), so none runs past its dependent's bound.
//! - A canary runs exactly as `canary.<name>` does (the edge's `resolve` and
//!   roots, the run's id header and secrets, its undo): it succeeds when it
//!   would `pass`. A canary that writes needs the run-time opt-in
//!   (`verify drill … --allow-writes`); without it the drill refuses before
//!   any fault ([`refuse_writes`]).
//! - A URL must answer 2xx to a `GET` over https through the edge probes'
//!   client (the same `resolve` and roots, no redirect followed).
//! - The timeline gets a [`MarkKind::Dependent`] mark at each dependent's
//!   first success, or where it was given up; the drill gets one assertion,
//!   `dependents_recovered`, holding when every dependent succeeded within
//!   its bound. Its observed names each dependent: recovered after how many
//!   ms, or never within the bound, and the last error (no response body,
//!   no secret: a canary's message is already scrubbed of both).

use std::time::{Duration, Instant};

use envspec::{Dependent, DependentTarget};
use serde_json::{Value, json};

use super::{Assertion, DrillError, Mark, MarkKind, ms_since};
use crate::Status;
use crate::check::CheckError;
use crate::gate::Gate;
use crate::probe::http::{HttpOptions, get};

/// The pause between two attempts of one dependent.
const PAUSE: Duration = Duration::from_millis(500);
/// Bound on one URL attempt (the edge probes' own).
const URL_ATTEMPT: Duration = Duration::from_secs(10);

/// The longest `recover_within` of `dependents` (zero for none): how much
/// longer a drill's body may take with them.
pub(crate) fn longest(dependents: &[Dependent]) -> Duration {
    dependents
        .iter()
        .map(|d| d.recover_within)
        .max()
        .unwrap_or_default()
}

/// A drill that declares a writing canary as a dependent, in a run without
/// `--allow-writes`: refused before anything is touched (exit 2), naming the
/// dependent and the flag.
pub(crate) fn refuse_writes(gate: &Gate, dependents: &[Dependent]) -> Result<(), DrillError> {
    if gate.context().run().allow_writes {
        return Ok(());
    }
    let writing: Vec<String> = dependents
        .iter()
        .filter_map(|d| match &d.target {
            DependentTarget::Canary(name)
                if gate
                    .env()
                    .canaries
                    .iter()
                    .any(|c| &c.name == name && c.writes) =>
            {
                Some(format!("dependent '{}' (canary '{name}')", d.name))
            }
            _ => None,
        })
        .collect();
    if writing.is_empty() {
        return Ok(());
    }
    Err(DrillError::Setup(format!(
        "{} write{} (`writes = true`): pass --allow-writes to let {} run after recovery and undo what {} wrote; nothing injected",
        writing.join(", "),
        if writing.len() == 1 { "s" } else { "" },
        if writing.len() == 1 { "it" } else { "them" },
        if writing.len() == 1 { "it" } else { "they" },
    )))
}

/// Tries every dependent from now (the drill saw recovery) until it
/// succeeds or its `recover_within` passes, with a mark on the timeline
/// (at ms since `t0`) for each; the assertion `dependents_recovered`, or
/// `None` when the drill declares none.
pub(crate) async fn recover(
    gate: &Gate,
    dependents: &[Dependent],
    t0: Instant,
    marks: &mut Vec<Mark>,
) -> Option<Assertion> {
    if dependents.is_empty() {
        return None;
    }
    // Counted from the drill's recovery mark; the call, when it has none.
    let recovered_ms = marks
        .iter()
        .rev()
        .find(|m| m.kind == MarkKind::Recovered)
        .map(|m| m.at_ms)
        .unwrap_or_else(|| ms_since(t0));
    let options = match &gate.env().edge {
        Some(edge) => crate::checks::edge::http_options(edge, 0),
        None => Ok(HttpOptions::default()),
    };
    let tries = dependents
        .iter()
        .map(|d| try_one(gate, d, options.as_ref(), t0, recovered_ms));
    let tried = futures_util::future::join_all(tries).await;
    for t in &tried {
        marks.push(t.mark(recovered_ms));
    }
    Some(judge(&tried))
}

/// What trying one dependent came to.
#[derive(Debug, Clone, PartialEq)]
struct Tried {
    name: String,
    /// `url https://…` or `canary 't0'`.
    target: String,
    within_ms: u64,
    /// Since `t0`: when its first success ended, or when it was given up.
    at_ms: u64,
    /// Since the drill's recovery, when it succeeded.
    recovered_after_ms: Option<u64>,
    attempts: u32,
    /// The last failed attempt's error (no body, no secret).
    last_error: Option<String>,
    /// What the success said (`answered 200`, the canary's summary).
    success: Option<String>,
}

impl Tried {
    fn mark(&self, recovered_ms: u64) -> Mark {
        let label = match (self.recovered_after_ms, &self.success) {
            (Some(after), Some(said)) => format!(
                "'{}' back {:.1} s after recovery ({said})",
                self.name,
                after as f64 / 1000.0
            ),
            _ => format!(
                "'{}' not back within {}: {}",
                self.name,
                humantime::format_duration(Duration::from_millis(self.within_ms)),
                self.last_error.as_deref().unwrap_or("never tried")
            ),
        };
        Mark {
            at_ms: self.at_ms.max(recovered_ms),
            kind: MarkKind::Dependent,
            label,
        }
    }
}

async fn try_one(
    gate: &Gate,
    dependent: &Dependent,
    options: Result<&HttpOptions, &CheckError>,
    t0: Instant,
    recovered_ms: u64,
) -> Tried {
    let within_ms = dependent.recover_within.as_millis() as u64;
    let deadline = t0 + Duration::from_millis(recovered_ms) + dependent.recover_within;
    let mut tried = Tried {
        name: dependent.name.clone(),
        target: match &dependent.target {
            DependentTarget::Canary(name) => format!("canary '{name}'"),
            DependentTarget::Url(url) => format!("url {url}"),
            _ => "an unknown target".into(),
        },
        within_ms,
        at_ms: 0,
        recovered_after_ms: None,
        attempts: 0,
        last_error: None,
        success: None,
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        tried.attempts += 1;
        let attempt = match (&dependent.target, options) {
            (DependentTarget::Canary(name), _) => canary(gate, name, left).await,
            (DependentTarget::Url(url), Ok(options)) => url_answers(url, options, left).await,
            (DependentTarget::Url(_), Err(e)) => Err(e.to_string()),
            _ => Err("an unknown target".into()),
        };
        match attempt {
            Ok(said) if Instant::now() <= deadline => {
                tried.at_ms = ms_since(t0);
                tried.recovered_after_ms = Some(tried.at_ms.saturating_sub(recovered_ms));
                tried.success = Some(said);
                return tried;
            }
            Ok(_) => {
                tried.last_error = Some("succeeded only after its bound".into());
                break;
            }
            Err(e) => tried.last_error = Some(e),
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left <= PAUSE {
            break;
        }
        tokio::time::sleep(PAUSE).await;
    }
    tried.at_ms = ms_since(t0);
    tried
}

/// One run of the canary `name`, as `canary.<name>` runs, within `left`.
async fn canary(gate: &Gate, name: &str, left: Duration) -> Result<String, String> {
    let bound = left.min(gate.context().check_timeout());
    match crate::checks::canary::run_within(gate.context(), name, bound).await {
        Ok(finding) if finding.status == Status::Pass => Ok(finding.message),
        Ok(finding) => Err(format!("{}: {}", finding.status.as_str(), finding.message)),
        Err(e) => Err(e.to_string()),
    }
}

/// `GET url` answered 2xx within `left` (at most [`URL_ATTEMPT`]).
async fn url_answers(url: &str, options: &HttpOptions, left: Duration) -> Result<String, String> {
    let options = HttpOptions {
        timeout: left.min(URL_ATTEMPT),
        ..options.clone()
    };
    match get(url, &options).await {
        Ok(response) if (200..300).contains(&response.status) => {
            Ok(format!("answered {}", response.status))
        }
        Ok(response) if response.is_redirect() => Err(format!(
            "answered {} (a redirect; not followed)",
            response.status
        )),
        Ok(response) => Err(format!("answered {}", response.status)),
        Err(e) => Err(e.to_string()),
    }
}

/// `dependents_recovered`: every dependent succeeded within its bound.
fn judge(tried: &[Tried]) -> Assertion {
    let holds = tried
        .iter()
        .all(|t| t.recovered_after_ms.is_some_and(|ms| ms <= t.within_ms));
    let expected: serde_json::Map<String, Value> = tried
        .iter()
        .map(|t| {
            (
                t.name.clone(),
                json!({ "target": t.target, "recover_within_ms": t.within_ms }),
            )
        })
        .collect();
    let observed: serde_json::Map<String, Value> = tried
        .iter()
        .map(|t| {
            let verdict = match t.recovered_after_ms {
                Some(ms) if ms <= t.within_ms => format!("recovered after {ms} ms"),
                Some(ms) => format!(
                    "recovered after {ms} ms, beyond its bound of {} ms",
                    t.within_ms
                ),
                None => format!("never within {} ms", t.within_ms),
            };
            (
                t.name.clone(),
                json!({
                    "target": t.target,
                    "recovered": t.recovered_after_ms.is_some_and(|ms| ms <= t.within_ms),
                    "recovered_after_ms": t.recovered_after_ms,
                    "verdict": verdict,
                    "attempts": t.attempts,
                    "last_error": t.last_error,
                }),
            )
        })
        .collect();
    Assertion {
        name: "dependents_recovered",
        holds,
        expected: Value::Object(expected),
        observed: Value::Object(observed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tried(name: &str, within_ms: u64, after: Option<u64>, error: Option<&str>) -> Tried {
        Tried {
            name: name.into(),
            target: "url https://api.example.com/health".into(),
            within_ms,
            at_ms: 1000 + after.unwrap_or(within_ms),
            recovered_after_ms: after,
            attempts: 3,
            last_error: error.map(String::from),
            success: after.map(|_| "answered 200".into()),
        }
    }

    #[test]
    fn every_dependent_back_in_time_holds() {
        let a = judge(&[
            tried("health", 60_000, Some(1200), Some("answered 503")),
            tried("t0", 5_000, Some(5_000), None),
        ]);
        assert!(a.holds, "{a:?}");
        assert_eq!(a.name, "dependents_recovered");
        assert_eq!(a.observed["health"]["verdict"], "recovered after 1200 ms");
        assert_eq!(a.observed["health"]["recovered_after_ms"], 1200);
        assert_eq!(a.expected["t0"]["recover_within_ms"], 5000);
    }

    #[test]
    fn one_late_or_never_back_fails_naming_it() {
        let late = judge(&[
            tried("health", 60_000, Some(100), None),
            tried("app", 5_000, Some(5_001), None),
        ]);
        assert!(!late.holds);
        assert_eq!(late.observed["app"]["recovered"], false);
        assert!(
            late.observed["app"]["verdict"]
                .as_str()
                .unwrap()
                .contains("beyond its bound of 5000 ms"),
            "{late:?}"
        );
        let never = judge(&[tried("app", 5_000, None, Some("answered 503"))]);
        assert!(!never.holds);
        assert_eq!(never.observed["app"]["verdict"], "never within 5000 ms");
        assert_eq!(never.observed["app"]["last_error"], "answered 503");
        assert_eq!(never.observed["app"]["recovered_after_ms"], Value::Null);
    }

    #[test]
    fn marks_say_when_each_came_back_or_was_given_up() {
        let back = tried("health", 60_000, Some(1200), None).mark(1000);
        assert_eq!(back.kind, MarkKind::Dependent);
        assert_eq!(back.at_ms, 2200);
        assert_eq!(
            back.label,
            "'health' back 1.2 s after recovery (answered 200)"
        );
        let never = tried("app", 5_000, None, Some("answered 503")).mark(1000);
        assert_eq!(never.label, "'app' not back within 5s: answered 503");
    }

    /// A gate on the sandbox spec over clients for a closed port (no call is made).
    fn gate(allow_writes: bool) -> Gate {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../infra-tests/environments/sandbox.hcl");
        let env = crate::spec::load(&path).expect("sandbox spec");
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-central-1"))
            .endpoint_url("http://127.0.0.1:9")
            .build();
        let aws = crate::aws::AwsClients::new(&config, crate::aws::AccessMode::read_only());
        Gate::with_clients(env, aws).with_run(crate::RunSettings {
            allow_writes,
            ..crate::RunSettings::default()
        })
    }

    #[test]
    fn no_dependents_no_assertion() {
        let gate = gate(false);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let mut marks = Vec::new();
        let none = runtime.block_on(recover(&gate, &[], Instant::now(), &mut marks));
        assert_eq!(none, None);
        assert!(marks.is_empty());
        assert!(refuse_writes(&gate, &[]).is_ok());
    }

    /// A writing canary as a dependent needs --allow-writes: refused before
    /// anything, naming the dependent and the flag; a read-only URL never is.
    #[test]
    fn a_writing_canary_dependent_needs_allow_writes() {
        let dependents = [
            Dependent {
                name: "health".into(),
                target: DependentTarget::Url("https://api.restartix.test/v1/health".into()),
                recover_within: Duration::from_secs(60),
            },
            Dependent {
                name: "booking".into(),
                target: DependentTarget::Canary("t0".into()),
                recover_within: Duration::from_secs(60),
            },
        ];
        let refused = refuse_writes(&gate(false), &dependents).expect_err("refused");
        assert_eq!(
            refused.to_string(),
            "dependent 'booking' (canary 't0') writes (`writes = true`): pass --allow-writes \
             to let it run after recovery and undo what it wrote; nothing injected"
        );
        assert!(refuse_writes(&gate(false), &dependents[..1]).is_ok());
        assert!(refuse_writes(&gate(true), &dependents).is_ok());
    }
}
