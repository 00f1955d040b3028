//! Where a `sandbox = true` spec's services are: the AWS endpoint and its
//! static test credentials, the edge, Cloudflare API and DNS stand-ins, the
//! pgbouncer balancer and the RDS data plane's probe URL. The sandbox
//! program writes them as the `endpoints` field of its `state.json`; a run
//! reads them from the file it is given (`verify run --sandbox-state PATH`)
//! and never starts the sandbox itself.
//!
//! ```no_run
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use verify::sandbox::SandboxEndpoints;
//! let endpoints = SandboxEndpoints::load("target/sandbox/state.json".as_ref())?;
//! let mut env = verify::spec::load("environments/sandbox.hcl".as_ref())?;
//! endpoints.point(&mut env);
//! let connection = endpoints.connection(&env);
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::aws::Connection;
use crate::spec::{Environment, PgbouncerDrainDrill, PitrRestoreDrill};

/// The sandbox's endpoints, as its `state.json` records them (`endpoints`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SandboxEndpoints {
    /// moto behind the gap layer: every AWS client is pointed here.
    pub aws_endpoint_url: String,
    /// The sandbox's static test credentials (not a secret: moto accepts any).
    pub access_key_id: String,
    /// The static test secret (not a real credential).
    pub secret_access_key: String,
    /// The edge, Cloudflare API, DNS and pgbouncer stand-ins, when they run.
    pub standins: Option<StandinEndpoints>,
    /// `postgres://…` through the RDS data plane's endpoint, as the master
    /// user: the drills' probes and markers go here.
    pub rds_probe_url: Option<String>,
}

/// Where the stand-ins listen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StandinEndpoints {
    /// The edge's HTTPS port on loopback.
    pub edge_https_port: u16,
    /// The edge's plain-HTTP port on loopback.
    pub edge_http_port: u16,
    /// The sandbox CA the edge's certificate chains to.
    pub ca_file: PathBuf,
    /// The Cloudflare API stand-in's base URL.
    pub cloudflare_api_url: String,
    /// Its bearer token (the sandbox's own).
    pub cloudflare_token: String,
    /// The DNS stand-in (SES records).
    pub dns: SocketAddr,
    /// The NLB stand-in in front of the pgbouncer tasks.
    pub pgbouncer_endpoint: Option<SocketAddr>,
    /// The stand-ins' control API (`http://127.0.0.1:PORT`): the AZ-outage
    /// drill's cut on the sandbox (`POST /az-outage`).
    #[serde(default)]
    pub control_url: Option<String>,
}

/// Why the sandbox's endpoints cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// No state file here: the sandbox is not up.
    #[error(
        "{}: no sandbox state (is the sandbox running? `cargo xtask sandbox up` starts it; \
         --sandbox-state names another file)",
        .0.display()
    )]
    Missing(PathBuf),
    /// The state file could not be read or parsed.
    #[error("{}: {reason}", file.display())]
    Unreadable {
        /// The state file.
        file: PathBuf,
        /// Why.
        reason: String,
    },
}

/// The file `state.json` is read as: only its `endpoints`.
#[derive(Deserialize)]
struct StateFile {
    endpoints: Option<SandboxEndpoints>,
}

