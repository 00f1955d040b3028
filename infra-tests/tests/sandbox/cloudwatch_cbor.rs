//! CloudWatch over Smithy RPCv2-CBOR, the protocol of the current
//! `aws-sdk-cloudwatch` (moto speaks it from 5.2.6: docs/moto.md). Every
//! CloudWatch operation the code calls (PutMetricData, also gzip-compressed
//! as the SDK sends a large one; PutMetricAlarm with tags,
//! PutCompositeAlarm, DescribeAlarms, ListTagsForResource, GetMetricData)
//! goes out as CBOR and comes back as CBOR; what was put is read back
//! exactly, through the paginators; a service error arrives in the RPCv2
//! error shape and the SDK parses it into the modeled error.
//!
//! Each test acts in a fresh, unseeded account.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_cloudwatch::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_cloudwatch::error::{BoxError, ProvideErrorMetadata};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    AlarmType, ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricDatum, MetricStat,
    ScanBy, StateValue, Statistic, StatusCode, Tag,
};
use fixtures::{SandboxState, SeedTarget};
use infra_tests::{fresh_account, runtime};

/// CloudWatch's service shape, the path segment of every RPCv2-CBOR request.
const SERVICE_PATH: &str = "/service/GraniteServiceVersion20100801/operation/";
const NAMESPACE: &str = "Sandbox/Cbor";

/// What went over the wire, request and response, one line each, in order.
#[derive(Debug, Clone, Default)]
struct Wire {
    requests: Arc<Mutex<Vec<String>>>,
    responses: Arc<Mutex<Vec<String>>>,
}

fn header<'a>(headers: &'a aws_smithy_runtime_api::http::Headers, name: &str) -> &'a str {
    headers.get(name).unwrap_or("-")
}

impl Intercept for Wire {
    fn name(&self) -> &'static str {
        "cloudwatch_cbor::Wire"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let path = request
            .uri()
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
            .unwrap_or(request.uri());
        let line = format!(
            "{path} smithy-protocol={} content-type={} content-encoding={}",
            header(request.headers(), "smithy-protocol"),
            header(request.headers(), "content-type"),
            header(request.headers(), "content-encoding"),
        );
        self.requests.lock().unwrap().push(line);
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let body = response.body().bytes().map_or(0, <[u8]>::len);
        let content_type = if body == 0 {
            "(no body)"
        } else {
            header(response.headers(), "content-type")
        };
        let line = format!(
            "{} smithy-protocol={} content-type={content_type}",
            response.status().as_u16(),
            header(response.headers(), "smithy-protocol"),
        );
        self.responses.lock().unwrap().push(line);
        Ok(())
    }
}

impl Wire {
    /// Every request went to `operation`'s RPCv2 path as CBOR, and every
    /// answer came back as RPCv2-CBOR (a body, when there is one, is CBOR).
    fn assert_all_cbor(&self) {
        let requests = self.requests.lock().unwrap().clone();
        let responses = self.responses.lock().unwrap().clone();
        assert!(!requests.is_empty());
        for r in &requests {
            assert!(
                r.starts_with(SERVICE_PATH)
                    && r.contains("smithy-protocol=rpc-v2-cbor content-type=application/cbor"),
                "not an RPCv2-CBOR request: {r}"
            );
        }
        for r in &responses {
            assert!(
                r.contains("smithy-protocol=rpc-v2-cbor")
                    && (r.ends_with("content-type=application/cbor")
                        || r.ends_with("content-type=(no body)")),
                "not an RPCv2-CBOR response: {r}"
            );
        }
        assert_eq!(
            requests.len(),
            responses.len(),
            "{requests:#?}\n{responses:#?}"
        );
    }

