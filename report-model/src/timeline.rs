//! What a drill saw, in time: each probe's samples (run-length encoded into
//! [`Span`]s of equal outcome) and the [`Mark`]s — fault injected, AWS status
//! changes and events, recovery, abort, cleanup. Times are milliseconds since
//! the drill's probes started.
//!
//! ```
//! use report_model::timeline::{ProbeTrace, Timeline};
//! let mut writer = ProbeTrace::new("writer");
//! writer.sample(0, true, None);
//! writer.sample(50, false, Some("connection refused"));
//! writer.sample(100, false, Some("connection refused"));
//! writer.sample(150, true, None);
//! assert_eq!(writer.spans.len(), 3);
//! let outage = writer.unavailable_after(0).unwrap();
//! assert_eq!((outage.from_ms, outage.to_ms), (50, 150));
//! let timeline = Timeline { probes: vec![writer], ..Timeline::default() };
//! assert_eq!(timeline.strip(0, 200, 4), "█░░█");
//! ```

use serde::{Deserialize, Serialize};

/// A drill's timeline, as reports carry it (`timeline` in the JSON report).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// When the probes started (RFC 3339, UTC): time zero.
    pub started_at: String,
    /// Milliseconds from time zero to the end of the drill.
    pub duration_ms: u64,
    pub marks: Vec<Mark>,
    pub probes: Vec<ProbeTrace>,
}

/// Something that happened at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    pub at_ms: u64,
    pub kind: MarkKind,
    pub label: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkKind {
    /// The fault was injected (at the AWS call that injects it).
    Fault,
    /// An AWS status read changed (`rebooting` → `available`, an AZ swap).
    Status,
    /// An event AWS published (best effort: evidence, never the verdict).
    Event,
    /// The drill judged the service recovered.
    Recovered,
    /// A stop condition fired.
    Abort,
    /// Cleanup ran.
    Cleanup,
    /// A declared dependent (a canary, a health URL) first succeeded after
    /// recovery, or was given up on at its `recover_within`.
    Dependent,
}

impl MarkKind {
    /// One character for the terminal strip's marks line.
    pub fn glyph(self) -> char {
        match self {
            MarkKind::Fault => '⚡',
            MarkKind::Status => '│',
            MarkKind::Event => '·',
            MarkKind::Recovered => '✓',
            MarkKind::Abort => '✗',
            MarkKind::Cleanup => '⌫',
            MarkKind::Dependent => '◆',
        }
    }
}

/// One probe's samples, as runs of equal outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeTrace {
    /// `writer`, `reader`, `client-3`…
    pub name: String,
    pub spans: Vec<Span>,
}

/// Consecutive samples with the same outcome (and, for good ones, the same
/// server): `from_ms` is the first sample's time, `to_ms` the first sample
/// after the run (or the last sample's time for the final span).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub from_ms: u64,
    pub to_ms: u64,
    pub ok: bool,
    pub samples: u64,
    /// The first error of a failed run, as the client saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The server the run's samples reached, when the probe asks (the
    /// failover drill's writer and reader do; a failed sample reached none
    /// it could name). Absent in records written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<Server>,
}

/// The Postgres server a sample reached, as the server itself said in the
/// same statement: its address (`inet_server_addr()`, `inet_server_port()`)
/// and when its postmaster started (`pg_postmaster_start_time()`). Behind an
/// endpoint or a proxy this is the database server, not the endpoint: a
/// failover moves it to another address; a restart in place keeps the
/// address and changes the start time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Server {
    /// `host:port` (`[v6]:port` for IPv6) as the server sees its own end
    /// of the connection; `local socket` for a Unix-domain connection.
    pub address: String,
    /// When its postmaster started, RFC 3339 in UTC with microseconds.
    pub started_at: String,
}

impl std::fmt::Display for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (up since {})", self.address, self.started_at)
    }
}

/// A window the client could not work in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outage {
    /// When the first failed request was sent.
    pub from_ms: u64,
    /// When the first good request after the last failed one was sent (or
    /// the last sample, if the probe never recovered: then `recovered` is
    /// false).
    pub to_ms: u64,
    pub recovered: bool,
}

impl Outage {
    pub fn duration_ms(&self) -> u64 {
        self.to_ms.saturating_sub(self.from_ms)
    }
}

impl ProbeTrace {
    pub fn new(name: impl Into<String>) -> Self {
        ProbeTrace {
            name: name.into(),
            spans: Vec::new(),
        }
    }

    /// Adds one sample (in time order).
    pub fn sample(&mut self, at_ms: u64, ok: bool, error: Option<&str>) {
        self.sample_on(at_ms, ok, error, None);
    }

