//! Inline SVG charts for the HTML report: shapes and text only, no script, no external
//! resource, every label escaped. Each chart has a `<title>` for screen readers, and the page
//! shows the same figures in a table next to it.

use std::fmt::Write as _;

use super::html::escape;

const WIDTH: f64 = 520.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 42.0;
const TICKS: u32 = 4;

const AXIS: &str = "#9aa5b1";
const GRID: &str = "#e4e7eb";
const INK: &str = "#323f4b";
const MUTED: &str = "#7b8794";

/// One bar series of a grouped chart: its name (for the legend) and colour.
pub struct Series<'a> {
    pub name: &'a str,
    pub color: &'a str,
}

/// How values are written on the axis and above the bars.
pub type Format = fn(f64) -> String;

fn plot_width() -> f64 {
    WIDTH - LEFT - RIGHT
}

fn plot_height() -> f64 {
    HEIGHT - TOP - BOTTOM
}

fn y_of(value: f64, max: f64) -> f64 {
    TOP + plot_height() * (1.0 - value / max)
}

/// The opening tag and title of a chart.
fn open(out: &mut String, id: &str, title: &str) {
    let _ = write!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" \
         height=\"{HEIGHT}\" role=\"img\" aria-labelledby=\"{id}\">\
         <title id=\"{id}\">{}</title>",
        escape(title)
    );
}

/// Horizontal grid lines with their values, and the x axis.
fn grid(out: &mut String, max: f64, format: Format) {
    for i in 0..=TICKS {
        let value = max * f64::from(i) / f64::from(TICKS);
        let y = y_of(value, max);
        let _ = write!(
            out,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{}\" \
             stroke-width=\"1\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"11\" \
             fill=\"{MUTED}\">{}</text>",
            WIDTH - RIGHT,
            if i == 0 { AXIS } else { GRID },
            LEFT - 6.0,
            y + 4.0,
            escape(&format(value))
        );
    }
}

/// The smallest of `steps` that covers `max` in [`TICKS`] ticks, times [`TICKS`]: the top of
/// the axis. Past the last step, whole multiples of it.
fn axis_max(max: f64, steps: &[f64]) -> f64 {
    let ticks = f64::from(TICKS);
    for step in steps {
        if step * ticks >= max {
            return step * ticks;
        }
    }
    let last = steps.last().copied().unwrap_or(1.0);
    (max / (last * ticks)).ceil() * last * ticks
}

/// Steps for durations in seconds: round seconds, minutes, hours, days.
const DURATION_STEPS: [f64; 20] = [
    0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0,
    7200.0, 10_800.0, 21_600.0, 43_200.0, 86_400.0,
];

/// Steps for counts: 1, 2, 5, 10, 20, 50, ...
const COUNT_STEPS: [f64; 13] = [
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10_000.0,
];

