//! `POST /api/orders/`: accepts an order. The order is committed first and
//! queued second; a repeat with the same `Idempotency-Key` returns the
//! first order and creates nothing. A customer with `MAX_UNFINISHED_ORDERS`
//! unfinished orders gets 429 for a new one.

use std::sync::{Arc, LazyLock};

use common::domain::OrderId;
use common::http::{bearer, idempotency_key, json_body, respond, with, ApiError, IdempotencyKey};
use common::jwt::Claims;
use common::metrics::{self, IntCounter};
use common::money::Amount;
use common::telemetry;
use serde::Deserialize;
use tracing::{Instrument, Span};
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};
use warp::Filter;

use orders::placing::{self, Placed};
use orders::Details;

use crate::view::OrderView;
use crate::Context;

static ACCEPTED: LazyLock<IntCounter> = LazyLock::new(|| {
    metrics::counter(
        "orders_accepted_total",
        "Orders accepted and made durable (a repeat of a key is not counted).",
    )
});

/// Seconds a customer at `MAX_UNFINISHED_ORDERS` is asked to wait: a saga
/// usually finishes in milliseconds, one held up by a slow participant
/// within its deadline.
const UNFINISHED_RETRY_AFTER: &str = "5";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOrder {
    amount: Amount,
    details: Details,
}

/// The template of this route's path, which labels its metrics and spans.
pub const PATH: &str = "/api/orders/";

pub fn route(context: Arc<Context>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "orders")
        .and(warp::post())
        .and(bearer(context.verifier.clone()))
        .and(idempotency_key())
        .and(json_body::<NewOrder>())
        .and(with(context))
        .then(handle)
        .map(respond)
        .boxed()
}

async fn handle(
    claims: Claims,
    key: Option<IdempotencyKey>,
    new: NewOrder,
    context: Arc<Context>,
) -> Result<Response, ApiError> {
    let placed = context
        .store
        .place(placing::NewOrder {
            owner: claims.username().to_owned(),
            amount: new.amount,
            details: new.details.clone(),
            idempotency_key: key.map(|k| k.as_str().to_owned()),
            // The saga's runs join this request's trace.
            traceparent: telemetry::traceparent(&Span::current()),
            max_unfinished: context.max_unfinished,
        })
        .await?;
    let order = match placed {
        Placed::New(order) => {
            // The order is durable now: the answer need not wait for Redis.
            ACCEPTED.inc();
            let queueing = queue(context.clone(), order.id, order.username.clone());
            tokio::spawn(queueing.instrument(queue_span(order.id)));
            order
        }
        // A repeat: the same order, unless the key came with another one.
        Placed::Existing(earlier)
            if earlier.amount != new.amount.value() || earlier.details != new.details =>
        {
            return Err(ApiError::conflict(
                "this Idempotency-Key was used for a different order",
            ))
        }
        Placed::Existing(earlier) => earlier,
        Placed::TooManyUnfinished => {
            let error = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "you have {} unfinished orders: wait for one to finish",
                    context.max_unfinished
                ),
            );
            return Ok(
                warp::reply::with_header(error, "retry-after", UNFINISHED_RETRY_AFTER)
                    .into_response(),
            );
        }
    };
    let location = format!("/api/orders/{}", order.id);
    let body = warp::reply::json(&OrderView::from(order));
    Ok(warp::reply::with_header(
        warp::reply::with_status(body, StatusCode::CREATED),
        "location",
        location,
    )
    .into_response())
}

/// With traces on, the span of the queueing that goes on after the answer:
/// a child of the request's span, which it may outlive.
fn queue_span(order_id: OrderId) -> Span {
    if !telemetry::tracing_enabled() {
        return Span::none();
    }
    let span = tracing::info_span!(
        "enqueue",
        order_id = order_id.get(),
        trace_id = tracing::field::Empty
    );
    telemetry::record_trace_id(&span);
    span
}

/// Hands the order to the mediator. The order is already durable: if Redis
/// does not take it now (or this process dies first), the mediator's
/// sweeper will queue it.
async fn queue(context: Arc<Context>, order_id: OrderId, username: String) {
    let mut redis = context.redis.clone();
    let job = order_id.get();
    match queue::push(&mut redis, &context.queue, job).await {
        Ok(()) => tracing::info!(order_id = job, %username, "order accepted"),
        Err(err) => tracing::warn!(
            order_id = job,
            error = %err,
            "order accepted but not queued; the sweeper will queue it"
        ),
    }
}
