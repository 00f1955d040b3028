//! `metric "<name>"` and `canary "<name>"` blocks: the post-cutover gates
//! (`metrics.<name>`, `canary.<name>`), read as strictly as the rest.

use hcl_edit::expr::ObjectKey;

use super::*;

/// Statistics CloudWatch computes by name; percentiles are `pNN[.N]`.
const STATISTICS: [&str; 5] = ["Average", "Sum", "Minimum", "Maximum", "SampleCount"];
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

pub(super) fn metric(doc: &Doc, name: String, block: &Block) -> Result<MetricGateSpec, SpecError> {
    let mut s = Section::of_block(doc, block)?;
    check_label(doc, block, &name)?;
    let description = s.string("description")?;
    let query_blocks = s.labelled_blocks("query")?;
    let inline = s.attribute("metric").is_some() || s.attribute("namespace").is_some();
    let queries = if query_blocks.is_empty() {
        if !inline {
            return Err(s.missing(
                "metric",
                "a CloudWatch metric name (with `namespace`), or `query` blocks and an `expression`",
            ));
        }
        vec![query_of(&mut s, "m".into())?]
    } else {
        if inline {
            return Err(s.invalid_value(
                "metric",
                "left out when the gate has `query` blocks (declare each metric in its query)",
            ));
        }
        let mut queries = Vec::new();
        for (id, b) in query_blocks {
            let mut q = Section::of_block(doc, b)?;
            if !id.starts_with(|c: char| c.is_ascii_lowercase())
                || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(doc.error(
                    b.labels[0].span(),
                    format!(
                        "{}: query id \"{id}\" must start with a lowercase letter and hold only \
                         letters, digits and `_` (CloudWatch's rule for query ids)",
                        q.what
                    ),
                ));
            }
            let query = query_of(&mut q, id)?;
            q.finish()?;
            queries.push(query);
        }
        queries
    };
    let expression = s.string("expression")?;
    match &expression {
        None if queries.len() > 1 => {
            return Err(s.missing(
                "expression",
                "metric math over the query ids, e.g. \"100 * errors / requests\"",
            ));
        }
        Some(text) => check_expression(&s, text, &queries)?,
        None => {}
    }
    let period = s.required_duration("period")?;
    let secs = period.as_secs();
    if period.subsec_nanos() != 0
        || !(matches!(secs, 1 | 5 | 10 | 30) || (secs > 0 && secs % 60 == 0))
    {
        return Err(s.invalid_value("period", "1s, 5s, 10s, 30s or a whole number of minutes"));
    }
    let window = s.required_duration("window")?;
    if window < period || window.as_secs() % secs != 0 {
        return Err(s.invalid_value(
            "window",
            "a whole number of `period`s (the periods CloudWatch answers)",
        ));
    }
    let (retention, kept) = retention(period);
    if window > retention {
        return Err(s.invalid_value(
            "window",
            &format!(
                "at most {kept} (how long CloudWatch keeps {}-period data)",
                humantime::format_duration(period)
            ),
        ));
    }
    let comparison = match s.string("comparison")?.as_deref() {
        Some(">") => Comparison::Greater,
        Some(">=") => Comparison::GreaterOrEqual,
        Some("<") => Comparison::Less,
        Some("<=") => Comparison::LessOrEqual,
        Some(_) => {
            return Err(s.invalid_value(
                "comparison",
                "the breaching side of the threshold: \">\", \">=\", \"<\" or \"<=\"",
            ));
        }
        None => {
            return Err(s.missing(
                "comparison",
                "the breaching side of the threshold: \">\", \">=\", \"<\" or \"<=\"",
            ));
        }
    };
    let threshold = s.required_number("threshold")?;
    let sustained = s.duration("sustained")?;
    if let Some(sustained) = sustained
        && (sustained < period || sustained > window)
    {
        return Err(s.invalid_value("sustained", "between one `period` and the `window`"));
    }
    let missing_data = match s.string("missing_data")?.as_deref() {
        None | Some("error") => MissingData::Error,
        Some("breaching") => MissingData::Breaching,
        Some("not_breaching") => MissingData::NotBreaching,
        Some(_) => {
            return Err(s.invalid_value(
                "missing_data",
                "\"error\" (the default), \"breaching\" or \"not_breaching\"",
            ));
        }
    };
    let min_datapoints = s.count("min_datapoints", 1)?.unwrap_or(1);
    let sparse = missing_data == MissingData::NotBreaching;
    let max_staleness = match s.duration("max_staleness")? {
        Some(d) if d.is_zero() || d > window => {
            return Err(s.invalid_value("max_staleness", "a positive duration within the `window`"));
        }
        Some(d) => Some(d),
        None if sparse => None,
        None => Some(period * 2 + Duration::from_secs(300)),
    };
    let max_missing_share = match s.number("max_missing_share")? {
        Some(share) if !(0.0..=1.0).contains(&share) => {
            return Err(s.invalid_value(
                "max_missing_share",
                "a share of the window's periods, from 0 to 1 (0.5: half may be missing)",
            ));
        }
        Some(share) => Some(share),
        None if sparse => None,
        None => Some(0.5),
    };
    let percentile = queries.iter().any(MetricQuerySpec::is_percentile);
    let min_samples = match s.count("min_samples", 1)? {
        Some(_) if !percentile => {
            return Err(s.invalid_value(
                "min_samples",
                "left out: it bounds a percentile's samples, and no query reads a percentile",
            ));
        }
        Some(n) => n,
        None if percentile => 100,
        None => 0,
    };
    s.finish()?;
    Ok(MetricGateSpec {
        name,
        description,
        queries,
        expression,
        period,
        window,
        comparison,
        threshold,
        sustained,
        missing_data,
        min_datapoints,
        max_staleness,
        max_missing_share,
        min_samples,
    })
}

