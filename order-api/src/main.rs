use order_api::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::version::answer_flag("order-api");
    let _telemetry = common::telemetry::init("order-api")?;
    let settings = Settings::from_env()?;
    let shutdown = common::shutdown::on_signal();
    let server = order_api::build(settings, shutdown.cancelled_owned()).await?;
    server.run.await;
    Ok(())
}
