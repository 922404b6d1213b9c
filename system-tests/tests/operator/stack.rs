//! What the drill reads of the local stack besides its API: where it
//! lives, its databases, the mediator's settings and health, and the
//! commands an operator runs (`shopctl`, `scripts/stack`).
//!
//! `SHOP_URL` (the gateway, `http://127.0.0.1:8080`), `MEDIATOR_URL`
//! (`http://127.0.0.1:8006`), `STACK_PG_URL` (the PostgreSQL server,
//! `postgres://postgres@127.0.0.1:55432`), `STACK_DIR` (`.stack`),
//! `SHOPCTL` (`target/release/shopctl`).

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use shop_client::{Call, Method, Shop};
use system_tests::processes::StackHome;
use tokio_postgres::types::ToSql;
use tokio_postgres::Client;

pub struct Stack {
    pub gateway: String,
    pub mediator: String,
    /// Where it lives: the repository, STACK_DIR, its PostgreSQL.
    pub home: StackHome,
    pub shopctl: PathBuf,
}

impl Stack {
    pub fn from_env() -> Self {
        let var = |name, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
        let home = StackHome::from_env();
        let shopctl = std::env::var_os("SHOPCTL")
            .map_or_else(|| home.repo.join("target/release/shopctl"), PathBuf::from);
        Self {
            gateway: var("SHOP_URL", "http://127.0.0.1:8080"),
            mediator: var("MEDIATOR_URL", "http://127.0.0.1:8006"),
            home,
            shopctl,
        }
    }

    pub fn shop(&self) -> Shop {
        Shop::new(&self.gateway).expect("a client")
    }

    pub async fn mediator_is_ready(&self) -> bool {
        let Ok(mediator) = Shop::new(&self.mediator) else {
            return false;
        };
        let ready = mediator.call(Method::GET, "/ready", Call::default());
        matches!(
            tokio::time::timeout(Duration::from_secs(2), ready).await,
            Ok(Ok(answer)) if answer.status.is_success()
        )
    }

    /// A setting as the running mediator has it (its environment), else
    /// `default`.
    pub fn mediator_setting(&self, name: &str, default: u64) -> u64 {
        let pid =
            std::fs::read_to_string(self.home.dir.join("pids/mediator.pid")).unwrap_or_default();
        let environ = std::fs::read(format!("/proc/{}/environ", pid.trim())).unwrap_or_default();
        let prefix = format!("{name}=");
        environ
            .split(|&byte| byte == 0)
            .filter_map(|entry| std::str::from_utf8(entry).ok()?.strip_prefix(&prefix))
            .filter_map(|value| value.parse().ok())
            .next_back()
            .unwrap_or(default)
    }

    /// `scripts/stack ARGS`: its output, or a panic with what it said.
    pub fn stack(&self, args: &[&str]) -> String {
        let mut command = Command::new(self.home.repo.join("scripts/stack"));
        command.args(args);
        succeeded(
            &format!("scripts/stack {}", args.join(" ")),
            run(command, None),
        )
    }

    /// `shopctl ARGS` as `user`: whatever it did.
    pub fn shopctl_as(&self, user: &str, password: &str, args: &[&str]) -> Output {
        let mut command = Command::new(&self.shopctl);
        command
            .args(args)
            .env("SHOP_URL", &self.gateway)
            .env("SHOP_USER", user)
            .env("SHOP_PASSWORD", password);
        run(command, None)
    }

    /// `shopctl admin ARGS` against auth's database, with `input` on stdin:
    /// whatever it did.
    pub fn shopctl_admin(&self, args: &[&str], input: Option<&str>) -> Output {
        let mut command = Command::new(&self.shopctl);
        command.arg("admin").args(args).env(
            "DATABASE_URL",
            format!("{}/auth?sslmode=disable", self.home.pg_url),
        );
        run(command, input)
    }
}

/// One value of one row.
pub async fn scalar<T>(db: &Client, sql: &str, params: &[&(dyn ToSql + Sync)]) -> T
where
    T: for<'a> tokio_postgres::types::FromSql<'a>,
{
    db.query_one(sql, params)
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
        .get(0)
}

/// Runs `command` to its end, `input` on its stdin.
fn run(mut command: Command, input: Option<&str>) -> Output {
    use std::io::Write;
    let program = command.get_program().to_string_lossy().into_owned();
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|err| panic!("{program}: {err}: cargo build --release --workspace --bins"));
    let mut stdin = child.stdin.take().expect("a piped stdin");
    if let Some(input) = input {
        stdin.write_all(input.as_bytes()).expect("writing to stdin");
    }
    drop(stdin);
    child.wait_with_output().expect("its output")
}

/// Standard output and error, in one text.
pub fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The output of a command that must succeed.
pub fn succeeded(what: &str, output: Output) -> String {
    assert!(output.status.success(), "{what}: {}", said(&output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}
