use items::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::version::answer_flag("items");
    let _telemetry = common::telemetry::init("items")?;
    let settings = Settings::from_env()?;
    let shutdown = common::shutdown::on_signal();
    let server = items::build(settings, shutdown.cancelled_owned()).await?;
    server.run.await;
    Ok(())
}
