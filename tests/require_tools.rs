//! The skip contract of tests/common: a missing tool skips a test, except
//! under `PERFOLD_REQUIRE_TOOLS` (set by `.ci/run`), where it fails it.
//! One test in its own binary: it sets the variable for this process only.

mod common;

#[test]
fn a_missing_tool_skips_or_fails_under_perfold_require_tools() {
    let missing = "perfold-test-no-such-tool";
    std::env::remove_var("PERFOLD_REQUIRE_TOOLS");
    assert!(!common::have_tool(missing));
    assert!(common::have_tool(env!("CARGO")), "cargo --version runs");

    std::env::set_var("PERFOLD_REQUIRE_TOOLS", "1");
    let required = std::panic::catch_unwind(|| common::have_tool(missing));
    let file = std::panic::catch_unwind(|| {
        common::have_file(std::path::Path::new("/nonexistent/perfold-test"))
    });
    std::env::remove_var("PERFOLD_REQUIRE_TOOLS");
    assert!(required.is_err(), "a missing tool must fail the test");
    assert!(file.is_err(), "a missing file must fail the test");
}
