//! The verdict at a quiet moment, over the whole stack (loadgen's
//! conservation check, the project's one), held strictly: every order
//! final and none parked, the participants holding exactly what the
//! completed orders took, and money, stock and slot bookings adding up. It
//! holds for a stack of any age, so a drill may run again on the same data.

pub use loadgen::conservation::{connect, Databases};

/// Panics, saying what does not add up, unless conservation holds and no
/// saga waits parked for an operator.
pub async fn assert_conservation(databases: &Databases) {
    let verdict = loadgen::conservation::check(databases)
        .await
        .unwrap_or_else(|err| panic!("checking conservation: {err:#}"));
    eprintln!(
        "money: wallets {} + held {} = deposited {}",
        verdict.wallets, verdict.money_held, verdict.deposited
    );
    assert!(verdict.holds(), "conservation: {:?}", verdict.problems);
    assert_eq!(verdict.orders_parked, 0, "parked orders at a quiet moment");
}
