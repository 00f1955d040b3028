//! `maintenance.*`: nothing AWS has scheduled falls inside the declared
//! launch window (`launch { window = [from, to] }`, UTC).
//!
//! `maintenance.rds` reads the declared instances' pending maintenance
//! actions (`DescribePendingMaintenanceActions`). An action applies at its
//! `ForcedApplyDate` (whatever the maintenance window), in the first
//! maintenance window after its `AutoAppliedAfterDate`, at its
//! `CurrentApplyDate` (the effective date, opt-ins counted), now when opted
//! in `immediate`, in the next maintenance window when opted in
//! `next-maintenance`; an action with none of these can be applied in any
//! maintenance window, so every occurrence of the instance's
//! `PreferredMaintenanceWindow` (`ddd:hh24:mi-ddd:hh24:mi`, UTC, may wrap
//! the week) inside the launch window counts. Any of these inside the launch
//! window fails; no pending action passes.
//!
//! `maintenance.health` reads the account's AWS Health scheduled changes
//! (upcoming or open; ECS task retirements, `AWS_ECS_TASK_PATCHING_RETIREMENT`,
//! exist only there) in the spec's region or global, and fails on one whose
//! start–end overlaps the launch window, naming what it affects
//! (`DescribeAffectedEntities`). An account without AWS Health access (a
//! Business support plan or above) is an `error`, never a pass.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_health::types::Event;
use aws_sdk_rds::types::{DbInstance, PendingMaintenanceAction};
use serde_json::{Value, json};

use crate::aws;
use crate::aws::health::DESCRIBE_EVENTS;
use crate::aws::rds::DESCRIBE_DB_INSTANCES;
use crate::check::{Check, CheckDef, CheckError, CheckResult, Fields, Grant, combine, required};
use crate::context::Context;
use crate::spec::{Environment, RdsSpec};

const NO_LAUNCH: &str = "no launch { window } declared for this environment";
const NO_RDS: &str = "no rds instance declared for this environment";

// --- what: the checks, declared ----------------------------------------------

fn launch_and_rds(env: &Environment) -> bool {
    env.launch.is_some() && !env.rds.is_empty()
}

const RDS: CheckDef = CheckDef {
    id: "maintenance.rds",
    title: "no pending RDS maintenance action applies inside the launch window",
    doc: "with `launch { window }`: no pending maintenance action (`DescribePendingMaintenanceActions`) of a declared instance applies inside the window — its `ForcedApplyDate`, `CurrentApplyDate`, `AutoAppliedAfterDate` and the first maintenance window after it, now when opted in `immediate`, the next maintenance window when opted in `next-maintenance`; an undated action counts every occurrence of the instance's `PreferredMaintenanceWindow` inside the launch window. No pending action passes; an unreadable maintenance window is an error",
    iam: &[
        Grant::on(
            "RdsReadDeclaredInstances",
            "rds:DescribeDBInstances",
            |env, a| {
                if env.launch.is_some() {
                    env.rds.iter().map(|r| a.db(&r.identifier)).collect()
                } else {
                    Vec::new()
                }
            },
        ),
        // Called once with a `db-instance-id` filter naming every declared
        // instance, not one ResourceIdentifier: granted on `*`.
        Grant::any("rds:DescribePendingMaintenanceActions", launch_and_rds),
    ],
};

const HEALTH: CheckDef = CheckDef {
    id: "maintenance.health",
    title: "no AWS Health scheduled change (ECS task retirements included) falls inside the launch window",
    doc: "with `launch { window }`: no AWS Health event of category `scheduledChange`, upcoming or open (`DescribeEvents`, us-east-1), in the spec's region or global, overlaps the window (no end time: open-ended); what each affects is named (`DescribeAffectedEntities`). ECS task retirements (`AWS_ECS_TASK_PATCHING_RETIREMENT`) are only reported here. No AWS Health access (`SubscriptionRequiredException`: it needs a Business, Enterprise On-Ramp or Enterprise support plan) is an error, never a pass",
    iam: &[
        Grant::any("health:DescribeEvents", |env| env.launch.is_some()),
        Grant::any("health:DescribeAffectedEntities", |env| {
            env.launch.is_some()
        })
        .only_when(IN_WINDOW),
    ],
};

