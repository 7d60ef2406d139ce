//! The seed's two example configurations load unmodified.

use cli::lang::load_config;

fn load(name: &str) -> cli::lang::LoadReport {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("test data");
    load_config(&text, name)
}

#[test]
fn seed_r1_loads_without_errors() {
    let report = load("ha-R1.cfg");
    for w in &report.warnings {
        println!("{}", w.text);
    }
    for e in &report.errors {
        println!("{}", e.text);
    }
    assert!(report.errors.is_empty());
    let cfg = report.config.expect("config");
    println!("{}", serde_json::to_string_pretty(&cfg).unwrap());
}