    fn operations(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| {
                r.trim_start_matches(SERVICE_PATH)
                    .split(' ')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }
}

/// A CloudWatch client in a fresh account of the running sandbox, every
/// exchange recorded by `wire`.
async fn client(wire: &Wire) -> aws_sdk_cloudwatch::Client {
    let state = SandboxState::load()
        .expect("state.json")
        .expect("the sandbox is not running: run `cargo xtask sandbox up`");
    let target = SeedTarget {
        endpoint: state.aws_endpoint_url,
        account: fresh_account(),
    };
    let config = aws_sdk_cloudwatch::config::Builder::from(&target.sdk_config().await)
        .interceptor(wire.clone())
        .build();
    aws_sdk_cloudwatch::Client::from_conf(config)
}

fn dimension() -> Dimension {
    Dimension::builder().name("Service").value("cbor").build()
}

fn metric(name: &str) -> Metric {
    Metric::builder()
        .namespace(NAMESPACE)
        .metric_name(name)
        .dimensions(dimension())
        .build()
}

/// The start of the minute `minutes` ago, in epoch seconds.
fn minute_ago(minutes: u64) -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    (now / 60 * 60 - minutes * 60) as i64
}

/// PutMetricData (one call large enough for the SDK to gzip it), then
/// GetMetricData through its paginator at 7 points a page: the sums, a
/// metric-math series over them and a percentile of weighted values come
/// back exactly as put, on the minute, oldest first.
#[test]
fn metric_data_goes_over_cbor_and_reads_back_as_put() {
    let _sandbox = infra_tests::reading();
    runtime().block_on(async {
        let wire = Wire::default();
        let cloudwatch = client(&wire).await;
        let start = minute_ago(40);
        // 40 minutes, 5 datapoints a minute (values i and 0.5): 200 datums,
        // well over the SDK's 10 KiB threshold for compressing a request.
        let data: Vec<MetricDatum> = (0..40)
            .flat_map(|i| {
                (0..5).map(move |k| {
                    MetricDatum::builder()
                        .metric_name("Requests")
                        .dimensions(dimension())
                        .timestamp(DateTime::from_secs(start + i * 60 + k * 10))
                        .value(if k == 0 { i as f64 } else { 0.5 })
                        .build()
                })
            })
            .collect();
        cloudwatch
            .put_metric_data()
            .namespace(NAMESPACE)
            .set_metric_data(Some(data))
            .send()
            .await
            .expect("cloudwatch:PutMetricData (200 datums)");
        // A weighted datum: 99 fast responses and one slow one, a minute.
        for i in 0..40 {
            cloudwatch
                .put_metric_data()
                .namespace(NAMESPACE)
                .metric_data(
                    MetricDatum::builder()
                        .metric_name("Latency")
                        .dimensions(dimension())
                        .timestamp(DateTime::from_secs(start + i * 60 + 30))
                        .values(0.1)
                        .counts(98.0)
                        .values(0.25)
                        .counts(1.0)
                        .values(2.5)
                        .counts(1.0)
                        .build(),
                )
                .send()
                .await
                .expect("cloudwatch:PutMetricData (Values/Counts)");
        }

        let stat = |id: &str, name: &str, stat: &str, shown: bool| {
            MetricDataQuery::builder()
                .id(id)
                .metric_stat(
                    MetricStat::builder()
                        .metric(metric(name))
                        .period(60)
                        .stat(stat)
                        .build(),
                )
                .return_data(shown)
                .build()
        };
        let queries = vec![
            stat("requests", "Requests", "Sum", false),
            MetricDataQuery::builder()
                .id("doubled")
                .expression("requests * 2")
                .build(),
            stat("p99", "Latency", "p99", true),
            stat("p98", "Latency", "p98", true),
        ];
        let mut pages = cloudwatch
            .get_metric_data()
            .set_metric_data_queries(Some(queries))
            .start_time(DateTime::from_secs(start))
            .end_time(DateTime::from_secs(start + 40 * 60))
            .scan_by(ScanBy::TimestampAscending)
            .max_datapoints(7)
            .into_paginator()
            .send();
        let mut series: std::collections::BTreeMap<String, Vec<(i64, f64)>> = Default::default();
        let mut page_count = 0;
        let mut last_status = None;
        while let Some(page) = pages.next().await {
            let page = page.expect("cloudwatch:GetMetricData");
            page_count += 1;
            for result in page.metric_data_results() {
                let points = series.entry(result.id().unwrap().to_string()).or_default();
                for (t, v) in result.timestamps().iter().zip(result.values()) {
                    assert_eq!(t.subsec_nanos(), 0, "a timestamp off the second: {t:?}");
                    points.push((t.secs(), *v));
                }
                last_status = result.status_code().cloned();
            }
        }
        assert_eq!(
            page_count,
            (3 * 40usize).div_ceil(7),
            "120 points at 7 a page"
        );
        assert_eq!(last_status, Some(StatusCode::Complete));
        assert_eq!(
            series.keys().collect::<Vec<_>>(),
            ["doubled", "p98", "p99"],
            "the hidden query is not returned"
        );
        let minutes = |f: &dyn Fn(i64) -> f64| -> Vec<(i64, f64)> {
            (0..40).map(|i| (start + i * 60, f(i))).collect()
        };
        assert_eq!(series["doubled"], minutes(&|i| (i as f64 + 2.0) * 2.0));
        assert_eq!(series["p99"], minutes(&|_| 0.25));
        assert_eq!(series["p98"], minutes(&|_| 0.1));

        wire.assert_all_cbor();
        let requests = wire.requests.lock().unwrap().clone();
        assert!(
            requests[0].ends_with("content-encoding=gzip"),
            "the 200-datum PutMetricData is sent compressed: {}",
            requests[0]
        );
        assert_eq!(
            wire.operations()
                .iter()
                .filter(|o| *o == "GetMetricData")
                .count(),
            page_count
        );
    });
}

