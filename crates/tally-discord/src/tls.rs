//! TLS set-up shared by every client Tally opens (Discord's REST and
//! gateway, the CDN, PostgreSQL): rustls with its ring crypto, chosen once.

/// Selects rustls' crypto (ring) once per process; idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