/// When `maintenance.health` reads what an event affects.
const IN_WINDOW: &str = "an AWS Health scheduled change falls inside the launch window";

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(&RDS, |cx| Box::pin(rds(cx))),
        Check::new(&HEALTH, |cx| Box::pin(health(cx))),
    ]
}

// --- how: the judges ----------------------------------------------------------

/// Seconds since the epoch (before it: negative).
fn secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// An RFC 3339 time, as reports show it.
fn rfc(secs: i64) -> String {
    let t = if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs as u64)
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    };
    humantime::format_rfc3339_seconds(t).to_string()
}

const WEEK: i64 = 7 * 86_400;

/// The launch window, `[from, to)` in seconds.
#[derive(Debug, Clone, Copy)]
struct Window {
    from: i64,
    to: i64,
}

impl Window {
    fn of(env: &Environment) -> Option<Window> {
        env.launch.map(|l| Window {
            from: secs(l.window.0),
            to: secs(l.window.1),
        })
    }

    /// Whether `[start, end)` overlaps it (an instant: `start == end`).
    fn overlaps(self, start: i64, end: i64) -> bool {
        start < self.to && end.max(start + 1) > self.from
    }

    fn shown(self) -> String {
        format!("{}–{}", rfc(self.from), rfc(self.to))
    }
}

/// An RDS weekly maintenance window (`PreferredMaintenanceWindow`,
/// `ddd:hh24:mi-ddd:hh24:mi`, UTC): its start as seconds after Monday
/// 00:00 and its length (a window that wraps the week, `sun:23:00-mon:01:00`,
/// runs on into the next).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Weekly {
    start: i64,
    length: i64,
}

impl Weekly {
    fn parse(text: &str) -> Option<Weekly> {
        let point = |p: &str| -> Option<i64> {
            let mut parts = p.trim().split(':');
            let (day, hour, minute) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() || hour.len() != 2 || minute.len() != 2 {
                return None;
            }
            let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .iter()
                .position(|d| d.eq_ignore_ascii_case(day))? as i64;
            let (hour, minute): (i64, i64) = (hour.parse().ok()?, minute.parse().ok()?);
            ((0..24).contains(&hour) && (0..60).contains(&minute))
                .then_some(day * 86_400 + hour * 3600 + minute * 60)
        };
        let (start, end) = text.split_once('-')?;
        let (start, end) = (point(start)?, point(end)?);
        let length = (end - start).rem_euclid(WEEK);
        (length > 0).then_some(Weekly { start, length })
    }

    /// Monday 00:00 UTC of the week holding `t` (1970-01-01 was a Thursday).
    fn monday_of(t: i64) -> i64 {
        let day = t.div_euclid(86_400);
        (day - (day + 3).rem_euclid(7)) * 86_400
    }

    /// Every occurrence `[start, end)` that overlaps `window`, in order.
    fn occurrences_in(self, window: Window) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        let mut start = Self::monday_of(window.from) - WEEK + self.start;
        while start < window.to {
            if window.overlaps(start, start + self.length) {
                out.push((start, start + self.length));
            }
            start += WEEK;
        }
        out
    }

    /// The first occurrence that has not ended by `t` (under way at `t`, or next).
    fn next_after(self, t: i64) -> (i64, i64) {
        let mut start = Self::monday_of(t) - WEEK + self.start;
        while start + self.length <= t {
            start += WEEK;
        }
        (start, start + self.length)
    }
}

/// When one pending action may apply, each with why: `(why, start, end)`.
type Applies = Vec<(String, i64, i64)>;