/// Alarms over CBOR: PutMetricAlarm (with tags), PutCompositeAlarm,
/// DescribeAlarms one alarm a page through its paginator (both types, in
/// name order), what was put read back field by field, the tags through
/// ListTagsForResource.
#[test]
fn alarms_go_over_cbor_and_read_back_as_put() {
    let _sandbox = infra_tests::reading();
    runtime().block_on(async {
        let wire = Wire::default();
        let cloudwatch = client(&wire).await;
        let topic = "arn:aws:sns:eu-central-1:123456789012:cbor-alerts";
        for name in ["cbor-a", "cbor-b"] {
            cloudwatch
                .put_metric_alarm()
                .alarm_name(name)
                .namespace(NAMESPACE)
                .metric_name("Requests")
                .dimensions(dimension())
                .statistic(Statistic::Sum)
                .period(60)
                .evaluation_periods(5)
                .datapoints_to_alarm(3)
                .threshold(10.5)
                .comparison_operator(ComparisonOperator::GreaterThanThreshold)
                .actions_enabled(true)
                .alarm_actions(topic)
                .tags(Tag::builder().key("team").value("platform").build())
                .send()
                .await
                .expect("cloudwatch:PutMetricAlarm");
        }
        cloudwatch
            .put_composite_alarm()
            .alarm_name("cbor-both")
            .alarm_rule("ALARM(\"cbor-a\") AND ALARM(\"cbor-b\")")
            .actions_enabled(false)
            .alarm_actions(topic)
            .send()
            .await
            .expect("cloudwatch:PutCompositeAlarm");

        let mut pages = cloudwatch
            .describe_alarms()
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .max_records(1)
            .into_paginator()
            .send();
        let mut names = Vec::new();
        let mut metric_alarms = Vec::new();
        let mut composite_alarms = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.expect("cloudwatch:DescribeAlarms");
            for a in page.metric_alarms() {
                names.push(a.alarm_name().unwrap().to_string());
                metric_alarms.push(a.clone());
            }
            for a in page.composite_alarms() {
                names.push(a.alarm_name().unwrap().to_string());
                composite_alarms.push(a.clone());
            }
        }
        assert_eq!(
            names,
            ["cbor-a", "cbor-b", "cbor-both"],
            "one a page, in name order"
        );

        let a = &metric_alarms[0];
        assert_eq!(a.namespace(), Some(NAMESPACE));
        assert_eq!(a.metric_name(), Some("Requests"));
        assert_eq!(a.dimensions(), [dimension()]);
        assert_eq!(a.statistic(), Some(&Statistic::Sum));
        assert_eq!(
            (a.period(), a.evaluation_periods(), a.datapoints_to_alarm()),
            (Some(60), Some(5), Some(3))
        );
        assert_eq!(a.threshold(), Some(10.5));
        assert_eq!(
            a.comparison_operator(),
            Some(&ComparisonOperator::GreaterThanThreshold)
        );
        assert_eq!(a.actions_enabled(), Some(true));
        assert_eq!(a.alarm_actions(), [topic]);
        assert_eq!(a.state_value(), Some(&StateValue::Ok));
        let updated = a.state_updated_timestamp().expect("a timestamp").secs();
        let now = minute_ago(0);
        assert!(
            (now - 120..=now + 120).contains(&updated),
            "StateUpdatedTimestamp {updated} is not about now ({now})"
        );
        let both = &composite_alarms[0];
        assert_eq!(
            both.alarm_rule(),
            Some("ALARM(\"cbor-a\") AND ALARM(\"cbor-b\")")
        );
        assert_eq!(both.actions_enabled(), Some(false));

        let tags = cloudwatch
            .list_tags_for_resource()
            .resource_arn(a.alarm_arn().unwrap())
            .send()
            .await
            .expect("cloudwatch:ListTagsForResource");
        assert_eq!(
            tags.tags(),
            [Tag::builder().key("team").value("platform").build()]
        );

        wire.assert_all_cbor();
        assert_eq!(
            wire.operations(),
            [
                "PutMetricAlarm",
                "PutMetricAlarm",
                "PutCompositeAlarm",
                "DescribeAlarms",
                "DescribeAlarms",
                "DescribeAlarms",
                "ListTagsForResource",
            ]
        );
    });
}

