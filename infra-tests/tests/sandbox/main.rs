//! The sandbox suites that share nothing they change: one test binary
//! (linking the SDK once), a module per area of the harness. Each test
//! seeds a fresh account (or starts its own stand-in) for what it breaks,
//! so they run in parallel with one another.
//!
//! The suites that change what every test reads (the shared edge's knobs,
//! the RDS data plane, the pgbouncer tasks, a reset) and the drills keep
//! binaries of their own: cargo runs test binaries one after another.

mod alarms_budgets;
mod checks;
mod errors;
mod identity;
mod probes_cloudflare_dns;
mod probes_edge;
mod read_only;
mod spec;
mod terraform;
