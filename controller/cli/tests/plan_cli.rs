//! `weir-controller plan` as a user runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn plan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weir-controller"))
        .arg("plan")
        .args(args)
        .output()
        .unwrap()
}

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/shop")
        .to_str()
        .unwrap()
        .to_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weir-plan-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(dir.join("nested")).unwrap();
    dir
}

#[test]
fn prints_the_model_and_diagnostics_of_the_readme_example() {
    let output = plan(&["--manifests", &example()]);
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("stack class:weir"), "{text}");
    assert!(text.contains("Exact  /cart"), "{text}");
    assert!(
        text.contains("ServiceNotFound: Service shop/checkout not found"),
        "{text}"
    );
    assert!(
        text.contains("1 stack(s), 2 diagnostic(s), 0 error(s)"),
        "{text}"
    );
}

#[test]
fn json_output_parses_and_aws_adds_the_alb_rules() {
    let output = plan(&[
        "--manifests",
        &example(),
        "--provider",
        "aws",
        "--ingress-class",
        "weir",
        "-o",
        "json",
    ]);
    assert!(output.status.success(), "{output:?}");
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(plan["provider"], "aws");
    let stack = &plan["stacks"][0];
    assert_eq!(stack["stack"], "group:shop");
    assert_eq!(
        stack["alb"]["rules"][0]["paths"],
        serde_json::json!(["/cart"])
    );
    assert_eq!(
        stack["alb"]["rules"][1]["paths"],
        serde_json::json!(["/cart/items", "/cart/items/*"])
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains("PRIVATE KEY"));
}

#[test]
fn unparseable_input_fails_naming_file_and_document() {
    let dir = temp_dir("yaml");
    std::fs::write(
        dir.join("nested/ok.yml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: skipped}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("nested/broken.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\nkind: [unclosed\n",
    )
    .unwrap();
    let output = plan(&["--manifests", dir.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let error = String::from_utf8(output.stderr).unwrap();
    assert!(
        error.contains("broken.yaml: document 2: invalid YAML"),
        "{error}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn objects_that_do_not_fit_their_schema_fail_naming_the_kind() {
    let dir = temp_dir("schema");
    std::fs::write(
        dir.join("bad.yaml"),
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: a}\nspec: {rules: 5}\n",
    )
    .unwrap();
    let output = plan(&["--manifests", dir.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let error = String::from_utf8(output.stderr).unwrap();
    assert!(
        error.contains("bad.yaml: document 1: invalid networking.k8s.io/v1/Ingress"),
        "{error}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_missing_folder_is_an_error() {
    let output = plan(&["--manifests", "/nonexistent/weir-manifests"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/weir-manifests"));
}

#[test]
fn a_reader_that_goes_away_is_not_a_crash() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weir-controller"))
        .args(["plan", "--manifests", &example(), "-o", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(output.status.success(), "{output:?}");
}

#[test]
fn apply_refuses_to_delete_everything_when_ingresses_are_present_but_none_is_selected() {
    let output = Command::new(env!("CARGO_BIN_EXE_weir-controller"))
        .args([
            "apply",
            "--once",
            "--provider",
            "aws",
            "--cluster-name",
            "demo",
            "--manifests",
            &example(),
        ])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("refusing to delete every stack of cluster \"demo\""),
        "{error}"
    );
}

#[test]
fn shows_conditions_and_actions_in_the_model_and_the_alb_rules() {
    let routing = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/models/routing")
        .to_str()
        .unwrap()
        .to_owned();
    let output = plan(&[
        "--manifests",
        &routing,
        "--provider",
        "aws",
        "--ingress-class",
        "weir-alb",
    ]);
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    for line in [
        "Prefix /                            if header x-api-version=glob:\"v2\" -> forward shop/api-v2:80",
        "-> forward shop/api:80*90,shop/api-v2:80*10 (1 ready)",
        "Exact  /old                         -> redirect 301 https://#{host}/new",
        "Prefix /maintenance                 -> fixed-response 503 (9 bytes)",
        "method=POST query=admin=1 source-ip=10.0.0.0/8 -> forward shop/api-admin:80",
        "metadata.annotations[weir.dev/actions.broken]: InvalidField: not valid JSON",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

#[test]
fn gateway_api_stacks_show_routes_filters_and_route_status() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/gateway");
    let dir = dir.to_str().unwrap();
    let output = plan(&["--manifests", dir]);
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("stack gateway:shop/edge\n"), "{text}");
    assert!(
        !text.contains("gateway:shop/edge-alb"),
        "the ALB class is not the proxy's: {text}"
    );
    assert!(
        text.contains("if header x-version=\"v2\" -> forward shop/api-v2:80"),
        "{text}"
    );
    assert!(
        text.contains("forward shop/api:80*90,shop/api-v2:80*10"),
        "{text}"
    );
    assert!(text.contains("[rewrite path /[prefix]]"), "{text}");
    assert!(
        text.contains("redirect 301 #{scheme}://#{host}/new"),
        "{text}"
    );
    assert!(
        text.contains("HTTPRoute shop/missing-backend -> Gateway shop/edge:\n  Accepted=True (Accepted)\n  ResolvedRefs=False (BackendNotFound)"),
        "{text}"
    );
    let json = plan(&["--manifests", dir, "--provider", "aws", "-o", "json"]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["stacks"][0]["stack"], "gateway:shop/edge-alb");
    assert_eq!(value["route_statuses"][0]["route"]["name"], "storefront");
    assert!(value["stacks"][0]["alb"]["rules"].as_array().unwrap().len() >= 2);
}

#[test]
fn listeners_whose_certificate_no_reference_grant_permits_are_shown() {
    let dir = temp_dir("listener-problems");
    std::fs::write(
        dir.join("gateway.yaml"),
        "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: weir}\nspec: {controllerName: weir.dev/localproxy}\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: edge, namespace: shop}\nspec:\n  gatewayClassName: weir\n  listeners:\n  - name: https\n    port: 443\n    protocol: HTTPS\n    tls: {certificateRefs: [{name: cert, namespace: certs}]}\n  - {name: http, port: 80, protocol: HTTP}\n",
    )
    .unwrap();
    let output = plan(&["--manifests", dir.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains("Gateway shop/edge listener https:\n  Accepted=True (Accepted)\n  ResolvedRefs=False (RefNotPermitted)"),
        "{text}"
    );
    assert!(
        !text.contains("listener http:"),
        "only listeners with a problem: {text}"
    );
}