/// A service error comes back in the RPCv2-CBOR error shape (`__type`,
/// `message`, the HTTP status) and the SDK parses it: SetAlarmState on an
/// alarm that does not exist is the modeled `ResourceNotFound` (404); a bad
/// metric-math expression an unmodeled `ValidationError` (400) with its
/// message, which is what `verify` reports as "could not see".
#[test]
fn cloudwatch_errors_come_back_in_the_cbor_error_shape() {
    let _sandbox = infra_tests::reading();
    runtime().block_on(async {
        let wire = Wire::default();
        let cloudwatch = client(&wire).await;
        let missing = cloudwatch
            .set_alarm_state()
            .alarm_name("no-such-alarm")
            .state_value(StateValue::Alarm)
            .state_reason("test")
            .send()
            .await
            .expect_err("no such alarm");
        assert_eq!(
            missing.raw_response().map(|r| r.status().as_u16()),
            Some(404)
        );
        let missing = missing.into_service_error();
        assert!(missing.is_resource_not_found(), "{missing:?}");
        assert_eq!(missing.code(), Some("ResourceNotFound"));

        let bad = cloudwatch
            .get_metric_data()
            .metric_data_queries(
                MetricDataQuery::builder()
                    .id("e")
                    .expression("nothing * 2")
                    .build(),
            )
            .start_time(DateTime::from_secs(minute_ago(10)))
            .end_time(DateTime::from_secs(minute_ago(0)))
            .send()
            .await
            .expect_err("an unknown id in an expression");
        assert_eq!(bad.raw_response().map(|r| r.status().as_u16()), Some(400));
        let bad = bad.into_service_error();
        assert_eq!(bad.code(), Some("ValidationError"), "{bad:?}");
        assert!(
            bad.message()
                .is_some_and(|m| m.contains("Unrecognized identifier nothing")),
            "{bad:?}"
        );

        wire.assert_all_cbor();
        let responses = wire.responses.lock().unwrap().clone();
        assert_eq!(
            responses,
            [
                "404 smithy-protocol=rpc-v2-cbor content-type=application/cbor",
                "400 smithy-protocol=rpc-v2-cbor content-type=application/cbor",
            ]
        );
    });
}
