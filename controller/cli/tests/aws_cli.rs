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

/// Every row of issue 11 in one group beside a good Ingress: a misspelled scheme, bad health
/// checks, a certificate ACM does not have, and a member over the rule quota.
fn one_bad_ingress_of_each_kind() -> String {
    use localstack_tests::{Fixture, Ingress};
    let mut fixture = Fixture::with_rules(0);
    let mut add = |name: &str, annotations: &[(&str, &str)], paths: usize| {
        let mut ingress = Ingress::new(name, &format!("{name}.example.com"), &[]);
        ingress.paths = (0..paths)
            .map(|index| (format!("/r{index:03}"), "Exact".into(), "svc0".into()))
            .collect();
        ingress.group = Some("g".into());
        for (key, value) in annotations {
            ingress.annotations.insert((*key).into(), (*value).into());
        }
        fixture.ingresses.push(ingress);
    };
    add("good", &[("weir.dev/group.order", "1")], 1);
    add("bad-scheme", &[("weir.dev/scheme", "internet-facin")], 1);
    add(
        "bad-health",
        &[
            ("weir.dev/healthcheck-path", "health"),
            ("weir.dev/healthcheck-interval-seconds", "-5"),
            ("weir.dev/healthcheck-timeout-seconds", "9999"),
        ],
        1,
    );
    add(
        "bad-cert",
        &[(
            "alb.ingress.kubernetes.io/certificate-arn",
            "arn:aws:acm:us-east-1:000000000000:certificate/00000000-0000-0000-0000-00000000dead",
        )],
        1,
    );
    add("big", &[("weir.dev/group.order", "9")], 101);
    fixture.yaml()
}

#[test]
fn apply_once_applies_the_good_ingress_names_every_bad_one_and_exits_1() {
    let emulator = Emulator::start();
    let dir = std::env::temp_dir().join(format!("weir-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("folder");
    std::fs::write(dir.join("group.yaml"), one_bad_ingress_of_each_kind()).expect("write");
    let dir_path = dir.to_str().expect("utf-8 temp path");
    let subnets = emulator.subnets().join(",");
    let common = [
        "--manifests",
        dir_path,
        "--provider",
        "aws",
        "--cluster-name",
        "cli-bad",
        "--subnets",
        &subnets,
    ];

    let mut args = vec!["plan"];
    args.extend(common);
    let planned = stdout(&run(&emulator, &args));
    assert!(
        planned.contains("left out of the ALB (over a quota, see the errors): test/big"),
        "{planned}"
    );
    assert!(
        planned.contains("stack group:g: leaves out what these name:")
            && planned.contains("Ingress test/bad-cert metadata.annotations[certificate-arn]"),
        "{planned}"
    );

    let mut args = vec!["apply", "--once"];
    args.extend(common);
    let output = run(&emulator, &args);
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{out}\n{err}");
    assert!(
        out.contains("stack group:g: weir-") && out.contains(".elb.amazonaws.com"),
        "{out}"
    );
    assert!(
        out.contains(
            "Error Ingress test/bad-cert metadata.annotations[certificate-arn]: CertificateUnusable"
        ),
        "{out}"
    );
    assert!(
        out.contains("Error Ingress test/big spec.rules: QuotaExceeded"),
        "{out}"
    );
    for field in [
        "Ingress test/bad-scheme metadata.annotations[weir.dev/scheme]",
        "Ingress test/bad-health metadata.annotations[weir.dev/healthcheck-path]",
        "Ingress test/bad-health metadata.annotations[weir.dev/healthcheck-interval-seconds]",
        "Ingress test/bad-health metadata.annotations[weir.dev/healthcheck-timeout-seconds]",
    ] {
        assert!(err.contains(field), "{field}: {err}");
    }
    assert!(!out.contains("transient"), "{out}");
    assert!(
        !out.contains("Ingress test/good") && !err.contains("Ingress test/good"),
        "the good Ingress is never blamed: {out}\n{err}"
    );

    // A second run changes nothing and says the same.
    let again = run(&emulator, &args);
    let out = String::from_utf8_lossy(&again.stdout);
    assert_eq!(again.status.code(), Some(1), "{out}");
    assert!(out.contains("(0 mutating)"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn apply_once_creates_an_alb_per_gateway_of_the_aws_class() {
    let emulator = Emulator::start();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/gateway");
    let subnets = emulator.subnets().join(",");
    let args = [
        "apply",
        "--once",
        "--manifests",
        example,
        "--provider",
        "aws",
        "--cluster-name",
        "gateway-cli",
        "--subnets",
        &subnets,
    ];
    let output = run(&emulator, &args);
    let applied = String::from_utf8_lossy(&output.stdout);
    assert!(
        applied.contains("stack gateway:shop/edge-alb: weir-")
            && applied.contains(".elb.amazonaws.com"),
        "{applied}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !applied.contains("gateway:shop/edge:"),
        "the proxy's Gateway is not AWS's: {applied}"
    );
    let mut plan_args = vec!["plan"];
    plan_args.extend(&args[2..]);
    let planned = stdout(&run(&emulator, &plan_args));
    assert!(
        planned.contains("stack gateway:shop/edge-alb: up to date, no calls"),
        "{planned}"
    );
}

#[test]
fn without_subnets_the_plan_uses_the_subnets_discovered_in_the_vpc() {
    let emulator = Emulator::start();
    for subnet in emulator.subnets() {
        emulator.ec2_value(
            &[
                ("Action", "CreateTags"),
                ("ResourceId.1", subnet),
                ("Tag.1.Key", "kubernetes.io/role/elb"),
                ("Tag.1.Value", "1"),
            ],
            "requestId",
        );
    }
    let shop = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/shop");
    let plan = |vpc: &str| {
        let args = [
            "plan",
            "--manifests",
            shop,
            "--provider",
            "aws",
            "--ingress-class",
            "weir",
            "--cluster-name",
            "discovery",
            "--vpc-id",
            vpc,
        ];
        stdout(&run(&emulator, &args))
    };
    let mut subnets = emulator.subnets().to_vec();
    subnets.sort();
    let planned = plan(emulator.vpc_id());
    assert!(
        planned.contains(&format!(
            "scheme=internet-facing subnets=[{}]",
            subnets.join(",")
        )),
        "{planned}"
    );

    let elsewhere = emulator.ec2_value(
        &[("Action", "CreateVpc"), ("CidrBlock", "10.9.0.0/16")],
        "vpcId",
    );
    let planned = plan(&elsewhere);
    assert!(
        planned.contains("cannot be applied")
            && planned.contains("has no subnets")
            && planned.contains("kubernetes.io/role/elb=1"),
        "{planned}"
    );
}
