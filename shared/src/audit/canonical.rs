//! The canonical JSON form that audit hashes are computed over.
//!
//! One value has exactly one canonical text:
//! - no whitespace anywhere;
//! - object keys sorted recursively, by the bytes of their UTF-8 encoding (which is Unicode code
//!   point order); arrays keep their order;
//! - strings escaped the way `serde_json` escapes them: `"` and `\` with a backslash, `\b \f \n
//!   \r \t` by name, every other control character below U+0020 as `\u00xx` (lowercase hex), and
//!   nothing else (non-ASCII text is written as UTF-8, not escaped);
//! - numbers exactly as `serde_json` prints them (integers in decimal, floats in their shortest
//!   round-trip form, e.g. `1.5`, `1e100`);
//! - `null`, `true` and `false` as themselves.
//!
//! This is close to, but not, RFC 8785 (JCS): JCS sorts keys by UTF-16 code units and formats
//! numbers the ECMAScript way. For the ASCII keys bucketward writes the order is the same. An
//! independent verifier reproduces it with e.g. Python's
//! `json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` for payloads
//! without floats.

use std::fmt::Write as _;

use serde_json::Value;

/// The canonical text of a JSON value (see the module documentation).
pub fn to_canonical_string(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            // `Display` for `Number` is what `serde_json`'s serializer writes.
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_value(item, out);
            }
            out.push('}');
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sorts_keys_recursively_and_drops_whitespace() {
        let v: Value = serde_json::from_str(
            r#"{ "b": 1, "a": { "z": [3, {"y": null, "x": true}], "m": "n" }, "A": false }"#,
        )
        .unwrap();
        assert_eq!(
            to_canonical_string(&v),
            r#"{"A":false,"a":{"m":"n","z":[3,{"x":true,"y":null}]},"b":1}"#
        );
    }

    #[test]
    fn key_order_of_the_input_does_not_matter() {
        let a: Value = serde_json::from_str(r#"{"x":1,"y":{"p":1,"q":2}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"y":{"q":2,"p":1},"x":1}"#).unwrap();
        assert_eq!(to_canonical_string(&a), to_canonical_string(&b));
    }

    #[test]
    fn strings_and_numbers_are_written_as_serde_json_writes_them() {
        let nasty = "quote \" backslash \\ nl \n cr \r tab \t bs \u{08} ff \u{0c} nul \u{0} \
                     esc \u{1b} del \u{7f} ü ☃ 😀 \u{2028} </script>";
        let values = [
            json!(nasty),
            json!(0),
            json!(-17),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(1.5),
            json!(0.1),
            json!(1e100),
            json!(-2.5e-8),
            json!(123_456_789.0),
        ];
        for v in values {
            assert_eq!(
                to_canonical_string(&v),
                serde_json::to_string(&v).unwrap(),
                "{v:?}"
            );
        }
    }

    #[test]
    fn keys_sort_by_bytes_not_by_insertion_or_case() {
        let mut map = serde_json::Map::new();
        for k in ["é", "b", "B", "a_", "a", "_"] {
            map.insert(k.to_owned(), json!(k));
        }
        assert_eq!(
            to_canonical_string(&Value::Object(map)),
            r#"{"B":"B","_":"_","a":"a","a_":"a_","b":"b","é":"é"}"#
        );
    }
}
