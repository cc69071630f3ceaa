//! The crate layers of docs/architecture.md, checked against each crate's `[dependencies]`:
//! which weir crates it may import, and which outside crates a pure layer must not.

use std::collections::BTreeSet;
use std::path::Path;

/// `(path, weir crates it may import, outside crates it must not import)`.
const LAYERS: [(&str, &[&str], &[&str]); 10] = [
    (
        "providers/model",
        &[],
        &["kube", "tokio", "aws-config", "k8s-openapi"],
    ),
    (
        "controller/translate",
        &["weir-model"],
        &["kube", "tokio", "aws-config"],
    ),
    (
        "controller/manifests",
        &["weir-translate"],
        &["kube", "tokio"],
    ),
    (
        "controller/index",
        &["weir-model", "weir-translate"],
        &["kube", "tokio"],
    ),
    (
        "controller/runtime",
        &[
            "weir-model",
            "weir-translate",
            "weir-manifests",
            "weir-index",
        ],
        &[],
    ),
    ("providers/aws", &["weir-model"], &["kube", "k8s-openapi"]),
    ("providers/localproxy", &["weir-model"], &[]),
    (
        "localproxy",
        &[
            "weir-model",
            "weir-translate",
            "weir-manifests",
            "weir-provider-localproxy",
        ],
        &[],
    ),
    (
        "controller/cli",
        &[
            "weir-model",
            "weir-translate",
            "weir-manifests",
            "weir-index",
            "weir-runtime",
            "weir-provider-aws",
            "weir-provider-localproxy",
        ],
        &[],
    ),
    ("controller/e2e", &[], &[]),
];

/// The names in the `[dependencies]` table of a Cargo.toml.
fn dependencies(manifest: &str) -> BTreeSet<String> {
    let mut inside = false;
    let mut names = BTreeSet::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == "[dependencies]";
            continue;
        }
        if !inside || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name = line
            .split(['=', '.', ' '])
            .next()
            .unwrap_or_default()
            .to_owned();
        names.insert(name);
    }
    names
}

#[test]
fn each_crate_imports_only_the_layers_below_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for (path, allowed, forbidden) in LAYERS {
        let manifest = std::fs::read_to_string(root.join(path).join("Cargo.toml"))
            .unwrap_or_else(|error| panic!("{path}/Cargo.toml: {error}"));
        let deps = dependencies(&manifest);
        assert!(
            !deps.is_empty() || path == "providers/model",
            "{path}: no dependencies read"
        );
        for dep in &deps {
            if dep.starts_with("weir-") {
                assert!(
                    allowed.contains(&dep.as_str()),
                    "{path} imports {dep}, which docs/architecture.md does not allow"
                );
            }
            assert!(
                !forbidden.contains(&dep.as_str()),
                "{path} imports {dep}, which its layer must not"
            );
        }
    }
    // A new crate needs its row (and its line in docs/architecture.md).
    let workspace = std::fs::read_to_string(root.join("Cargo.toml")).expect("the workspace");
    let members = workspace
        .split_once("members = [")
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(list, _)| list)
        .expect("the members list");
    for member in members
        .split(',')
        .map(|member| member.trim().trim_matches('"'))
    {
        if member.is_empty() || member == "localstack-tests" {
            continue;
        }
        assert!(
            LAYERS.iter().any(|(path, _, _)| *path == member),
            "workspace member {member} has no layer here"
        );
    }
}
