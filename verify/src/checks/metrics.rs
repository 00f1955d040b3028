//! `metrics.<name>`: a CloudWatch metric statistic, or metric math over
//! several, stays on the right side of its threshold over the declared window
//! (the post-cutover gates: 5xx rate, p99 latency, DB connection saturation).
//!
//! - One `GetMetricData` serves every gate of a run: the queries of all gates
//!   go out together (at most [`MAX_QUERIES_PER_CALL`] per call, every page
//!   followed), each gate's ids prefixed so they cannot collide.
//! - A window with no datapoints is `error` ("could not see") unless the gate
//!   declares `missing_data`; fewer than `min_datapoints` is `error` too. A
//!   result CloudWatch marks anything but `Complete`, or answers with
//!   messages, or with a non-finite value, is `error`: never a pass on an
//!   empty or partial series by accident.
//! - Fresh: the newest datapoint covers a period ending at most two periods
//!   and five minutes ago; older is `error` (a series that stopped is not
//!   today's state), unless missing data is declared not breaching.
//! - Breaching: any datapoint on the `comparison` side of the threshold, or,
//!   with `sustained`, consecutive breaching datapoints spanning that long; a
//!   missing period between breaching ones continues the stretch unless the
//!   gate declares `missing_data = "not_breaching"` (sparse metrics). Missing
//!   periods are counted in the evidence.
//! - Evidence: every datapoint judged, the worst value and when it occurred,
//!   the longest breaching stretch.
//!
//! `target_group = "name"` / `load_balancer = "name"` in a query become the
//! `TargetGroup` / `LoadBalancer` dimensions (ARN suffixes), read through the
//! same shared describes as `edge.*` and `terraform.declared`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, StatusCode};
use serde_json::json;

use crate::check::{Check, CheckDef, CheckError, CheckResult, Evidence, Finding, Grant};
use crate::context::Context;
use crate::spec::{MetricGateSpec, MetricQuerySpec, MissingData};

pub(crate) use crate::aws::cloudwatch::GET_METRIC_DATA;
/// `GetMetricData` takes at most 500 queries per call.
pub const MAX_QUERIES_PER_CALL: usize = 500;
/// At most this many datapoints are kept in a gate's evidence (newest last).
const EVIDENCE_DATAPOINTS: usize = 240;

/// One check per declared metric gate: instances of this template.
pub(crate) const METRIC: CheckDef = CheckDef {
    id: "metrics.<name>",
    title: "the declared metric stays within its bound over its window",
    doc: "a CloudWatch metric statistic (or metric math) over the declared window is within its threshold (e.g. 5xx rate < 0.5 %, p99 latency < 2 s, DB connections < 80 % of max); no data is `error` unless the gate declares otherwise; a missing period inside the window counts as `missing_data` says; data older than the declared freshness is `error`",
    iam: &[
        // One GetMetricData for every gate; target groups and load balancers
        // named by a query are looked up for their dimensions.
        Grant::any("cloudwatch:GetMetricData", |env| !env.metrics.is_empty()),
        Grant::any("elasticloadbalancing:DescribeTargetGroups", |env| {
            queries(env).any(|q| q.target_group.is_some())
        }),
        Grant::any("elasticloadbalancing:DescribeLoadBalancers", |env| {
            queries(env).any(|q| q.load_balancer.is_some())
        }),
    ],
};

fn queries(env: &crate::Environment) -> impl Iterator<Item = &MetricQuerySpec> {
    env.metrics.iter().flat_map(|m| &m.queries)
}

pub(crate) const TEMPLATES: &[&CheckDef] = &[&METRIC];

pub fn checks(gates: &[MetricGateSpec]) -> Vec<Check> {
    gates
        .iter()
        .map(|gate| {
            let name = gate.name.clone();
            Check::instance(&METRIC, format!("metrics.{}", gate.name), move |cx| {
                let name = name.clone();
                Box::pin(async move { judge_gate(cx, &name).await })
            })
        })
        .collect()
}

async fn judge_gate(cx: &Context, name: &str) -> CheckResult {
    let spec = cx
        .env()
        .metrics
        .iter()
        .find(|g| g.name == name)
        .ok_or_else(|| CheckError::NotFound {
            operation: "spec".into(),
            resource: format!("metric gate '{name}'"),
        })?;
    let data = metric_data(cx).await?;
    let series = data
        .series
        .get(name)
        .cloned()
        .unwrap_or_else(|| Err(missing(spec, "a result for the gate's query")))?;
    judge(spec, &series, data.end)
}

/// The datapoints of one gate, oldest first: (seconds since the epoch, value).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    pub points: Vec<(i64, f64)>,
    /// For a gate reading a percentile: each period's number of samples
    /// (`SampleCount`, the least over the gate's percentile queries), read
    /// in the same call. A period absent here had no samples.
    pub samples: BTreeMap<i64, f64>,
}

