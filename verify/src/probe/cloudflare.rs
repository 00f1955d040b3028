//! A typed, read-only client for the Cloudflare API v4 endpoints the
//! `cloudflare.*` checks (and `edge.alb.origin_locked`) read.
//!
//! Only `GET`s. Every request is bounded by the client's timeout (connect,
//! send and the whole body). Cloudflare's envelope is checked on every
//! answer: `success = false` or a non-2xx status is always an error naming
//! the endpoint and carrying Cloudflare's `errors`, never data; 401/403 is
//! [`CloudflareError::Unauthorized`].
//!
//! HTTPS goes through hyper-rustls with the aws-lc-rs provider and the
//! webpki roots; plain `http://` base URLs are accepted for the sandbox.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::StatusCode;
use hyper::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Cloudflare's API v4 base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.cloudflare.com/client/v4";

/// The id of the Cloudflare Managed Ruleset, which `cloudflare.waf` expects
/// the managed-firewall entrypoint of a zone on a paid plan to `execute`.
pub const CLOUDFLARE_MANAGED_RULESET_ID: &str = "efb7b8c949ac4650a09736fc376e9aee";

/// The id of the Cloudflare Managed Free Ruleset: what a zone on the Free
/// plan runs (the paid ruleset is not available there).
pub const CLOUDFLARE_MANAGED_FREE_RULESET_ID: &str = "77454fe2d30c4220b5701f6fdfb893ba";

/// The managed ruleset a zone on `plan` runs (the plan's `legacy_id`,
/// `free`/`pro`/`business`/`enterprise`, or its name, `Free Website`).
///
/// ```
/// use verify::probe::cloudflare::*;
/// assert_eq!(managed_ruleset_for_plan("free"), CLOUDFLARE_MANAGED_FREE_RULESET_ID);
/// assert_eq!(managed_ruleset_for_plan("Free Website"), CLOUDFLARE_MANAGED_FREE_RULESET_ID);
/// assert_eq!(managed_ruleset_for_plan("enterprise"), CLOUDFLARE_MANAGED_RULESET_ID);
/// ```
pub fn managed_ruleset_for_plan(plan: &str) -> &'static str {
    let plan = plan.trim().to_ascii_lowercase();
    if plan == "free" || plan.starts_with("free ") {
        CLOUDFLARE_MANAGED_FREE_RULESET_ID
    } else {
        CLOUDFLARE_MANAGED_RULESET_ID
    }
}

/// The phase of the managed WAF rulesets' entrypoint (`cloudflare.waf`).
pub const FIREWALL_MANAGED_PHASE: &str = "http_request_firewall_managed";

/// The Configuration Rules phase (`set_config` rules can set `ssl` per
/// request; `cloudflare.ssl_strict`).
pub const CONFIG_SETTINGS_PHASE: &str = "http_config_settings";

/// Cloudflare's largest page size for custom hostnames (the default here).
pub const MAX_PER_PAGE: u32 = 50;

/// More pages than this on one list means the server is not paginating
/// sanely; the client stops with [`CloudflareError::Decode`].
const MAX_PAGES: u32 = 10_000;

/// Bundled fallback for Cloudflare's published edge ranges, for when `/ips`
/// cannot be fetched.
///
/// Snapshot of <https://www.cloudflare.com/ips-v4> and
/// <https://www.cloudflare.com/ips-v6> as known on **2025-01-15** (the list
/// has not changed since 2023; this build could not re-fetch it). See
/// [`FALLBACK_IPS_AS_OF`]. A check using it must say so in its evidence.
pub const FALLBACK_IPS: StaticCloudflareIps = StaticCloudflareIps {
    ipv4_cidrs: &[
        "173.245.48.0/20",
        "103.21.244.0/22",
        "103.22.200.0/22",
        "103.31.4.0/22",
        "141.101.64.0/18",
        "108.162.192.0/18",
        "190.93.240.0/20",
        "188.114.96.0/20",
        "197.234.240.0/22",
        "198.41.128.0/17",
        "162.158.0.0/15",
        "104.16.0.0/13",
        "104.24.0.0/14",
        "172.64.0.0/13",
        "131.0.72.0/22",
    ],
    ipv6_cidrs: &[
        "2400:cb00::/32",
        "2606:4700::/32",
        "2803:f800::/32",
        "2405:b500::/32",
        "2405:8100::/32",
        "2a06:98c0::/29",
        "2c0f:f248::/32",
    ],
};