    /// Adds one sample (in time order) with the server it reached: a run
    /// ends where the outcome or the server changes.
    pub fn sample_on(
        &mut self,
        at_ms: u64,
        ok: bool,
        error: Option<&str>,
        server: Option<&Server>,
    ) {
        if let Some(last) = self.spans.last_mut() {
            if last.ok == ok && last.server.as_ref() == server {
                last.samples += 1;
                last.to_ms = at_ms;
                return;
            }
            last.to_ms = at_ms;
        }
        self.spans.push(Span {
            from_ms: at_ms,
            to_ms: at_ms,
            ok,
            samples: 1,
            error: error.map(String::from),
            server: server.cloned(),
        });
    }

    /// Samples taken in all, and how many failed.
    pub fn counts(&self) -> (u64, u64) {
        let all = self.spans.iter().map(|s| s.samples).sum();
        let failed = self.spans.iter().filter(|s| !s.ok).map(|s| s.samples).sum();
        (all, failed)
    }

    /// The client-observed unavailability after `fault_ms`: from when the
    /// first failing request was sent to when the first succeeding one
    /// after the last failure was sent. Samples are dated when they were
    /// sent (a request that timed out is dated at its start, not at its
    /// timeout), so a failed run still going on at `fault_ms` counts from
    /// its first sample, even one sent just before it. `None` when no
    /// sample failed at or after the fault.
    pub fn unavailable_after(&self, fault_ms: u64) -> Option<Outage> {
        let failed: Vec<&Span> = self
            .spans
            .iter()
            .filter(|s| !s.ok && s.to_ms >= fault_ms)
            .collect();
        let first = failed.first()?;
        let last = failed.last()?;
        let last_index = self.spans.iter().position(|s| std::ptr::eq(s, *last))?;
        let recovery = self.spans.get(last_index + 1);
        Some(Outage {
            from_ms: first.from_ms,
            to_ms: recovery.map(|s| s.from_ms).unwrap_or(last.to_ms),
            recovered: recovery.is_some(),
        })
    }

    /// Whether the probe was failing or working at `at_ms` (`None` before its first sample).
    pub fn ok_at(&self, at_ms: u64) -> Option<bool> {
        self.spans
            .iter()
            .rev()
            .find(|s| s.from_ms <= at_ms)
            .map(|s| s.ok)
    }
}

impl Timeline {
    /// A compact availability strip over `[from_ms, to_ms)` in `width`
    /// cells: `█` every probe worked, `░` some probe failed, ` ` no sample.
    pub fn strip(&self, from_ms: u64, to_ms: u64, width: usize) -> String {
        let width = width.max(1);
        let span = to_ms.saturating_sub(from_ms).max(1);
        (0..width)
            .map(|cell| {
                let at = from_ms + span * cell as u64 / width as u64;
                let states: Vec<bool> = self.probes.iter().filter_map(|p| p.ok_at(at)).collect();
                if states.is_empty() {
                    ' '
                } else if states.iter().all(|ok| *ok) {
                    '█'
                } else {
                    '░'
                }
            })
            .collect()
    }

    /// The marks' line under [`Timeline::strip`]: each mark's glyph in its cell.
    pub fn marks_line(&self, from_ms: u64, to_ms: u64, width: usize) -> String {
        let width = width.max(1);
        let span = to_ms.saturating_sub(from_ms).max(1);
        let mut cells = vec![' '; width];
        for mark in &self.marks {
            if mark.at_ms < from_ms {
                continue;
            }
            let cell = (((mark.at_ms - from_ms) * width as u64) / span).min(width as u64 - 1);
            cells[cell as usize] = mark.kind.glyph();
        }
        cells.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(samples: &[(u64, bool)]) -> ProbeTrace {
        let mut t = ProbeTrace::new("p");
        for (at, ok) in samples {
            t.sample(*at, *ok, (!ok).then_some("e"));
        }
        t
    }

    #[test]
    fn outage_spans_from_first_failure_to_first_good_after_the_last() {
        // A flap inside the outage does not end it early.
        let t = trace(&[
            (0, true),
            (50, false),
            (100, true),
            (150, false),
            (200, true),
            (250, true),
        ]);
        let o = t.unavailable_after(0).unwrap();
        assert_eq!((o.from_ms, o.to_ms, o.recovered), (50, 200, true));
        assert_eq!(o.duration_ms(), 150);
    }

    #[test]
    fn failures_before_the_fault_do_not_count() {
        let t = trace(&[
            (0, false),
            (50, true),
            (100, true),
            (150, false),
            (200, true),
        ]);
        let o = t.unavailable_after(100).unwrap();
        assert_eq!((o.from_ms, o.to_ms), (150, 200));
        assert!(
            trace(&[(0, false), (50, true)])
                .unavailable_after(100)
                .is_none()
        );
    }

    #[test]
    fn a_probe_that_never_recovers_says_so() {
        let t = trace(&[(0, true), (50, false), (100, false)]);
        let o = t.unavailable_after(0).unwrap();
        assert_eq!((o.from_ms, o.to_ms, o.recovered), (50, 100, false));
    }

    #[test]
    fn spans_round_trip_as_json() {
        let t = trace(&[(0, true), (50, false)]);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<ProbeTrace>(&json).unwrap(), t);
    }

