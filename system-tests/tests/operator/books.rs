//! What the databases say once every order of the drill is final: the
//! wallet, stock and slot bookings moved by the completed order only.

use rust_decimal::Decimal;
use serde_json::json;

use crate::stack::scalar;
use crate::{Drill, BAD_SLOT, FAULT, ITEM, SLOT};

impl Drill<'_> {
    pub(crate) async fn everything_adds_up(
        &self,
        token: &str,
        finals: &[(i64, &str, &str)],
        (items, stock_before): (&tokio_postgres::Client, i32),
        (slots, booked_before): (&tokio_postgres::Client, i32),
    ) {
        let completed = finals[0].0;
        let ids: Vec<i64> = finals.iter().map(|f| f.0).collect();
        let wallet: Decimal = scalar(
            self.billing,
            "SELECT wallet FROM accounts WHERE username = $1",
            &[&self.customer],
        )
        .await;
        // Billing's row, and the same as the customer reads it.
        assert_eq!(
            (wallet, self.wallet(token).await),
            (Decimal::from(90), json!(90)),
            "the wallet is 100 minus the completed order"
        );
        // Money held or spent: by the completed order (its 10), and by none else.
        let spent = self
            .billing
            .query_one(
                "SELECT count(*) FILTER (WHERE order_id = $2 AND amount = 10),
                        count(*) FILTER (WHERE order_id <> $2)
                 FROM reservations
                 WHERE order_id = ANY($1) AND state IN ('granted', 'settled')",
                &[&ids, &completed],
            )
            .await
            .expect("billing's reservations");
        let (paid, others): (i64, i64) = (spent.get(0), spent.get(1));
        assert_eq!(
            paid, 1,
            "billing: the completed order's money is held or settled, once"
        );
        assert_eq!(others, 0, "billing: no failed order holds or spent money");

        let stock: i32 = scalar(
            items,
            "SELECT stock FROM items WHERE id = $1",
            &[&(ITEM as i32)],
        )
        .await;
        assert_eq!(
            stock,
            stock_before - 1,
            "items: the stock moved by the completed order only"
        );
        assert_eq!(
            holders(items, &ids).await,
            [completed],
            "items: only the completed order holds an item"
        );
        let booked: i32 = scalar(slots, "SELECT booked FROM slots WHERE slot = $1", &[&SLOT]).await;
        assert_eq!(
            booked,
            booked_before + 1,
            "slots: {SLOT}'s bookings moved by the completed order only"
        );
        assert_eq!(
            holders(slots, &ids).await,
            [completed],
            "slots: only the completed order holds a slot"
        );
        let bad: i64 = scalar(
            slots,
            "SELECT count(*) FROM slots WHERE slot = $1",
            &[&BAD_SLOT],
        )
        .await;
        assert_eq!(bad, 0, "{BAD_SLOT} is no slot");
        assert!(
            !FAULT
                .is_present(self.billing)
                .await
                .expect("billing's triggers"),
            "the fault is lifted"
        );
        println!("[drill] the wallet, stock and bookings moved by the completed order only");
    }
}

/// Which of `ids` hold a reservation of this ledger, in order.
async fn holders(ledger: &tokio_postgres::Client, ids: &[i64]) -> Vec<i64> {
    let rows = ledger
        .query(
            "SELECT order_id FROM reservations WHERE order_id = ANY($1) AND state = 'granted' ORDER BY order_id",
            &[&ids],
        )
        .await
        .expect("the ledger's reservations");
    rows.iter().map(|row| row.get(0)).collect()
}
