//! CloudWatch: alarms (the declared ones, read once per run; a drill's stop
//! alarms, read afresh) and metric data (`metrics.<name>`).

use std::sync::Arc;

use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
use aws_sdk_cloudwatch::types::{AlarmType, CompositeAlarm, MetricAlarm, MetricDataQuery, ScanBy};
use aws_smithy_types::DateTime;

use super::AwsClients;
use crate::CheckError;

/// CloudWatch's API is named `monitoring` on the wire; IAM says `cloudwatch`.
pub(crate) const DESCRIBE_ALARMS: &str = "monitoring:DescribeAlarms";
pub(crate) const GET_METRIC_DATA: &str = "cloudwatch:GetMetricData";
/// The alarm-route drill's one write (the SDK names the service `CloudWatch`).
pub(crate) const SET_ALARM_STATE: &str = "cloudwatch:SetAlarmState";

/// The alarms `DescribeAlarms` returned, by kind.
#[derive(Debug, Default)]
pub(crate) struct Alarms {
    pub metric: Vec<MetricAlarm>,
    pub composite: Vec<CompositeAlarm>,
}

/// The alarms named `names`, metric and composite, every page, read once
/// per run (DescribeAlarms takes ≤ 100 names and pages at `MaxRecords`,
/// 50 by default).
pub(crate) async fn alarms(aws: &AwsClients, names: &[String]) -> Result<Arc<Alarms>, CheckError> {
    aws.cache()
        .get(&format!("{DESCRIBE_ALARMS}:{}", names.join(",")), || {
            alarms_now(aws, names)
        })
        .await
}

/// The alarms named `names`, read now (never the cache: a drill's stop alarms).
pub(crate) async fn alarms_now(aws: &AwsClients, names: &[String]) -> Result<Alarms, CheckError> {
    let mut all = Alarms::default();
    for chunk in names.chunks(100) {
        let resource = format!("alarms {}", chunk.join(", "));
        let mut token: Option<String> = None;
        loop {
            let out = aws
                .cloudwatch
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| CheckError::from_sdk(DESCRIBE_ALARMS, &resource, e))?;
            let next = out.next_token.filter(|t| !t.is_empty());
            all.metric.extend(out.metric_alarms.unwrap_or_default());
            all.composite
                .extend(out.composite_alarms.unwrap_or_default());
            if next.is_some() && next == token {
                return Err(CheckError::Aws {
                    operation: DESCRIBE_ALARMS.into(),
                    resource,
                    code: None,
                    message: "the same NextToken was returned twice; listing stopped".into(),
                });
            }
            match next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
    }
    Ok(all)
}

/// Every page of one `GetMetricData` over `[start, end)` (epoch seconds),
/// oldest first.
pub(crate) async fn metric_data(
    aws: &AwsClients,
    queries: Vec<MetricDataQuery>,
    start: i64,
    end: i64,
    max_datapoints: i32,
) -> Result<Vec<GetMetricDataOutput>, CheckError> {
    let resource = format!("{} metric queries", queries.len());
    let mut pages = aws
        .cloudwatch
        .get_metric_data()
        .set_metric_data_queries(Some(queries))
        .start_time(DateTime::from_secs(start))
        .end_time(DateTime::from_secs(end))
        .scan_by(ScanBy::TimestampAscending)
        .max_datapoints(max_datapoints)
        .into_paginator()
        .send();
    let mut all = Vec::new();
    while let Some(page) = pages.next().await {
        all.push(page.map_err(|e| CheckError::from_sdk(GET_METRIC_DATA, &resource, e))?);
    }
    Ok(all)
}

/// `SetAlarmState` of the alarm `name` to `state` (`ALARM`, `OK`,
/// `INSUFFICIENT_DATA`) with `reason`: it runs the actions of that state.
/// Refused unless the caller holds a guard admitting [`SET_ALARM_STATE`].
pub(crate) async fn set_alarm_state(
    aws: &AwsClients,
    name: &str,
    state: aws_sdk_cloudwatch::types::StateValue,
    reason: &str,
) -> Result<(), CheckError> {
    aws.cloudwatch
        .set_alarm_state()
        .alarm_name(name)
        .state_value(state)
        .state_reason(reason)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| CheckError::from_sdk(SET_ALARM_STATE, &format!("alarm {name}"), e))
}