/// When `action` applies, as AWS documents it (module docs). `weekly` is
/// the instance's maintenance window, `Err(())` when unreadable: an
/// action that needs it is then an error, never a pass.
fn applies(
    action: &PendingMaintenanceAction,
    weekly: Result<Weekly, ()>,
    window: Window,
    now: i64,
) -> Result<Applies, ()> {
    let date = |d: Option<&aws_smithy_types::DateTime>| d.map(|d| d.secs());
    let forced = date(action.forced_apply_date());
    let after = date(action.auto_applied_after_date());
    let current = date(action.current_apply_date());
    let opt_in = action.opt_in_status().unwrap_or_default();
    let mut out = Applies::new();
    let occurrence = |why: &str, (s, e): (i64, i64), out: &mut Applies| {
        out.push((format!("{why}: {}–{}", rfc(s), rfc(e)), s, e));
    };
    if let Some(t) = forced {
        out.push((format!("ForcedApplyDate {}", rfc(t)), t, t));
    }
    if let Some(t) = current {
        out.push((format!("CurrentApplyDate {}", rfc(t)), t, t));
    }
    if let Some(t) = after {
        out.push((format!("AutoAppliedAfterDate {}", rfc(t)), t, t));
        occurrence(
            "the first maintenance window after it",
            weekly?.next_after(t.max(now)),
            &mut out,
        );
    }
    // An opt-in counts unless a date overrides it (a ForcedApplyDate
    // ignores `immediate`, an AutoAppliedAfterDate `next-maintenance`).
    if opt_in == "immediate" && forced.is_none() {
        out.push(("opted in to apply immediately".into(), now, now));
    }
    if opt_in == "next-maintenance" && after.is_none() {
        occurrence(
            "opted in to the next maintenance window",
            weekly?.next_after(now),
            &mut out,
        );
    }
    if out.is_empty() {
        // Undated: RDS may apply it in any maintenance window.
        for o in weekly?.occurrences_in(window) {
            occurrence("undated, in the maintenance window", o, &mut out);
        }
    }
    Ok(out)
}

/// `maintenance.rds`.
async fn rds(cx: &Context) -> CheckResult {
    let env = cx.env();
    let Some(window) = Window::of(env) else {
        return Ok(crate::check::Finding::skip(NO_LAUNCH));
    };
    if env.rds.is_empty() {
        return Ok(crate::check::Finding::skip(NO_RDS));
    }
    let identifiers: Vec<String> = env.rds.iter().map(|r| r.identifier.clone()).collect();
    let pending = aws::rds::pending_maintenance(cx.aws(), &identifiers).await?;
    let now = secs(SystemTime::now());
    let mut items = Vec::new();
    for spec in &env.rds {
        let db = aws::rds::instance(cx.aws(), &spec.identifier).await?;
        let suffix = format!(":db:{}", spec.identifier);
        let actions: Vec<PendingMaintenanceAction> = pending
            .iter()
            .filter(|r| {
                r.resource_identifier()
                    .is_some_and(|arn| arn.ends_with(&suffix) || arn == spec.identifier)
            })
            .flat_map(|r| r.pending_maintenance_action_details().iter().cloned())
            .collect();
        items.push((
            spec.label.clone(),
            judge_instance(spec, &db, &actions, window, now),
        ));
    }
    combine(items, NO_RDS)
}

