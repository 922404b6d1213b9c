//! One version for the release: the workspace's, which every crate takes,
//! the chart's `version` and `appVersion`, the OpenAPI description's, and a
//! section of the changelog.

use std::path::PathBuf;

use common::version::VERSION;

fn repository_file(path: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|err| panic!("reading {path}: {err}"))
}

/// The value of the first line of `text` that starts with `key`, unquoted.
fn value_of<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|line| line.strip_prefix(key))
        .map(|value| value.trim().trim_matches('"'))
}

#[test]
fn the_chart_carries_the_workspace_version() {
    let chart = repository_file("helm/Chart.yaml");
    assert_eq!(value_of(&chart, "version:"), Some(VERSION));
    assert_eq!(value_of(&chart, "appVersion:"), Some(VERSION));
}

#[test]
fn the_openapi_description_carries_the_workspace_version() {
    let openapi = repository_file("openapi.yaml");
    assert_eq!(value_of(&openapi, "  version:"), Some(VERSION));
}

#[test]
fn every_crate_takes_the_workspace_version() {
    let workspace = repository_file("Cargo.toml");
    let members = workspace
        .lines()
        .find_map(|line| line.strip_prefix("members = "))
        .expect("the workspace's members");
    let members: Vec<&str> = members
        .trim_matches(['[', ']'])
        .split(',')
        .map(|m| m.trim().trim_matches('"'))
        .collect();
    assert!(members.len() > 5, "{members:?}");
    for member in members {
        let manifest = repository_file(&format!("{member}/Cargo.toml"));
        assert!(
            manifest
                .lines()
                .any(|line| line == "version.workspace = true"),
            "{member}/Cargo.toml does not take the workspace's version"
        );
    }
}

#[test]
fn the_changelog_describes_this_version() {
    let changelog = repository_file("CHANGELOG.md");
    assert!(
        changelog.contains(&format!("## [{VERSION}]")),
        "CHANGELOG.md has no section for {VERSION}"
    );
}
