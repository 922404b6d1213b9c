//! Filling the shelves.

use anyhow::Context;
use deadpool_postgres::Pool;

/// Puts items 1..=`count` on the shelf with `stock` each. Items that exist
/// keep their stock, so a restart never resets what orders took.
pub async fn fill_shelves(pool: &Pool, count: i32, stock: i32) -> anyhow::Result<()> {
    let conn = pool.get().await.context("connecting to fill the shelves")?;
    let added = conn
        .execute(
            "INSERT INTO items (id, stock, initial_stock)
             SELECT id, $2, $2 FROM generate_series(1, $1) AS id
             ON CONFLICT (id) DO NOTHING",
            &[&count, &stock],
        )
        .await
        .context("filling the shelves")?;
    if added > 0 {
        tracing::info!(added, stock, "items put on the shelf");
    }
    Ok(())
}
