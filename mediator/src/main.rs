use mediator::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = common::telemetry::init("mediator")?;
    let settings = Settings::from_env()?;
    let shutdown = common::shutdown::on_signal();
    let mediator = mediator::build(settings, shutdown).await?;
    mediator.run.await;
    Ok(())
}
