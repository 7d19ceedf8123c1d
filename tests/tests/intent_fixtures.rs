//! Walks `fixtures/intent/`: each file holds a realistic bucket snapshot, the intent a careful
//! reviewer gives it (`label`), whether the bucket is public on purpose (`meant_public`) and a
//! note on what the bucket really is. Measures the classifier against the labels.
//!
//! Accuracy: the share of buckets whose intent equals the label.
//! False-positive rate: among the buckets meant to be public, the share the classifier does not
//! call `public-content`, so that bucketward would propose to fix a bucket that is fine.
//!
//! `cargo test -p bucketward-tests --test intent_fixtures -- --nocapture` prints the figures.

use bucketward::classify::{classify, Intent};
use bucketward::Snapshot;
use serde_json::Value;

const MIN_FIXTURES: usize = 80;
const MIN_ACCURACY: f64 = 0.85;
const MAX_FALSE_POSITIVE_RATE: f64 = 0.05;

fn label(text: &str) -> Option<Intent> {
    serde_json::from_value(Value::String(text.to_owned())).ok()
}

fn name(intent: Intent) -> String {
    serde_json::to_value(intent)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[test]
fn intent_classifier_meets_the_corpus_targets() {
    let fixtures = bucketward_tests::json_fixtures("intent");
    assert!(
        fixtures.len() >= MIN_FIXTURES,
        "expected at least {MIN_FIXTURES} fixtures, found {}",
        fixtures.len()
    );

    let intents = [
        Intent::PublicContent,
        Intent::SensitiveData,
        Intent::Unknown,
    ];
    // confusion[label][predicted]
    let mut confusion = [[0usize; 3]; 3];
    let index = |i: Intent| intents.iter().position(|x| *x == i).unwrap_or(2);
    let (mut correct, mut meant_public, mut false_positives) = (0usize, 0usize, 0usize);
    let mut misses = Vec::new();
    for (file, fixture) in &fixtures {
        let note = fixture["note"].as_str().unwrap_or_default();
        assert!(
            !note.is_empty(),
            "{file}: every fixture says what the bucket is"
        );
        let expected = fixture["label"]
            .as_str()
            .and_then(label)
            .unwrap_or_else(|| {
                panic!("{file}: label must be public-content, sensitive-data or unknown")
            });
        let is_meant_public = fixture["meant_public"]
            .as_bool()
            .unwrap_or_else(|| panic!("{file}: meant_public must be a boolean"));
        let snapshot = Snapshot::from_json(&fixture["snapshot"].to_string())
            .unwrap_or_else(|e| panic!("{file}: snapshot rejected: {e}"));

        let got = classify(&snapshot);
        confusion[index(expected)][index(got.intent)] += 1;
        if got.intent == expected {
            correct += 1;
        } else {
            misses.push(format!(
                "  {file}: labelled {}, classified {} ({:.2})  [{note}]",
                name(expected),
                name(got.intent),
                got.confidence
            ));
        }
        if is_meant_public {
            meant_public += 1;
            if got.intent != Intent::PublicContent {
                false_positives += 1;
                misses.push(format!(
                    "  {file}: FALSE POSITIVE: meant public, classified {}",
                    name(got.intent)
                ));
            }
        }
        assert!(
            (0.0..=1.0).contains(&got.confidence),
            "{file}: confidence {} out of [0, 1]",
            got.confidence
        );
    }

    #[allow(clippy::cast_precision_loss)]
    let accuracy = correct as f64 / fixtures.len() as f64;
    #[allow(clippy::cast_precision_loss)]
    let fp_rate = if meant_public == 0 {
        0.0
    } else {
        false_positives as f64 / meant_public as f64
    };
    println!(
        "intent corpus: {} buckets, {meant_public} meant public",
        fixtures.len()
    );
    println!("accuracy: {correct}/{} = {accuracy:.3}", fixtures.len());
    println!("false-positive rate: {false_positives}/{meant_public} = {fp_rate:.3}");
    println!("confusion (rows: label, columns: classified as public-content / sensitive-data / unknown):");
    for (i, row) in confusion.iter().enumerate() {
        println!(
            "  {:<15} {:>4} {:>4} {:>4}",
            name(intents[i]),
            row[0],
            row[1],
            row[2]
        );
    }
    if !misses.is_empty() {
        println!("mismatches:\n{}", misses.join("\n"));
    }

    assert!(
        accuracy >= MIN_ACCURACY,
        "accuracy {accuracy:.3} below {MIN_ACCURACY}:\n{}",
        misses.join("\n")
    );
    assert!(
        fp_rate < MAX_FALSE_POSITIVE_RATE,
        "false-positive rate {fp_rate:.3} not below {MAX_FALSE_POSITIVE_RATE}:\n{}",
        misses.join("\n")
    );
}
