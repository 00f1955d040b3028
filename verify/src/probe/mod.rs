//! What reads the world outside AWS: TLS handshakes, HTTP, DNS, the Cloudflare API.

pub mod cloudflare;
pub mod dns;
pub mod http;
pub mod tls;
