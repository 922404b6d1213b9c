//! Generated Ed25519 keys for signing and verifying test tokens.

use std::sync::Arc;

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey};

use crate::jwt::{TokenIssuer, TokenVerifier};

/// A fresh Ed25519 key pair for signing and verifying tokens.
pub struct TestKeys {
    pub private_pem: String,
    pub public_pem: String,
}

impl TestKeys {
    pub fn generate() -> Self {
        let signing = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        let private_pem = signing
            .to_pkcs8_pem(LineEnding::LF)
            .expect("encoding the private key")
            .to_string();
        let public_pem = signing
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("encoding the public key");
        Self {
            private_pem,
            public_pem,
        }
    }

    pub fn issuer(&self) -> TokenIssuer {
        TokenIssuer::from_pem(self.private_pem.as_bytes()).expect("test private key")
    }

    pub fn verifier(&self) -> Arc<TokenVerifier> {
        Arc::new(TokenVerifier::from_pem(self.public_pem.as_bytes()).expect("test public key"))
    }
}
