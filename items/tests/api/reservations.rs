//! What is items' own beside the ledger's contract (contract.rs): the
//! shelf it starts with.

use crate::helpers::TestApp;

#[tokio::test]
async fn items_one_to_ten_are_on_the_shelf_from_the_first_start() {
    let app = TestApp::spawn(5).await;

    let db = app.db.client().await;
    let rows = db
        .query("SELECT id, stock FROM items ORDER BY id", &[])
        .await
        .expect("items");

    let items: Vec<(i32, i32)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(items, (1..=10).map(|id| (id, 5)).collect::<Vec<_>>());
}