impl SandboxEndpoints {
    /// Reads the `endpoints` of a sandbox `state.json`.
    pub fn load(path: &Path) -> Result<SandboxEndpoints, SandboxError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SandboxError::Missing(path.to_path_buf()));
            }
            Err(e) => {
                return Err(SandboxError::Unreadable {
                    file: path.to_path_buf(),
                    reason: e.to_string(),
                });
            }
        };
        let state: StateFile =
            serde_json::from_str(&text).map_err(|e| SandboxError::Unreadable {
                file: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        state.endpoints.ok_or_else(|| SandboxError::Unreadable {
            file: path.to_path_buf(),
            reason: "no `endpoints` (written by an older sandbox: run `cargo xtask sandbox reset`)"
                .into(),
        })
    }

    /// The connection for `env`: its region and access, with the sandbox's
    /// endpoint and static test credentials.
    pub fn connection(&self, env: &Environment) -> Connection {
        let mut connection = Connection::for_environment(env);
        connection.access.endpoint = Some(self.aws_endpoint_url.clone());
        connection.static_credentials =
            Some((self.access_key_id.clone(), self.secret_access_key.clone()));
        connection
    }

    /// Points a sandbox environment at the stand-ins: its hostnames resolve
    /// to the edge on loopback, the sandbox CA is trusted, the Cloudflare API
    /// URL and token, the DNS server and the pgbouncer endpoint are filled
    /// in, and the drills' database URLs go through the data plane (a URL
    /// the spec sets is kept).
    pub fn point(&self, env: &mut Environment) {
        if let Some(standins) = &self.standins {
            standins.point(env);
        }
        let Some(probe_url) = &self.rds_probe_url else {
            return;
        };
        // The failover drill's probes go through the data plane's endpoint.
        if let Some(drill) = env.drills.rds_failover.as_mut()
            && drill.database_url.is_none()
        {
            drill.database_url = Some(probe_url.clone());
        }
        // The restore drill writes its markers through the endpoint too.
        let drill = env
            .drills
            .pitr_restore
            .get_or_insert_with(PitrRestoreDrill::defaults);
        if drill.database_url.is_none() {
            drill.database_url = Some(probe_url.clone());
        }
        // The AZ-outage drill's probes go through the balancer too, and its
        // cut is the stand-ins' control call.
        if let (Some(drill), Some(standins)) =
            (env.drills.az_outage.as_mut(), self.standins.as_ref())
        {
            if drill.sandbox_control_url.is_none() {
                drill.sandbox_control_url = standins.control_url.clone();
            }
            if let (None, Some(endpoint)) = (&drill.database_url, standins.pgbouncer_endpoint) {
                drill.database_url = Some(crate::drill::probe::with_host_port(
                    probe_url,
                    &endpoint.ip().to_string(),
                    endpoint.port(),
                ));
            }
        }
        // The drain drill's workload goes through the balancer (the NLB
        // stand-in) to pgbouncer, as the master user.
        if let Some(endpoint) = self.standins.as_ref().and_then(|s| s.pgbouncer_endpoint) {
            let drill = env
                .drills
                .pgbouncer_drain
                .get_or_insert_with(PgbouncerDrainDrill::defaults);
            if drill.database_url.is_none() {
                drill.database_url = Some(crate::drill::probe::with_host_port(
                    probe_url,
                    &endpoint.ip().to_string(),
                    endpoint.port(),
                ));
            }
        }
    }
}

impl StandinEndpoints {
    /// Points `env`'s edge, Cloudflare, SES, mail and pgbouncer blocks at these
    /// stand-ins (part of [`SandboxEndpoints::point`]).
    pub fn point(&self, env: &mut Environment) {
        let standins = self;
        if let Some(edge) = env.edge.as_mut() {
            let mut names: Vec<String> = edge.hostnames.clone();
            if let Some(cf) = &edge.cloudflare {
                names.extend(cf.custom_hostnames.iter().cloned());
            }
            edge.resolve = names
                .iter()
                .flat_map(|h| {
                    [
                        (
                            format!("{h}:443"),
                            format!("127.0.0.1:{}", standins.edge_https_port),
                        ),
                        (
                            format!("{h}:80"),
                            format!("127.0.0.1:{}", standins.edge_http_port),
                        ),
                    ]
                })
                .collect();
            edge.ca_file = Some(standins.ca_file.clone());
            if let Some(cf) = edge.cloudflare.as_mut() {
                cf.api_url = Some(standins.cloudflare_api_url.clone());
                cf.token = Some(standins.cloudflare_token.clone());
            }
        }
        if let Some(ses) = env.ses.as_mut() {
            ses.nameserver = Some(standins.dns.to_string());
        }
        if let Some(mail) = env.mail.as_mut() {
            mail.nameserver = Some(standins.dns.to_string());
        }
        if let (Some(pgbouncer), Some(endpoint)) =
            (env.pgbouncer.as_mut(), standins.pgbouncer_endpoint)
        {
            pgbouncer.endpoint = Some(endpoint.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_state_file_is_named_and_one_without_endpoints_says_why() {
        let dir = std::env::temp_dir().join(format!("verify-sandbox-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("none.json");
        let err = SandboxEndpoints::load(&missing).unwrap_err().to_string();
        assert!(
            err.contains("none.json") && err.contains("no sandbox state"),
            "{err}"
        );
        let old = dir.join("old.json");
        std::fs::write(&old, r#"{"aws_endpoint_url": "http://127.0.0.1:1"}"#).unwrap();
        let err = SandboxEndpoints::load(&old).unwrap_err().to_string();
        assert!(
            err.contains("old.json") && err.contains("no `endpoints`"),
            "{err}"
        );
        std::fs::write(&old, "{").unwrap();
        assert!(SandboxEndpoints::load(&old).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
