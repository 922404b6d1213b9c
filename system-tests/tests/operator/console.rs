//! The console's part of the drill: `console.js` beside this file works the
//! web console in headless Chromium (puppeteer-core, pinned in
//! package-lock.json) the way an operator would, and prints one line per
//! check, then `N passed, M failed`. It stops and restarts the mediator
//! with `scripts/stack` for its cancel; nothing else of the stack.
//!
//! `CHROMIUM` (`/usr/bin/chromium`); `DRILL_UPDATE_DOCS=1` also copies the
//! screenshot to docs/console.png (always when that is missing).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde::Deserialize;
use serde_json::json;

use crate::stack::Stack;

/// What the console is shown and asked to do.
pub struct Scenario<'a> {
    pub customer: &'a str,
    pub customer_token: &'a str,
    pub admin_password: &'a str,
    pub completed: i64,
    pub failed: i64,
    pub parked: &'a [i64],
    /// The demo's parked saga, open in the screenshot.
    pub demo_parked: i64,
    /// The order placed while the mediator is stopped, then cancelled.
    pub item: u32,
    pub slot: &'a str,
}

/// What the console changed: the saga retried and the order cancelled
/// from their panels.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    pub retried: Option<i64>,
    pub cancelled: Option<i64>,
}

pub fn run(stack: &Stack, scenario: &Scenario<'_>) -> Done {
    let work = stack.home.dir.join("operator-drill");
    std::fs::create_dir_all(&work).expect("the drill's folder");
    let (config, result) = (work.join("browser.json"), work.join("browser-result.json"));
    let _ = std::fs::remove_file(&result);
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let settings = json!({
        "base": stack.gateway,
        "chromium": chromium,
        "username": scenario.customer,
        "completed": scenario.completed,
        "failed": [scenario.failed],
        "parked": scenario.parked,
        "demoParked": scenario.demo_parked,
        "cancelOrder": {"amount": 4, "details": {"item": scenario.item, "slot": scenario.slot}},
        "stack": stack.home.repo.join("scripts/stack"),
        "screenshot": work.join("console.png"),
        "docsScreenshot": stack.home.repo.join("docs/console.png"),
        "updateDocs": std::env::var("DRILL_UPDATE_DOCS").is_ok_and(|v| v == "1"),
        "failureScreenshot": work.join("failure.png"),
        "result": result,
    });
    std::fs::write(&config, settings.to_string()).expect("the browser's configuration");

    // The secrets go by environment, never in argv or the file.
    let mut child = Command::new("node")
        .arg(
            stack
                .home
                .repo
                .join("system-tests/tests/operator/console.js"),
        )
        .arg(&config)
        .current_dir(&stack.home.repo)
        .env("DRILL_ADMIN_PASSWORD", scenario.admin_password)
        .env("DRILL_CUSTOMER_TOKEN", scenario.customer_token)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("node: {err}: scripts/operator-drill installs it"));
    let mut last = String::new();
    for line in BufReader::new(child.stdout.take().expect("a piped stdout")).lines() {
        let line = line.expect("the browser part's output");
        println!("[console] {line}");
        last = line;
    }
    let status = child.wait().expect("the browser part's end");
    let counts: Option<(u32, u32)> = last
        .strip_suffix(" failed")
        .and_then(|rest| rest.split_once(" passed, "))
        .and_then(|(passed, failed)| Some((passed.parse().ok()?, failed.parse().ok()?)));
    match counts {
        Some((passed, 0)) if passed > 0 && status.success() => {}
        _ => panic!(
            "the console's part failed ({status}, last said \"{last}\"); see the lines above"
        ),
    }
    let text = std::fs::read_to_string(&result).unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_default()
}
