//! auth: sign-up, login and tokens. Sign-up opens the user's wallet in
//! billing in the same breath: the user is committed only once billing has
//! the account, so a billing outage leaves no user behind.
#![forbid(unsafe_code)]

mod admins;
mod credentials;
mod refresh_tokens;
mod routes;
mod settings;
mod throttle;
mod upkeep;
mod users;

use std::future::Future;
use std::sync::Arc;

use common::client::ServiceClient;
use common::http::{Server, TrustedProxies};
use common::jwt::{TokenIssuer, TokenVerifier};
use deadpool_postgres::Pool;

pub use admins::{command as admin_command, AdminAccount};
pub use settings::Settings;
pub use throttle::Limits as LoginLimits;

common::embed_migrations!();

/// What the handlers share.
pub(crate) struct Context {
    pool: Pool,
    issuer: TokenIssuer,
    verifier: Arc<TokenVerifier>,
    billing: ServiceClient,
    /// How long a call to billing may take; a pending sign-up older than
    /// twice this has failed and may be cleared.
    billing_timeout: std::time::Duration,
    bcrypt_cost: u32,
    access_ttl: std::time::Duration,
    refresh_ttl: std::time::Duration,
    /// Live sessions a user may keep; a login past it ends the oldest.
    max_sessions: i64,
    throttle: throttle::Limits,
    /// Password checks in flight, per username (see `throttle::gate`).
    gates: throttle::gate::Gates,
    /// Whose `X-Forwarded-For` names the client.
    trusted_proxies: Arc<TrustedProxies>,
    /// Checked against when the username is unknown, so that a login for
    /// an unknown user takes as long as one with a wrong password.
    dummy_hash: String,
}

/// Connects, migrates and binds; awaiting `Server::run` serves until `shutdown`.
pub async fn build(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Server> {
    let (listen, database) = (settings.listen.clone(), settings.database.clone());
    let routes = |pool: Pool| async move {
        if let Some(account) = &settings.admin {
            admins::keep(&pool, account, settings.bcrypt_cost).await?;
        }
        tokio::spawn(upkeep::prune_every(
            pool.clone(),
            settings.session_prune_interval,
            settings.login_limits.window,
        ));
        let dummy_hash =
            credentials::hash("not a real password".into(), settings.bcrypt_cost).await?;
        let context = Arc::new(Context {
            pool,
            issuer: settings.issuer,
            verifier: settings.verifier,
            billing: ServiceClient::new(
                "billing",
                &settings.billing_url,
                settings.service_token,
                settings.billing_timeout,
            ),
            billing_timeout: settings.billing_timeout,
            bcrypt_cost: settings.bcrypt_cost,
            access_ttl: settings.access_ttl,
            refresh_ttl: settings.refresh_ttl,
            max_sessions: settings.max_sessions,
            throttle: settings.login_limits,
            gates: throttle::gate::Gates::new(settings.login_limits.checks_in_flight),
            trusted_proxies: Arc::new(settings.trusted_proxies),
            dummy_hash,
        });
        Ok(routes::all(context))
    };
    common::service::serve_with_database(&listen, &database, migrations, routes, shutdown).await
}