/// The date of the [`FALLBACK_IPS`] snapshot (ISO 8601).
pub const FALLBACK_IPS_AS_OF: &str = "2025-01-15";

/// A compile-time list of Cloudflare ranges ([`FALLBACK_IPS`]).
#[derive(Debug, Clone, Copy)]
pub struct StaticCloudflareIps {
    /// IPv4 CIDRs.
    pub ipv4_cidrs: &'static [&'static str],
    /// IPv6 CIDRs.
    pub ipv6_cidrs: &'static [&'static str],
}

impl StaticCloudflareIps {
    /// As the owned type `/ips` returns.
    pub fn to_owned_ips(&self) -> CloudflareIps {
        CloudflareIps {
            ipv4_cidrs: self.ipv4_cidrs.iter().map(|s| (*s).to_owned()).collect(),
            ipv6_cidrs: self.ipv6_cidrs.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

/// One entry of Cloudflare's `errors` (or `messages`) array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiMessage {
    /// Cloudflare's error code (`9109`, `7003`, …).
    #[serde(default)]
    pub code: i64,
    /// Its message.
    #[serde(default)]
    pub message: String,
}

/// Formats a list of [`ApiMessage`]s as `[code] message; …`.
struct Messages<'a>(&'a [ApiMessage]);

impl fmt::Display for Messages<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("no error detail");
        }
        for (i, m) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "[{}] {}", m.code, m.message)?;
        }
        Ok(())
    }
}

/// Why a Cloudflare read gave no data. Every variant names the endpoint
/// (`GET /zones/{zone_id}/settings/ssl`, without the base URL).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CloudflareError {
    /// The client could not be built (bad base URL, TLS configuration).
    #[error("Cloudflare client: {0}")]
    Config(String),
    /// 401/403: the token is missing, wrong, or lacks the permission.
    #[error("{endpoint}: HTTP {status}: unauthorized: {}", Messages(errors))]
    Unauthorized {
        /// The endpoint called.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// Cloudflare's errors.
        errors: Vec<ApiMessage>,
    },
    /// A non-2xx status or `success = false`.
    #[error("{endpoint}: HTTP {status}: {}", Messages(errors))]
    Api {
        /// The endpoint called.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// Cloudflare's errors.
        errors: Vec<ApiMessage>,
    },
    /// No zone of that name is visible to the token.
    #[error("{endpoint}: no zone named {name:?} visible to this token")]
    ZoneNotFound {
        /// The endpoint called.
        endpoint: String,
        /// The zone name asked for.
        name: String,
    },
    /// No complete answer within the timeout.
    #[error("{endpoint}: no answer within {timeout:?}")]
    Timeout {
        /// The endpoint called.
        endpoint: String,
        /// The timeout that elapsed.
        timeout: Duration,
    },
    /// Connection refused, reset, TLS failure, DNS failure…
    #[error("{endpoint}: {message}")]
    Transport {
        /// The endpoint called.
        endpoint: String,
        /// What failed, with its causes.
        message: String,
    },
    /// The answer is not the JSON shape expected.
    #[error("{endpoint}: HTTP {status}: undecodable answer: {message}")]
    Decode {
        /// The endpoint called.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// What did not decode.
        message: String,
    },
}

impl CloudflareError {
    /// The endpoint the error is about, if any.
    pub fn endpoint(&self) -> Option<&str> {
        match self {
            Self::Config(_) => None,
            Self::Unauthorized { endpoint, .. }
            | Self::Api { endpoint, .. }
            | Self::ZoneNotFound { endpoint, .. }
            | Self::Timeout { endpoint, .. }
            | Self::Transport { endpoint, .. }
            | Self::Decode { endpoint, .. } => Some(endpoint),
        }
    }
}

