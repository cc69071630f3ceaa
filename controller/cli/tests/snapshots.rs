//! Whole-plan snapshots (model, ALB view, diagnostics) of the fixtures under
//! `tests/fixtures/models/` and of the README's example, for both providers.

use std::path::Path;

use weir_controller::plan::Plan;
use weir_translate::{ControllerKind, TranslateConfig};

fn plans(dir: &Path) -> (String, String) {
    let snapshot = weir_manifests::load_dir(dir).unwrap();
    let plan = |kind| Plan::new(&snapshot, kind, &TranslateConfig::for_controller(kind)).to_json();
    (
        plan(ControllerKind::LocalProxy),
        plan(ControllerKind::AwsAlb),
    )
}

fn check(name: &str, dir: &Path) {
    let (localproxy, aws) = plans(dir);
    insta::assert_snapshot!(format!("{name}-localproxy"), localproxy);
    insta::assert_snapshot!(format!("{name}-aws"), aws);
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/models")
        .join(name)
}

#[test]
fn readme_example() {
    check(
        "shop",
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/shop"),
    );
}

#[test]
fn class_selection() {
    check("classes", &fixture("classes"));
}

#[test]
fn endpoints() {
    check("endpoints", &fixture("endpoints"));
}

#[test]
fn listeners_and_certificates() {
    check("listeners", &fixture("listeners"));
}

#[test]
fn wildcard_hosts() {
    check("wildcards", &fixture("wildcards"));
}

#[test]
fn conditions_and_actions() {
    check("routing", &fixture("routing"));
}
