//! The three services a saga goes through, in order, and the calls the
//! mediator makes to them: reserve and cancel, keyed by order id.

use std::time::Duration;

use common::client::{CallError, ServiceClient};
use common::config::Secret;
use common::domain::OrderId;
use ledger::{Cancelled, Reserved};
use orders::{reasons, Order};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tracing::{Instrument, Span};
use warp::http::Method;

/// A saga's steps, in the order they run; compensation runs them backwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Money,
    Item,
    Slot,
}

impl Step {
    pub const ALL: [Step; 3] = [Step::Money, Step::Item, Step::Slot];

    pub fn name(self) -> &'static str {
        match self {
            Step::Money => "money",
            Step::Item => "item",
            Step::Slot => "slot",
        }
    }

    /// The reason an order fails when this step is refused.
    pub fn refusal(self) -> &'static str {
        match self {
            Step::Money => reasons::NOT_ENOUGH_MONEY,
            Step::Item => reasons::NO_ITEM,
            Step::Slot => reasons::NO_SLOT,
        }
    }
}

/// The history names each step as the orders crate spells it.
impl From<Step> for orders::Step {
    fn from(step: Step) -> Self {
        match step {
            Step::Money => orders::Step::Money,
            Step::Item => orders::Step::Item,
            Step::Slot => orders::Step::Slot,
        }
    }
}

/// What a call to a participant does.
#[derive(Clone, Copy)]
enum Action {
    Reserve,
    Cancel,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Reserve => "reserve",
            Action::Cancel => "cancel",
        }
    }

    fn method(self) -> Method {
        match self {
            Action::Reserve => Method::PUT,
            Action::Cancel => Method::DELETE,
        }
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum ReserveBody<'a> {
    Money {
        username: &'a str,
        #[serde(serialize_with = "common::money::serialize_decimal")]
        amount: Decimal,
    },
    Item {
        item: i32,
    },
    Slot {
        slot: &'a str,
    },
}

/// A participant's answer to a reserve or a cancel (it also names the order).
#[derive(Deserialize)]
struct OutcomeBody<T> {
    outcome: T,
}

/// Clients for billing, items and slots.
pub struct Participants {
    billing: ServiceClient,
    items: ServiceClient,
    slots: ServiceClient,
}

impl Participants {
    pub fn new(urls: [&str; 3], token: &Secret, timeout: Duration) -> Self {
        let [billing, items, slots] = urls;
        Self {
            billing: ServiceClient::new("billing", billing, token.clone(), timeout),
            items: ServiceClient::new("items", items, token.clone(), timeout),
            slots: ServiceClient::new("slots", slots, token.clone(), timeout),
        }
    }

    fn client(&self, step: Step) -> &ServiceClient {
        match step {
            Step::Money => &self.billing,
            Step::Item => &self.items,
            Step::Slot => &self.slots,
        }
    }

    /// Reserves this step's share of `order`.
    pub async fn reserve(&self, step: Step, order: &Order) -> Result<Reserved, CallError> {
        let body = match step {
            Step::Money => ReserveBody::Money {
                username: &order.username,
                amount: order.amount,
            },
            Step::Item => ReserveBody::Item {
                item: order.details.item.get(),
            },
            Step::Slot => ReserveBody::Slot {
                slot: order.details.slot.as_str(),
            },
        };
        self.call(step, Action::Reserve, order.id, Some(&body))
            .await
    }

    /// Cancels this step's reservation for order `order_id`.
    pub async fn cancel(&self, step: Step, order_id: OrderId) -> Result<Cancelled, CallError> {
        self.call::<Cancelled>(step, Action::Cancel, order_id, None)
            .await
    }

    /// Calls `action` on this step's participant; with traces on, in a
    /// span of its own, which the participant's span of the request is a
    /// child of.
    async fn call<T: DeserializeOwned>(
        &self,
        step: Step,
        action: Action,
        order_id: OrderId,
        body: Option<&ReserveBody<'_>>,
    ) -> Result<T, CallError> {
        let path = format!("/internal/reservations/{order_id}");
        let answer: OutcomeBody<T> = self
            .client(step)
            .call(action.method(), &path, body)
            .instrument(call_span(step, action, order_id))
            .await?;
        Ok(answer.outcome)
    }
}

/// With traces on, the span of one call (`reserve money`, say), a child of
/// the saga's.
fn call_span(step: Step, action: Action, order_id: OrderId) -> Span {
    if !common::telemetry::tracing_enabled() {
        return Span::none();
    }
    let action = action.name();
    let span = tracing::info_span!(
        "call",
        otel.name = %format_args!("{action} {}", step.name()),
        otel.kind = "client",
        step = step.name(),
        action,
        order_id = order_id.get(),
        trace_id = tracing::field::Empty,
    );
    common::telemetry::record_trace_id(&span);
    span
}
