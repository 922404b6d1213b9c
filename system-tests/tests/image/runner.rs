//! Running a program from the unpacked root filesystem as the image's
//! user: in a podman container with the chart's securityContext (read-only
//! root, no capabilities, no privilege escalation) on the host's network,
//! so it reaches the stack on 127.0.0.1; or, where podman cannot run
//! containers, with chroot in a mount namespace of its own, the root
//! remounted read-only and a tmpfs on /tmp, as the chart has. The values
//! of the environment travel in the environment, never as arguments: a
//! process's arguments are readable by every user in /proc, and the
//! services' hold credentials.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What the containers are named after, `shop-image-check-NAME`.
pub const CONTAINER_PREFIX: &str = "shop-image-check-";

pub enum Runner {
    Podman { runtime: Option<&'static str> },
    Chroot,
}

pub struct Root {
    pub rootfs: PathBuf,
    /// `uid:gid`.
    pub user: String,
}

impl Runner {
    /// podman where it runs a binary of the image here (with Debian's
    /// default runtime, crun, or else runc: crun refuses hosts with cgroups
    /// in hybrid mode), else chroot; `IMAGE_CHECK_RUNNER` (podman, chroot,
    /// auto) chooses.
    pub fn choose(root: &Root, probe: &str) -> Self {
        let wanted = std::env::var("IMAGE_CHECK_RUNNER").unwrap_or_else(|_| "auto".to_owned());
        match wanted.as_str() {
            "chroot" => return Self::Chroot,
            "podman" | "auto" => {}
            other => panic!("IMAGE_CHECK_RUNNER must be podman, chroot or auto, not {other}"),
        }
        let has_podman = Command::new("podman").arg("--version").output().is_ok();
        if has_podman {
            for runtime in [None, Some("runc")] {
                let runner = Self::Podman { runtime };
                let output = runner
                    .command(root, "probe", &[], &[probe, "--version"])
                    .output()
                    .expect("running podman");
                if output.status.success() {
                    return runner;
                }
                let said = String::from_utf8_lossy(&output.stderr);
                println!(
                    "[image] podman{} cannot run the image here: {}",
                    runtime.map_or(String::new(), |r| format!(" with {r}")),
                    said.lines().last().unwrap_or_default()
                );
            }
        }
        assert!(
            wanted != "podman",
            "podman cannot run the image here (IMAGE_CHECK_RUNNER=podman)"
        );
        Self::Chroot
    }

    pub fn name(&self) -> String {
        match self {
            Self::Podman { runtime: None } => "podman".to_owned(),
            Self::Podman {
                runtime: Some(runtime),
            } => format!("podman with {runtime}"),
            Self::Chroot => "chroot".to_owned(),
        }
    }

    /// `argv` from the root filesystem, as the image's user, with `env`
    /// alone (and, under chroot, PATH to find the tools that set it up).
    pub fn command(
        &self,
        root: &Root,
        name: &str,
        env: &[(String, String)],
        argv: &[&str],
    ) -> Command {
        match self {
            Self::Podman { runtime } => {
                let mut command = Command::new("podman");
                command
                    .args([
                        "run",
                        "--rm",
                        "--name",
                        &format!("{CONTAINER_PREFIX}{name}"),
                    ])
                    .args(["--network", "host", "--user", &root.user, "--read-only"])
                    .args(["--cap-drop", "ALL", "--security-opt", "no-new-privileges"])
                    // podman asks for a million open files and processes by
                    // default, more than a root without CAP_SYS_RESOURCE
                    // may grant: this process's open files, and processes
                    // enough for six services.
                    .args(["--ulimit", &format!("nofile={0}:{0}", open_files_limit())])
                    .args(["--ulimit", "nproc=4096:4096"]);
                if let Some(runtime) = runtime {
                    command.args(["--runtime", runtime]);
                }
                // `--env NAME` without a value: podman takes it from its own
                // environment.
                for (key, value) in env {
                    command.env(key, value).args(["--env", key]);
                }
                // Options before --rootfs: podman takes what follows the
                // root as the command.
                command.arg("--rootfs").arg(&root.rootfs).args(argv);
                command
            }
            Self::Chroot => {
                let gid = root.user.split_once(':').map_or("", |(_, gid)| gid);
                let mut command = Command::new("unshare");
                // Each step execs the next, so the pid held is the
                // program's; the mounts end with it.
                command
                    .env_clear()
                    .env("PATH", std::env::var("PATH").unwrap_or_default())
                    .envs(env.iter().map(|(k, v)| (k, v)))
                    .args(["--mount", "--propagation", "private", "--", "bash", "-c"])
                    .arg(CHROOT)
                    .arg("in-image")
                    .arg(&root.rootfs)
                    .args([&root.user, gid])
                    .args(argv);
                command
            }
        }
    }
}

/// The chroot runner's steps, in bash (`$1` the root, `$2` uid:gid, `$3`
/// the gid, then the command).
const CHROOT: &str = r#"root=$1 user=$2 gid=$3
shift 3
mount --bind "$root" "$root"
mount --rbind /dev "$root/dev"
mount --rbind /proc "$root/proc"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
mount -o remount,bind,ro,nosuid "$root"
exec chroot --userspec="$user" --groups="$gid" "$root" "$@""#;

/// The hard limit of open files of this process (/proc/self/limits).
fn open_files_limit() -> String {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .and_then(|line| line.split_whitespace().nth(4))
        .unwrap_or("1024")
        .to_owned()
}

/// Removes the containers named after `names` (an interrupted run's, or
/// one that SIGKILL left behind).
pub fn remove_containers(names: &[&str]) {
    for name in names {
        let _ = Command::new("podman")
            .args(["rm", "-f", &format!("{CONTAINER_PREFIX}{name}")])
            .output();
    }
}

/// The rootfs path of a file of the image.
pub fn in_root(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}