/// Bars grouped by category, one per series, for durations in seconds. A group with no value
/// says "no data" on its axis.
pub fn grouped_durations(
    id: &str,
    title: &str,
    groups: &[(String, Vec<Option<f64>>)],
    series: &[Series<'_>],
    format: Format,
) -> String {
    let top = groups
        .iter()
        .flat_map(|(_, values)| values.iter().flatten())
        .fold(0.0_f64, |a, b| a.max(*b));
    let max = axis_max(top, &DURATION_STEPS);
    let mut out = String::new();
    open(&mut out, id, title);
    grid(&mut out, max, format);
    legend(&mut out, series);
    let group_width = plot_width() / groups.len().max(1) as f64;
    let bar_width = (group_width * 0.7 / series.len().max(1) as f64).min(46.0);
    for (g, (name, values)) in groups.iter().enumerate() {
        let center = LEFT + group_width * (g as f64 + 0.5);
        let first = center - bar_width * series.len() as f64 / 2.0;
        for (i, (value, s)) in values.iter().zip(series).enumerate() {
            let Some(value) = value else { continue };
            let x = first + bar_width * i as f64;
            let y = y_of(*value, max);
            let _ = write!(
                out,
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\" \
                 fill=\"{INK}\">{}</text>",
                x + 1.0,
                bar_width - 2.0,
                (TOP + plot_height() - y).max(0.5),
                escape(s.color),
                x + bar_width / 2.0,
                y - 4.0,
                escape(&format(*value))
            );
        }
        if values.iter().all(Option::is_none) {
            let _ = write!(
                out,
                "<text x=\"{center:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\" \
                 fill=\"{MUTED}\">no data</text>",
                TOP + plot_height() - 6.0
            );
        }
        category(&mut out, center, name);
    }
    out.push_str("</svg>");
    out
}

/// One bar per item, each with its own colour, for counts.
pub fn count_bars(id: &str, title: &str, items: &[(String, usize, &str)]) -> String {
    let top = items.iter().map(|(_, n, _)| *n).max().unwrap_or(0) as f64;
    let max = axis_max(top, &COUNT_STEPS);
    let mut out = String::new();
    open(&mut out, id, title);
    grid(&mut out, max, whole);
    let slot = plot_width() / items.len().max(1) as f64;
    let bar_width = (slot * 0.6).min(56.0);
    for (i, (name, count, color)) in items.iter().enumerate() {
        let center = LEFT + slot * (i as f64 + 0.5);
        let y = y_of(*count as f64, max);
        let _ = write!(
            out,
            "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{bar_width:.1}\" height=\"{:.1}\" \
             fill=\"{}\"/>\
             <text x=\"{center:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\" \
             font-weight=\"600\" fill=\"{INK}\">{count}</text>",
            center - bar_width / 2.0,
            TOP + plot_height() - y,
            escape(color),
            y - 4.0
        );
        category(&mut out, center, name);
    }
    out.push_str("</svg>");
    out
}

/// A histogram of counts over consecutive bins (days), labelled at about six places.
pub fn histogram(id: &str, title: &str, bins: &[(String, usize)], color: &str) -> String {
    let top = bins.iter().map(|(_, n)| *n).max().unwrap_or(0) as f64;
    let max = axis_max(top, &COUNT_STEPS);
    let mut out = String::new();
    open(&mut out, id, title);
    grid(&mut out, max, whole);
    let slot = plot_width() / bins.len().max(1) as f64;
    let gap = if slot > 4.0 { 1.0 } else { 0.0 };
    let every = bins.len().div_ceil(6).max(1);
    for (i, (name, count)) in bins.iter().enumerate() {
        let x = LEFT + slot * i as f64;
        if *count > 0 {
            let y = y_of(*count as f64, max);
            let _ = write!(
                out,
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\">\
                 <title>{}: {count}</title></rect>",
                x + gap,
                (slot - 2.0 * gap).max(0.5),
                TOP + plot_height() - y,
                escape(color),
                escape(name)
            );
        }
        if i % every == 0 || i + 1 == bins.len() {
            let center = x + slot / 2.0;
            let _ = write!(
                out,
                "<line x1=\"{center:.1}\" y1=\"{:.1}\" x2=\"{center:.1}\" y2=\"{:.1}\" \
                 stroke=\"{AXIS}\"/>",
                TOP + plot_height(),
                TOP + plot_height() + 4.0
            );
            category(&mut out, center, name);
        }
    }
    out.push_str("</svg>");
    out
}

fn category(out: &mut String, center: f64, name: &str) {
    let _ = write!(
        out,
        "<text x=\"{center:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\" \
         fill=\"{INK}\">{}</text>",
        TOP + plot_height() + 17.0,
        escape(name)
    );
}

/// The series names, in a row above the plot (clear of the tallest bar's label).
fn legend(out: &mut String, series: &[Series<'_>]) {
    let mut x = LEFT;
    for s in series {
        let _ = write!(
            out,
            "<rect x=\"{x:.1}\" y=\"4\" width=\"11\" height=\"11\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"13\" font-size=\"11\" fill=\"{INK}\">{}</text>",
            escape(s.color),
            x + 15.0,
            escape(s.name)
        );
        x += 60.0;
    }
}

/// A duration short enough to sit above a bar: `850ms`, `42s`, `3m`, `3m05s`, `1h`, `2h04m`,
/// `3d4h`; `0` for zero.
pub fn compact_duration(seconds: f64) -> String {
    if seconds <= 0.0 {
        return "0".to_owned();
    }
    if seconds < 1.0 {
        return format!("{:.0}ms", seconds * 1000.0);
    }
    let total = seconds.round() as i64;
    let (d, h, m, s) = (
        total / 86_400,
        total % 86_400 / 3600,
        total % 3600 / 60,
        total % 60,
    );
    match (d, h, m, s) {
        (0, 0, 0, s) => format!("{s}s"),
        (0, 0, m, 0) => format!("{m}m"),
        (0, 0, m, s) => format!("{m}m{s:02}s"),
        (0, h, 0, _) => format!("{h}h"),
        (0, h, m, _) => format!("{h}h{m:02}m"),
        (d, 0, _, _) => format!("{d}d"),
        (d, h, _, _) => format!("{d}d{h}h"),
    }
}

fn whole(value: f64) -> String {
    format!("{value:.0}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(axis_max(0.0, &COUNT_STEPS), 4.0);
        assert_eq!(axis_max(3.0, &COUNT_STEPS), 4.0);
        assert_eq!(axis_max(5.0, &COUNT_STEPS), 8.0);
        assert_eq!(axis_max(3600.0, &DURATION_STEPS), 3600.0);
        assert_eq!(axis_max(3601.0, &DURATION_STEPS), 7200.0);
        assert_eq!(axis_max(500_000.0, &DURATION_STEPS), 691_200.0);
    }

    #[test]
    fn compact_durations() {
        let cases = [
            (0.0, "0"),
            (0.25, "250ms"),
            (42.0, "42s"),
            (180.0, "3m"),
            (185.0, "3m05s"),
            (3600.0, "1h"),
            (7440.0, "2h04m"),
            (86_400.0, "1d"),
            (100_800.0, "1d4h"),
        ];
        for (seconds, text) in cases {
            assert_eq!(compact_duration(seconds), text);
        }
    }

    #[test]
    fn labels_are_escaped() {
        let svg = count_bars("c", "<t>", &[("a<b".to_owned(), 2, "#123456")]);
        assert!(svg.contains("a&lt;b"));
        assert!(svg.contains("&lt;t&gt;"));
        assert!(!svg.contains("a<b"));
    }
}
