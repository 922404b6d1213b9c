//! TLS to PostgreSQL and Redis, service by service. Each release binary is
//! started a second time, on its stack port + 100, configured as under
//! `STACK_TLS=1` (DATABASE_URL with sslmode=verify-full and the stack's CA;
//! order-api's and the mediator's REDIS_URL rediss:// with REDIS_CA_FILE):
//! each must become ready, and PostgreSQL must see every connection it
//! holds encrypted. Then the certificate is checked for what it is: a CA
//! that signed nothing, for PostgreSQL and for Redis, and a server name the
//! certificate does not hold under verify-full, are refused (the process
//! exits naming the certificate); the same name under verify-ca, and
//! `require` without a CA, are accepted.
//!
//! Needs the stack's PostgreSQL and Redis (`scripts/stack up --infra` makes
//! them, with their certificates) and the release binaries; leaves nothing
//! running. `STACK_DIR`, `STACK_PG_URL`. Logs: $STACK_DIR/logs/tls-check/.

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use system_tests::binaries::STACK_SERVICES as SERVICES;
use system_tests::processes::{StackHome, Started};

/// Beside the stack's ports, away from the trace check's (+ 200).
const PORT_OFFSET: u16 = 100;

struct Check {
    home: StackHome,
    binaries: std::path::PathBuf,
    /// Each service's environment under STACK_TLS=1, on its port + 100,
    /// its database connections named tls-check-NAME.
    envs: HashMap<&'static str, HashMap<String, String>>,
}

impl Check {
    fn new() -> Self {
        let home = StackHome::from_env();
        let envs = SERVICES
            .iter()
            .map(|&name| {
                let mut env = home.env_for(name, true);
                let port: u16 = env["HTTP_PORT"].parse().expect("a port");
                env.insert("HTTP_PORT".into(), (port + PORT_OFFSET).to_string());
                let database = env.get_mut("DATABASE_URL").expect("a DATABASE_URL");
                database.push_str(&format!("&application_name=tls-check-{name}"));
                (name, env)
            })
            .collect();
        Self {
            home,
            binaries: system_tests::binaries::release_binaries(),
            envs,
        }
    }

    fn env(&self, name: &str) -> &HashMap<String, String> {
        &self.envs[name]
    }

    /// Starts NAME as `label`, with `env` over its own.
    fn start(&self, started: &mut Started, label: &str, name: &str, env: &[(&str, String)]) {
        let mut vars = self.env(name).clone();
        let port: u16 = vars["HTTP_PORT"].parse().expect("a port");
        for (key, value) in env {
            vars.insert((*key).to_owned(), value.clone());
        }
        let mut command = Command::new(self.binaries.join(name));
        command.envs(&vars);
        started.spawn(label, port, command);
    }

    fn started(&self) -> Started {
        Started::new(self.home.dir.join("logs/tls-check"))
    }

    /// NAME, so configured, gives up with the certificate's error.
    async fn refused(&self, what: &str, name: &str, env: &[(&str, String)]) {
        let mut started = self.started();
        let label = format!("refused-{}", what.replace(' ', "-"));
        self.start(&mut started, &label, name, env);
        let status = started.wait_exit(&label, Duration::from_secs(30)).await;
        assert!(!status.success(), "{name} exited 0 with {what}");
        let log = std::fs::read_to_string(started.log(&label)).unwrap_or_default();
        let error = log
            .find("invalid peer certificate")
            .map(|at| {
                log[at..]
                    .split(['"', '\\', '\n'])
                    .next()
                    .unwrap_or_default()
            })
            .unwrap_or_else(|| {
                panic!("{name}'s error does not name the certificate ({what}):\n{log}")
            });
        println!(
            "[tls] {what}: refused ({})",
            error.trim_end_matches([' ', ':'])
        );
    }

    /// NAME, so configured, becomes ready.
    async fn accepted(&self, what: &str, name: &str, env: &[(&str, String)]) {
        let mut started = self.started();
        let label = format!("accepted-{}", what.replace(' ', "-"));
        self.start(&mut started, &label, name, env);
        started.wait_ready(&label).await;
        println!("[tls] {what}: accepted");
    }
}

#[tokio::test]
async fn every_service_reaches_postgres_and_redis_over_verified_tls() {
    let check = Check::new();
    let postgres = loadgen::conservation::connect(&format!("{}/postgres", check.home.pg_url))
        .await
        .expect("the stack's PostgreSQL (scripts/stack up --infra)");

    let mut started = check.started();
    for name in SERVICES {
        let url = &check.env(name)["DATABASE_URL"];
        assert!(
            url.contains("sslmode=verify-full&sslrootcert="),
            "{name}'s DATABASE_URL under STACK_TLS=1 does not ask for verify-full: {url}"
        );
        check.start(&mut started, name, name, &[]);
    }
    for name in SERVICES {
        started.wait_ready(name).await;
        // Every connection the service holds is encrypted, and it holds one.
        let row = postgres
            .query_one(
                "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl)
                 FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
                 WHERE a.application_name = $1",
                &[&format!("tls-check-{name}")],
            )
            .await
            .expect("pg_stat_ssl");
        let (encrypted, plain): (i64, i64) = (row.get(0), row.get(1));
        assert!(
            encrypted >= 1 && plain == 0,
            "{name}: {encrypted} encrypted and {plain} plain connections to PostgreSQL"
        );
        let redis = if matches!(name, "order-api" | "mediator") {
            ", Redis rediss://"
        } else {
            ""
        };
        println!("[tls] {name:9} ready: PostgreSQL verify-full ({encrypted} connections, all encrypted){redis}");
    }
    drop(started);

    let orders = check.env("order-api");
    let wrong_ca = |path: &str| path.replace("/ca.crt", "/wrong-ca.crt");
    check
        .refused(
            "a wrong CA for PostgreSQL",
            "order-api",
            &[("DATABASE_URL", wrong_ca(&orders["DATABASE_URL"]))],
        )
        .await;
    check
        .refused(
            "a wrong CA for Redis",
            "order-api",
            &[("REDIS_CA_FILE", wrong_ca(&orders["REDIS_CA_FILE"]))],
        )
        .await;
    // A name the certificate does not hold, at the server's address: only
    // verify-full looks at the name.
    let billing = &check.env("billing")["DATABASE_URL"];
    let misnamed = format!(
        "{}&hostaddr=127.0.0.1",
        billing.replacen("@127.0.0.1:", "@db.invalid:", 1)
    );
    check
        .refused(
            "verify-full, a name the certificate does not hold",
            "billing",
            &[("DATABASE_URL", misnamed.clone())],
        )
        .await;
    check
        .accepted(
            "verify-ca, the same name",
            "billing",
            &[("DATABASE_URL", misnamed.replace("verify-full", "verify-ca"))],
        )
        .await;
    let require = format!(
        "{}/billing?sslmode=require&application_name=tls-check-billing",
        check.home.pg_url
    );
    check
        .accepted(
            "require without a CA",
            "billing",
            &[("DATABASE_URL", require)],
        )
        .await;
}