/// A zone ruleset (here: a phase entrypoint).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ruleset {
    /// The ruleset id.
    pub id: String,
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// `zone`, `root`, `managed`, `custom`.
    #[serde(default)]
    pub kind: Option<String>,
    /// The phase it is the entrypoint of.
    #[serde(default)]
    pub phase: Option<String>,
    /// Its version.
    #[serde(default)]
    pub version: Option<String>,
    /// Its rules, in order.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

impl Ruleset {
    /// The enabled rules whose action is `execute` of `ruleset_id`.
    pub fn executing(&self, ruleset_id: &str) -> impl Iterator<Item = &Rule> {
        self.rules
            .iter()
            .filter(move |r| r.enabled && r.executes() == Some(ruleset_id))
    }
}

/// One rule of a [`Ruleset`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// The rule id.
    #[serde(default)]
    pub id: Option<String>,
    /// `execute`, `block`, `skip`, …
    #[serde(default)]
    pub action: Option<String>,
    /// The action's parameters (`{"id": …}` for `execute`).
    #[serde(default)]
    pub action_parameters: Option<Value>,
    /// The filter expression.
    #[serde(default)]
    pub expression: Option<String>,
    /// The description.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether it is enabled (Cloudflare's default when absent: true).
    #[serde(default = "default_true")]
    pub enabled: bool,
}

impl Rule {
    /// The ruleset id this rule executes, if its action is `execute`.
    pub fn executes(&self) -> Option<&str> {
        if self.action.as_deref() != Some("execute") {
            return None;
        }
        self.action_parameters.as_ref()?.get("id")?.as_str()
    }

    /// How this rule's ruleset-level `action_parameters.overrides` neutralise
    /// the ruleset it executes, if they do: `enabled: false` (every rule
    /// off, whatever category or rule overrides turn back on) or
    /// `action: "log"` (nothing blocked).
    pub fn neutralising_override(&self) -> Option<String> {
        let overrides = self.action_parameters.as_ref()?.get("overrides")?;
        if overrides.get("enabled") == Some(&Value::Bool(false)) {
            return Some("overrides.enabled = false".into());
        }
        match overrides.get("action").and_then(Value::as_str) {
            Some(action @ "log") => Some(format!("overrides.action = {action}")),
            _ => None,
        }
    }

    /// How this rule skips the whole ruleset `ruleset_id` running in
    /// `phase`, if it is an enabled `skip`: `ruleset: "current"` (every
    /// remaining rule of the entrypoint), `rulesets` naming it, or `phases`
    /// naming `phase`. Skipping single rules (`rules`) is not counted.
    pub fn skips(&self, ruleset_id: &str, phase: &str) -> Option<String> {
        if !self.enabled || self.action.as_deref() != Some("skip") {
            return None;
        }
        let parameters = self.action_parameters.as_ref()?;
        let names = |key: &str, wanted: &str| {
            parameters
                .get(key)
                .and_then(Value::as_array)
                .is_some_and(|list| list.iter().any(|v| v.as_str() == Some(wanted)))
        };
        if parameters.get("ruleset").and_then(Value::as_str) == Some("current") {
            Some("skip ruleset = current".into())
        } else if names("rulesets", ruleset_id) {
            Some(format!("skip rulesets [{ruleset_id}]"))
        } else if names("phases", phase) {
            Some(format!("skip phases [{phase}]"))
        } else {
            None
        }
    }

    /// `id "description"`, for messages (`(no id)` when absent).
    pub fn label(&self) -> String {
        let id = self.id.as_deref().unwrap_or("(no id)");
        match self.description.as_deref().filter(|d| !d.is_empty()) {
            Some(description) => format!("rule {id} \"{description}\""),
            None => format!("rule {id}"),
        }
    }
}