/// `maintenance.rds` for one instance: pure, a table row per case.
fn judge_instance(
    spec: &RdsSpec,
    db: &DbInstance,
    actions: &[PendingMaintenanceAction],
    window: Window,
    now: i64,
) -> CheckResult {
    let resource = format!("rds instance '{}'", spec.identifier);
    let text = db.preferred_maintenance_window();
    let weekly = text.and_then(Weekly::parse).ok_or(());
    let mut f = Fields::of(&resource);
    f.observe("PreferredMaintenanceWindow", text);
    let mut listed = Vec::new();
    let mut inside = Vec::new();
    for action in actions {
        let name = action.action().unwrap_or("an unnamed action");
        let when = applies(action, weekly, window, now).map_err(|()| match text {
            None => CheckError::Missing {
                operation: DESCRIBE_DB_INSTANCES.into(),
                resource: resource.clone(),
                field: "PreferredMaintenanceWindow".into(),
            },
            Some(t) => CheckError::Missing {
                operation: DESCRIBE_DB_INSTANCES.into(),
                resource: resource.clone(),
                field: format!("a readable PreferredMaintenanceWindow (got '{t}')"),
            },
        })?;
        let hits: Vec<&str> = when
            .iter()
            .filter(|(_, s, e)| window.overlaps(*s, *e))
            .map(|(why, _, _)| why.as_str())
            .collect();
        if !hits.is_empty() {
            inside.push(format!("{name} ({})", hits.join("; ")));
        }
        let date = |d: Option<&aws_smithy_types::DateTime>| d.map(|d| rfc(d.secs()));
        listed.push(json!({
            "Action": name,
            "Description": action.description(),
            "OptInStatus": action.opt_in_status(),
            "ForcedApplyDate": date(action.forced_apply_date()),
            "AutoAppliedAfterDate": date(action.auto_applied_after_date()),
            "CurrentApplyDate": date(action.current_apply_date()),
            "applies": when.iter().map(|(why, _, _)| why.as_str()).collect::<Vec<_>>(),
            "in_launch_window": !hits.is_empty(),
        }));
    }
    f.observe("PendingMaintenanceActions", Value::Array(listed));
    f.judge(
        "in_launch_window",
        format!("none (launch window {})", window.shown()),
        if inside.is_empty() {
            "none".to_string()
        } else {
            inside.join(", ")
        },
        inside.is_empty(),
    )
    .because("apply it before the launch with ApplyPendingMaintenanceAction, or move the maintenance window out of the launch window");
    let pass = match actions.len() {
        0 => format!("{resource}: no pending maintenance action"),
        n => format!(
            "{resource}: {n} pending maintenance action(s), none inside the launch window {}",
            window.shown()
        ),
    };
    Ok(f.finish(pass))
}

/// `maintenance.health`.
async fn health(cx: &Context) -> CheckResult {
    let env = cx.env();
    let Some(window) = Window::of(env) else {
        return Ok(crate::check::Finding::skip(NO_LAUNCH));
    };
    let events = aws::health::scheduled_changes(cx.aws()).await?;
    let inside = in_window(&events, &env.region, window)?;
    let mut affected = Vec::new();
    for event in &inside {
        let entities = match event.arn() {
            Some(arn) => aws::health::affected_entities(cx.aws(), arn).await?,
            None => Vec::new(),
        };
        affected.push(
            entities
                .iter()
                .filter_map(|e| e.entity_value().or(e.entity_arn()).map(str::to_string))
                .collect::<Vec<_>>(),
        );
    }
    Ok(judge_health(
        &env.account_id,
        &env.region,
        &events,
        &inside,
        &affected,
        window,
    ))
}

/// The scheduled changes of `region` (or global) whose start–end overlaps
/// the window; no end time is open-ended. No start time is an error.
fn in_window<'e>(
    events: &'e [Event],
    region: &str,
    window: Window,
) -> Result<Vec<&'e Event>, CheckError> {
    let mut out = Vec::new();
    for event in events {
        if event.region().is_some_and(|r| r != region && r != "global") {
            continue;
        }
        let resource = format!(
            "AWS Health event {}",
            event.arn().unwrap_or("without an ARN")
        );
        let start = required(event.start_time(), DESCRIBE_EVENTS, &resource, "startTime")?;
        let end = event.end_time().map_or(i64::MAX, |e| e.secs());
        if window.overlaps(start.secs(), end) {
            out.push(event);
        }
    }
    Ok(out)
}

