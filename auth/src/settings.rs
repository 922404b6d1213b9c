use std::sync::Arc;
use std::time::Duration;

use anyhow::{ensure, Context};
use common::config::{self, Listen, Secret};
use common::db::DatabaseSettings;
use common::http::{Caller, TrustedProxies};
use common::jwt::{Claims, TokenIssuer, TokenKind, TokenVerifier};

/// auth's configuration, from the environment.
pub struct Settings {
    /// `HTTP_HOST`/`HTTP_PORT` (default 127.0.0.1:8001).
    pub listen: Listen,
    /// `DATABASE_URL` (default the local stack's `auth`), `DATABASE_POOL_SIZE`.
    pub database: DatabaseSettings,
    /// Signs tokens: the Ed25519 private key in `JWT_PRIVATE_KEY_FILE`.
    pub issuer: TokenIssuer,
    /// Verifies them: the matching public key in `JWT_PUBLIC_KEY_FILE`.
    pub verifier: Arc<TokenVerifier>,
    /// billing's address: `BILLING_URL` (default http://127.0.0.1:8002).
    pub billing_url: String,
    /// How long sign-up waits for billing: `BILLING_TIMEOUT_MS` (default 3000).
    pub billing_timeout: Duration,
    /// auth's own credential for billing's internal endpoint: `AUTH_SERVICE_TOKEN`.
    pub service_token: Secret,
    /// bcrypt's work factor: `BCRYPT_COST` (default 10, 4..=31).
    pub bcrypt_cost: u32,
    /// `ACCESS_TOKEN_TTL_SECS` (default 3600).
    pub access_ttl: Duration,
    /// `REFRESH_TOKEN_TTL_SECS` (default 7 days): a session ends this long
    /// after its last refresh.
    pub refresh_ttl: Duration,
    /// `MAX_SESSIONS_PER_USER` (default 10): live sessions (logins) one
    /// user keeps; a login past it ends their oldest.
    pub max_sessions: i64,
    /// `SESSION_PRUNE_INTERVAL_SECS` (default 300): how often revoked and
    /// expired sessions, and login attempts past their window, are deleted.
    pub session_prune_interval: Duration,
    /// Login attempts allowed within a window (see `throttle`):
    /// `LOGIN_FAILURES_PER_USERNAME` (default 10: per username and client
    /// address), `LOGIN_FAILURES_PER_ADDRESS` (default 100),
    /// `LOGIN_SLOWDOWN_AFTER` (default 50: per username from every address,
    /// past which its checks are slowed), `LOGIN_WINDOW_SECS` (60), and
    /// `LOGIN_CHECKS_IN_FLIGHT` (default 4: password checks for one
    /// username at once, per replica).
    pub login_limits: crate::LoginLimits,
    /// The proxies whose `X-Forwarded-For` names the client:
    /// `TRUSTED_PROXIES` (CIDRs, default loopback: the local gateway).
    pub trusted_proxies: TrustedProxies,
    /// The administrator kept at start: `ADMIN_USERNAME` and
    /// `ADMIN_PASSWORD_FILE` (both or neither; see `admins`).
    pub admin: Option<crate::AdminAccount>,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        let private = config::file("JWT_PRIVATE_KEY_FILE")?;
        let settings = Self {
            listen: Listen::from_env(8001)?,
            database: DatabaseSettings::from_env("auth")?,
            issuer: TokenIssuer::from_pem(private.expose().as_bytes())?,
            verifier: Arc::new(common::jwt::verifier_from_env()?),
            billing_url: config::string("BILLING_URL", "http://127.0.0.1:8002"),
            billing_timeout: config::millis("BILLING_TIMEOUT_MS", Duration::from_secs(3))?,
            service_token: Caller::Auth.credential_from_env()?,
            bcrypt_cost: config::parsed("BCRYPT_COST", 10)?,
            access_ttl: Duration::from_secs(config::parsed("ACCESS_TOKEN_TTL_SECS", 3600)?),
            refresh_ttl: Duration::from_secs(config::parsed(
                "REFRESH_TOKEN_TTL_SECS",
                7 * 24 * 3600,
            )?),
            max_sessions: config::parsed("MAX_SESSIONS_PER_USER", 10)?,
            session_prune_interval: Duration::from_secs(config::parsed(
                "SESSION_PRUNE_INTERVAL_SECS",
                300,
            )?),
            login_limits: crate::LoginLimits {
                per_username: config::parsed("LOGIN_FAILURES_PER_USERNAME", 10)?,
                per_address: config::parsed("LOGIN_FAILURES_PER_ADDRESS", 100)?,
                slowdown_after: config::parsed("LOGIN_SLOWDOWN_AFTER", 50)?,
                window: Duration::from_secs(config::parsed("LOGIN_WINDOW_SECS", 60)?),
                checks_in_flight: config::parsed("LOGIN_CHECKS_IN_FLIGHT", 4)?,
            },
            trusted_proxies: TrustedProxies::from_env()?,
            admin: crate::AdminAccount::from_env()?,
        };
        settings.validate()?;
        Ok(settings)
    }

    /// Cross-field checks: the two keys must be a pair, the lifetimes sane.
    pub fn validate(&self) -> anyhow::Result<()> {
        ensure!(
            (4..=31).contains(&self.bcrypt_cost),
            "BCRYPT_COST must be between 4 and 31"
        );
        ensure!(
            self.access_ttl.as_secs() > 0 && self.access_ttl < self.refresh_ttl,
            "ACCESS_TOKEN_TTL_SECS must be positive and shorter than REFRESH_TOKEN_TTL_SECS"
        );
        ensure!(
            self.max_sessions > 0 && !self.session_prune_interval.is_zero(),
            "MAX_SESSIONS_PER_USER and SESSION_PRUNE_INTERVAL_SECS must be positive"
        );
        let limits = &self.login_limits;
        ensure!(
            limits.per_username > 0
                && limits.per_address > 0
                && limits.slowdown_after > 0
                && limits.checks_in_flight > 0
                && !limits.window.is_zero(),
            "LOGIN_FAILURES_PER_USERNAME, LOGIN_FAILURES_PER_ADDRESS, LOGIN_SLOWDOWN_AFTER, \
             LOGIN_CHECKS_IN_FLIGHT and LOGIN_WINDOW_SECS must be positive"
        );
        if limits.slowdown_after < limits.per_username {
            tracing::warn!(
                "LOGIN_SLOWDOWN_AFTER is below LOGIN_FAILURES_PER_USERNAME: one address failing \
                 for a name slows every login for it before its own limit refuses it"
            );
        }
        if limits.per_address < limits.per_username {
            tracing::warn!(
                "LOGIN_FAILURES_PER_ADDRESS is below LOGIN_FAILURES_PER_USERNAME: one address \
                 guessing one name is throttled by the address limit first"
            );
        }
        let probe = Claims::new("key-check", 0, TokenKind::Access, Duration::from_secs(60));
        let token = self.issuer.sign(&probe)?;
        self.verifier.decode(&token).context(
            "JWT_PUBLIC_KEY_FILE does not verify what JWT_PRIVATE_KEY_FILE signs: they are not a key pair",
        )?;
        Ok(())
    }
}
