//! What PostgreSQL's and Redis's TLS share: reading a CA file, and telling
//! a refused certificate from a server that is not up yet.

use std::error::Error;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

/// The CA certificates of a PEM file.
pub fn root_store(path: &Path) -> anyhow::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    let certificates = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("reading the CA file {}", path.display()))?;
    for certificate in certificates {
        let certificate =
            certificate.with_context(|| format!("reading the CA file {}", path.display()))?;
        roots
            .add(certificate)
            .with_context(|| format!("a certificate of {} is not a usable CA", path.display()))?;
    }
    if roots.is_empty() {
        bail!("the CA file {} holds no certificate", path.display());
    }
    Ok(roots)
}

/// Whether the TLS handshake failed (a certificate the CA did not sign, a
/// host name it does not name, no common protocol): retrying will not help,
/// unlike a refused or lost connection.
pub fn is_handshake_failure(err: &(dyn Error + 'static)) -> bool {
    if err.is::<rustls::Error>() {
        return true;
    }
    // Wrappers whose source() skips the error they hold (io::Error's skips
    // its payload, an Arc's answers its content's source): look inside.
    let wrapped = if let Some(io) = err.downcast_ref::<std::io::Error>() {
        io.get_ref().map(|inner| inner as &(dyn Error + 'static))
    } else {
        err.downcast_ref::<Arc<dyn Error + Send + Sync>>()
            .map(|inner| inner.as_ref() as &(dyn Error + 'static))
    };
    wrapped.is_some_and(is_handshake_failure) || err.source().is_some_and(is_handshake_failure)
}
