//! Exports of the chain for auditors: JSON Lines (one entry per line, verifiable as it is) and
//! CSV (for spreadsheets).

use super::canonical::to_canonical_string;
use super::entry::{format_time, AuditEntry};

/// One entry per line, each the canonical JSON of the whole entry (keys sorted, no whitespace),
/// each line ending in `\n`. Dropping `hash` and `signature` from a line and canonicalizing the
/// rest gives exactly the bytes whose SHA-256 is `hash`.
pub fn export_jsonl(entries: &[AuditEntry]) -> String {
    let mut out = String::new();
    for entry in entries {
        out.push_str(&to_canonical_string(&entry.to_value()));
        out.push('\n');
    }
    out
}

/// The CSV header line's columns, in order.
pub const CSV_COLUMNS: [&str; 11] = [
    "seq",
    "time",
    "account",
    "bucket",
    "kind",
    "event_id",
    "event_time",
    "prev_hash",
    "hash",
    "signature",
    "payload",
];

/// CSV as RFC 4180 describes it: a header line, then one line per entry, lines ending in CRLF; a
/// field is quoted when it holds a comma, a quote, CR or LF, with quotes doubled. Absent values are
/// empty; `payload` is its canonical JSON text. Times are RFC 3339 in UTC.
pub fn export_csv(entries: &[AuditEntry]) -> String {
    let mut out = String::new();
    push_row(&mut out, CSV_COLUMNS.iter().map(|c| (*c).to_owned()));
    for e in entries {
        push_row(
            &mut out,
            [
                e.seq.to_string(),
                format_time(&e.time),
                e.account.clone(),
                e.bucket.clone().unwrap_or_default(),
                e.kind.as_str().to_owned(),
                e.event_id.clone().unwrap_or_default(),
                e.event_time.as_ref().map(format_time).unwrap_or_default(),
                e.prev_hash.clone(),
                e.hash.clone(),
                e.signature.clone(),
                to_canonical_string(&e.payload),
            ],
        );
    }
    out
}

fn push_row(out: &mut String, fields: impl IntoIterator<Item = String>) {
    for (i, field) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if field.contains([',', '"', '\r', '\n']) {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&field);
        }
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    use super::*;
    use crate::audit::{seal, verify_chain, AuditDraft, AuditKind};

    const KEY: &[u8] = b"export test key, long enough";

    fn entries() -> Vec<AuditEntry> {
        let time = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
        let first = seal(
            AuditDraft {
                time,
                account: "123456789012".to_owned(),
                bucket: Some("reports".to_owned()),
                kind: AuditKind::Detection,
                event_id: Some("0a1b-2c".to_owned()),
                event_time: Some(time),
                payload: json!({"note": "a \"quoted\", comma\nand a newline", "severity": "high"}),
            },
            None,
            KEY,
        );
        let second = seal(
            AuditDraft {
                time,
                account: "123456789012".to_owned(),
                bucket: None,
                kind: AuditKind::ExceptionChange,
                event_id: None,
                event_time: None,
                payload: json!(null),
            },
            Some(&first),
            KEY,
        );
        vec![first, second]
    }

    #[test]
    fn jsonl_lines_parse_back_and_verify() {
        let entries = entries();
        let text = export_jsonl(&entries);
        assert_eq!(text.lines().count(), 2);
        assert!(text.ends_with('\n'));
        let back: Vec<AuditEntry> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(back, entries);
        assert_eq!(verify_chain(&back, KEY), Ok(()));
        assert!(text.starts_with(r#"{"account":"123456789012","bucket":"reports","#));
        assert!(export_jsonl(&[]).is_empty());
    }

    #[test]
    fn csv_has_the_header_and_quotes_the_payload() {
        let entries = entries();
        let text = export_csv(&entries);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "seq,time,account,bucket,kind,event_id,event_time,prev_hash,hash,signature,payload"
        );
        let e = &entries[0];
        let expected_first = format!(
            "1,2024-05-01T12:00:00Z,123456789012,reports,detection,0a1b-2c,2024-05-01T12:00:00Z,{},{},{},\"{{\"\"note\"\":\"\"a \\\"\"quoted\\\"\", comma\\nand a newline\"\",\"\"severity\"\":\"\"high\"\"}}\"",
            e.prev_hash, e.hash, e.signature
        );
        assert_eq!(lines[1], expected_first);
        let second = &entries[1];
        assert_eq!(
            lines[2],
            format!(
                "2,2024-05-01T12:00:00Z,123456789012,,exception_change,,,{},{},{},null",
                second.prev_hash, second.hash, second.signature
            )
        );
        assert_eq!(lines[3], "", "the last line ends in CRLF");
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn csv_fields_with_line_breaks_are_quoted() {
        let mut out = String::new();
        push_row(
            &mut out,
            ["a\nb".to_owned(), "plain".to_owned(), "x\ry".to_owned()],
        );
        assert_eq!(out, "\"a\nb\",plain,\"x\ry\"\r\n");
    }
}
