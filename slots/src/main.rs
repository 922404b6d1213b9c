use slots::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::version::answer_flag("slots");
    let _telemetry = common::telemetry::init("slots")?;
    let settings = Settings::from_env()?;
    let shutdown = common::shutdown::on_signal();
    let server = slots::build(settings, shutdown.cancelled_owned()).await?;
    server.run.await;
    Ok(())
}