/// A Page Rule (`GET /zones/{zone_id}/pagerules`), as `cloudflare.ssl_strict`
/// needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageRule {
    /// The Page Rule id.
    pub id: String,
    /// `active` or `disabled`.
    #[serde(default)]
    pub status: String,
    /// Its URL targets (`{"target": "url", "constraint": {"operator", "value"}}`).
    #[serde(default)]
    pub targets: Vec<Value>,
    /// Its actions (`{"id": "ssl", "value": "flexible"}`, …).
    #[serde(default)]
    pub actions: Vec<Value>,
    /// Its priority.
    #[serde(default)]
    pub priority: Option<i64>,
}

impl PageRule {
    /// The value of action `id` (e.g. `ssl`), if the rule has that action.
    pub fn action(&self, id: &str) -> Option<&Value> {
        self.actions
            .iter()
            .find(|a| a.get("id").and_then(Value::as_str) == Some(id))
            .map(|a| a.get("value").unwrap_or(&Value::Null))
    }

    /// The URL patterns it matches, joined with `, `.
    pub fn patterns(&self) -> String {
        let patterns: Vec<&str> = self
            .targets
            .iter()
            .filter_map(|t| t.pointer("/constraint/value").and_then(Value::as_str))
            .collect();
        patterns.join(", ")
    }
}

fn default_true() -> bool {
    true
}

/// A custom hostname (Cloudflare for SaaS), as the check needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomHostname {
    /// The custom hostname id.
    pub id: String,
    /// The hostname.
    pub hostname: String,
    /// Hostname status: `active`, `pending`, `moved`, `blocked`, …
    pub status: String,
    /// Certificate status (`ssl.status`): `active`, `pending_validation`, …;
    /// `None` when the hostname has no `ssl` object.
    pub ssl_status: Option<String>,
}

#[derive(Deserialize)]
struct RawCustomHostname {
    id: String,
    hostname: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    ssl: Option<RawSsl>,
}

#[derive(Deserialize)]
struct RawSsl {
    #[serde(default)]
    status: Option<String>,
}

/// Cloudflare's edge ranges, from `/ips` (or [`FALLBACK_IPS`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudflareIps {
    /// IPv4 CIDRs.
    pub ipv4_cidrs: Vec<String>,
    /// IPv6 CIDRs.
    pub ipv6_cidrs: Vec<String>,
}

#[derive(Deserialize)]
struct Zone {
    id: String,
    name: String,
    #[serde(default)]
    plan: Option<ZonePlan>,
}

#[derive(Deserialize)]
struct ZonePlan {
    #[serde(default)]
    legacy_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// A zone as `GET /zones?name=` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneInfo {
    /// The zone id.
    pub id: String,
    /// Its plan: the `legacy_id` (`free`, `pro`, …), else the plan's name;
    /// `None` when Cloudflare did not say.
    pub plan: Option<String>,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    success: bool,
    #[serde(default)]
    errors: Vec<ApiMessage>,
    #[serde(default)]
    result: Value,
    #[serde(default)]
    result_info: Option<ResultInfo>,
}

#[derive(Deserialize)]
struct ResultInfo {
    #[serde(default)]
    total_pages: Option<u32>,
}

/// The read-only Cloudflare API client.
#[derive(Clone)]
pub struct CloudflareClient {
    base_url: String,
    token: String,
    timeout: Duration,
    per_page: u32,
    http: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
}

