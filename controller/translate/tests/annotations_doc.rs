//! `docs/annotations.md` lists exactly the annotations translation reads: every name in
//! `weir_translate::ANNOTATION_NAMES` (which `lookup` insists on in debug builds) and every
//! name a lookup in the source passes, with its alias, and the Kubernetes keys. A new
//! annotation fails here until the table has its row, and a row whose annotation is gone too.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use weir_translate::{ALB_PREFIX, ANNOTATION_NAMES, KUBERNETES_KEYS, WEIR_PREFIX};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The first backticked cell of each table row, and the second.
fn rows(markdown: &str) -> Vec<(String, String)> {
    markdown
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let unquote = |cell: &str| cell.trim_matches('`').to_owned();
            (unquote(cells[1]), unquote(cells[2]))
        })
        .collect()
}

/// A documented `...NAME` as the list spells it: `...*`.
fn listed_form(name: &str) -> String {
    match name.strip_suffix("NAME") {
        Some(prefix) => format!("{prefix}*"),
        None => name.to_owned(),
    }
}

#[test]
fn the_annotation_table_lists_exactly_what_translation_reads() {
    let doc = std::fs::read_to_string(repo_root().join("docs/annotations.md"))
        .expect("docs/annotations.md");
    let mut documented = BTreeSet::new();
    let mut kubernetes = BTreeSet::new();
    for (key, alias) in rows(&doc) {
        if let Some(name) = key.strip_prefix(WEIR_PREFIX) {
            assert_eq!(alias, format!("{ALB_PREFIX}{name}"), "the alias of {key}");
            assert!(documented.insert(listed_form(name)), "{key} twice");
        } else {
            assert!(kubernetes.insert(key.clone()), "{key} twice");
        }
    }
    let read: BTreeSet<String> = ANNOTATION_NAMES
        .iter()
        .map(|name| name.to_string())
        .collect();
    assert_eq!(
        documented, read,
        "docs/annotations.md and weir_translate::ANNOTATION_NAMES differ"
    );
    let keys: BTreeSet<String> = KUBERNETES_KEYS.iter().map(|key| key.to_string()).collect();
    assert_eq!(
        kubernetes, keys,
        "the Kubernetes annotations in docs/annotations.md"
    );
}

/// The names passed to `lookup(ingress, "NAME")` and `lookup(ingress, &format!("NAME.{..}"))`
/// in `src/`: `NAME` and `NAME.*`.
fn looked_up_in_source() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in std::fs::read_dir(&src).expect("src/") {
        let path = entry.expect("an entry").path();
        if path.extension().is_none_or(|extension| extension != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a source file");
        for call in text.split("lookup(").skip(1) {
            // The second argument, up to the call's end.
            let Some((_, rest)) = call.split_once(',') else {
                continue;
            };
            let argument = rest.trim_start();
            let literal = argument
                .strip_prefix("&format!(\"")
                .and_then(|rest| rest.split_once('{'))
                .map(|(prefix, _)| format!("{prefix}*"))
                .or_else(|| {
                    let rest = argument.strip_prefix('"')?;
                    Some(rest.split_once('"')?.0.to_owned())
                });
            if let Some(name) = literal {
                names.insert(name);
            }
        }
    }
    names
}

#[test]
fn every_name_a_lookup_in_the_source_passes_is_listed() {
    let found = looked_up_in_source();
    assert!(
        found.contains("group.name") && found.contains("actions.*"),
        "the source scan finds lookups: {found:?}"
    );
    for name in found {
        assert!(
            ANNOTATION_NAMES.contains(&name.as_str()),
            "lookup of {name:?} in controller/translate/src is not in ANNOTATION_NAMES (nor docs/annotations.md)"
        );
    }
}
