use billing::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::version::answer_flag("billing");
    let _telemetry = common::telemetry::init("billing")?;
    let settings = Settings::from_env()?;
    let shutdown = common::shutdown::on_signal();
    let server = billing::build(settings, shutdown.cancelled_owned()).await?;
    server.run.await;
    Ok(())
}