impl fmt::Debug for CloudflareClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudflareClient")
            .field("base_url", &self.base_url)
            .field("token", &"<redacted>")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl CloudflareClient {
    /// A client for `base_url` (default [`DEFAULT_BASE_URL`]; `http://` is
    /// accepted for the sandbox) authenticating with the API `token`, every
    /// request bounded by `timeout`.
    pub fn new(
        base_url: Option<&str>,
        token: &str,
        timeout: Duration,
    ) -> Result<Self, CloudflareError> {
        let base_url = base_url
            .unwrap_or(DEFAULT_BASE_URL)
            .trim_end_matches('/')
            .to_owned();
        let uri: hyper::Uri = base_url
            .parse()
            .map_err(|e| CloudflareError::Config(format!("base URL {base_url:?}: {e}")))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err(CloudflareError::Config(format!(
                "base URL {base_url:?}: expected http(s)://host[:port]/path"
            )));
        }
        HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| CloudflareError::Config("the token is not a valid header value".into()))?;

        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| CloudflareError::Config(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();

        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);

        Ok(Self {
            base_url,
            token: token.to_owned(),
            timeout,
            per_page: MAX_PER_PAGE,
            http,
        })
    }

    /// Uses pages of `per_page` items on list endpoints (default and
    /// Cloudflare's maximum: [`MAX_PER_PAGE`]).
    pub fn with_per_page(mut self, per_page: u32) -> Self {
        self.per_page = per_page.clamp(1, MAX_PER_PAGE);
        self
    }

    /// The base URL in use.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The id of the zone named `name` (`GET /zones?name=`).
    pub async fn zone_id(&self, name: &str) -> Result<String, CloudflareError> {
        Ok(self.zone(name).await?.id)
    }

    /// The zone named `name`, with its plan (`GET /zones?name=`).
    pub async fn zone(&self, name: &str) -> Result<ZoneInfo, CloudflareError> {
        let path = format!("/zones?name={}", encode_query(name));
        let endpoint = format!("GET {path}");
        let envelope = self.get(&path, true).await?;
        let zones: Vec<Zone> = decode(&endpoint, envelope.result)?;
        zones
            .into_iter()
            .find(|z| z.name.eq_ignore_ascii_case(name.trim_end_matches('.')))
            .map(|z| ZoneInfo {
                id: z.id,
                plan: z
                    .plan
                    .and_then(|p| p.legacy_id.filter(|l| !l.is_empty()).or(p.name)),
            })
            .ok_or_else(|| CloudflareError::ZoneNotFound {
                endpoint,
                name: name.to_owned(),
            })
    }

    /// The value of zone setting `name` (`ssl`, `min_tls_version`,
    /// `always_use_https`, …): `GET /zones/{zone_id}/settings/{name}`.
    pub async fn setting(&self, zone_id: &str, name: &str) -> Result<Value, CloudflareError> {
        let path = format!("/zones/{zone_id}/settings/{name}");
        let endpoint = format!("GET {path}");
        let mut envelope = self.get(&path, true).await?;
        match envelope.result.get_mut("value") {
            Some(value) => Ok(value.take()),
            None => Err(CloudflareError::Decode {
                endpoint,
                status: 200,
                message: "result has no `value`".into(),
            }),
        }
    }

    /// The zone's `http_request_firewall_managed` phase entrypoint ruleset;
    /// `None` when Cloudflare answers 404 for it (no entrypoint). A 404 that
    /// says the zone itself is unknown (code 7003/7000) stays an error.
    pub async fn firewall_managed_entrypoint(
        &self,
        zone_id: &str,
    ) -> Result<Option<Ruleset>, CloudflareError> {
        self.phase_entrypoint(zone_id, FIREWALL_MANAGED_PHASE).await
    }

    /// The zone's `http_config_settings` (Configuration Rules) entrypoint;
    /// `None` when the zone has none (404), as for
    /// [`Self::firewall_managed_entrypoint`].
    pub async fn config_settings_entrypoint(
        &self,
        zone_id: &str,
    ) -> Result<Option<Ruleset>, CloudflareError> {
        self.phase_entrypoint(zone_id, CONFIG_SETTINGS_PHASE).await
    }

    /// Every Page Rule of the zone, active or not
    /// (`GET /zones/{zone_id}/pagerules`), following `result_info.total_pages`
    /// if Cloudflare ever pages the answer.
    pub async fn page_rules(&self, zone_id: &str) -> Result<Vec<PageRule>, CloudflareError> {
        let mut all: Vec<PageRule> = Vec::new();
        let mut page = 1u32;
        loop {
            let path = if page == 1 {
                format!("/zones/{zone_id}/pagerules")
            } else {
                format!("/zones/{zone_id}/pagerules?page={page}")
            };
            let endpoint = format!("GET {path}");
            let envelope = self.get(&path, true).await?;
            let total_pages = envelope.result_info.as_ref().and_then(|i| i.total_pages);
            let rules: Vec<PageRule> = decode(&endpoint, envelope.result)?;
            let count = rules.len();
            let mut fresh = 0;
            for rule in rules {
                if !all.iter().any(|r| r.id == rule.id) {
                    fresh += 1;
                    all.push(rule);
                }
            }
            if page > 1 && count > 0 && fresh == 0 {
                return Err(CloudflareError::Decode {
                    endpoint,
                    status: 200,
                    message: format!("page {page} only repeats Page Rules of earlier pages"),
                });
            }
            if !total_pages.is_some_and(|total| page < total && count > 0) {
                return Ok(all);
            }
            page += 1;
            if page > MAX_PAGES {
                return Err(CloudflareError::Decode {
                    endpoint,
                    status: 200,
                    message: format!("pagination did not end after {MAX_PAGES} pages"),
                });
            }
        }
    }

    /// The zone's entrypoint ruleset of `phase`; `None` on a 404 that is not
    /// about the zone itself (code 7003/7000 stays an error).
    async fn phase_entrypoint(
        &self,
        zone_id: &str,
        phase: &str,
    ) -> Result<Option<Ruleset>, CloudflareError> {
        let path = format!("/zones/{zone_id}/rulesets/phases/{phase}/entrypoint");
        let endpoint = format!("GET {path}");
        match self.get(&path, true).await {
            Ok(envelope) => decode(&endpoint, envelope.result).map(Some),
            Err(CloudflareError::Api {
                status: 404,
                errors,
                ..
            }) if !errors.iter().any(|e| matches!(e.code, 7000 | 7003)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every custom hostname of the zone, following every page
    /// (`GET /zones/{zone_id}/custom_hostnames?page=&per_page=`).
    pub async fn custom_hostnames(
        &self,
        zone_id: &str,
    ) -> Result<Vec<CustomHostname>, CloudflareError> {
        let mut all = Vec::new();
        let mut seen = HashSet::new();
        let mut page = 1u32;
        loop {
            let path = format!(
                "/zones/{zone_id}/custom_hostnames?page={page}&per_page={}",
                self.per_page
            );
            let endpoint = format!("GET {path}");
            let envelope = self.get(&path, true).await?;
            let total_pages = envelope.result_info.as_ref().and_then(|i| i.total_pages);
            let items: Vec<RawCustomHostname> = decode(&endpoint, envelope.result)?;
            let count = items.len();
            // Offset pagination over a list that changes may repeat an item:
            // keep the first. A page made only of repeats means the server
            // ignores `page`: an error rather than a loop.
            let mut fresh = 0;
            for h in items {
                if seen.insert(h.id.clone()) {
                    fresh += 1;
                    all.push(CustomHostname {
                        id: h.id,
                        hostname: h.hostname,
                        status: h.status.unwrap_or_default(),
                        ssl_status: h.ssl.and_then(|s| s.status),
                    });
                }
            }
            if count > 0 && fresh == 0 {
                return Err(CloudflareError::Decode {
                    endpoint,
                    status: 200,
                    message: format!("page {page} only repeats hostnames of earlier pages"),
                });
            }
            // Follow `result_info.total_pages`; without it, keep going while
            // pages come back full, so a missing `result_info` never hides
            // hostnames.
            let more = match total_pages {
                Some(total) => page < total && count > 0,
                None => count >= self.per_page as usize,
            };
            if !more {
                break;
            }
            page += 1;
            if page > MAX_PAGES {
                return Err(CloudflareError::Decode {
                    endpoint,
                    status: 200,
                    message: format!("pagination did not end after {MAX_PAGES} pages"),
                });
            }
        }
        Ok(all)
    }

    /// Cloudflare's published edge ranges (`GET /ips`, unauthenticated).
    /// On error, a caller may fall back to [`FALLBACK_IPS`], saying so.
    pub async fn ips(&self) -> Result<CloudflareIps, CloudflareError> {
        let envelope = self.get("/ips", false).await?;
        decode("GET /ips", envelope.result)
    }

    /// One `GET`, bounded by the timeout, its envelope checked.
    async fn get(&self, path: &str, authenticated: bool) -> Result<Envelope, CloudflareError> {
        let endpoint = format!("GET {path}");
        let url = format!("{}{path}", self.base_url);
        let mut builder = hyper::Request::get(&url).header(ACCEPT, "application/json");
        if authenticated {
            builder = builder.header(AUTHORIZATION, format!("Bearer {}", self.token));
        }
        let request = builder
            .body(Empty::new())
            .map_err(|e| CloudflareError::Config(format!("{endpoint}: {e}")))?;

        let exchange = async {
            let response =
                self.http
                    .request(request)
                    .await
                    .map_err(|e| CloudflareError::Transport {
                        endpoint: endpoint.clone(),
                        message: error_chain(&e),
                    })?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| CloudflareError::Transport {
                    endpoint: endpoint.clone(),
                    message: format!("reading the body: {}", error_chain(&e)),
                })?
                .to_bytes();
            Ok::<_, CloudflareError>((status, body))
        };
        let (status, body) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| CloudflareError::Timeout {
                endpoint: endpoint.clone(),
                timeout: self.timeout,
            })??;

        let parsed: Result<Envelope, _> = serde_json::from_slice(&body);
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            return Err(CloudflareError::Unauthorized {
                endpoint,
                status: status.as_u16(),
                errors: parsed.map(|e| e.errors).unwrap_or_default(),
            });
        }
        let envelope = parsed.map_err(|e| CloudflareError::Decode {
            endpoint: endpoint.clone(),
            status: status.as_u16(),
            message: format!("not a Cloudflare envelope: {e}"),
        })?;
        if !status.is_success() || !envelope.success {
            return Err(CloudflareError::Api {
                endpoint,
                status: status.as_u16(),
                errors: envelope.errors,
            });
        }
        Ok(envelope)
    }
}

