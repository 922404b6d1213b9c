//! The driver: orders placed on the second order-api as the customer, each
//! followed to its end, and the spans the receiver got for them.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use shop_client::{Call, Method, Shop, StatusCode};

use crate::cases::{Case, Expected};
use crate::receiver::{Receiver, Span};
use crate::services::{service_name, Services};
use crate::{ORDER_TIMEOUT, SPAN_TIMEOUT};

pub struct Run {
    pub receiver: Receiver,
    pub services: Services,
    pub orders: Shop,
    pub token: String,
}

impl Run {
    /// Places an order of 1 for `item` at 10:00 with `headers`: its id.
    pub async fn place(&self, label: &str, item: u32, headers: &[(&str, &str)]) -> i64 {
        let body = json!({"amount": 1, "details": {"item": item, "slot": "10:00"}});
        let call = Call {
            token: Some(&self.token),
            json: Some(&body),
            headers,
            ..Call::default()
        };
        let answer = self.orders.call(Method::POST, "/api/orders/", call).await;
        let answer = answer.unwrap_or_else(|err| panic!("{label}: POST /api/orders/: {err}"));
        assert_eq!(
            answer.status,
            StatusCode::CREATED,
            "{label}: {}",
            answer.text
        );
        answer.body["id"].as_i64().expect("an order id")
    }

    pub async fn final_order(&self, id: i64) -> Value {
        let order = self.orders.wait_final(&self.token, id, ORDER_TIMEOUT).await;
        let order = order.unwrap_or_else(|err| panic!("order {id}: {err}"));
        json!({"status": order.status, "reason": order.reason})
    }

    /// The spans of `trace_id` once every span of `expected` is among
    /// them, or those there are at the deadline.
    async fn wait_spans(&self, trace_id: &str, expected: &[Expected]) -> Vec<Span> {
        let wanted: HashSet<(&str, &str)> = expected
            .iter()
            .map(|e| (service_name(e.process), e.name.as_str()))
            .collect();
        poll(SPAN_TIMEOUT, || {
            let spans = self.receiver.spans(Some(trace_id));
            let have: HashSet<(&str, &str)> = spans
                .iter()
                .map(|s| (s.service.as_str(), s.name.as_str()))
                .collect();
            wanted.is_subset(&have).then_some(spans)
        })
        .await
        .unwrap_or_else(|| self.receiver.spans(Some(trace_id)))
    }

    /// The trace id of the mediator's saga span for `order_id`.
    async fn saga_trace(&self, label: &str, order_id: i64) -> String {
        let id = order_id.to_string();
        let saga = poll(SPAN_TIMEOUT, || {
            self.receiver.spans(None).into_iter().find(|s| {
                s.service == "mediator"
                    && s.name == "saga"
                    && s.attributes.get("order_id") == Some(&id)
            })
        })
        .await;
        saga.unwrap_or_else(|| {
            panic!("{label}: the mediator's saga span of order {order_id} never arrived")
        })
        .trace_id
    }

    pub async fn case(
        &self,
        label: &'static str,
        item: u32,
        sent: Sent,
        expected: Vec<Expected>,
    ) -> Case {
        let traceparent = match &sent {
            Sent::Nothing => None,
            Sent::Caller { trace, span } => Some(format!("00-{trace}-{span}-01")),
            Sent::Malformed(header) => Some((*header).to_owned()),
        };
        let headers: Vec<(&str, &str)> = traceparent
            .iter()
            .map(|t| ("traceparent", t.as_str()))
            .collect();
        let order_id = self.place(label, item, &headers).await;
        let order = self.final_order(order_id).await;
        // A traceparent honoured names the trace; otherwise the saga's span tells it.
        let (trace_id, caller) = match sent {
            Sent::Caller { trace, span } => (trace, span),
            _ => (self.saga_trace(label, order_id).await, String::new()),
        };
        let spans = self.wait_spans(&trace_id, &expected).await;
        Case {
            label,
            order_id,
            order,
            trace_id,
            spans,
            expected,
            caller,
        }
    }
}

/// The `traceparent` an order is placed with.
pub enum Sent {
    Nothing,
    /// A well-formed one: the caller's trace and span.
    Caller {
        trace: String,
        span: String,
    },
    Malformed(&'static str),
}

/// `check()` every 100 ms until it gives a value, for `patience` at most.
pub async fn poll<T>(patience: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let until = Instant::now() + patience;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() >= until {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
