//! Every sandbox suite in one test binary (linking the SDK once), a module
//! per area. Each test holds the sandbox's test lock for its whole run:
//! [`infra_tests::reading`] when it only reads what others read (most seed a
//! fresh account, or start stand-ins of their own, for what they break), or
//! [`infra_tests::changing`] when it changes the shared data plane (a
//! failover, a drill) and must run alone. So they all run in parallel but
//! for those few, within this binary and across processes alike.

mod alarms_budgets;
mod checks;
mod cloudwatch_cbor;
mod drill_alarm_route;
mod drill_az_outage;
mod drill_pgbouncer;
mod drill_pitr;
mod drill_rds;
mod edge_breaks;
mod errors;
mod identity;
mod pgbouncer_data_path;
mod probes_cloudflare_dns;
mod probes_edge;
mod rds_data_plane;
mod read_only;
mod reset;
mod spec;
mod terraform;
mod waf_rate_limit;
