//! The image made by scripts/image holds working binaries. scripts/image-check
//! makes it when needed, unpacks it and runs this, which checks the image's
//! config (user 10001:10001, HTTP_HOST=0.0.0.0) and root filesystem (the
//! user shop, the CA bundle), runs `<binary> --version` for the seven
//! binaries from that root filesystem as the image's user (runner.rs says
//! how), then starts the six services from it against the local stack's
//! PostgreSQL and Redis, each on its stack port + `IMAGE_CHECK_PORT_OFFSET`
//! (10000: 18001-18006, beside a running stack), and wants /ready to answer
//! and /health to carry the workspace's version.
//!
//! `IMAGE_LAYOUT` (the OCI layout), `IMAGE_TAG`, `IMAGE_ROOTFS` (it
//! unpacked), `IMAGE_CHECK_RUNNER`, `IMAGE_CHECK_PORT_OFFSET`, `STACK_DIR`.
//! The files the stack's environment names (JWT keys, the administrator's
//! password, the CA) are copied into the root filesystem under
//! /etc/shop/stack, readable by the image's user alone. Logs:
//! $STACK_DIR/logs/image-check/NAME.log.

mod layout;
mod runner;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use shop_client::{Call, Method, Shop};
use system_tests::binaries::{IMAGE_BINARIES as BINARIES, STACK_SERVICES};
use system_tests::processes::{StackHome, Started};

use layout::Image;
use runner::{in_root, remove_containers, Root, Runner};

const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The stack's files, as the services see them inside the root filesystem.
const SECRETS_IN_IMAGE: &str = "/etc/shop/stack";

fn setting(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: scripts/image-check runs this"))
}

fn ok(what: &str) {
    println!("ok     {what}");
}

