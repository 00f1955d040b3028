//! `cloudflare.custom_hostname_waf` for the decisions the sandbox spec does
//! not declare (it declares `aws_waf_on_alb`, judged in `checks.rs`), and the
//! rate-limit canary `canary.sign_in_rate_limit` both ways. Each case starts
//! stand-ins of its own (so it can break them) and a freshly seeded account.

use std::time::SystemTime;

use fixtures::core_api::Knobs;
use fixtures::standins;
use infra_tests::{Account, runtime};
use rstest::rstest;
use serde_json::json;
use verify::spec::CustomHostnameWaf;
use verify::{Outcome, Status};

/// `cloudflare.custom_hostname_waf` under `decision`, on stand-ins broken
/// by the stand-in break `broken` (if any).
async fn waf_check(decision: CustomHostnameWaf, broken: Option<&str>) -> Outcome {
    let dir = std::env::temp_dir().join(format!(
        "verify-waf-{}-{}",
        std::process::id(),
        infra_tests::fresh_account()
    ));
    let standins = standins::start(&dir).await.expect("stand-ins");
    if let Some(name) = broken {
        standins::apply_break(&standins.state, name)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
    }
    let mut account = Account::seeded(&[]).await.expect("account");
    standins.state.endpoints().point(&mut account.env);
    let cf = account
        .env
        .edge
        .as_mut()
        .unwrap()
        .cloudflare
        .as_mut()
        .unwrap();
    cf.custom_hostname_waf = Some(decision);
    let outcome = account.check("cloudflare.custom_hostname_waf").await;
    standins.edge.shutdown().await;
    standins.cloudflare.shutdown();
    outcome
}

/// `waf_for_saas`: the stand-in's managed-firewall entrypoint executes the
/// managed ruleset for `true` (every hostname); a skip rule for the custom
/// hostnames before it leaves them uncovered, named with the rule.
#[rstest]
#[case::good(None, Status::Pass, &["zone 'restartix.test': managed ruleset (efb7b8c949ac4650a09736fc376e9aee) covers app.physio-bucharest.test by rule ", "portal.kinetic-cluj.test by rule "])]
#[case::skipped(Some("cloudflare-waf-skips-custom-hostnames"), Status::Fail, &["zone 'restartix.test': each custom hostname covered by an enabled rule executing the managed ruleset", "observed app.physio-bucharest.test: skipped by rule ", "\"clinic domains: no WAF\" (skip ruleset = current) when `http.host in {\"app.physio-bucharest.test\" \"portal.kinetic-cluj.test\"}`", "portal.kinetic-cluj.test: skipped by rule "])]
fn waf_for_saas_both_ways(
    #[case] broken: Option<&str>,
    #[case] status: Status,
    #[case] parts: &[&str],
) {
    let _sandbox = infra_tests::reading();
    let outcome = runtime().block_on(waf_check(CustomHostnameWaf::WafForSaas, broken));
    assert_eq!(outcome.status, status, "{}", outcome.message);
    for part in parts {
        assert!(
            outcome.message.contains(part),
            "{:?} lacks {part:?}",
            outcome.message
        );
    }
    let hosts = outcome.evidence.observed["hosts"]
        .as_array()
        .expect("hosts");
    assert_eq!(hosts.len(), 2, "{}", outcome.evidence);
    assert_eq!(
        outcome.evidence.expected["covers"],
        json!(["app.physio-bucharest.test", "portal.kinetic-cluj.test"])
    );
}

/// `accepted_gap` fails, saying only a waiver accepts it; a live waiver of
/// the check turns it into `waived` (and an expired one does not).
#[test]
fn an_accepted_gap_fails_unless_a_waiver_accepts_it() {
    let _sandbox = infra_tests::reading();
    let outcome = runtime().block_on(waf_check(CustomHostnameWaf::AcceptedGap, None));
    assert_eq!(outcome.status, Status::Fail, "{}", outcome.message);
    assert!(
        outcome.message.contains(
            "custom hostnames app.physio-bucharest.test, portal.kinetic-cluj.test have no WAF in \
             front of them (custom_hostname_waf = \"accepted_gap\")"
        ) && outcome
            .message
            .contains("accepted only by a waiver of cloudflare.custom_hostname_waf"),
        "{}",
        outcome.message
    );
    let waivers = |expires: &str| {
        verify::waivers::parse(
            &format!(
                "waiver \"cloudflare.custom_hostname_waf\" {{\n  justification = \"clinic \
                 domains behind no WAF until the Enterprise plan (OPS-500)\"\n  expires = \
                 \"{expires}\"\n}}\n"
            ),
            "waivers.hcl".as_ref(),
        )
        .expect("waivers")
    };
    let mut live = vec![outcome.clone()];
    verify::waivers::apply(
        &mut live,
        &waivers("2999-12-31"),
        "sandbox",
        SystemTime::now(),
    );
    assert_eq!(live[0].status, Status::Waived, "{}", live[0].message);
    let mut expired = vec![outcome];
    verify::waivers::apply(
        &mut expired,
        &waivers("2020-01-01"),
        "sandbox",
        SystemTime::now(),
    );
    assert_eq!(expired[0].status, Status::Fail, "{}", expired[0].message);
}

/// `canary.sign_in_rate_limit` from the sandbox spec, against a Core API of
/// its own (persisting into the running sandbox's database, as
/// `edge_breaks.rs`'s `canary_both_ways`): 401 five times then 429 is a
/// pass; with the limiter off the 6th is a 401 and the canary fails naming
/// request 6; without `--allow-writes` it is skipped and sends nothing.
#[rstest]
#[case::limited(Knobs::default(), true, Status::Pass, &["canary 'sign_in_rate_limit': 1 step(s) as expected"])]
#[case::no_limit(Knobs { no_sign_in_limit: true, ..Knobs::default() }, true, Status::Fail, &["canary 'sign_in_rate_limit': step `failed_sign_ins` request 6 of 6: status expected 429 (limited from request 6), observed 401 (statuses seen: 401, 401, 401, 401, 401, 401)"])]
#[case::no_writes(Knobs::default(), false, Status::Skip, &["canary 'sign_in_rate_limit': writes not allowed: pass --allow-writes (it would write: POST /v1/auth/sign-in)"])]
fn rate_limit_canary_both_ways(
    #[case] knobs: Knobs,
    #[case] allow_writes: bool,
    #[case] status: Status,
    #[case] parts: &[&str],
) {
    let _sandbox = infra_tests::reading();
    let outcome = runtime().block_on(crate::edge_breaks::canary_on_a_core_api_of_its_own(
        "canary.sign_in_rate_limit",
        knobs,
        allow_writes,
    ));
    assert_eq!(outcome.status, status, "{}", outcome.message);
    for part in parts {
        assert!(
            outcome.message.contains(part),
            "{:?} lacks {part:?}",
            outcome.message
        );
    }
    if allow_writes {
        let observed = &outcome.evidence.observed["steps"][0];
        let statuses = observed["statuses"].as_array().expect("statuses");
        assert_eq!(statuses.len(), 6, "{observed}");
        if status == Status::Pass {
            assert_eq!(observed["retry_after"], json!("60 s"), "{observed}");
        }
        // 401s and 429s wrote nothing.
        assert!(!outcome.message.contains("wrote:"), "{}", outcome.message);
    }
}
