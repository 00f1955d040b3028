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
    /// The fault was injected (the AWS call returned).
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

/// Consecutive samples with the same outcome: `from_ms` is the first
/// sample's time, `to_ms` the first sample after the run (or the last
/// sample's time for the final span).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub from_ms: u64,
    pub to_ms: u64,
    pub ok: bool,
    pub samples: u64,
    /// The first error of a failed run, as the client saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A window the client could not work in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outage {
    /// The first failed sample.
    pub from_ms: u64,
    /// The first good sample after the last failed one (or the end, if
    /// the probe never recovered: then `recovered` is false).
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
        if let Some(last) = self.spans.last_mut() {
            if last.ok == ok {
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
        });
    }

    /// Samples taken in all, and how many failed.
    pub fn counts(&self) -> (u64, u64) {
        let all = self.spans.iter().map(|s| s.samples).sum();
        let failed = self.spans.iter().filter(|s| !s.ok).map(|s| s.samples).sum();
        (all, failed)
    }

    /// The client-observed unavailability after `fault_ms`: from the first
    /// failed sample at or after it to the first good sample after the last
    /// failed one. `None` when no sample failed after the fault.
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
            from_ms: first.from_ms.max(fault_ms),
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
}