/// What the run's `GetMetricData` answered, per gate.
#[derive(Debug)]
pub struct MetricData {
    /// The end of every gate's window (the start of the current minute).
    pub end: i64,
    /// Each query id’s series, or why it could not be read.
    pub series: BTreeMap<String, Result<Series, CheckError>>,
}

/// Every gate's series, read once per run ([`MAX_QUERIES_PER_CALL`] queries
/// per call, every page).
pub async fn metric_data(cx: &Context) -> Result<Arc<MetricData>, CheckError> {
    cx.cache()
        .get(GET_METRIC_DATA, || read_all(cx, 100_800))
        .await
}

/// `metric_data` without the cache, `max_datapoints` per page (tests make
/// it small to follow several pages).
pub async fn read_all(cx: &Context, max_datapoints: i32) -> Result<MetricData, CheckError> {
    let gates = &cx.env().metrics;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let end = now - now % 60;
    let longest = gates.iter().map(|g| g.window).max().unwrap_or_default();
    let start = end - longest.as_secs() as i64;

    let mut series = BTreeMap::new();
    // Each gate's queries, or why they could not be built.
    let mut batches: Vec<Vec<(usize, Vec<MetricDataQuery>)>> = vec![Vec::new()];
    let mut in_batch = 0;
    for (index, gate) in gates.iter().enumerate() {
        match queries_of(cx, index, gate).await {
            Err(e) => {
                series.insert(gate.name.clone(), Err(e));
            }
            Ok(queries) => {
                if in_batch + queries.len() > MAX_QUERIES_PER_CALL && in_batch > 0 {
                    batches.push(Vec::new());
                    in_batch = 0;
                }
                in_batch += queries.len();
                batches.last_mut().expect("a batch").push((index, queries));
            }
        }
    }
    for batch in batches.into_iter().filter(|b| !b.is_empty()) {
        let queries: Vec<MetricDataQuery> =
            batch.iter().flat_map(|(_, q)| q.iter().cloned()).collect();
        let answer = call(cx, queries, start, end, max_datapoints).await;
        for (index, _) in &batch {
            let gate = &gates[*index];
            let result = match &answer {
                Err(e) => Err(e.clone()),
                Ok(results) => {
                    series_of(gate, results.get(&final_id(*index))).and_then(|mut series| {
                        series.samples = samples_of(gate, *index, results)?;
                        Ok(series)
                    })
                }
            };
            series.insert(gate.name.clone(), result);
        }
    }
    Ok(MetricData { end, series })
}

/// What one result id accumulated over every page.
#[derive(Debug, Default)]
struct Accumulated {
    points: Vec<(i64, f64)>,
    status: Option<StatusCode>,
    messages: Vec<String>,
    malformed: bool,
}

async fn call(
    cx: &Context,
    queries: Vec<MetricDataQuery>,
    start: i64,
    end: i64,
    max_datapoints: i32,
) -> Result<BTreeMap<String, Accumulated>, CheckError> {
    let resource = format!("{} metric queries", queries.len());
    let pages =
        crate::aws::cloudwatch::metric_data(cx.aws(), queries, start, end, max_datapoints).await?;
    let mut results: BTreeMap<String, Accumulated> = BTreeMap::new();
    for page in pages {
        if let Some(message) = page.messages().first() {
            return Err(CheckError::Aws {
                operation: GET_METRIC_DATA.into(),
                resource,
                code: message.code().map(str::to_string),
                message: message
                    .value()
                    .unwrap_or("a message without text")
                    .to_string(),
            });
        }
        for result in page.metric_data_results() {
            let Some(id) = result.id() else { continue };
            let entry = results.entry(id.to_string()).or_default();
            if result.timestamps().len() != result.values().len() {
                entry.malformed = true;
            }
            entry.points.extend(
                result
                    .timestamps()
                    .iter()
                    .zip(result.values())
                    .map(|(t, v)| (t.secs(), *v)),
            );
            // The last page's status is the result's (PartialData until then).
            entry.status = result.status_code().cloned();
            entry.messages.extend(result.messages().iter().map(|m| {
                format!(
                    "{}: {}",
                    m.code().unwrap_or("message"),
                    m.value().unwrap_or("")
                )
            }));
        }
    }
    Ok(results)
}

fn series_of(gate: &MetricGateSpec, result: Option<&Accumulated>) -> Result<Series, CheckError> {
    let result = result.ok_or_else(|| missing(gate, "a result for the gate's query"))?;
    if result.malformed {
        return Err(missing(gate, "as many values as timestamps"));
    }
    if let Some(message) = result.messages.first() {
        return Err(CheckError::Aws {
            operation: GET_METRIC_DATA.into(),
            resource: resource(gate),
            code: None,
            message: format!("CloudWatch could not compute the gate's series: {message}"),
        });
    }
    match &result.status {
        Some(StatusCode::Complete) => {}
        other => {
            let status = other.as_ref().map_or("none", |s| s.as_str());
            return Err(missing(
                gate,
                &format!("a Complete series (StatusCode {status})"),
            ));
        }
    }
    let mut points = result.points.clone();
    points.sort_by_key(|(t, _)| *t);
    Ok(Series {
        points,
        samples: BTreeMap::new(),
    })
}

