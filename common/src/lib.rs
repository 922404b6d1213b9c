//! What every service of the shop needs, in one place: configuration from the
//! environment, the PostgreSQL pool and its migrations, JWTs, money, the
//! mapping of errors to JSON responses, the operational routes, the internal
//! HTTP client, the skeleton of a service that owns one database, telemetry
//! and shutdown.
//! A service crate holds only its routes, its domain rules and its SQL.
#![forbid(unsafe_code)]

/// Lets a parsed newtype be a query parameter, written as its inner value.
macro_rules! to_sql_as {
    ($outer:ty, $inner:ty, |$value:ident| $expr:expr) => {
        impl tokio_postgres::types::ToSql for $outer {
            fn to_sql(
                &self,
                ty: &tokio_postgres::types::Type,
                out: &mut bytes::BytesMut,
            ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>
            {
                let $value = self;
                $expr.to_sql(ty, out)
            }

            fn accepts(ty: &tokio_postgres::types::Type) -> bool {
                <$inner as tokio_postgres::types::ToSql>::accepts(ty)
            }

            tokio_postgres::types::to_sql_checked!();
        }
    };
}

pub mod client;
pub mod config;
pub mod db;
pub mod domain;
pub mod http;
pub mod jwt;
pub mod metrics;
pub mod money;
pub mod service;
pub mod shutdown;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;
pub mod version;

pub use http::error::ApiError;
