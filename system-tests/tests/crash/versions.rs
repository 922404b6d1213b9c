//! Every release binary, as the crash drill finds them, answers `--version`.
/// Every binary of the release says which release it is.
#[test]
fn every_binary_answers_its_version() {
    let binaries = crate::processes::binaries();
    let programs = system_tests::binaries::IMAGE_BINARIES
        .into_iter()
        .chain(["loadgen"]);
    for program in programs {
        let answer = std::process::Command::new(binaries.join(program))
            .arg("--version")
            .output()
            .unwrap_or_else(|err| panic!("running {program} --version: {err}"));
        assert!(answer.status.success(), "{program} --version failed");
        let said = String::from_utf8_lossy(&answer.stdout);
        assert_eq!(
            said.trim(),
            format!("{program} {}", common::version::VERSION)
        );
    }
}