    #[test]
    fn a_failure_in_progress_at_the_fault_counts_from_when_it_was_sent() {
        // A request sent at 40 ms hung and timed out; the fault mark came at
        // 45 ms: the outage starts when the failing request was sent.
        let t = trace(&[(0, true), (40, false), (2_040, false), (2_090, true)]);
        let o = t.unavailable_after(45).unwrap();
        assert_eq!((o.from_ms, o.to_ms), (40, 2_090));
    }

    fn server(address: &str, started_at: &str) -> Server {
        Server {
            address: address.into(),
            started_at: started_at.into(),
        }
    }

    #[test]
    fn a_change_of_server_starts_a_span_and_the_outage_ignores_it() {
        let a = server("10.0.1.5:5432", "2026-12-07T06:00:00.000001Z");
        let b = server("10.0.2.7:5432", "2026-12-07T06:00:03.000002Z");
        let mut t = ProbeTrace::new("writer");
        t.sample_on(0, true, None, Some(&a));
        t.sample_on(50, true, None, Some(&a));
        t.sample_on(100, false, Some("refused"), None);
        t.sample_on(150, true, None, Some(&b));
        t.sample_on(200, true, None, Some(&b));
        let servers: Vec<Option<&Server>> = t.spans.iter().map(|s| s.server.as_ref()).collect();
        assert_eq!(servers, [Some(&a), None, Some(&b)]);
        assert_eq!(t.spans[0].samples, 2);
        let o = t.unavailable_after(0).unwrap();
        assert_eq!((o.from_ms, o.to_ms), (100, 150));
        // Good samples on two servers, no failure between: two spans, no outage.
        let mut t = ProbeTrace::new("reader");
        t.sample_on(0, true, None, Some(&a));
        t.sample_on(50, true, None, Some(&b));
        assert_eq!(t.spans.len(), 2);
        assert!(t.unavailable_after(0).is_none());
        // Written without `server`, read back the same; a span with one round-trips.
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["spans"][0]["server"]["address"], "10.0.1.5:5432");
        let old = serde_json::json!({"name": "p", "spans": [{"from_ms": 0, "to_ms": 0, "ok": true, "samples": 1}]});
        let old: ProbeTrace = serde_json::from_value(old).unwrap();
        assert_eq!(old.spans[0].server, None);
        assert!(
            serde_json::to_value(&old).unwrap()["spans"][0]
                .get("server")
                .is_none()
        );
        assert_eq!(
            a.to_string(),
            "10.0.1.5:5432 (up since 2026-12-07T06:00:00.000001Z)"
        );
    }
}

/// Renderings of a timeline for people: the terminal strip, Markdown and SVG.
pub mod render {
    use super::{MarkKind, Timeline};

    fn seconds(ms: u64) -> String {
        format!("{:.1}s", ms as f64 / 1000.0)
    }

