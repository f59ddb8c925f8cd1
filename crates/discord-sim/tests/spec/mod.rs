//! Checks JSON against Discord's own OpenAPI description (tests/data, MIT).

use std::sync::OnceLock;

use serde_json::{json, Value};

fn components() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let text = include_str!("../data/openapi.json");
        let spec: Value = serde_json::from_str(text).expect("openapi.json parses");
        spec["components"].clone()
    })
}

/// Errors from validating `instance` against `#/components/schemas/{name}`
/// (or an array of it when `array`).
pub fn errors(name: &str, instance: &Value, array: bool) -> Vec<String> {
    let reference = json!({ "$ref": format!("#/components/schemas/{name}") });
    let mut schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": components(),
    });
    if array {
        schema["type"] = json!("array");
        schema["items"] = reference;
    } else {
        schema["$ref"] = reference["$ref"].clone();
    }
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    validator.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path)).collect()
}

/// Panics with every difference when `instance` does not fit the schema.
pub fn assert_fits(name: &str, instance: &Value) {
    let errors = errors(name, instance, false);
    assert!(errors.is_empty(), "{name} does not match Discord's schema:\n{}\n{instance:#}", errors.join("\n"));
}

/// Like [`assert_fits`] for an array of `name`.
pub fn assert_fits_array(name: &str, instance: &Value) {
    let errors = errors(name, instance, true);
    assert!(errors.is_empty(), "[{name}] does not match Discord's schema:\n{}", errors.join("\n"));
}
