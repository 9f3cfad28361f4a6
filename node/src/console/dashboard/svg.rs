//! Charts drawn on the server as inline SVG: no script, no external asset,
//! printable. Every text is escaped; sizes are fixed so a page with
//! hundreds of localities stays a few kilobytes per bar.

use std::fmt::Write;

/// One group of two bars: its label, received and finished.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub label: String,
    pub received: u64,
    pub finished: u64,
}

/// What a chart says about itself (already in the reader's language).
pub struct Words<'a> {
    pub title: &'a str,
    pub received: &'a str,
    pub finished: &'a str,
}

const RECEIVED: &str = "#0b4f8a";
const FINISHED: &str = "#1d6b2f";

/// Escape text for SVG/XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => {}
            c => out.push(c),
        }
    }
    out
}

fn header(out: &mut String, width: u32, height: u32, words: &Words<'_>) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{t}" font-family="sans-serif" font-size="12"><title>{t}</title>"#,
        t = escape(words.title)
    );
    let _ = write!(
        out,
        r#"<rect x="8" y="6" width="12" height="12" fill="{RECEIVED}"/><text x="24" y="16">{}</text><rect x="150" y="6" width="12" height="12" fill="{FINISHED}"/><text x="166" y="16">{}</text>"#,
        escape(words.received),
        escape(words.finished)
    );
}

fn scale(max: u64, room: f64) -> impl Fn(u64) -> f64 {
    let max = max.max(1) as f64;
    move |n| (n as f64 / max * room).max(if n > 0 { 1.0 } else { 0.0 })
}

/// Horizontal bars, two per group (one group per locality): label on the
/// left, numbers at the bar ends.
pub fn horizontal(groups: &[Pair], words: &Words<'_>) -> String {
    const LABEL: f64 = 220.0;
    const ROOM: f64 = 420.0;
    const ROW: u32 = 34;
    let width = 720;
    let height = 30 + ROW * groups.len() as u32 + 8;
    let max = groups
        .iter()
        .map(|g| g.received.max(g.finished))
        .max()
        .unwrap_or(0);
    let bar = scale(max, ROOM);
    let mut out = String::new();
    header(&mut out, width, height, words);
    for (i, group) in groups.iter().enumerate() {
        let y = 30 + ROW * i as u32;
        let label: String = group.label.chars().take(34).collect();
        let _ = write!(
            out,
            r#"<g><text x="{x}" y="{ty}" text-anchor="end">{label}</text><rect x="{LABEL}" y="{y}" width="{rw:.1}" height="13" fill="{RECEIVED}"><title>{received}</title></rect><text x="{rx:.1}" y="{r_ty}">{received}</text><rect x="{LABEL}" y="{fy}" width="{fw:.1}" height="13" fill="{FINISHED}"><title>{finished}</title></rect><text x="{fx:.1}" y="{f_ty}">{finished}</text></g>"#,
            x = LABEL - 6.0,
            ty = y + 17,
            label = escape(&label),
            rw = bar(group.received),
            rx = LABEL + bar(group.received) + 4.0,
            r_ty = y + 11,
            received = group.received,
            fy = y + 15,
            fw = bar(group.finished),
            fx = LABEL + bar(group.finished) + 4.0,
            f_ty = y + 26,
            finished = group.finished,
        );
    }
    out.push_str("</svg>");
    out
}

/// Vertical bars, two per group (one group per week), labels below.
pub fn vertical(groups: &[Pair], words: &Words<'_>) -> String {
    const TOP: f64 = 40.0;
    const ROOM: f64 = 180.0;
    const SLOT: u32 = 56;
    let width = 40 + SLOT * groups.len() as u32;
    let height = 270;
    let max = groups
        .iter()
        .map(|g| g.received.max(g.finished))
        .max()
        .unwrap_or(0);
    let bar = scale(max, ROOM);
    let base = TOP + ROOM;
    let mut out = String::new();
    header(&mut out, width.max(320), height, words);
    let _ = write!(
        out,
        r##"<line x1="20" y1="{base}" x2="{x2}" y2="{base}" stroke="#888"/>"##,
        x2 = width - 10
    );
    for (i, group) in groups.iter().enumerate() {
        let x = 24 + SLOT * i as u32;
        let (rh, fh) = (bar(group.received), bar(group.finished));
        let _ = write!(
            out,
            r#"<g><rect x="{x}" y="{ry:.1}" width="20" height="{rh:.1}" fill="{RECEIVED}"><title>{received}</title></rect><text x="{rx}" y="{rty:.1}" text-anchor="middle" font-size="10">{received}</text><rect x="{fx}" y="{fy:.1}" width="20" height="{fh:.1}" fill="{FINISHED}"><title>{finished}</title></rect><text x="{ftx}" y="{fty:.1}" text-anchor="middle" font-size="10">{finished}</text><text x="{lx}" y="{ly}" text-anchor="middle" font-size="10">{label}</text></g>"#,
            ry = base - rh,
            rx = x + 10,
            rty = base - rh - 3.0,
            received = group.received,
            fx = x + 22,
            fy = base - fh,
            ftx = x + 32,
            fty = base - fh - 3.0,
            finished = group.finished,
            lx = x + 21,
            ly = base + 16.0,
            label = escape(&group.label),
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> Words<'static> {
        Words {
            title: "T <&>",
            received: "Tiếp nhận",
            finished: "Hoàn thành",
        }
    }

    #[test]
    fn labels_are_escaped_and_bars_scale_to_the_largest() {
        let groups = [
            Pair {
                label: "Xã \"A\" & <B>".into(),
                received: 10,
                finished: 5,
            },
            Pair {
                label: "Xã C".into(),
                received: 0,
                finished: 0,
            },
        ];
        let svg = horizontal(&groups, &words());
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains("Xã &quot;A&quot; &amp; &lt;B&gt;"), "{svg}");
        assert!(!svg.contains("<B>"));
        assert!(
            svg.contains(r#"width="420.0""#),
            "the largest bar fills the room"
        );
        assert!(svg.contains(r#"width="210.0""#), "half of it");
        assert!(svg.contains(r#"width="0.0""#), "nothing drawn for zero");
        let svg = vertical(&groups, &words());
        assert!(svg.contains(r#"height="180.0""#), "{svg}");
        assert_eq!(svg.matches("<g>").count(), 2);
    }
}