fn decode<T: DeserializeOwned>(endpoint: &str, result: Value) -> Result<T, CloudflareError> {
    serde_json::from_value(result).map_err(|e| CloudflareError::Decode {
        endpoint: endpoint.to_owned(),
        status: 200,
        message: e.to_string(),
    })
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// RFC 3986's unreserved characters: all a query value keeps as they are.
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a query value (everything but unreserved characters).
fn encode_query(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode_query("restartix.test"), "restartix.test");
        assert_eq!(encode_query("a b&c"), "a%20b%26c");
        assert_eq!(encode_query("x~y_z-é"), "x~y_z-%C3%A9");
    }

    #[test]
    fn execute_rules_are_recognised_only_when_enabled_and_executing() {
        let ruleset: Ruleset = serde_json::from_value(serde_json::json!({
            "id": "r",
            "rules": [
                {"action": "execute", "action_parameters": {"id": CLOUDFLARE_MANAGED_RULESET_ID}},
                {"action": "execute", "action_parameters": {"id": CLOUDFLARE_MANAGED_RULESET_ID}, "enabled": false},
                {"action": "block", "action_parameters": {"id": CLOUDFLARE_MANAGED_RULESET_ID}},
            ]
        }))
        .unwrap();
        assert_eq!(ruleset.executing(CLOUDFLARE_MANAGED_RULESET_ID).count(), 1);
        assert_eq!(ruleset.executing("other").count(), 0);
    }

    #[test]
    fn fallback_list_is_dated_and_not_empty() {
        assert_eq!(FALLBACK_IPS_AS_OF.len(), 10);
        let ips = FALLBACK_IPS.to_owned_ips();
        assert!(ips.ipv4_cidrs.len() >= 10 && ips.ipv6_cidrs.len() >= 5);
    }
}
