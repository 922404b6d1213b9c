use mediator::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::version::answer_flag("mediator");
    let _telemetry = common::telemetry::init("mediator")?;
    let settings = Settings::from_env()?;
    let shutdown = common::shutdown::on_signal();
    let mediator = mediator::build(settings, shutdown).await?;
    mediator.run.await;
    Ok(())
}
