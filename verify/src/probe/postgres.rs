//! TLS for Postgres clients (the drills' probes): tokio-postgres over
//! tokio-rustls, trusting the public roots plus a CA file (for RDS, Amazon's
//! `global-bundle.pem`). The certificate and the host name are always
//! verified, whatever the `sslmode` (stricter than libpq's `require`).
//! No SCRAM channel binding: the server sees a client without it, as with libpq's
//! `channel_binding=prefer` against a server that does not insist.
//!
//! Why this is written here rather than taken from a crate: the adapters that
//! exist (tokio-postgres-rustls, postgres-rustls) would add x509-cert and a
//! second const-oid to the build only for channel binding. What remains is
//! the glue tokio-postgres's [`MakeTlsConnect`]/[`TlsConnect`] traits ask
//! for: no parsing, no verification of its own. The certificate and name
//! checks are rustls's ([`super::tls`]'s client config), and the name is the
//! host as tokio-postgres hands it over from its parsed `Config` (a DNS name
//! or an IP address, IPv6 included), never taken from the URL here.
//!
//! ```
//! let tls = verify::probe::postgres::RustlsConnector::new(&[]).unwrap();
//! # let _ = tls;
//! ```

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use tokio_rustls::TlsConnector;

use super::tls::ProbeError;
use super::tls::client_config;

/// Makes a TLS connection per Postgres connection ([`MakeTlsConnect`]).
#[derive(Clone)]
pub struct RustlsConnector {
    config: Arc<rustls::ClientConfig>,
}

impl RustlsConnector {
    /// Trusts `webpki-roots` plus `extra_roots`.
    pub fn new(extra_roots: &[CertificateDer<'static>]) -> Result<Self, ProbeError> {
        Ok(RustlsConnector {
            config: client_config(extra_roots, &[])?,
        })
    }
}

impl<S> MakeTlsConnect<S> for RustlsConnector
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = rustls_pki_types::InvalidDnsNameError;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnect, Self::Error> {
        Ok(RustlsConnect {
            connector: TlsConnector::from(self.config.clone()),
            name: ServerName::try_from(domain.to_string())?,
        })
    }
}

/// One connection's handshake ([`TlsConnect`]).
pub struct RustlsConnect {
    connector: TlsConnector,
    name: ServerName<'static>,
}

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let tls = self.connector.connect(self.name, stream).await?;
            Ok(RustlsStream(Box::new(tls)))
        })
    }
}

/// A TLS stream tokio-postgres reads and writes through.
pub struct RustlsStream<S>(Box<tokio_rustls::client::TlsStream<S>>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}
