//! Opening the day's slots.

use anyhow::Context;
use common::domain::SlotTime;
use deadpool_postgres::Pool;

/// Opens `slots` with `capacity` each. Slots that exist keep their bookings,
/// so a restart never frees what orders booked.
pub async fn open_slots(pool: &Pool, slots: &[SlotTime], capacity: i32) -> anyhow::Result<()> {
    let conn = pool.get().await.context("connecting to open the slots")?;
    let names: Vec<&str> = slots.iter().map(SlotTime::as_str).collect();
    let added = conn
        .execute(
            "INSERT INTO slots (slot, capacity)
             SELECT slot, $2 FROM unnest($1::text[]) AS slot
             ON CONFLICT (slot) DO NOTHING",
            &[&names, &capacity],
        )
        .await
        .context("opening the slots")?;
    if added > 0 {
        tracing::info!(added, capacity, "delivery slots opened");
    }
    Ok(())
}