/// Per period, the least `SampleCount` of the gate's percentile queries
/// (empty when the gate reads none, or does not bound samples).
fn samples_of(
    gate: &MetricGateSpec,
    index: usize,
    results: &BTreeMap<String, Accumulated>,
) -> Result<BTreeMap<i64, f64>, CheckError> {
    let mut least: BTreeMap<i64, f64> = BTreeMap::new();
    for (n, query) in sampled(gate).enumerate() {
        let counts = series_of(gate, results.get(&samples_id(index, query)))?;
        let counts: BTreeMap<i64, f64> = counts.points.into_iter().collect();
        least = if n == 0 {
            counts
        } else {
            // A period one query has no samples for has none.
            least
                .into_iter()
                .filter_map(|(t, v)| counts.get(&t).map(|c| (t, v.min(*c))))
                .collect()
        };
    }
    Ok(least)
}

/// The gate's queries whose samples are counted: its percentiles, when it
/// bounds them.
fn sampled(gate: &MetricGateSpec) -> impl Iterator<Item = &MetricQuerySpec> {
    gate.queries
        .iter()
        .filter(move |q| gate.min_samples > 0 && q.is_percentile())
}

/// The id of `query`'s `SampleCount` twin: `s<index>_<id>`, apart from the
/// gate's own `g<index>…` ids.
fn samples_id(index: usize, query: &MetricQuerySpec) -> String {
    format!("s{index}_{}", query.id)
}

/// The gate's queries, ids prefixed `g<index>_`; the one that returns data is `g<index>`.
async fn queries_of(
    cx: &Context,
    index: usize,
    gate: &MetricGateSpec,
) -> Result<Vec<MetricDataQuery>, CheckError> {
    let period = gate.period.as_secs() as i32;
    let mut out = Vec::new();
    for query in &gate.queries {
        let id = match gate.expression {
            None => final_id(index),
            Some(_) => format!("{}_{}", final_id(index), query.id),
        };
        let mut metric = Metric::builder()
            .namespace(&query.namespace)
            .metric_name(&query.metric);
        for (name, value) in dimensions_of(cx, query).await? {
            metric = metric.dimensions(Dimension::builder().name(name).value(value).build());
        }
        let metric = metric.build();
        let stat = |statistic: &str| {
            MetricStat::builder()
                .metric(metric.clone())
                .period(period)
                .stat(statistic)
                .set_unit(query.unit.as_deref().map(Into::into))
                .build()
        };
        out.push(
            MetricDataQuery::builder()
                .id(id)
                .metric_stat(stat(&query.statistic))
                .return_data(gate.expression.is_none())
                .build(),
        );
        if sampled(gate).any(|q| q.id == query.id) {
            out.push(
                MetricDataQuery::builder()
                    .id(samples_id(index, query))
                    .metric_stat(stat("SampleCount"))
                    .return_data(true)
                    .build(),
            );
        }
    }
    if let Some(expression) = &gate.expression {
        out.push(
            MetricDataQuery::builder()
                .id(final_id(index))
                .expression(prefix_ids(expression, &final_id(index), &gate.queries))
                .period(period)
                .return_data(true)
                .build(),
        );
    }
    Ok(out)
}

fn final_id(index: usize) -> String {
    format!("g{index}")
}

