use auth::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::version::answer_flag("auth");
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("admin") {
        return auth::admin_command(&args[1..]).await;
    }
    let _telemetry = common::telemetry::init("auth")?;
    let settings = Settings::from_env()?;
    let shutdown = common::shutdown::on_signal();
    let server = auth::build(settings, shutdown.cancelled_owned()).await?;
    server.run.await;
    Ok(())
}
