use common::config::Listen;
use common::http::Caller;
use common::testing::{self, Reservations, TestCallers, TestDatabase};
use items::Settings;

/// An items server on a free port with items 1..=10, each with `stock`.
pub struct TestApp {
    pub db: TestDatabase,
    pub reservations: Reservations,
    /// Every caller's credential, the mediator's among them.
    pub callers: TestCallers,
}

impl TestApp {
    pub async fn spawn(stock: i32) -> Self {
        testing::init_logs();
        let db = TestDatabase::create("items", items::migrations).await;
        let callers = testing::callers();
        let settings = Settings {
            listen: Listen::ephemeral(),
            database: db.settings.clone(),
            callers: callers.digests(),
            item_count: 10,
            initial_stock: stock,
        };
        let server = items::build(settings, std::future::pending())
            .await
            .expect("starting items");
        tokio::spawn(server.run);
        let address = format!("http://{}", server.addr);
        Self {
            reservations: Reservations::new(&address, callers.credential(Caller::Mediator)),
            callers,
            db,
        }
    }

    pub async fn stock(&self, item: i32) -> i32 {
        let db = self.db.client().await;
        db.query_one("SELECT stock FROM items WHERE id = $1", &[&item])
            .await
            .expect("reading stock")
            .get(0)
    }
}
