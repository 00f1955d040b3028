//! What reads the world outside AWS: TLS handshakes, HTTP, DNS, the Cloudflare
//! API, and TLS for Postgres clients.

pub mod cloudflare;
pub mod dns;
pub mod http;
pub mod postgres;
pub mod tls;
