//! TLS to PostgreSQL, asked for as libpq is asked: `sslmode` and
//! `sslrootcert` in the query of `DATABASE_URL` (or among its key=value
//! pairs).
//!
//! | sslmode          | encrypted                  | the server's certificate checked          |
//! |------------------|----------------------------|-------------------------------------------|
//! | disable          | never                      | -                                         |
//! | prefer (default) | when the server offers TLS | against sslrootcert when given, else not  |
//! | require          | always                     | against sslrootcert when given, else not  |
//! | verify-ca        | always                     | against sslrootcert (required)            |
//! | verify-full      | always                     | against sslrootcert, and the host name    |
//!
//! tokio-postgres knows only the first three modes and no `sslrootcert`, so
//! both parameters are taken out of the URL here and become the connector.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::tls::root_store;

/// What `DATABASE_URL` asks of the connection's encryption.
pub struct Tls {
    pub mode: SslMode,
    /// `None`: plain connections only (sslmode=disable).
    pub connector: Option<MakeRustlsConnect>,
}

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Nothing,
    Chain,
    ChainAndHost,
}

/// Splits `url` into a URL tokio-postgres accepts and its TLS settings.
/// Both of libpq's forms are read: the URL
/// (`postgres://u@host1:5432,host2:5433/db?sslmode=...`) and key=value
/// pairs (`host=host1,host2 port=5432,5433 dbname=db sslmode=...`).
pub fn from_url(url: &str) -> anyhow::Result<(String, Tls)> {
    let (base, pairs, separator) = match url.split_once("://") {
        Some(_) => {
            let (base, query) = url.split_once('?').unwrap_or((url, ""));
            (base, query.split('&').collect::<Vec<_>>(), "&")
        }
        None => ("", url.split_whitespace().collect(), " "),
    };
    let (mut sslmode, mut root_cert, mut rest) = (None, None, Vec::new());
    for pair in pairs.into_iter().filter(|pair| !pair.is_empty()) {
        match pair.split_once('=') {
            Some(("sslmode", value)) => sslmode = Some(value),
            Some(("sslrootcert", value)) => root_cert = Some(PathBuf::from(value)),
            _ => rest.push(pair),
        }
    }
    let url = match (base, rest.is_empty()) {
        ("", _) => rest.join(separator),
        (base, true) => base.to_owned(),
        (base, false) => format!("{base}?{}", rest.join(separator)),
    };
    let verified = if root_cert.is_some() {
        Check::Chain
    } else {
        Check::Nothing
    };
    let (mode, check) = match sslmode.unwrap_or("prefer") {
        "disable" => return Ok((url, Tls { mode: SslMode::Disable, connector: None })),
        "prefer" => (SslMode::Prefer, verified),
        "require" => (SslMode::Require, verified),
        "verify-ca" => (SslMode::Require, Check::Chain),
        "verify-full" => (SslMode::Require, Check::ChainAndHost),
        other => bail!(
            "DATABASE_URL: sslmode={other} is not one of disable, prefer, require, verify-ca, verify-full"
        ),
    };
    let config = match (check, &root_cert) {
        (Check::Nothing, _) => encrypt_only()?,
        (_, None) => bail!(
            "DATABASE_URL: sslmode={} needs sslrootcert=<the CA's PEM file>",
            sslmode.unwrap_or_default()
        ),
        (check, Some(path)) => verifying(path, check == Check::ChainAndHost)?,
    };
    let connector = Some(MakeRustlsConnect::new(config));
    Ok((url, Tls { mode, connector }))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

fn builder() -> anyhow::Result<rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier>> {
    ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("the TLS protocol versions")
}

/// Certificates checked against the CA in `path`, and the host name too
/// when `host` is set.
fn verifying(path: &Path, host: bool) -> anyhow::Result<ClientConfig> {
    let roots = Arc::new(root_store(path)?);
    if host {
        return Ok(builder()?
            .with_root_certificates(roots)
            .with_no_client_auth());
    }
    let chain = WebPkiServerVerifier::builder_with_provider(roots, provider())
        .build()
        .context("building the certificate verifier")?;
    lenient(Some(chain))
}

fn encrypt_only() -> anyhow::Result<ClientConfig> {
    lenient(None)
}

fn lenient(chain: Option<Arc<WebPkiServerVerifier>>) -> anyhow::Result<ClientConfig> {
    let verifier = Lenient {
        chain,
        provider: provider(),
    };
    Ok(builder()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// The checks short of verify-full. With `chain` (verify-ca) the chain must
/// lead to the CA and the name may be any; without (require with no CA,
/// libpq's meaning) any certificate will do. Either way the handshake's
/// signatures are checked.
#[derive(Debug)]
struct Lenient {
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        // The chain is checked before the name, so a name error means the
        // chain was good.
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tls_parameters_leave_the_url_and_the_others_stay() {
        let (url, tls) =
            from_url("postgres://u@h/db?sslmode=require&application_name=x").expect("parses");
        assert_eq!(url, "postgres://u@h/db?application_name=x");
        assert_eq!(tls.mode, SslMode::Require);
        assert!(tls.connector.is_some());
    }

    #[test]
    fn several_hosts_and_the_key_value_form_keep_everything_but_tls() {
        let (url, tls) = from_url(
            "postgres://u@h1:5432,h2:5433/db?sslmode=disable&target_session_attrs=read-write",
        )
        .expect("parses");
        assert_eq!(
            url,
            "postgres://u@h1:5432,h2:5433/db?target_session_attrs=read-write"
        );
        assert_eq!(tls.mode, SslMode::Disable);
        let (url, tls) = from_url(
            "host=h1,h2 port=5432,5433 sslmode=require dbname=db target_session_attrs=read-write",
        )
        .expect("parses");
        assert_eq!(
            url,
            "host=h1,h2 port=5432,5433 dbname=db target_session_attrs=read-write"
        );
        assert_eq!(tls.mode, SslMode::Require);
        let parsed: tokio_postgres::Config = url.parse().expect("tokio-postgres reads it");
        assert_eq!(parsed.get_ports(), [5432, 5433]);
    }

    #[test]
    fn disable_means_no_connector_and_no_mode_means_prefer() {
        let (url, tls) = from_url("postgres://u@h/db?sslmode=disable").expect("parses");
        assert_eq!(
            (url.as_str(), tls.mode),
            ("postgres://u@h/db", SslMode::Disable)
        );
        assert!(tls.connector.is_none());
        let (_, tls) = from_url("postgres://u@h/db").expect("parses");
        assert_eq!(tls.mode, SslMode::Prefer);
    }

    #[test]
    fn verifying_modes_need_a_ca_and_unknown_modes_are_refused() {
        let Err(err) = from_url("postgres://u@h/db?sslmode=verify-full") else {
            panic!("no CA")
        };
        assert!(format!("{err}").contains("sslrootcert"), "{err}");
        let Err(err) = from_url("postgres://u@h/db?sslmode=allow-everything") else {
            panic!("unknown")
        };
        assert!(
            format!("{err}").contains("sslmode=allow-everything"),
            "{err}"
        );
        let Err(err) =
            from_url("postgres://u@h/db?sslmode=verify-full&sslrootcert=/no/such/ca.pem")
        else {
            panic!("a CA file that is not there")
        };
        assert!(format!("{err:#}").contains("/no/such/ca.pem"), "{err:#}");
    }
}