/// `expression` with every query id `x` written `<prefix>_x`.
fn prefix_ids(expression: &str, prefix: &str, queries: &[MetricQuerySpec]) -> String {
    let mut out = String::with_capacity(expression.len() + 16);
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if queries.iter().any(|q| q.id == *word) {
            out.push_str(prefix);
            out.push('_');
        }
        out.push_str(word);
        word.clear();
    };
    let mut in_number = false;
    for c in expression.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || (in_number && c == '.') {
            if word.is_empty() {
                in_number = c.is_ascii_digit();
            }
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            in_number = false;
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The query's dimensions: literal ones, then those named by
/// `target_group` / `load_balancer` (their ARN suffixes).
async fn dimensions_of(
    cx: &Context,
    query: &MetricQuerySpec,
) -> Result<Vec<(String, String)>, CheckError> {
    let mut dims = query.dimensions.clone();
    let mut load_balancer_arn = None;
    if let Some(name) = &query.load_balancer {
        let lb = crate::aws::elb::load_balancer(cx.aws(), name).await?;
        load_balancer_arn = Some(
            crate::check::required(
                lb.load_balancer_arn(),
                crate::aws::elb::DESCRIBE_LOAD_BALANCERS,
                &format!("load balancer '{name}'"),
                "LoadBalancerArn",
            )?
            .to_string(),
        );
    }
    if let Some(name) = &query.target_group {
        let tg = crate::aws::elb::target_group(cx.aws(), name).await?;
        let resource = format!("target group '{name}'");
        let arn = crate::check::required(
            tg.target_group_arn(),
            crate::aws::elb::DESCRIBE_TARGET_GROUPS,
            &resource,
            "TargetGroupArn",
        )?;
        dims.push((
            "TargetGroup".into(),
            arn_suffix(arn, "targetgroup/", &resource)?,
        ));
        if load_balancer_arn.is_none() {
            load_balancer_arn = match tg.load_balancer_arns() {
                [only] => Some(only.clone()),
                [] => {
                    return Err(missing_for(
                        &resource,
                        crate::aws::elb::DESCRIBE_TARGET_GROUPS,
                        "a load balancer (TargetGroup metrics are per load balancer)",
                    ));
                }
                several => {
                    return Err(missing_for(
                        &resource,
                        crate::aws::elb::DESCRIBE_TARGET_GROUPS,
                        &format!(
                            "one load balancer ({} found: name one with `load_balancer`)",
                            several.len()
                        ),
                    ));
                }
            };
        }
    }
    if let Some(arn) = load_balancer_arn {
        let resource = format!("load balancer {arn}");
        dims.push((
            "LoadBalancer".into(),
            arn_suffix(&arn, "loadbalancer/", &resource)?,
        ));
    }
    Ok(dims)
}

/// `arn:…:targetgroup/name/id` → `targetgroup/name/id`;
/// `arn:…:loadbalancer/app/name/id` → `app/name/id` (CloudWatch's dimension values).
fn arn_suffix(arn: &str, marker: &str, resource: &str) -> Result<String, CheckError> {
    let at = arn.find(marker).ok_or_else(|| {
        missing_for(
            resource,
            crate::aws::elb::DESCRIBE_TARGET_GROUPS,
            &format!("an ARN with `{marker}` (got {arn})"),
        )
    })?;
    Ok(if marker == "loadbalancer/" {
        arn[at + marker.len()..].to_string()
    } else {
        arn[at..].to_string()
    })
}

fn missing(gate: &MetricGateSpec, field: &str) -> CheckError {
    missing_for(&resource(gate), GET_METRIC_DATA, field)
}

fn missing_for(resource: &str, operation: &str, field: &str) -> CheckError {
    CheckError::Missing {
        operation: operation.into(),
        field: field.into(),
        resource: resource.into(),
    }
}

fn resource(gate: &MetricGateSpec) -> String {
    format!("metric gate '{}'", gate.name)
}

/// Judges `series` for `gate` over the window ending at `end` (seconds since
/// the epoch): pure, so every case is a table row.
pub fn judge(gate: &MetricGateSpec, series: &Series, end: i64) -> CheckResult {
    let start = end - gate.window.as_secs() as i64;
    let period = gate.period.as_secs() as i64;
    let points: Vec<(i64, f64)> = series
        .points
        .iter()
        .copied()
        .filter(|(t, _)| *t >= start && *t < end)
        .collect();
    if let Some((t, v)) = points.iter().find(|(_, v)| !v.is_finite()) {
        return Err(missing(
            gate,
            &format!("finite values (got {v} at {})", timestamp(*t)),
        ));
    }
    // A percentile over too few samples says little: such a period is not
    // judged, and counts as missing.
    type Points = Vec<(i64, f64)>;
    let (points, thin): (Points, Points) = if sampled(gate).next().is_some() {
        points.into_iter().partition(|(t, _)| {
            series.samples.get(t).copied().unwrap_or(0.0) >= f64::from(gate.min_samples)
        })
    } else {
        (points, Vec::new())
    };
    let periods = gate.window.as_secs() as i64 / period.max(1);
    let missing_periods = periods.saturating_sub(points.len() as i64).max(0);
    let thin_note = if thin.is_empty() {
        String::new()
    } else {
        format!(
            "; {} period(s) had fewer than {} samples, not judged",
            thin.len(),
            gate.min_samples
        )
    };
    let window = humantime::format_duration(gate.window).to_string();
    let condition = breach_condition(gate);
    let evidence = Evidence::of(resource(gate))
        .resources(gate.queries.iter().map(describe_query).collect::<Vec<_>>())
        .expected(json!({
            "breaching_when": condition,
            "window": window,
            "period": humantime::format_duration(gate.period).to_string(),
            "value": gate.expression.clone().unwrap_or_else(|| gate.queries[0].statistic.clone()),
            "min_datapoints": gate.min_datapoints,
            "max_staleness": gate.max_staleness.map(|d| humantime::format_duration(d).to_string()),
            "max_missing_share": gate.max_missing_share,
            "min_samples": (gate.min_samples > 0).then_some(gate.min_samples),
        }));
    if points.is_empty() {
        let observed = json!({ "datapoints": 0, "thin_periods": thin.len() });
        return match gate.missing_data {
            MissingData::Error => Err(missing(
                gate,
                &format!("any datapoint in the last {window} (could not see{thin_note})"),
            )),
            MissingData::Breaching => Ok(Finding::fail(
                format!(
                    "metric gate '{}': no datapoints in the last {window}, which the gate treats \
                     as breaching",
                    gate.name
                ),
                evidence.observed(observed),
            )),
            MissingData::NotBreaching => Ok(Finding::pass(
                format!(
                    "metric gate '{}': no datapoints in the last {window}, which the gate treats \
                     as not breaching",
                    gate.name
                ),
                evidence.observed(observed),
            )),
        };
    }
    // The newest datapoint must be recent: a series that stopped is not
    // today's state (a sparse metric declares `missing_data = "not_breaching"`:
    // silence is then fine).
    if let Some(max_staleness) = gate.max_staleness {
        let newest = points.iter().map(|(t, _)| *t).max().expect("non-empty");
        if end - (newest + period) > max_staleness.as_secs() as i64 {
            return Err(missing(
                gate,
                &format!(
                    "a datapoint in the last {} (the newest is for {}: a series that stopped is not today's state)",
                    humantime::format_duration(max_staleness),
                    timestamp(newest)
                ),
            ));
        }
    }
    if points.len() < gate.min_datapoints as usize {
        return Err(missing(
            gate,
            &format!(
                "at least {} datapoints in the last {window} (got {})",
                gate.min_datapoints,
                points.len()
            ),
        ));
    }
    if let Some(share) = gate.max_missing_share
        && missing_periods as f64 > share * periods as f64
    {
        return Err(missing(
            gate,
            &format!(
                "at most {}% of the {periods} periods in the last {window} missing (got {missing_periods}{thin_note})",
                share * 100.0
            ),
        ));
    }
    let higher_is_worse = matches!(
        gate.comparison,
        crate::spec::Comparison::Greater | crate::spec::Comparison::GreaterOrEqual
    );
    let (worst_at, worst) = points
        .iter()
        .copied()
        .reduce(|a, b| {
            let b_worse = if higher_is_worse {
                b.1 > a.1
            } else {
                b.1 < a.1
            };
            if b_worse { b } else { a }
        })
        .expect("non-empty");
    let breaching = points
        .iter()
        .filter(|(_, v)| gate.comparison.breaches(*v, gate.threshold))
        .count();
    // The longest run of breaching datapoints. A missing period between two
    // breaching ones continues the run (CloudWatch's alarms treat it so
    // unless told otherwise), unless the gate says missing data is not
    // breaching (sparse metrics, such as ELB's, publish nothing in a quiet
    // minute).
    let gaps_break_runs = matches!(gate.missing_data, MissingData::NotBreaching);
    let (mut longest, mut longest_from) = (0i64, None);
    let mut run: Option<(i64, i64)> = None; // (first, last)
    for (t, v) in &points {
        if gate.comparison.breaches(*v, gate.threshold) {
            run = match run {
                Some((first, last)) if !gaps_break_runs || *t - last <= period => Some((first, *t)),
                _ => Some((*t, *t)),
            };
            let (first, last) = run.expect("just set");
            if last - first + period > longest {
                longest = last - first + period;
                longest_from = Some(first);
            }
        } else {
            run = None;
        }
    }
    let shown = points.len().saturating_sub(EVIDENCE_DATAPOINTS);
    let evidence = evidence
        .observed(json!({
            "datapoints": points.len(),
            "worst": { "value": worst, "at": timestamp(worst_at) },
            "breaching_datapoints": breaching,
            "missing_periods": missing_periods,
            "thin_periods": thin.len(),
            "longest_breach": humantime::format_duration(Duration::from_secs(longest as u64)).to_string(),
        }))
        .detail(
            "series",
            points[shown..]
                .iter()
                .map(|(t, v)| json!([timestamp(*t), v]))
                .collect::<Vec<_>>(),
        );
    let failed = match gate.sustained {
        None => breaching > 0,
        Some(sustained) => longest >= sustained.as_secs() as i64,
    };
    let summary = format!(
        "worst {worst} at {} over {} datapoints in the last {window}{thin_note}",
        timestamp(worst_at),
        points.len()
    );
    if failed {
        let stretch = match (gate.sustained, longest_from) {
            (Some(_), Some(from)) => format!(
                "breaching for {} from {}",
                humantime::format_duration(Duration::from_secs(longest as u64)),
                timestamp(from)
            ),
            _ => format!("{breaching} datapoint(s) breaching"),
        };
        Ok(Finding::fail(
            format!(
                "metric gate '{}': {stretch} (expected never {condition}); {summary}",
                gate.name
            ),
            evidence,
        ))
    } else {
        Ok(Finding::pass(
            format!("metric gate '{}': never {condition}; {summary}", gate.name),
            evidence,
        ))
    }
}

fn breach_condition(gate: &MetricGateSpec) -> String {
    let base = format!("{} {}", gate.comparison.symbol(), gate.threshold);
    match gate.sustained {
        Some(s) => format!("{base} for {}", humantime::format_duration(s)),
        None => base,
    }
}

fn describe_query(q: &MetricQuerySpec) -> String {
    let mut dims: Vec<String> = q
        .dimensions
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if let Some(tg) = &q.target_group {
        dims.push(format!("target group '{tg}'"));
    }
    if let Some(lb) = &q.load_balancer {
        dims.push(format!("load balancer '{lb}'"));
    }
    format!(
        "{} {}/{} [{}]",
        q.statistic,
        q.namespace,
        q.metric,
        dims.join(", ")
    )
}

fn timestamp(secs: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod tests {

    /// A p99 over its bound fails; no data is an error, never a pass.
    #[test]
    fn a_gate_over_its_bound_fails_and_no_data_is_an_error() {
        use super::{Series, judge};
        use crate::spec::{Comparison, MetricGateSpec, MetricQuerySpec, MissingData};
        use std::time::Duration;
        let gate = MetricGateSpec {
            name: "p99".into(),
            description: None,
            queries: vec![MetricQuerySpec {
                id: "m".into(),
                namespace: "AWS/ApplicationELB".into(),
                metric: "TargetResponseTime".into(),
                dimensions: vec![],
                load_balancer: None,
                target_group: None,
                statistic: "p99".into(),
                unit: None,
            }],
            expression: None,
            period: Duration::from_secs(60),
            window: Duration::from_secs(600),
            comparison: Comparison::Greater,
            threshold: 2.0,
            sustained: None,
            missing_data: MissingData::Error,
            min_datapoints: 1,
            max_staleness: Some(Duration::from_secs(420)),
            max_missing_share: None,
            min_samples: 100,
        };
        let end = 1_800_000_000;
        let slow = Series {
            samples: [(end - 120, 100.0), (end - 60, 250.0)].into(),
            points: vec![(end - 120, 0.4), (end - 60, 2.5)],
        };
        let finding = judge(&gate, &slow, end).unwrap();
        assert_eq!(finding.status, crate::Status::Fail);
        assert!(judge(&gate, &Series::default(), end).is_err()); // no data: could not see
    }
    use super::*;
    use crate::check::Status;
    use crate::spec::Comparison;

    /// A whole minute.
    const END: i64 = 1_800_000_000;

    fn gate(comparison: Comparison, threshold: f64, sustained: Option<u64>) -> MetricGateSpec {
        MetricGateSpec {
            name: "g".into(),
            description: None,
            queries: vec![MetricQuerySpec {
                id: "m".into(),
                namespace: "AWS/RDS".into(),
                metric: "DatabaseConnections".into(),
                dimensions: vec![("DBInstanceIdentifier".into(), "db".into())],
                load_balancer: None,
                target_group: None,
                statistic: "Maximum".into(),
                unit: None,
            }],
            expression: None,
            period: Duration::from_secs(60),
            window: Duration::from_secs(600),
            comparison,
            threshold,
            sustained: sustained.map(|m| Duration::from_secs(m * 60)),
            missing_data: MissingData::Error,
            min_datapoints: 1,
            max_staleness: Some(Duration::from_secs(420)),
            max_missing_share: None,
            min_samples: 0,
        }
    }

    /// One value per minute ending at the window's end.
    fn minutes(values: &[f64]) -> Series {
        let n = values.len() as i64;
        Series {
            samples: BTreeMap::new(),
            points: values
                .iter()
                .enumerate()
                .map(|(i, v)| (END - (n - i as i64) * 60, *v))
                .collect(),
        }
    }

    fn status(gate: &MetricGateSpec, series: &Series) -> Result<Status, String> {
        judge(gate, series, END)
            .map(|f| f.status)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_table_of_series() {
        let above = gate(Comparison::Greater, 0.5, None);
        let sustained = gate(Comparison::Greater, 0.5, Some(3));
        let below = gate(Comparison::Less, 10.0, None);
        let mut sparse = gate(Comparison::Greater, 0.5, Some(3));
        sparse.missing_data = MissingData::NotBreaching;
        sparse.max_staleness = None; // what the parser derives for a sparse gate
        let cases: Vec<(&str, &MetricGateSpec, Series, Result<Status, &str>)> = vec![
            (
                "all under",
                &above,
                minutes(&[0.1, 0.2, 0.3]),
                Ok(Status::Pass),
            ),
            (
                "equal is not above",
                &above,
                minutes(&[0.5]),
                Ok(Status::Pass),
            ),
            (
                "one over",
                &above,
                minutes(&[0.1, 0.9, 0.1]),
                Ok(Status::Fail),
            ),
            (
                "short burst under sustained",
                &sustained,
                minutes(&[0.1, 0.9, 0.9, 0.1]),
                Ok(Status::Pass),
            ),
            (
                "three minutes running",
                &sustained,
                minutes(&[0.9, 0.9, 0.9, 0.1]),
                Ok(Status::Fail),
            ),
            (
                "a missing period inside a breaching stretch continues it",
                &sustained,
                Series {
                    samples: BTreeMap::new(),
                    points: vec![(END - 300, 0.9), (END - 240, 0.9), (END - 120, 0.9)],
                },
                Ok(Status::Fail),
            ),
            (
                "a gap breaks the run of a sparse metric (missing data not breaching)",
                &sparse,
                Series {
                    samples: BTreeMap::new(),
                    points: vec![(END - 300, 0.9), (END - 240, 0.9), (END - 120, 0.9)],
                },
                Ok(Status::Pass),
            ),
            (
                "a non-breaching datapoint ends the run",
                &sustained,
                Series {
                    samples: BTreeMap::new(),
                    points: vec![
                        (END - 300, 0.9),
                        (END - 240, 0.9),
                        (END - 180, 0.1),
                        (END - 120, 0.9),
                    ],
                },
                Ok(Status::Pass),
            ),
            (
                "a series that stopped 8.5 minutes ago is stale (1m period: 7 minutes at most)",
                &above,
                Series {
                    samples: BTreeMap::new(),
                    points: vec![(END - 590, 0.1), (END - 570, 0.1)],
                },
                Err("a datapoint in the last 7m"),
            ),
            (
                "the newest within 7 minutes is fresh",
                &above,
                Series {
                    samples: BTreeMap::new(),
                    points: vec![(END - 590, 0.1), (END - 480, 0.1)],
                },
                Ok(Status::Pass),
            ),
            (
                "a stale sparse metric is not an error",
                &sparse,
                Series {
                    samples: BTreeMap::new(),
                    points: vec![(END - 570, 0.1)],
                },
                Ok(Status::Pass),
            ),
            (
                "below threshold breaches a floor",
                &below,
                minutes(&[12.0, 9.0]),
                Ok(Status::Fail),
            ),
            (
                "empty is could-not-see",
                &above,
                Series::default(),
                Err("could not see"),
            ),
            (
                "only outside the window",
                &above,
                Series {
                    samples: BTreeMap::new(),
                    points: vec![(END - 3600, 0.1), (END, 0.1)],
                },
                Err("could not see"),
            ),
            (
                "NaN is an error",
                &above,
                minutes(&[0.1, f64::NAN]),
                Err("finite values"),
            ),
        ];
        for (name, gate, series, expected) in cases {
            let got = status(gate, &series);
            match (&got, expected) {
                (Ok(s), Ok(e)) => assert_eq!(*s, e, "{name}"),
                (Err(message), Err(fragment)) => {
                    assert!(message.contains(fragment), "{name}: {message}")
                }
                _ => panic!("{name}: got {got:?}, expected {expected:?}"),
            }
        }
    }

    /// A percentile gate over `values`, one a minute ending at the window's
    /// end, each period with `samples` samples.
    fn percentile(values: &[f64], samples: &[f64]) -> (MetricGateSpec, Series) {
        let mut g = gate(Comparison::Greater, 2.0, None);
        g.queries[0].statistic = "p99".into();
        g.min_samples = 100;
        let mut series = minutes(values);
        series.samples = series
            .points
            .iter()
            .zip(samples)
            .map(|((t, _), n)| (*t, *n))
            .collect();
        (g, series)
    }

    #[test]
    fn percentiles_over_too_few_samples_are_not_judged() {
        // Judged: every period has its 100 samples.
        let (g, s) = percentile(&[0.4, 2.5], &[100.0, 250.0]);
        assert_eq!(status(&g, &s), Ok(Status::Fail));
        // A breaching p99 over 12 requests is no p99: not judged, said so.
        let (g, s) = percentile(&[0.4, 9.0], &[100.0, 12.0]);
        let f = judge(&g, &s, END).unwrap();
        assert_eq!(f.status, Status::Pass, "{}", f.message);
        assert!(
            f.message.contains("1 period(s) had fewer than 100 samples"),
            "{}",
            f.message
        );
        assert_eq!(f.evidence.observed["thin_periods"], 1);
        // Only thin periods: could not see, never a pass.
        let (g, s) = percentile(&[0.4, 0.4], &[99.0, 3.0]);
        let err = status(&g, &s).unwrap_err();
        assert!(
            err.contains("could not see; 2 period(s) had fewer than 100 samples"),
            "{err}"
        );
        // No SampleCount answered for a period: no samples.
        let (g, mut s) = percentile(&[0.4], &[100.0]);
        s.samples.clear();
        assert!(status(&g, &s).unwrap_err().contains("could not see"));
        // A gate without percentiles does not count samples.
        let g = gate(Comparison::Greater, 2.0, None);
        assert_eq!(status(&g, &minutes(&[0.4])), Ok(Status::Pass));
    }

    #[test]
    fn too_many_missing_periods_is_an_error() {
        let mut g = gate(Comparison::Greater, 0.5, None); // 10 one-minute periods
        g.max_missing_share = Some(0.5);
        // 5 of 10 missing: at the bound, judged.
        assert_eq!(
            status(&g, &minutes(&[0.1, 0.1, 0.1, 0.1, 0.1])),
            Ok(Status::Pass)
        );
        // 6 of 10 missing: more than half, could not see enough.
        let err = status(&g, &minutes(&[0.1, 0.1, 0.1, 0.1])).unwrap_err();
        assert!(
            err.contains("at most 50% of the 10 periods in the last 10m missing (got 6)"),
            "{err}"
        );
        // Thin periods count as missing.
        let (mut g, s) = percentile(
            &[0.4; 10],
            &[100.0, 100.0, 100.0, 100.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        );
        g.max_missing_share = Some(0.5);
        let err = status(&g, &s).unwrap_err();
        assert!(err.contains("(got 6; 6 period(s) had fewer"), "{err}");
        // A declared staleness replaces the default.
        let mut g = gate(Comparison::Greater, 0.5, None);
        g.max_staleness = Some(Duration::from_secs(60));
        let s = Series {
            samples: BTreeMap::new(),
            points: vec![(END - 240, 0.1)],
        };
        assert!(
            status(&g, &s)
                .unwrap_err()
                .contains("a datapoint in the last 1m")
        );
        g.max_staleness = Some(Duration::from_secs(300));
        assert_eq!(status(&g, &s), Ok(Status::Pass));
    }

    #[test]
    fn missing_data_declared_and_min_datapoints() {
        let mut g = gate(Comparison::Greater, 0.5, None);
        g.missing_data = MissingData::NotBreaching;
        assert_eq!(status(&g, &Series::default()), Ok(Status::Pass));
        g.missing_data = MissingData::Breaching;
        assert_eq!(status(&g, &Series::default()), Ok(Status::Fail));
        g.min_datapoints = 5;
        let err = status(&g, &minutes(&[0.1, 0.1])).unwrap_err();
        assert!(
            err.contains("at least 5 datapoints") && err.contains("got 2"),
            "{err}"
        );
    }

    #[test]
    fn evidence_names_the_worst_value_and_when() {
        let g = gate(Comparison::Greater, 0.5, None);
        let f = judge(&g, &minutes(&[0.1, 7.5, 0.2]), END).unwrap();
        assert_eq!(f.status, Status::Fail);
        assert_eq!(f.evidence.observed["worst"]["value"], 7.5);
        assert_eq!(f.evidence.observed["worst"]["at"], timestamp(END - 120));
        assert!(f.message.contains("worst 7.5 at"), "{}", f.message);
        assert!(f.message.contains("expected never > 0.5"), "{}", f.message);
        assert_eq!(f.evidence.details["series"].as_array().unwrap().len(), 3);
        let low = gate(Comparison::Less, 1.0, None);
        let f = judge(&low, &minutes(&[3.0, 0.2, 2.0]), END).unwrap();
        assert_eq!(f.evidence.observed["worst"]["value"], 0.2);
    }

    #[test]
    fn ids_are_prefixed_but_functions_and_numbers_are_not() {
        let mut g = gate(Comparison::Greater, 0.5, None);
        g.queries[0].id = "errors".into();
        let mut requests = g.queries[0].clone();
        requests.id = "requests".into();
        g.queries.push(requests);
        assert_eq!(
            prefix_ids("100 * FILL(errors, 0) / requests + 1.5e2", "g3", &g.queries),
            "100 * FILL(g3_errors, 0) / g3_requests + 1.5e2"
        );
    }

    #[test]
    fn arn_suffixes_are_cloudwatch_dimensions() {
        let tg = "arn:aws:elasticloadbalancing:eu-central-1:123456789012:targetgroup/core/abc";
        let lb = "arn:aws:elasticloadbalancing:eu-central-1:123456789012:loadbalancer/app/core/def";
        assert_eq!(
            arn_suffix(tg, "targetgroup/", "tg").unwrap(),
            "targetgroup/core/abc"
        );
        assert_eq!(
            arn_suffix(lb, "loadbalancer/", "lb").unwrap(),
            "app/core/def"
        );
        assert!(arn_suffix("garbage", "loadbalancer/", "lb").is_err());
    }
}
