//! A worker paused past its heartbeat (a zombie), woken after the other
//! worker took and finished its orders.

use std::time::Duration;

use tokio::time::Instant;

use super::{all_final, parked, start};
use crate::{assert_conservation, begin};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_paused_past_its_heartbeat_is_reaped_and_wakes_up_harmlessly() {
    let (_alone, drill) = begin().await;
    let running = start(&drill, 20).await;
    let zombie = running.mediator(&drill, "mediator-zombie", &[]).await;
    let steady = running.mediator(&drill, "mediator-steady", &[]).await;

    let placing = running.place(10);
    // Paused while it runs sagas, so that it holds orders in its list.
    let deadline = Instant::now() + Duration::from_secs(10);
    while zombie.metric("saga_in_flight").await < 1.0 {
        assert!(Instant::now() < deadline, "the zombie never ran a saga");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let runs_before = zombie.metric("saga_runs_total").await;
    zombie.signal("STOP");
    let paused = Instant::now();
    let accepted = placing.await.expect("placing orders");

    // The other worker reaps it after HEARTBEAT_EXPIRY_MS (1.5 s) and
    // finishes every order, the zombie's included.
    all_final(&drill, Duration::from_secs(60), &[&steady]).await;
    let all_done_after = paused.elapsed();
    assert!(
        steady.log_text().contains("reaped dead workers"),
        "the paused worker was never reaped:\n{}",
        steady.log_tail()
    );

    // Awake again, it ends the sagas it held: each finds its order final,
    // its reservations released or kept once.
    zombie.signal("CONT");
    let deadline = Instant::now() + Duration::from_secs(30);
    while zombie.metric("saga_in_flight").await > 0.0 {
        assert!(Instant::now() < deadline, "the zombie's sagas never ended");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let runs_after = zombie.metric("saga_runs_total").await;
    eprintln!(
        "zombie: paused for {:?}, every order final {all_done_after:?} after the pause; \
         on waking it ended {} runs",
        paused.elapsed(),
        runs_after - runs_before
    );
    assert!(
        runs_after > runs_before,
        "the zombie ended none of its sagas"
    );
    all_final(&drill, Duration::from_secs(30), &[&steady, &zombie]).await;
    assert_eq!(parked(&drill).await, 0, "nothing parked");
    assert_conservation(&drill, &running.users, &accepted).await;
}