/// `maintenance.health` from the events read, those inside the window
/// ([`in_window`]) and what each of those affects: pure.
fn judge_health(
    account: &str,
    region: &str,
    events: &[Event],
    inside: &[&Event],
    affected: &[Vec<String>],
    window: Window,
) -> crate::check::Finding {
    let resource = format!("AWS Health scheduled changes of account {account}");
    let mut f = Fields::of(&resource);
    f.observe("region", region);
    f.observe("scheduled_changes", events.len());
    let shown: Vec<String> = inside
        .iter()
        .zip(affected)
        .map(|(e, entities)| {
            let end = e
                .end_time()
                .map(|t| format!(" to {}", rfc(t.secs())))
                .unwrap_or_default();
            let what = match entities.as_slice() {
                [] => String::new(),
                [one] => format!(", affects {one}"),
                [first, rest @ ..] => format!(", affects {first} and {} more", rest.len()),
            };
            format!(
                "{} {} from {}{end} ({}{what})",
                e.service().unwrap_or("?"),
                e.event_type_code().unwrap_or("?"),
                e.start_time().map(|t| rfc(t.secs())).unwrap_or_default(),
                e.region().unwrap_or("?"),
            )
        })
        .collect();
    let listed: Vec<Value> = inside
        .iter()
        .zip(affected)
        .map(|(e, entities)| {
            json!({
                "arn": e.arn(),
                "service": e.service(),
                "eventTypeCode": e.event_type_code(),
                "region": e.region(),
                "statusCode": e.status_code().map(|s| s.as_str()),
                "startTime": e.start_time().map(|t| rfc(t.secs())),
                "endTime": e.end_time().map(|t| rfc(t.secs())),
                "affected": entities,
            })
        })
        .collect();
    f.observe("events_in_launch_window", Value::Array(listed));
    f.judge(
        "in_launch_window",
        format!("none (launch window {})", window.shown()),
        if shown.is_empty() {
            "none".to_string()
        } else {
            shown.join(", ")
        },
        shown.is_empty(),
    )
    .because("move the launch, or act before it as the event says; for an ECS task retirement, redeploy the service's tasks before it");
    f.finish(format!(
        "{resource}: {} scheduled change(s), none in {region} or global inside the launch window {}",
        events.len(),
        window.shown()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;
    use aws_sdk_health::types::{EventStatusCode, EventTypeCategory};
    use aws_smithy_types::DateTime;

    fn at(text: &str) -> i64 {
        secs(humantime::parse_rfc3339(text).unwrap())
    }

    fn window(from: &str, to: &str) -> Window {
        Window {
            from: at(from),
            to: at(to),
        }
    }

    /// 2027-01-18 is a Monday.
    const MON: &str = "2027-01-18T06:00:00Z";
    const NEXT_MON: &str = "2027-01-25T06:00:00Z";

    #[test]
    fn a_weekly_window_is_read_and_its_occurrences_computed() {
        assert_eq!(
            Weekly::monday_of(at("2027-01-21T12:00:00Z")),
            at("2027-01-18T00:00:00Z")
        );
        assert_eq!(
            Weekly::monday_of(at("2027-01-18T00:00:00Z")),
            at("2027-01-18T00:00:00Z")
        );
        assert_eq!(
            Weekly::monday_of(at("2027-01-17T23:59:59Z")),
            at("2027-01-11T00:00:00Z")
        );
        let sun = Weekly::parse("sun:03:00-sun:03:30").unwrap();
        assert_eq!((sun.start, sun.length), (6 * 86_400 + 3 * 3600, 1800));
        // Wraps the week: Sunday night into Monday.
        let wrap = Weekly::parse("Sun:23:30-mon:00:30").unwrap();
        assert_eq!(wrap.length, 3600);
        for bad in [
            "",
            "sun:03:00",
            "sun:3:00-sun:04:00",
            "xyz:03:00-sun:04:00",
            "sun:24:00-mon:01:00",
            "sun:03:00-sun:03:00",
        ] {
            assert_eq!(Weekly::parse(bad), None, "{bad}");
        }

        // One week, Monday 06:00 to Monday 06:00: one Sunday window.
        let week = window(MON, NEXT_MON);
        assert_eq!(
            sun.occurrences_in(week),
            [(at("2027-01-24T03:00:00Z"), at("2027-01-24T03:30:00Z"))]
        );
        // The wrapping window overlapping the start: Sunday 23:30 before it
        // ends at 00:30 Monday, before 06:00: outside; the one at the end
        // (Sunday 24th 23:30 – Monday 25th 00:30) inside.
        assert_eq!(
            wrap.occurrences_in(week),
            [(at("2027-01-24T23:30:00Z"), at("2027-01-25T00:30:00Z"))]
        );
        // A window starting inside the previous occurrence catches it.
        let late = window("2027-01-25T00:00:00Z", "2027-01-25T01:00:00Z");
        assert_eq!(wrap.occurrences_in(late).len(), 1);
        // Three weeks: three occurrences; a Tuesday-only window, none.
        let three = window(MON, "2027-02-08T06:00:00Z");
        assert_eq!(sun.occurrences_in(three).len(), 3);
        let tuesday = window("2027-01-19T00:00:00Z", "2027-01-19T23:00:00Z");
        assert!(sun.occurrences_in(tuesday).is_empty());

        // The next occurrence: under way, or the following one.
        assert_eq!(
            sun.next_after(at("2027-01-24T03:10:00Z")),
            (at("2027-01-24T03:00:00Z"), at("2027-01-24T03:30:00Z"))
        );
        assert_eq!(
            sun.next_after(at("2027-01-24T03:30:00Z")).0,
            at("2027-01-31T03:00:00Z")
        );
    }

    fn db(window: Option<&str>) -> DbInstance {
        DbInstance::builder()
            .db_instance_identifier("db")
            .set_preferred_maintenance_window(window.map(String::from))
            .build()
    }

    fn spec() -> RdsSpec {
        crate::spec::parse(
            "environment = \"p\"\nregion = \"eu-central-1\"\naccount_id = \"123456789012\"\nrds \"core\" {\n  identifier = \"db\"\n}\n",
            "p.hcl".as_ref(),
        )
        .unwrap()
        .rds
        .remove(0)
    }

    fn action() -> aws_sdk_rds::types::builders::PendingMaintenanceActionBuilder {
        PendingMaintenanceAction::builder()
            .action("system-update")
            .description("New Operating System update is available")
    }

    fn date(text: &str) -> DateTime {
        DateTime::from_secs(at(text))
    }

    #[test]
    fn a_pending_action_inside_the_window_fails_and_outside_passes() {
        let week = window(MON, NEXT_MON);
        let now = at("2027-01-01T00:00:00Z");
        let judged = |window_text: Option<&str>, actions: Vec<PendingMaintenanceAction>| {
            judge_instance(&spec(), &db(window_text), &actions, week, now)
        };
        let sunday = Some("sun:03:00-sun:03:30");
        let tuesday_before = Some("tue:03:00-tue:03:30");

        // No action: pass, whatever the maintenance window (even unreadable).
        for w in [sunday, None, Some("whenever")] {
            let pass = judged(w, vec![]).unwrap();
            assert_eq!(pass.status, Status::Pass, "{}", pass.message);
            assert!(pass.message.ends_with("no pending maintenance action"));
            assert_eq!(pass.evidence.observed["in_launch_window"], "none");
        }

        for (case, w, a, status, words) in [
            (
                "forced inside",
                sunday,
                action()
                    .forced_apply_date(date("2027-01-20T10:00:00Z"))
                    .build(),
                Status::Fail,
                "system-update (ForcedApplyDate 2027-01-20T10:00:00Z)",
            ),
            (
                "forced after",
                sunday,
                action()
                    .forced_apply_date(date("2027-01-26T10:00:00Z"))
                    .build(),
                Status::Pass,
                "none inside the launch window",
            ),
            (
                "forced at the end, exclusive",
                tuesday_before,
                action().forced_apply_date(date(NEXT_MON)).build(),
                Status::Pass,
                "none inside",
            ),
            (
                "current inside",
                sunday,
                action().current_apply_date(date(MON)).build(),
                Status::Fail,
                "CurrentApplyDate 2027-01-18T06:00:00Z",
            ),
            (
                // Before the window, but its first maintenance window after
                // it (Sunday 24th) is inside.
                "auto-applied after, window inside",
                sunday,
                action()
                    .auto_applied_after_date(date("2027-01-18T00:00:00Z"))
                    .build(),
                Status::Fail,
                "the first maintenance window after it: 2027-01-24T03:00:00Z–2027-01-24T03:30:00Z",
            ),
            (
                "auto-applied after, window before the launch",
                Some("mon:01:00-mon:01:30"),
                action()
                    .auto_applied_after_date(date("2027-01-18T00:00:00Z"))
                    .build(),
                Status::Pass,
                "none inside",
            ),
            (
                "undated: the Sunday window is inside",
                sunday,
                action().build(),
                Status::Fail,
                "undated, in the maintenance window: 2027-01-24T03:00:00Z–2027-01-24T03:30:00Z",
            ),
            (
                "next-maintenance: the next window is weeks before",
                sunday,
                action().opt_in_status("next-maintenance").build(),
                Status::Pass,
                "none inside",
            ),
            (
                "immediate, long before",
                sunday,
                action().opt_in_status("immediate").build(),
                Status::Pass,
                "none inside",
            ),
        ] {
            let f = judged(w, vec![a]).unwrap();
            assert_eq!(f.status, status, "{case}: {}", f.message);
            assert!(f.message.contains(words), "{case}: {}", f.message);
            if status == Status::Fail {
                assert!(
                    f.message.starts_with("rds instance 'db': in_launch_window expected none (launch window 2027-01-18T06:00:00Z–2027-01-25T06:00:00Z), observed system-update"),
                    "{case}: {}",
                    f.message
                );
                assert_eq!(
                    f.evidence.observed["PendingMaintenanceActions"][0]["in_launch_window"],
                    true
                );
            }
        }

        // Undated, and the launch window is a Tuesday: no Sunday in it.
        let tuesday = window("2027-01-19T00:00:00Z", "2027-01-19T23:00:00Z");
        let f = judge_instance(&spec(), &db(sunday), &[action().build()], tuesday, now).unwrap();
        assert_eq!(f.status, Status::Pass, "{}", f.message);

        // Opted in while the launch is under way: immediate is now.
        let during = at("2027-01-20T00:00:00Z");
        let f = judge_instance(
            &spec(),
            &db(sunday),
            &[action().opt_in_status("immediate").build()],
            week,
            during,
        )
        .unwrap();
        assert!(
            f.message.contains("opted in to apply immediately"),
            "{}",
            f.message
        );
        let f = judge_instance(
            &spec(),
            &db(tuesday_before),
            &[action().opt_in_status("next-maintenance").build()],
            week,
            during,
        )
        .unwrap();
        assert_eq!(f.status, Status::Pass, "{}", f.message);

        // A maintenance window an action needs, missing or garbled: error.
        for w in [None, Some("whenever")] {
            let e = judged(w, vec![action().build()]).unwrap_err();
            assert!(e.to_string().contains("PreferredMaintenanceWindow"), "{e}");
        }
        // A dated action needs no maintenance window.
        let f = judged(
            None,
            vec![
                action()
                    .forced_apply_date(date("2027-03-01T00:00:00Z"))
                    .build(),
            ],
        )
        .unwrap();
        assert_eq!(f.status, Status::Pass);
    }

    fn event(region: &str, start: &str, end: Option<&str>) -> Event {
        Event::builder()
            .arn(format!(
                "arn:aws:health:{region}::event/ECS/AWS_ECS_TASK_PATCHING_RETIREMENT/1"
            ))
            .service("ECS")
            .event_type_code("AWS_ECS_TASK_PATCHING_RETIREMENT")
            .event_type_category(EventTypeCategory::ScheduledChange)
            .region(region)
            .start_time(date(start))
            .set_end_time(end.map(date))
            .status_code(EventStatusCode::Upcoming)
            .build()
    }

    #[test]
    fn a_scheduled_change_overlapping_the_window_fails() {
        let week = window(MON, NEXT_MON);
        let region = "eu-central-1";
        let events = vec![
            event(region, "2027-01-20T10:00:00Z", None),
            event(region, "2027-01-10T10:00:00Z", Some("2027-01-18T07:00:00Z")),
            event(region, "2027-01-10T10:00:00Z", Some("2027-01-18T06:00:00Z")),
            event(region, "2027-01-25T06:00:00Z", None),
            event("us-west-2", "2027-01-20T10:00:00Z", None),
            event(
                "global",
                "2027-01-19T10:00:00Z",
                Some("2027-01-19T11:00:00Z"),
            ),
            event(region, "2027-01-10T10:00:00Z", None),
        ];
        let inside = in_window(&events, region, week).unwrap();
        let starts: Vec<String> = inside
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e.region().unwrap(),
                    rfc(e.start_time().unwrap().secs())
                )
            })
            .collect();
        assert_eq!(
            starts,
            [
                "eu-central-1 2027-01-20T10:00:00Z",
                "eu-central-1 2027-01-10T10:00:00Z",
                "global 2027-01-19T10:00:00Z",
                "eu-central-1 2027-01-10T10:00:00Z",
            ]
        );
        let affected = vec![
            vec!["arn:aws:ecs:eu-central-1:1:task/c/abc".to_string()],
            vec![],
            vec![],
            vec![],
        ];
        let f = judge_health("123456789012", region, &events, &inside, &affected, week);
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.message.starts_with("AWS Health scheduled changes of account 123456789012: in_launch_window expected none (launch window 2027-01-18T06:00:00Z–2027-01-25T06:00:00Z), observed ECS AWS_ECS_TASK_PATCHING_RETIREMENT from 2027-01-20T10:00:00Z (eu-central-1, affects arn:aws:ecs:eu-central-1:1:task/c/abc)"),
            "{}",
            f.message
        );
        assert_eq!(
            f.evidence.observed["events_in_launch_window"][0]["affected"][0],
            "arn:aws:ecs:eu-central-1:1:task/c/abc"
        );

        // None inside: pass, the same keys.
        let outside = vec![event(region, "2027-02-20T10:00:00Z", None)];
        let inside = in_window(&outside, region, week).unwrap();
        assert!(inside.is_empty());
        let f = judge_health("123456789012", region, &outside, &inside, &[], week);
        assert_eq!(f.status, Status::Pass, "{}", f.message);
        assert_eq!(f.evidence.observed["in_launch_window"], "none");
        assert_eq!(f.evidence.observed["scheduled_changes"], 1);

        // No start time: error, never a pass.
        let silent = vec![Event::builder().arn("arn:x").region(region).build()];
        assert!(in_window(&silent, region, week).is_err());
    }

    #[test]
    fn without_a_launch_window_nothing_is_granted() {
        let env = crate::spec::parse(
            "environment = \"p\"\nregion = \"eu-central-1\"\naccount_id = \"123456789012\"\nrds \"core\" {\n  identifier = \"db\"\n}\n",
            "p.hcl".as_ref(),
        )
        .unwrap();
        let actions = crate::iam::actions(&crate::iam::policy(&env, false));
        assert!(
            !actions
                .iter()
                .any(|a| a.starts_with("health:") || a == "rds:DescribePendingMaintenanceActions"),
            "{actions:?}"
        );
        let mut with = env.clone();
        with.launch = Some(envspec::LaunchSpec {
            window: (UNIX_EPOCH, UNIX_EPOCH + Duration::from_secs(WEEK as u64)),
        });
        let actions = crate::iam::actions(&crate::iam::policy(&with, false));
        for a in [
            "health:DescribeEvents",
            "health:DescribeAffectedEntities",
            "rds:DescribePendingMaintenanceActions",
        ] {
            assert!(actions.contains(a), "{a}: {actions:?}");
        }
    }
}
