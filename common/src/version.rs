//! The release this build belongs to. Every crate of the workspace, the
//! chart (`version`, `appVersion`) and the OpenAPI description carry the
//! same version; a test keeps them equal (`common/tests/version.rs`).

/// This build's release, from the workspace's `Cargo.toml`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// If the first argument is `--version` or `-V`, prints `program VERSION`
/// and exits; otherwise returns.
pub fn answer_flag(program: &str) {
    if matches!(std::env::args().nth(1).as_deref(), Some("--version" | "-V")) {
        println!("{program} {VERSION}");
        std::process::exit(0);
    }
}