#[tokio::test]
async fn every_service_runs_from_the_image() {
    let tag = setting("IMAGE_TAG");
    let image = Image::read(Path::new(&setting("IMAGE_LAYOUT")), &tag);
    let root = Root {
        rootfs: PathBuf::from(setting("IMAGE_ROOTFS")),
        user: image.user.clone(),
    };
    assert_eq!(image.user, "10001:10001", "the image's config user");
    ok("config user 10001:10001");
    assert!(
        image.env.iter().any(|kv| kv == "HTTP_HOST=0.0.0.0"),
        "the image's config env lacks HTTP_HOST=0.0.0.0: {:?}",
        image.env
    );
    ok("config env HTTP_HOST=0.0.0.0");
    let file =
        |path: &str| std::fs::read_to_string(in_root(&root.rootfs, path)).unwrap_or_default();
    assert!(
        file("/etc/passwd")
            .lines()
            .any(|l| l == "shop:x:10001:10001::/nonexistent:/usr/sbin/nologin")
            && file("/etc/group").lines().any(|l| l == "shop:x:10001:"),
        "the root filesystem has no user and group shop 10001:10001"
    );
    ok("rootfs user and group shop (10001:10001)");
    assert!(
        !file("/etc/ssl/certs/ca-certificates.crt").is_empty(),
        "the root filesystem lacks /etc/ssl/certs/ca-certificates.crt"
    );
    ok("rootfs CA bundle");

    let mut names: Vec<&str> = BINARIES.to_vec();
    names.push("probe");
    remove_containers(&names);
    let runner = Runner::choose(&root, "/usr/local/bin/shopctl");
    println!("[image] running from the image with {}", runner.name());
    let image_env: Vec<(String, String)> = image
        .env
        .iter()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    for binary in BINARIES {
        let argv = [format!("/usr/local/bin/{binary}"), "--version".to_owned()];
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let output = runner
            .command(&root, binary, &image_env, &argv)
            .output()
            .expect("running the runner");
        let said = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        assert_eq!(
            said,
            format!("{binary} {VERSION}"),
            "{binary} --version from the image: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        ok(&format!("{binary} --version: {said}"));
    }

    let home = StackHome::from_env();
    let offset: u16 = std::env::var("IMAGE_CHECK_PORT_OFFSET")
        .map_or(Ok(10000), |v| v.parse())
        .expect("IMAGE_CHECK_PORT_OFFSET: a port offset");
    let services = Services::new(&home, &root, offset, &image_env);
    // Dropped after `started`: a container that SIGKILL left is removed.
    let _containers = Containers(STACK_SERVICES.to_vec());
    let mut started = Started::new(home.dir.join("logs/image-check"));
    for name in STACK_SERVICES {
        let env: Vec<(String, String)> = services.env_for(name).into_iter().collect();
        let argv = [format!("/usr/local/bin/{name}")];
        let command = runner.command(&root, name, &env, &[argv[0].as_str()]);
        started.spawn(name, services.port(name), command);
    }
    for name in STACK_SERVICES {
        let port = services.port(name);
        started.wait_ready(name).await;
        ok(&format!("{name} /ready on :{port}: 200"));
        let shop = Shop::new(&format!("http://127.0.0.1:{port}")).expect("a client");
        let health = shop
            .call(Method::GET, "/health", Call::default())
            .await
            .unwrap_or_else(|err| panic!("{name} /health: {err}"));
        assert_eq!(
            health.body["version"].as_str(),
            Some(VERSION),
            "{name} /health on :{port}: {} {}",
            health.status,
            health.text
        );
        ok(&format!(
            "{name} /health on :{port}: 200, version {VERSION}"
        ));
    }

    let mib = |bytes: u64| format!("{:.1} MiB", bytes as f64 / 1_048_576.0);
    println!(
        "[image] image size: {} compressed ({} layers)",
        mib(image.compressed_bytes),
        image.layers
    );
    let du = Command::new("du")
        .arg("-sb")
        .arg(&root.rootfs)
        .output()
        .expect("du");
    let rootfs_bytes: u64 = String::from_utf8_lossy(&du.stdout)
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_default();
    println!("[image] rootfs size: {} unpacked", mib(rootfs_bytes));
    println!("[image] all checks passed ({tag}, {})", runner.name());
}

/// Containers to remove at the end, whatever happened.
struct Containers(Vec<&'static str>);

impl Drop for Containers {
    fn drop(&mut self) {
        remove_containers(&self.0);
    }
}

/// The services' environment in the image: the image's, then the stack's
/// on the spare ports, with the stack's files moved under SECRETS_IN_IMAGE.
struct Services<'a> {
    home: &'a StackHome,
    root: &'a Root,
    offset: u16,
    image_env: &'a [(String, String)],
    /// Each service's environment in the stack (scripts/lib.sh's).
    stack_envs: HashMap<&'static str, HashMap<String, String>>,
    /// Each service's port in the stack.
    stack_ports: HashMap<&'static str, u16>,
}

impl<'a> Services<'a> {
    fn new(
        home: &'a StackHome,
        root: &'a Root,
        offset: u16,
        image_env: &'a [(String, String)],
    ) -> Self {
        let stack_envs: HashMap<&'static str, HashMap<String, String>> = STACK_SERVICES
            .iter()
            .map(|&name| (name, home.env_for(name, false)))
            .collect();
        let stack_ports = stack_envs
            .iter()
            .map(|(&name, env)| (name, env["HTTP_PORT"].parse().expect("a port")))
            .collect();
        Self {
            home,
            root,
            offset,
            image_env,
            stack_envs,
            stack_ports,
        }
    }

    fn port(&self, name: &str) -> u16 {
        self.stack_ports[name] + self.offset
    }

    /// NAME's environment. The stack's HTTP_HOST (127.0.0.1) wins over the
    /// image's 0.0.0.0: on the host's network the check keeps its services
    /// off the machine's interfaces.
    fn env_for(&self, name: &str) -> HashMap<String, String> {
        let mut env: HashMap<String, String> = self.image_env.iter().cloned().collect();
        let stack_dir = format!("{}/", self.home.dir.display());
        for (key, value) in &self.stack_envs[name] {
            let mut rest = value.as_str();
            while let Some(at) = rest.find(&stack_dir) {
                rest = &rest[at + stack_dir.len()..];
                let end = rest.find(['&', '?', ';', ',', ' ']).unwrap_or(rest.len());
                self.copy_stack_file(&rest[..end]);
            }
            let mut value = value.replace(&stack_dir, &format!("{SECRETS_IN_IMAGE}/"));
            for (sibling, port) in &self.stack_ports {
                let at = format!("127.0.0.1:{port}");
                if value.ends_with(&at) || value.contains(&format!("{at}/")) {
                    value = value.replace(&at, &format!("127.0.0.1:{}", self.port(sibling)));
                }
            }
            env.insert(key.clone(), value);
        }
        env.insert("HTTP_PORT".into(), self.port(name).to_string());
        env
    }

    /// A file of STACK_DIR, copied into the root filesystem readable by the
    /// image's user alone (the private key is root's on the host).
    fn copy_stack_file(&self, relative: &str) {
        let from = self.home.dir.join(relative);
        if !from.is_file() {
            return;
        }
        let to = in_root(&self.root.rootfs, &format!("{SECRETS_IN_IMAGE}/{relative}"));
        std::fs::create_dir_all(to.parent().expect("a folder")).expect("a folder in the image");
        std::fs::copy(&from, &to).unwrap_or_else(|err| panic!("{}: {err}", from.display()));
        let (uid, gid) = self.root.user.split_once(':').expect("uid:gid");
        std::os::unix::fs::chown(&to, uid.parse().ok(), gid.parse().ok()).expect("chown");
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o400)).expect("chmod");
    }
}
