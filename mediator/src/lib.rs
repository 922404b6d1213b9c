//! The mediator: a long-running daemon that drives each accepted order
//! through its saga (money, item, slot; compensation in reverse on failure).
//! Several replicas may run on the same queue: see `queue` for how
//! orders are held, and `saga` for why repeated runs are harmless.
#![forbid(unsafe_code)]

mod participants;
mod retry;
mod saga;
mod saga_metrics;
mod settings;
mod settlements;
mod upkeep;
mod worker;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use common::http::ops;
use futures::future::BoxFuture;
use futures::FutureExt;
use orders::Store;
use queue::{Consumer, QueueKeys};
use tokio_util::sync::CancellationToken;
use warp::Filter;

pub use participants::Step;
pub use saga::{Finished, SagaRunner};
pub use settings::Settings;
pub use worker::Worker;

/// A started mediator: `addr` serves the operational routes; awaiting
/// `run` works until the shutdown token fires and everything is handed back.
pub struct Mediator {
    pub addr: SocketAddr,
    pub worker_id: String,
    pub run: BoxFuture<'static, ()>,
}

/// What a worker is made of: the store, the queue's connection, a
/// registered consumer and the saga runner.
struct Parts {
    store: Store,
    redis: queue::Connection,
    consumer: Consumer,
    saga: Arc<SagaRunner>,
}

async fn connect(settings: &Settings, shutdown: &CancellationToken) -> anyhow::Result<Parts> {
    saga_metrics::init();
    let store = Store::connect(&settings.database).await?;
    let client = settings.redis.client()?;
    let redis = queue::connect_patiently(&client)
        .await
        .context("connecting to redis")?;
    let consumer = Consumer::start(client, QueueKeys::new(&settings.queue), redis.clone())
        .await
        .context("registering the worker")?;
    tracing::info!(worker = %consumer.handle.id, "worker registered");
    let saga = Arc::new(SagaRunner {
        orders: store.clone(),
        participants: participants::Participants::new(
            [
                &settings.billing_url,
                &settings.items_url,
                &settings.slots_url,
            ],
            &settings.service_token,
            settings.step_timeout,
        ),
        settlements: settlements::Settlements::start(common::client::ServiceClient::new(
            "billing",
            &settings.billing_url,
            settings.service_token.clone(),
            settings.step_timeout,
        )),
        retry_base: settings.retry_base,
        retry_max: settings.retry_max,
        deadline: settings.saga_deadline,
        compensation_attempts: settings.compensation_attempts,
        shutdown: shutdown.clone(),
    });
    Ok(Parts {
        store,
        redis,
        consumer,
        saga,
    })
}

/// A registered worker that runs one order when asked
/// ([`Worker::process_next`]), and nothing else: no loop, heartbeat,
/// sweeper or routes.
pub async fn worker(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<Worker> {
    let parts = connect(&settings, &shutdown).await?;
    Ok(Worker::new(parts.saga, parts.consumer))
}

/// Connects to the orders database and Redis, registers a worker and binds
/// the operational routes.
pub async fn build(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<Mediator> {
    let Parts {
        store,
        redis,
        consumer,
        saga,
    } = connect(&settings, &shutdown).await?;
    let handle = consumer.handle.clone();
    let no_routes = common::http::Routes {
        filter: warp::any()
            .and_then(|| async { Err::<warp::reply::Response, _>(warp::reject::not_found()) })
            .boxed(),
        paths: Vec::new(),
    };
    let ready = ops::all(vec![store.ready_check(), queue::ready_check(redis)]);
    let ops = common::http::serve(
        &settings.listen,
        no_routes,
        ready,
        shutdown.clone().cancelled_owned(),
    )?;
    // The heartbeat outlives the intake: it runs until the worker has handed
    // back what it held, so no one reaps sagas that are finishing.
    let worker_done = CancellationToken::new();
    let run = {
        let done = worker_done.clone();
        let work = worker::run(
            saga,
            consumer,
            settings.concurrency,
            settings.shutdown_grace,
            shutdown.clone(),
        )
        .then(move |()| async move { done.cancel() });
        let heartbeat = upkeep::heartbeat(
            handle.clone(),
            settings.heartbeat_interval,
            settings.heartbeat_expiry,
            worker_done,
        );
        let sweep = upkeep::sweep(
            store,
            handle.clone(),
            settings.sweep_interval,
            settings.sweep_age,
            shutdown,
        );
        async move {
            tokio::join!(work, heartbeat, sweep, ops.run);
        }
        .boxed()
    };
    Ok(Mediator {
        addr: ops.addr,
        worker_id: handle.id,
        run,
    })
}
