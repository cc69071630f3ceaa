//! `weir-controller apply --once` and the live `plan` against a real emulator process (moto
//! server, or `WEIR_AWS_ENDPOINT`): the shop example is created, planned as up to date, and
//! deleted by applying an empty folder.

use std::path::Path;
use std::process::{Command, Output};

use localstack_tests::Emulator;

fn run(emulator: &Emulator, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weir-controller"))
        .args(args)
        .env("AWS_ENDPOINT_URL", emulator.endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("weir-controller runs")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn apply_once_creates_plan_shows_no_calls_and_an_empty_folder_deletes() {
    let emulator = Emulator::start();
    let shop = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/shop");
    let subnets = emulator.subnets().join(",");
    let cluster = "cli-test";
    let common = [
        "--provider",
        "aws",
        "--ingress-class",
        "weir",
        "--cluster-name",
        cluster,
        "--subnets",
        &subnets,
    ];

    let mut args = vec!["plan", "--manifests", shop];
    args.extend(common);
    let planned = stdout(&run(&emulator, &args));
    assert!(
        planned.contains("stack group:shop: 24 calls, in order:"),
        "{planned}"
    );
    assert!(
        planned.contains("  1. ImportCertificate certificate/shop/shop-tls"),
        "{planned}"
    );
    assert!(planned.contains("(0 mutating)"), "{planned}");

    let mut args = vec!["apply", "--once", "--manifests", shop];
    args.extend(common);
    let applied = stdout(&run(&emulator, &args));
    assert!(
        applied.contains("stack group:shop: weir-") && applied.contains(".elb.amazonaws.com"),
        "{applied}"
    );

    let mut args = vec!["plan", "--manifests", shop];
    args.extend(common);
    let planned = stdout(&run(&emulator, &args));
    assert!(
        planned.contains("stack group:shop: up to date, no calls"),
        "{planned}"
    );

    let empty = std::env::temp_dir().join(format!("weir-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty).expect("empty folder");
    let empty_path = empty.to_str().expect("utf-8 temp path");
    let args = [
        "apply",
        "--once",
        "--manifests",
        empty_path,
        "--provider",
        "aws",
        "--cluster-name",
        cluster,
    ];
    let deleted = stdout(&run(&emulator, &args));
    assert!(deleted.contains("stack group:shop: deleted"), "{deleted}");
    let again = stdout(&run(&emulator, &args));
    assert!(again.contains("(0 mutating)"), "{again}");
    let _ = std::fs::remove_dir(Path::new(&empty));
}

#[test]
fn plan_without_a_cluster_name_stays_offline() {
    let shop = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/shop");
    let output = Command::new(env!("CARGO_BIN_EXE_weir-controller"))
        .args([
            "plan",
            "--manifests",
            shop,
            "--provider",
            "aws",
            "--ingress-class",
            "weir",
        ])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .expect("weir-controller runs");
    let text = stdout(&output);
    assert!(text.contains("ALB rules"), "{text}");
    assert!(!text.contains("calls, in order"), "{text}");
}
