//! A corpus of malformed Ingresses (`tests/fixtures/malformed/cases`): each must produce the
//! Diagnostic its `# expect: Reason field` header names, on that Ingress, without a panic, and
//! must leave the healthy Ingress of its group routing.

use std::path::{Path, PathBuf};

use weir_model::{Action, Diagnostic};
use weir_translate::{ClassSelection, Stacking, TranslateConfig, translate};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/malformed")
}

fn expectation(text: &str) -> (String, String) {
    let header = text
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("# expect: "))
        .expect("a '# expect: Reason field' header");
    let (reason, field) = header.split_once(' ').expect("reason and field");
    (reason.to_owned(), field.to_owned())
}

#[test]
fn every_malformed_ingress_is_diagnosed_and_spares_its_group() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus_dir().join("cases"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 20,
        "the corpus must hold at least 20 cases, found {}",
        cases.len()
    );
    let config = TranslateConfig {
        classes: ClassSelection::Everything,
        stacking: Stacking::PerGroup,
    };
    for case in cases {
        let name = case.file_stem().unwrap().to_str().unwrap().to_owned();
        let text = std::fs::read_to_string(&case).unwrap();
        let (reason, field) = expectation(&text);
        let mut snapshot = weir_manifests::load_dir(&corpus_dir().join("base")).unwrap();
        weir_manifests::load_str(&text, &case, &mut snapshot).unwrap();

        let translation = translate(&snapshot, &config);
        let diagnostics: Vec<&Diagnostic> = translation
            .stacks
            .iter()
            .flat_map(|stack| &stack.diagnostics)
            .chain(&translation.diagnostics)
            .collect();
        assert!(
            diagnostics
                .iter()
                .any(|d| d.object.name == name && d.reason.as_str() == reason && d.field == field),
            "{name}: expected {reason} at {field}, got {diagnostics:#?}"
        );
        assert!(
            diagnostics.iter().all(|d| d.object.name == name),
            "{name}: the healthy Ingress was blamed: {diagnostics:#?}"
        );

        let group = translation
            .stacks
            .iter()
            .find(|stack| stack.stack.to_string() == "group:corpus")
            .expect("the corpus group");
        let model = group.desired.as_ref().expect("the group still has members");
        // A bad setting is left out: only the healthy Ingress's own setting remains.
        assert_eq!(
            model.settings,
            std::collections::BTreeMap::from([("scheme".to_owned(), "internet-facing".to_owned())]),
            "{name}: a bad value reached the model"
        );
        match model.route("good.example.com", "/anything").action() {
            Action::Forward { target_group } => assert_eq!(target_group.service, "good", "{name}"),
            other => panic!("{name}: the healthy route broke: {other}"),
        }
    }
}
