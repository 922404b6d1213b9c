//! The workspace's release binaries, which the crash drill, the trace
//! check and the TLS check start as real processes.

use std::path::{Path, PathBuf};

/// The services every such test starts.
pub const SERVICES: [&str; 5] = ["billing", "items", "slots", "order-api", "mediator"];

/// The binaries the image ships (scripts/image).
pub const IMAGE_BINARIES: [&str; 7] = [
    "auth",
    "billing",
    "items",
    "slots",
    "order-api",
    "mediator",
    "shopctl",
];

/// Every service of the stack, in scripts/lib.sh's start order.
pub const STACK_SERVICES: [&str; 6] =
    ["billing", "items", "slots", "auth", "order-api", "mediator"];

/// The folder holding them: the test runs from `target/<profile>/deps/`.
pub fn release_binaries() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf();
    for name in SERVICES {
        assert!(
            dir.join(name).exists(),
            "{} is missing: build the binaries first (cargo build --release --workspace --bins)",
            dir.join(name).display()
        );
    }
    dir
}
