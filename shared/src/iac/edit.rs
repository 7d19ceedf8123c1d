//! Text splicing: edits replace byte ranges of the original text, so whatever they do not
//! touch (comments, blank lines, alignment) stays as written.

use std::ops::Range;

/// Replace `range` of the original text with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Splice {
    pub range: Range<usize>,
    pub text: String,
}

impl Splice {
    pub fn replace(range: Range<usize>, text: impl Into<String>) -> Self {
        Self {
            range,
            text: text.into(),
        }
    }

    pub fn insert(at: usize, text: impl Into<String>) -> Self {
        Self::replace(at..at, text)
    }
}

/// Applies splices (ranges of the original text, not overlapping), last first. A splice that
/// overlaps one already applied is skipped rather than corrupting the text; the caller
/// re-parses the result anyway.
pub(crate) fn apply(text: &str, mut splices: Vec<Splice>) -> String {
    splices.sort_by(|a, b| {
        b.range
            .start
            .cmp(&a.range.start)
            .then(b.range.end.cmp(&a.range.end))
    });
    let mut out = text.to_owned();
    let mut floor = usize::MAX;
    for splice in splices {
        let Range { start, end } = splice.range;
        if start > end || end > text.len() || end > floor || !out.is_char_boundary(start) {
            continue;
        }
        out.replace_range(start..end, &splice.text);
        floor = start;
    }
    out
}

/// The offset where the line holding `pos` starts.
pub(crate) fn line_start(text: &str, pos: usize) -> usize {
    text.get(..pos)
        .and_then(|head| head.rfind('\n'))
        .map_or(0, |i| i + 1)
}

/// The offset just after the line holding `pos` (past its newline), or the text's end.
pub(crate) fn line_end(text: &str, pos: usize) -> usize {
    text.get(pos..)
        .and_then(|tail| tail.find('\n'))
        .map_or(text.len(), |i| pos + i + 1)
}

/// The leading whitespace of the line holding `pos`.
pub(crate) fn indent_at(text: &str, pos: usize) -> &str {
    let start = line_start(text, pos);
    let line = text.get(start..).unwrap_or("");
    let width = line.len() - line.trim_start_matches([' ', '\t']).len();
    line.get(..width).unwrap_or("")
}

/// `range` widened to whole lines, for deleting a block with its line breaks. When the
/// lines before it are a comment attached to it (no blank line between), they go too.
pub(crate) fn whole_lines(
    text: &str,
    range: Range<usize>,
    comment_prefixes: &[&str],
) -> Range<usize> {
    let mut start = line_start(text, range.start);
    while start > 0 {
        let previous = line_start(text, start - 1);
        let line = text.get(previous..start).unwrap_or("").trim();
        if !line.is_empty() && comment_prefixes.iter().any(|p| line.starts_with(p)) {
            start = previous;
        } else {
            break;
        }
    }
    let end = line_end(text, range.end.saturating_sub(1).max(range.start));
    start..end
}

/// Appends a block after the text, separated by one blank line.
pub(crate) fn append_block(text: &str, block: &str) -> String {
    let mut out = text.to_owned();
    if !out.is_empty() {
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out.push('\n');
    }
    out.push_str(block);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splices_apply_from_the_end_and_skip_overlaps() {
        let text = "abcdef";
        let out = apply(
            text,
            vec![
                Splice::replace(0..1, "A"),
                Splice::replace(4..6, "EF!"),
                Splice::replace(3..5, "xx"),
            ],
        );
        assert_eq!(out, "AbcdEF!");
    }

    #[test]
    fn whole_lines_take_an_attached_comment() {
        let text = "a = 1\n\n# about b\nb {\n}\nc = 2\n";
        let start = text.find("b {").unwrap();
        let end = text.find("}\n").unwrap() + 1;
        let range = whole_lines(text, start..end, &["#", "//"]);
        assert_eq!(&text[range], "# about b\nb {\n}\n");
    }
}