/// How far back CloudWatch keeps data of `period` (and how to say it):
/// sub-minute data 3 hours, 1-minute 15 days, 5-minute 63 days, hourly 455.
fn retention(period: Duration) -> (Duration, &'static str) {
    const DAY: u64 = 86_400;
    match period.as_secs() {
        ..60 => (Duration::from_secs(3 * 3600), "3 hours"),
        60..300 => (Duration::from_secs(15 * DAY), "15 days"),
        300..3600 => (Duration::from_secs(63 * DAY), "63 days"),
        _ => (Duration::from_secs(455 * DAY), "455 days"),
    }
}

fn query_of(s: &mut Section, id: String) -> Result<MetricQuerySpec, SpecError> {
    let namespace = s.required_string("namespace")?;
    let metric = s.required_string("metric")?;
    let dimensions = s.string_map("dimensions")?.unwrap_or_default();
    let load_balancer = s.string("load_balancer")?;
    let target_group = s.string("target_group")?;
    for (key, named) in [
        ("LoadBalancer", &load_balancer),
        ("TargetGroup", &target_group),
    ] {
        if named.is_some() && dimensions.iter().any(|(k, _)| k == key) {
            return Err(s.invalid_value(
                "dimensions",
                &format!("without `{key}` when `load_balancer`/`target_group` names it"),
            ));
        }
    }
    let statistic = s.required_string("statistic")?;
    if !STATISTICS.contains(&statistic.as_str()) && !is_percentile(&statistic) {
        return Err(s.invalid_value(
            "statistic",
            "Average, Sum, Minimum, Maximum, SampleCount or a percentile such as \"p99\" or \"p99.9\"",
        ));
    }
    let unit = s.string("unit")?;
    Ok(MetricQuerySpec {
        id,
        namespace,
        metric,
        dimensions,
        load_balancer,
        target_group,
        statistic,
        unit,
    })
}

