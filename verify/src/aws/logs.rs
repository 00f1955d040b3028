//! CloudWatch Logs: a search of a log group for a marker line
//! (`scheduled.<task>.succeeded`, when ECS no longer lists the run), and the
//! log groups under a name prefix (`logs.retention`).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatchlogs::types::LogGroup;

use super::AwsClients;
use crate::CheckError;

pub(crate) const FILTER_LOG_EVENTS: &str = "logs:FilterLogEvents";
pub(crate) const DESCRIBE_LOG_GROUPS: &str = "logs:DescribeLogGroups";

/// Every log group whose name starts with `prefix` (`logGroupNamePrefix`
/// matches prefixes: an exact name is picked by the caller), all pages,
/// once per run.
pub(crate) async fn groups_with_prefix(
    aws: &AwsClients,
    prefix: &str,
) -> Result<Arc<Vec<LogGroup>>, CheckError> {
    aws.cache()
        .get(&format!("{DESCRIBE_LOG_GROUPS}:{prefix}"), || async {
            let resource = format!("log groups named '{prefix}*'");
            let mut found = Vec::new();
            let mut pages = aws
                .logs
                .describe_log_groups()
                .log_group_name_prefix(prefix)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page =
                    page.map_err(|e| CheckError::from_sdk(DESCRIBE_LOG_GROUPS, &resource, e))?;
                found.extend(page.log_groups.unwrap_or_default());
            }
            Ok(found)
        })
        .await
}

/// The first log line holding `marker` in `group` since `since`. Pages until
/// a hit or the end: an empty page with a next token is normal (CloudWatch
/// Logs searches a slice of the group per call).
pub(crate) async fn first_line_containing(
    aws: &AwsClients,
    group: &str,
    marker: &str,
    since: SystemTime,
) -> Result<Option<String>, CheckError> {
    /// A bound on pages, so a huge group cannot hold the check forever.
    const MAX_PAGES: usize = 1000;
    let resource = format!("log group '{group}'");
    let start = since
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis() as i64;
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let out = aws
            .logs
            .filter_log_events()
            .log_group_name(group)
            .start_time(start)
            .filter_pattern(format!("\"{}\"", marker.replace('"', "")))
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| CheckError::from_sdk(FILTER_LOG_EVENTS, &resource, e))?;
        if let Some(event) = out
            .events()
            .iter()
            .find(|e| e.message().is_some_and(|m| m.contains(marker)))
        {
            return Ok(event.message().map(str::to_string));
        }
        token = out.next_token.filter(|t| !t.is_empty());
        if token.is_none() {
            return Ok(None);
        }
    }
    Err(CheckError::Aws {
        operation: FILTER_LOG_EVENTS.into(),
        resource,
        code: None,
        message: format!("no answer after {MAX_PAGES} pages; narrow the log group or max_age"),
    })
}

/// Every event of `group` from `start_ms` (ms since the epoch) on, every
/// page, oldest first; `us_east_1` reads through the client pinned there
/// (AWS Chatbot's logs). A group that does not exist yet is no events (SNS
/// makes its delivery-status groups with the first entry).
pub(crate) async fn events_since(
    aws: &AwsClients,
    us_east_1: bool,
    group: &str,
    start_ms: i64,
) -> Result<Vec<aws_sdk_cloudwatchlogs::types::FilteredLogEvent>, CheckError> {
    /// A bound on pages, so a busy group cannot hold the drill forever.
    const MAX_PAGES: usize = 1000;
    let resource = format!("log group '{group}'");
    let client = if us_east_1 {
        &aws.logs_us_east_1
    } else {
        &aws.logs
    };
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let out = client
            .filter_log_events()
            .log_group_name(group)
            .start_time(start_ms)
            .set_next_token(token.clone())
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                return match CheckError::from_sdk(FILTER_LOG_EVENTS, &resource, e) {
                    CheckError::NotFound { .. } => Ok(Vec::new()),
                    other => Err(other),
                };
            }
        };
        events.extend(out.events.unwrap_or_default());
        let next = out.next_token.filter(|t| !t.is_empty());
        if next.is_none() || next == token {
            events.sort_by_key(|e| e.timestamp.unwrap_or_default());
            return Ok(events);
        }
        token = next;
    }
    Err(CheckError::Aws {
        operation: FILTER_LOG_EVENTS.into(),
        resource,
        code: None,
        message: format!("no end after {MAX_PAGES} pages"),
    })
}
