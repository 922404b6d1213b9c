use std::sync::Arc;

use anyhow::ensure;
use common::config::{self, Listen};
use common::db::DatabaseSettings;
use common::http::Callers;
use common::jwt::TokenVerifier;
use rust_decimal::Decimal;

/// billing's configuration, from the environment.
#[derive(Clone)]
pub struct Settings {
    /// `HTTP_HOST`/`HTTP_PORT` (default 127.0.0.1:8002).
    pub listen: Listen,
    /// `DATABASE_URL` (default the local stack's `billing`), `DATABASE_POOL_SIZE`.
    pub database: DatabaseSettings,
    /// Verifies users' tokens: `JWT_PUBLIC_KEY_FILE`.
    pub verifier: Arc<TokenVerifier>,
    /// Each internal caller's credential (`AUTH_SERVICE_TOKEN`,
    /// `MEDIATOR_SERVICE_TOKEN`): each endpoint admits one caller.
    pub callers: Callers,
    /// A new account's opening balance: `INITIAL_WALLET` (default 100).
    pub initial_wallet: Decimal,
    /// The most a wallet plus the money held for its unfinished orders may
    /// reach: `WALLET_CEILING` (default 10000000, at most 9999999999.99).
    /// A deposit past it is refused, so a refund always fits the column.
    pub wallet_ceiling: Decimal,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        let initial_wallet = config::parsed("INITIAL_WALLET", Decimal::from(100))?;
        ensure!(
            initial_wallet > Decimal::ZERO && initial_wallet.normalize().scale() <= 2,
            "INITIAL_WALLET must be a positive amount with at most 2 decimal places"
        );
        let wallet_ceiling = config::parsed("WALLET_CEILING", Decimal::from(10_000_000))?;
        ensure!(
            wallet_ceiling >= initial_wallet
                && wallet_ceiling <= Decimal::new(999_999_999_999, 2)
                && wallet_ceiling.normalize().scale() <= 2,
            "WALLET_CEILING must be an amount between INITIAL_WALLET and 9999999999.99"
        );
        Ok(Self {
            listen: Listen::from_env(8002)?,
            database: DatabaseSettings::from_env("billing")?,
            verifier: Arc::new(common::jwt::verifier_from_env()?),
            callers: Callers::from_env()?,
            initial_wallet,
            wallet_ceiling,
        })
    }
}
