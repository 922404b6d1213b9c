use common::config::Listen;
use common::http::Caller;
use common::testing::{self, Reservations, TestCallers, TestDatabase};
use slots::Settings;

/// A slots server on a free port with slots 08:00..=18:00, each taking `capacity`.
pub struct TestApp {
    pub db: TestDatabase,
    pub reservations: Reservations,
    /// Every caller's credential, the mediator's among them.
    pub callers: TestCallers,
}

impl TestApp {
    pub async fn spawn(capacity: i32) -> Self {
        testing::init_logs();
        let db = TestDatabase::create("slots", slots::migrations).await;
        let callers = testing::callers();
        let settings = Settings {
            listen: Listen::ephemeral(),
            database: db.settings.clone(),
            callers: callers.digests(),
            first_hour: 8,
            last_hour: 18,
            capacity,
        };
        let server = slots::build(settings, std::future::pending())
            .await
            .expect("starting slots");
        tokio::spawn(server.run);
        let address = format!("http://{}", server.addr);
        Self {
            reservations: Reservations::new(&address, callers.credential(Caller::Mediator)),
            callers,
            db,
        }
    }

    pub async fn booked(&self, slot: &str) -> i32 {
        let db = self.db.client().await;
        db.query_one("SELECT booked FROM slots WHERE slot = $1", &[&slot])
            .await
            .expect("reading bookings")
            .get(0)
    }

    /// The places `slot` has left.
    pub async fn places_left(&self, slot: &str) -> i32 {
        let db = self.db.client().await;
        db.query_one(
            "SELECT capacity - booked FROM slots WHERE slot = $1",
            &[&slot],
        )
        .await
        .expect("reading bookings")
        .get(0)
    }
}