    fn kind_name(kind: MarkKind) -> &'static str {
        match kind {
            MarkKind::Fault => "fault",
            MarkKind::Status => "status",
            MarkKind::Event => "event",
            MarkKind::Recovered => "recovered",
            MarkKind::Abort => "abort",
            MarkKind::Cleanup => "cleanup",
            MarkKind::Dependent => "dependent",
        }
    }

    /// The availability strip with its marks under it, then the marks listed.
    pub fn terminal(timeline: &Timeline, width: usize) -> String {
        let end = timeline.duration_ms.max(1);
        let mut out = format!(
            "  0s {} {}\n     {}\n",
            timeline.strip(0, end, width),
            seconds(end),
            timeline.marks_line(0, end, width)
        );
        for mark in &timeline.marks {
            out.push_str(&format!(
                "  {:>7}  {} {:<9} {}\n",
                seconds(mark.at_ms),
                mark.kind.glyph(),
                kind_name(mark.kind),
                mark.label
            ));
        }
        for probe in &timeline.probes {
            let (all, failed) = probe.counts();
            out.push_str(&format!(
                "  probe {}: {all} samples, {failed} failed\n",
                probe.name
            ));
        }
        out
    }

    /// A Markdown section: the strip in a code block and a table of marks.
    pub fn markdown(timeline: &Timeline) -> String {
        let end = timeline.duration_ms.max(1);
        let mut out = format!(
            "```\n{}\n{}\n```\n\n| at | kind | what |\n|---|---|---|\n",
            timeline.strip(0, end, 60),
            timeline.marks_line(0, end, 60)
        );
        for mark in &timeline.marks {
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                seconds(mark.at_ms),
                kind_name(mark.kind),
                mark.label.replace('|', "\\|")
            ));
        }
        out
    }

    fn escape(text: &str) -> String {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    }

    /// An SVG: one row per probe (green where it worked, red where it did
    /// not), a vertical line per mark with its label, a time axis.
    pub fn svg(timeline: &Timeline, title: &str) -> String {
        const WIDTH: f64 = 960.0;
        const LEFT: f64 = 90.0;
        const RIGHT: f64 = 20.0;
        const ROW: f64 = 28.0;
        let end = timeline.duration_ms.max(1) as f64;
        let plot = WIDTH - LEFT - RIGHT;
        let x = |ms: u64| LEFT + plot * (ms as f64 / end).min(1.0);
        let rows_top = 40.0;
        let rows_bottom = rows_top + ROW * timeline.probes.len() as f64;
        let labels_top = rows_bottom + 30.0;
        let height = labels_top + 16.0 * timeline.marks.len() as f64 + 20.0;
        let mut out = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
             font-family=\"sans-serif\" font-size=\"12\">\n\
             <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
             <text x=\"{LEFT}\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
            escape(title)
        );
        for (row, probe) in timeline.probes.iter().enumerate() {
            let y = rows_top + ROW * row as f64;
            out.push_str(&format!(
                "<text x=\"8\" y=\"{}\">{}</text>\n",
                y + ROW * 0.6,
                escape(&probe.name)
            ));
            for span in &probe.spans {
                let (x0, x1) = (x(span.from_ms), x(span.to_ms.max(span.from_ms + 1)));
                let colour = if span.ok { "#2e9d4f" } else { "#d6453d" };
                let tip = match &span.error {
                    Some(e) => format!("{}–{}: {}", seconds(span.from_ms), seconds(span.to_ms), e),
                    None => format!("{}–{}: ok", seconds(span.from_ms), seconds(span.to_ms)),
                };
                out.push_str(&format!(
                    "<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\"><title>{}</title></rect>\n",
                    y + 4.0,
                    (x1 - x0).max(1.0),
                    ROW - 8.0,
                    escape(&tip)
                ));
            }
        }
        // Time axis: a tick every sensible step.
        let step = [
            1_000u64, 2_000, 5_000, 10_000, 30_000, 60_000, 300_000, 600_000,
        ]
        .into_iter()
        .find(|s| end / (*s as f64) <= 12.0)
        .unwrap_or(1_800_000);
        let mut t = 0;
        while (t as f64) <= end {
            out.push_str(&format!(
                "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{rows_bottom}\" y2=\"{1}\" stroke=\"#999\"/>\
                 <text x=\"{0:.1}\" y=\"{2}\" text-anchor=\"middle\" fill=\"#555\">{3}</text>\n",
                x(t),
                rows_bottom + 5.0,
                rows_bottom + 18.0,
                seconds(t)
            ));
            t += step;
        }
        for (i, mark) in timeline.marks.iter().enumerate() {
            let colour = match mark.kind {
                MarkKind::Fault | MarkKind::Abort => "#b00020",
                MarkKind::Recovered => "#1b7f3b",
                MarkKind::Dependent => "#1f5fa8",
                _ => "#555",
            };
            let label_y = labels_top + 16.0 * i as f64;
            // Labels right of the middle end at their line, so none runs off the edge.
            let (text_x, anchor) = if x(mark.at_ms) > LEFT + plot / 2.0 {
                (x(mark.at_ms) - 3.0, "end")
            } else {
                (x(mark.at_ms) + 3.0, "start")
            };
            out.push_str(&format!(
                "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{rows_top}\" y2=\"{1}\" stroke=\"{colour}\" stroke-dasharray=\"3,2\"/>\
                 <text x=\"{2:.1}\" y=\"{3}\" fill=\"{colour}\" text-anchor=\"{anchor}\">{4} {5} {6}</text>\n",
                x(mark.at_ms),
                label_y - 4.0,
                text_x,
                label_y + 8.0,
                seconds(mark.at_ms),
                kind_name(mark.kind),
                escape(&mark.label)
            ));
        }
        out.push_str("</svg>\n");
        out
    }
}
