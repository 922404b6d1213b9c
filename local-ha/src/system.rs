//! What the servers are run with: commands as the `postgres` user, the
//! ports and processes of this machine, and files owned by the server's
//! user.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Context;

pub fn say(message: &str) {
    line(&format!("[stack] {message}"));
}

/// A line on standard output; a reader that went away (`status | head`)
/// is no error.
pub fn line(text: &str) {
    let _ = writeln!(std::io::stdout(), "{text}");
}

pub fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0")
}

/// PostgreSQL refuses to run as root: as root, its tools run as `postgres`
/// (from /, which that user can always enter).
pub fn as_pg(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command
            .args(["-u", "postgres", "--"])
            .arg(program)
            .current_dir("/");
        command
    } else {
        Command::new(program)
    }
}

/// Runs `command` with its output appended to `log`; whether it succeeded.
pub fn run_logged(command: &mut Command, log: &Path) -> anyhow::Result<bool> {
    let file = append(log)?;
    let status = command
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .status()
        .with_context(|| format!("running {command:?}"))?;
    Ok(status.success())
}

/// Runs `command` quietly; whether it succeeded.
pub fn run_quiet(command: &mut Command) -> bool {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// `log`, opened to append (made first).
pub fn append(log: &Path) -> anyhow::Result<File> {
    if let Some(folder) = log.parent() {
        std::fs::create_dir_all(folder)?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))
}

/// Writes `text` to `path`, owned like the folder it is in (a server's
/// data folder: its files must stay the server user's).
pub fn write_owned(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    let folder = path.parent().context("a folder")?.metadata()?;
    std::os::unix::fs::chown(path, Some(folder.uid()), Some(folder.gid()))?;
    Ok(())
}

/// The last lines of a log, for an error.
pub fn tail(log: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Whether something accepts TCP connections on 127.0.0.1:PORT.
pub fn port_in_use(port: u16) -> bool {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok()
}

/// Whether process PID runs: exists and is not a zombie (an exited child
/// that its parent, or a slow init in a container, has not reaped yet).
pub fn proc_alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The fields after "(comm) "; the first is the state.
    stat.rsplit_once(") ")
        .is_some_and(|(_, fields)| !fields.starts_with('Z'))
}

/// The first 15 bytes of the executable's name of PID.
pub fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// The pid a pid file names, when that process runs `command` (not an
/// unrelated process that got the pid of a dead one).
pub fn pid_alive(pid_file: &Path, command: &str) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(pid_file)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let name: String = command.chars().take(15).collect();
    (proc_alive(pid) && comm(pid) == name).then_some(pid)
}

/// Whether a process's command line starts with `prefix` (the title a
/// PostgreSQL process gives itself).
pub fn any_process_titled(prefix: &str) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        String::from_utf8_lossy(&cmdline).starts_with(prefix)
    })
}

/// SIGTERM to PID, then up to 10 s for it to go.
pub fn terminate(pid: u32) {
    run_quiet(Command::new("kill").arg("-TERM").arg(pid.to_string()));
    for _ in 0..100 {
        if !proc_alive(pid) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