/// `p0`..`p100`, optionally with decimals: `p99.9`.
fn is_percentile(stat: &str) -> bool {
    stat.strip_prefix('p')
        .and_then(|n| {
            let (whole, frac) = n.split_once('.').unwrap_or((n, "0"));
            let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
            (digits(whole) && digits(frac)).then(|| n.parse::<f64>().ok())?
        })
        .is_some_and(|v| (0.0..=100.0).contains(&v))
}

/// Every lowercase identifier in `text` names a query; only metric-math
/// characters appear.
fn check_expression(s: &Section, text: &str, queries: &[MetricQuerySpec]) -> Result<(), SpecError> {
    if let Some(bad) = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || " \t_+-*/().,".contains(*c)))
    {
        return Err(s.invalid_value(
            "expression",
            &format!("metric math (query ids, numbers, + - * / and functions such as FILL); `{bad}` is not"),
        ));
    }
    for id in expression_identifiers(text) {
        if id.starts_with(|c: char| c.is_ascii_lowercase()) && !queries.iter().any(|q| q.id == id) {
            let declared: Vec<&str> = queries.iter().map(|q| q.id.as_str()).collect();
            return Err(s.invalid_value(
                "expression",
                &format!(
                    "metric math over the declared query ids ({}); `{id}` is not one",
                    declared.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// The identifiers of a metric-math expression (ids and function names), in order.
pub fn expression_identifiers(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_alphabetic() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            out.push(&text[start..i]);
        } else if bytes[i].is_ascii_digit() {
            // A number (`1e3` included): skip it whole.
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out
}

pub(super) fn canary(doc: &Doc, name: String, block: &Block) -> Result<CanarySpec, SpecError> {
    let mut s = Section::of_block(doc, block)?;
    check_label(doc, block, &name)?;
    let description = s.string("description")?;
    let writes = s.bool("writes")?.unwrap_or(false);
    let base_url = s.required_string("base_url")?;
    if !(base_url.starts_with("https://") || base_url.starts_with("http://"))
        || base_url.contains("{{")
    {
        return Err(s.invalid_value("base_url", "an absolute http:// or https:// URL"));
    }
    let secrets = s.string_map("secrets")?.unwrap_or_default();
    let timeout = s.duration("timeout")?.unwrap_or(Duration::from_secs(10));
    if timeout.is_zero() {
        return Err(s.invalid_value("timeout", "a positive duration"));
    }
    let step_blocks = s.labelled_blocks("step")?;
    let mut steps = Vec::new();
    if step_blocks.is_empty() {
        // One request: the step's attributes on the canary itself.
        if s.attribute("path").is_none() {
            return Err(s.missing("path", "the request path, or `step` blocks"));
        }
        steps.push(step_of(&mut s, "request".into(), writes)?);
    } else {
        for (step_name, b) in step_blocks {
            let mut st = Section::of_block(doc, b)?;
            let step = step_of(&mut st, step_name, writes)?;
            st.finish()?;
            steps.push(step);
        }
    }
    // Every `{{placeholder}}` is a secret, a value an earlier step captured,
    // or the run's id.
    if secrets.iter().any(|(k, _)| k == RUN_ID_PLACEHOLDER) {
        return Err(s.invalid_value(
            "secrets",
            "free of `run_id` (the run's id fills {{run_id}})",
        ));
    }
    if let Some(step) = steps
        .iter()
        .find(|st| st.capture.iter().any(|(k, _)| k == RUN_ID_PLACEHOLDER))
    {
        return Err(s.invalid_value(
            "step",
            &format!(
                "free of a capture named `run_id` (step `{}`; the run's id fills {{{{run_id}}}})",
                step.name
            ),
        ));
    }
    let mut known: Vec<String> = secrets.iter().map(|(k, _)| k.clone()).collect();
    known.push(RUN_ID_PLACEHOLDER.to_string());
    for step in &steps {
        let mut texts: Vec<&str> = vec![&step.path];
        texts.extend(step.headers.iter().map(|(_, v)| v.as_str()));
        texts.extend(step.body.as_deref());
        let expected: Vec<String> = step
            .expect
            .iter()
            .filter_map(|e| match &e.test {
                BodyTest::Equals(v) | BodyTest::Contains(v) => Some(v.to_string()),
                BodyTest::Exists => None,
            })
            .collect();
        texts.extend(expected.iter().map(String::as_str));
        for text in texts {
            for placeholder in placeholders(text) {
                if !known.iter().any(|k| k == placeholder) {
                    return Err(s.invalid_value(
                        "step",
                        &format!(
                            "free of unknown placeholders: step `{}` uses {{{{{placeholder}}}}}, \
                             which is neither in `secrets` nor captured by an earlier step",
                            step.name
                        ),
                    ));
                }
            }
        }
        known.extend(step.capture.iter().map(|(k, _)| k.clone()));
    }
    // `undo` blocks put back what the steps wrote; they run after the steps
    // however those ended, so they may use anything any step captures.
    let mut undo = Vec::new();
    for (undo_name, b) in s.labelled_blocks("undo")? {
        let mut u = Section::of_block(doc, b)?;
        let step = undo_of(&mut u, undo_name, &steps, &known)?;
        u.finish()?;
        undo.push(step);
    }
    // A rate-limit step's requests are refused (401, 429): they leave only
    // the limiter's counters, which expire with its window; nothing to undo.
    let writes_beyond_bursts = steps
        .iter()
        .any(|st| st.rate_limit.is_none() && !matches!(st.method.as_str(), "GET" | "HEAD"));
    let only_bursts_write = steps.iter().any(|st| st.rate_limit.is_some()) && !writes_beyond_bursts;
    if writes && !only_bursts_write && undo.is_empty() {
        return Err(doc.error(
            block.ident.span(),
            format!(
                "block `canary \"{name}\"`: `writes = true` needs an `undo` block that puts back \
                 what it writes, e.g. `undo \"delete\" {{ undoes = \"<step>\", method = \"DELETE\", \
                 path = \"/v1/items/{{{{id}}}}\" }}`"
            ),
        ));
    }
    // A secret is never sent in clear text.
    if !secrets.is_empty() && !base_url.starts_with("https://") {
        return Err(s.invalid_value(
            "base_url",
            "an https:// URL when the canary has `secrets` (a secret is sent only over https)",
        ));
    }
    s.finish()?;
    Ok(CanarySpec {
        name,
        description,
        writes,
        base_url,
        secrets,
        timeout,
        steps,
        undo,
    })
}

/// Methods an undo may send: each changes data (one that only reads puts nothing back).
const UNDO_METHODS: [&str; 4] = ["DELETE", "POST", "PUT", "PATCH"];

/// An `undo` block: the writing step it reverses and the request that does.
fn undo_of(
    s: &mut Section,
    name: String,
    steps: &[CanaryStep],
    known: &[String],
) -> Result<CanaryUndo, SpecError> {
    let undoes = s
        .string("undoes")?
        .ok_or_else(|| s.missing("undoes", "the name of the writing step this undo puts back"))?;
    match steps.iter().find(|step| step.name == undoes) {
        None => {
            let names: Vec<&str> = steps.iter().map(|step| step.name.as_str()).collect();
            return Err(s.invalid_value(
                "undoes",
                &format!(
                    "the name of one of the canary's steps ({})",
                    names.join(", ")
                ),
            ));
        }
        Some(step) if matches!(step.method.as_str(), "GET" | "HEAD") => {
            return Err(s.invalid_value(
                "undoes",
                &format!(
                    "a step that writes (step `{undoes}` sends {}, which writes nothing)",
                    step.method
                ),
            ));
        }
        Some(_) => {}
    }
    let method = s.string("method")?.unwrap_or_else(|| "DELETE".into());
    if !UNDO_METHODS.contains(&method.as_str()) {
        return Err(s.invalid_value("method", &format!("one of {}", UNDO_METHODS.join(", "))));
    }
    let path = s.required_string("path")?;
    if !path.starts_with('/') {
        return Err(s.invalid_value("path", "a path starting with `/`"));
    }
    let headers = s.string_map("headers")?.unwrap_or_default();
    let json = s.json("json")?;
    let body = s.string("body")?;
    let body_is_json = json.is_some();
    let body = match (json, body) {
        (Some(_), Some(_)) => return Err(s.invalid_value("body", "left out when `json` is set")),
        (Some(json), None) => Some(json.to_string()),
        (None, body) => body,
    };
    let expect_status = s.statuses("expect_status")?.unwrap_or(vec![200, 202, 204]);
    let mut texts: Vec<&str> = vec![&path];
    texts.extend(headers.iter().map(|(_, v)| v.as_str()));
    texts.extend(body.as_deref());
    for text in texts {
        for placeholder in placeholders(text) {
            if !known.iter().any(|k| k == placeholder) {
                return Err(s.invalid_value(
                    "path",
                    &format!(
                        "free of unknown placeholders: undo `{name}` uses {{{{{placeholder}}}}}, \
                         which is neither in `secrets` nor captured by a step"
                    ),
                ));
            }
        }
    }
    Ok(CanaryUndo {
        name,
        undoes,
        method,
        path,
        headers,
        body,
        body_is_json,
        expect_status,
    })
}

fn step_of(s: &mut Section, name: String, writes: bool) -> Result<CanaryStep, SpecError> {
    let method = s.string("method")?.unwrap_or_else(|| "GET".into());
    if !METHODS.contains(&method.as_str()) {
        return Err(s.invalid_value("method", &format!("one of {}", METHODS.join(", "))));
    }
    if !writes && !matches!(method.as_str(), "GET" | "HEAD") {
        return Err(s.invalid_value(
            "method",
            &format!(
                "GET or HEAD unless the canary says `writes = true` (step `{name}` sends {method}, \
                 which may change data)"
            ),
        ));
    }
    let path = s.required_string("path")?;
    if !path.starts_with('/') {
        return Err(s.invalid_value("path", "a path starting with `/`"));
    }
    let headers = s.string_map("headers")?.unwrap_or_default();
    let json = s.json("json")?;
    let body = s.string("body")?;
    let body_is_json = json.is_some();
    let body = match (json, body) {
        (Some(_), Some(_)) => return Err(s.invalid_value("body", "left out when `json` is set")),
        (Some(json), None) => Some(json.to_string()),
        (None, body) => body,
    };
    let explicit_status = s.attribute("expect_status").is_some();
    let expect_status = match s.count("expect_status", 100)? {
        None => 200,
        Some(n) if n <= 599 => n as u16,
        Some(_) => return Err(s.invalid_value("expect_status", "an HTTP status, 100 to 599")),
    };
    let max_latency = s.duration("max_latency")?;
    let mut expect = Vec::new();
    for b in s.take_blocks("expect") {
        let mut e = Section::of_block(s.doc, b)?;
        let pointer = e.required_pointer("pointer")?;
        let exists = e.bool("exists")?;
        let equals = e.json("equals")?;
        let contains = e.json("contains")?;
        let test = match (exists, equals, contains) {
            (Some(true), None, None) => BodyTest::Exists,
            (None, Some(v), None) => BodyTest::Equals(v),
            (None, None, Some(v)) => BodyTest::Contains(v),
            _ => {
                return Err(e.missing(
                    "equals",
                    "exactly one of `exists = true`, `equals = …` or `contains = …`",
                ));
            }
        };
        e.finish()?;
        expect.push(BodyExpectation { pointer, test });
    }
    let capture = s.string_map("capture")?.unwrap_or_default();
    let rate_limit = match s.single_block("rate_limit")? {
        Some(b) => {
            let mut r = Section::of_block(s.doc, b)?;
            let limit = rate_limit_of(&mut r, explicit_status.then_some(expect_status))?;
            r.finish()?;
            for (given, key) in [
                (max_latency.is_some(), "max_latency"),
                (!expect.is_empty(), "expect"),
                (!capture.is_empty(), "capture"),
            ] {
                if given {
                    return Err(s.invalid_value(
                        key,
                        &format!(
                            "left out of a step with `rate_limit` (step `{name}`: its requests \
                             are judged by status only)"
                        ),
                    ));
                }
            }
            Some(limit)
        }
        None => None,
    };
    if let Some((key, pointer)) = capture
        .iter()
        .find(|(_, p)| !(p.is_empty() || p.starts_with('/')))
    {
        return Err(s.invalid_value(
            "capture",
            &format!(
                "a map of name → JSON pointer (`{key}` = \"{pointer}\" does not start with `/`)"
            ),
        ));
    }
    Ok(CanaryStep {
        name,
        method,
        path,
        headers,
        body,
        body_is_json,
        expect_status,
        max_latency,
        expect,
        capture,
        rate_limit,
    })
}

/// `rate_limit { requests, limited_from, within, interval }`; `status_before`
/// is the step's `expect_status` when it sets one.
fn rate_limit_of(r: &mut Section, status_before: Option<u16>) -> Result<RateLimit, SpecError> {
    let requests = r
        .count("requests", 2)?
        .ok_or_else(|| r.missing("requests", "how many requests the step sends, 2 to 100"))?;
    if requests > RateLimit::MAX_REQUESTS {
        return Err(r.invalid_value(
            "requests",
            &format!("at most {} (found {requests})", RateLimit::MAX_REQUESTS),
        ));
    }
    let limited_from = r.count("limited_from", 2)?.ok_or_else(|| {
        r.missing(
            "limited_from",
            "the first request (1-based) the limit must answer 429",
        )
    })?;
    if limited_from > requests {
        return Err(r.invalid_value(
            "limited_from",
            &format!("at most `requests` ({requests}), found {limited_from}"),
        ));
    }
    let within = r.duration("within")?.unwrap_or(RateLimit::DEFAULT_WITHIN);
    if within.is_zero() || within > RateLimit::MAX_WITHIN {
        return Err(r.invalid_value("within", "a positive duration of at most 5m"));
    }
    let interval = r.duration("interval")?.unwrap_or_default();
    if interval.saturating_mul(requests - 1) >= within {
        return Err(r.invalid_value(
            "interval",
            "short enough that every request fits `within` (interval × (requests − 1) < within)",
        ));
    }
    if status_before == Some(429) {
        return Err(r.invalid_value(
            "requests",
            "judged against an `expect_status` other than 429 (the status before the limit)",
        ));
    }
    Ok(RateLimit {
        requests,
        limited_from,
        within,
        interval,
        status_before,
    })
}

/// The `{{name}}` placeholders in `text`.
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    out
}

/// A gate's label becomes part of a check id: letters, digits, `_` and `-`.
pub(super) fn check_label(doc: &Doc, block: &Block, name: &str) -> Result<(), SpecError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(doc.error(
            block.labels.first().and_then(|l| l.span()),
            format!(
                "block `{} \"{name}\"`: the label is part of a check id and may hold only \
                 letters, digits, `_` and `-`",
                block.ident.as_str()
            ),
        ));
    }
    Ok(())
}

impl Section<'_> {
    /// `key = { name = "value", … }`: an object of strings (values may be
    /// `output.NAME` references), in the order written.
    pub(super) fn string_map(
        &mut self,
        key: &'static str,
    ) -> Result<Option<Vec<(String, String)>>, SpecError> {
        let Some(attr) = self.attribute(key) else {
            return Ok(None);
        };
        let Expression::Object(object) = &attr.value else {
            return Err(self.wrong_type(attr, "an object of strings, e.g. `{ name = \"value\" }`"));
        };
        let mut out: Vec<(String, String)> = Vec::new();
        for (k, v) in object.iter() {
            let name = object_key(k).ok_or_else(|| {
                self.doc.error(
                    v.expr().span(),
                    format!("{}: `{key}` keys must be names or strings", self.what),
                )
            })?;
            let value = match v.expr() {
                Expression::String(s) => s.value().to_string(),
                other => match self.doc.output_string(other, &self.what, key) {
                    Some(from_output) => from_output?,
                    None => {
                        return Err(self.doc.error(
                            other.span(),
                            format!(
                                "{}: `{key}` must be an object of strings, found {} at `{name}`",
                                self.what,
                                describe(other)
                            ),
                        ));
                    }
                },
            };
            if out.iter().any(|(seen, _)| *seen == name) {
                return Err(self.doc.error(
                    v.expr().span(),
                    format!("{}: `{key}` sets `{name}` twice", self.what),
                ));
            }
            out.push((name, value));
        }
        Ok(Some(out))
    }

    /// `key = <any literal HCL value>` as JSON (objects, lists, strings,
    /// numbers, bools, null).
    fn json(&mut self, key: &'static str) -> Result<Option<serde_json::Value>, SpecError> {
        let Some(attr) = self.attribute(key) else {
            return Ok(None);
        };
        json_of(&attr.value).map(Some).map_err(|(span, found)| {
            self.doc.error(
                span,
                format!(
                    "{}: `{key}` must be a literal value (object, list, string, number, bool), \
                         found {found}",
                    self.what
                ),
            )
        })
    }

    /// `key = 204` or `key = [204, 404]`: HTTP statuses, 100 to 599.
    fn statuses(&mut self, key: &'static str) -> Result<Option<Vec<u16>>, SpecError> {
        let Some(attr) = self.attribute(key) else {
            return Ok(None);
        };
        let expected = "an HTTP status (100 to 599) or a list of them, e.g. `[204, 404]`";
        let items: Vec<&Expression> = match &attr.value {
            Expression::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        let mut out = Vec::new();
        for item in items {
            let status = number_of(item)
                .filter(|n| n.fract() == 0.0 && (100.0..=599.0).contains(n))
                .ok_or_else(|| {
                    self.doc.error(
                        item.span(),
                        format!("{}: `{key}` must be {expected}", self.what),
                    )
                })?;
            out.push(status as u16);
        }
        if out.is_empty() {
            return Err(self.invalid_value(key, expected));
        }
        Ok(Some(out))
    }

    /// A JSON pointer: `""` or starting with `/`.
    fn required_pointer(&mut self, key: &'static str) -> Result<String, SpecError> {
        let value = self
            .string(key)?
            .ok_or_else(|| self.missing(key, "a JSON pointer such as \"/items/0/id\""))?;
        if !(value.is_empty() || value.starts_with('/')) {
            return Err(self.invalid_value(key, "a JSON pointer: \"\" or starting with `/`"));
        }
        Ok(value)
    }
}

fn object_key(key: &ObjectKey) -> Option<String> {
    match key {
        ObjectKey::Ident(i) => Some(i.as_str().to_string()),
        ObjectKey::Expression(Expression::String(s)) => Some(s.value().to_string()),
        ObjectKey::Expression(_) => None,
    }
}

/// A literal expression as JSON; else the span and a description of what is there.
fn json_of(expr: &Expression) -> Result<serde_json::Value, (Option<Range<usize>>, String)> {
    use serde_json::Value;
    Ok(match expr {
        Expression::Null(_) => Value::Null,
        Expression::Bool(b) => Value::Bool(*b.value()),
        Expression::Number(n) => n
            .value()
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map(|v| {
                // Whole numbers stay integers (`2`, not `2.0`) in the body.
                match n.value().as_i64() {
                    Some(i) => Value::from(i),
                    None => Value::Number(v),
                }
            })
            .ok_or((expr.span(), describe(expr)))?,
        Expression::String(s) => Value::String(s.value().to_string()),
        Expression::Array(items) => {
            Value::Array(items.iter().map(json_of).collect::<Result<Vec<_>, _>>()?)
        }
        Expression::Object(object) => {
            let mut map = serde_json::Map::new();
            for (k, v) in object.iter() {
                let name = object_key(k).ok_or((v.expr().span(), "a computed key".into()))?;
                map.insert(name, json_of(v.expr())?);
            }
            Value::Object(map)
        }
        other => return Err((other.span(), describe(other))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_p_and_a_number_up_to_100() {
        for ok in ["p99", "p50", "p99.9", "p0", "p100"] {
            assert!(is_percentile(ok), "{ok}");
        }
        for bad in ["p", "p101", "p9x", "99", "p.9", "p99.", "tm99", "P99"] {
            assert!(!is_percentile(bad), "{bad}");
        }
    }

    /// What a gate that declares none of them gets: fresh within two periods
    /// and five minutes, at most half its periods missing, a percentile over
    /// 100 samples; a sparse gate gets no freshness or missing-share bound.
    #[test]
    fn freshness_missing_share_and_samples_defaults() {
        let gate = |extra: &str| {
            let text = format!(
                "environment = \"s\"\nregion = \"eu-central-1\"\naccount_id = \"123456789012\"\n\
                 metric \"m\" {{\n  namespace = \"AWS/ApplicationELB\"\n  metric = \"TargetResponseTime\"\n\
                 period = \"1m\"\n  window = \"30m\"\n  comparison = \">\"\n  threshold = 2\n{extra}}}\n"
            );
            crate::parse(&text, "s.hcl".as_ref()).map(|env| env.metrics[0].clone())
        };
        let p99 = gate("  statistic = \"p99\"\n").unwrap();
        assert_eq!(p99.max_staleness, Some(Duration::from_secs(420)));
        assert_eq!(p99.max_missing_share, Some(0.5));
        assert_eq!(p99.min_samples, 100);
        let sparse = gate("  statistic = \"Sum\"\n  missing_data = \"not_breaching\"\n").unwrap();
        assert_eq!(
            (
                sparse.max_staleness,
                sparse.max_missing_share,
                sparse.min_samples
            ),
            (None, None, 0)
        );
        let declared = gate(
            "  statistic = \"p99\"\n  max_staleness = \"15m\"\n  max_missing_share = 0.2\n  min_samples = 20\n",
        )
        .unwrap();
        assert_eq!(declared.max_staleness, Some(Duration::from_secs(900)));
        assert_eq!(declared.max_missing_share, Some(0.2));
        assert_eq!(declared.min_samples, 20);
        // High-resolution periods within their 3 hours; 5-minute ones up to 63 days.
        assert!(gate("  statistic = \"Sum\"\n").is_ok());
        let text = |period: &str, window: &str| {
            format!(
                "environment = \"s\"\nregion = \"eu-central-1\"\naccount_id = \"123456789012\"\n\
                 metric \"m\" {{\n  namespace = \"AWS/RDS\"\n  metric = \"CPUUtilization\"\n  statistic = \"Maximum\"\n\
                 period = \"{period}\"\n  window = \"{window}\"\n  comparison = \">\"\n  threshold = 2\n}}\n"
            )
        };
        for (period, window, ok) in [
            ("10s", "3h", true),
            ("10s", "3h 10s", false),
            ("1m", "15days", true),
            ("1m", "16days", false),
            ("5m", "60days", true),
            ("5m", "64days", false),
            ("1h", "400days", true),
            ("1m", "30m 30s", false),
        ] {
            let parsed = crate::parse(&text(period, window), "s.hcl".as_ref());
            assert_eq!(parsed.is_ok(), ok, "{period} over {window}: {parsed:?}");
        }
    }

    #[test]
    fn expression_identifiers_skip_numbers() {
        assert_eq!(
            expression_identifiers("100 * FILL(errors, 0) / requests + 1e3"),
            ["FILL", "errors", "requests"]
        );
    }

    #[test]
    fn placeholders_are_found_in_order() {
        assert_eq!(placeholders("Bearer {{token}} {{ id }}"), ["token", "id"]);
        assert!(placeholders("no {{ end").is_empty());
    }
}
