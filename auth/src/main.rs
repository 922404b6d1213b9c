use auth::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init("auth");
    let settings = Settings::from_env()?;
    let shutdown = common::shutdown::on_signal();
    let server = auth::build(settings, shutdown.cancelled_owned()).await?;
    server.run.await;
    Ok(())
}
