//! The report: a Markdown table with ratios against the floor and Node, and an SVG chart
//! of init time and peak memory.

use std::fmt::Write;

use crate::measure::{Quantiles, SPACING, Sample, StoreCalls};

/// One line naming the machine and toolchain the numbers come from.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let rustc = version_of("rustc");
    let node = version_of("node");
    format!(
        "{cpu}, {cores} cores, {}, {rustc}, node {node}",
        std::env::consts::ARCH
    )
}

/// What `<program> --version` prints, trimmed; empty if it cannot run.
fn version_of(program: &str) -> String {
    std::process::Command::new(program)
        .arg("--version")
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn ms(value: f64) -> String {
    if value < 1.0 {
        format!("{value:.3}")
    } else {
        format!("{value:.2}")
    }
}

fn pair(q: Option<Quantiles>) -> String {
    q.map_or_else(
        || "–".to_owned(),
        |q| format!("{} / {}", ms(q.p50), ms(q.p99)),
    )
}

/// `1 (BatchGetItem)`, `3 (PutItem 1, UpdateItem 2)`: DynamoDB calls per request.
fn store_calls(calls: &StoreCalls) -> String {
    let count = |value: f64| {
        if value.fract() == 0.0 {
            format!("{value:.0}")
        } else {
            format!("{value:.2}")
        }
    };
    match calls.0.len() {
        0 => "0".to_owned(),
        1 => calls
            .0
            .keys()
            .map(|operation| format!("{} ({operation})", count(calls.total())))
            .collect(),
        _ => format!(
            "{} ({})",
            count(calls.total()),
            calls
                .0
                .iter()
                .map(|(operation, value)| format!("{operation} {}", count(*value)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The Markdown report.
pub fn table(
    rows: &[Sample],
    machine: &str,
    starts: usize,
    requests: usize,
    spaced: usize,
) -> String {
    let floor = rows.first().map_or(1.0, |row| row.init.wall.p50);
    // Absent when `--only` left Node out.
    let node = rows
        .iter()
        .find(|row| row.subject.lambda_binary.is_none())
        .map(|row| row.init.wall.p50);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Machine: {machine}. Release builds; {starts} cold starts and {requests} warm requests back to back and {spaced} after idle spells per function.\n"
    );
    let _ = writeln!(
        out,
        "| function | init p50 / p90 ms | × floor | Node ÷ this | round trip p50 / p99 ms | own time in round trip p50 / p99 ms | own time in handler p50 / p99 ms | upstream mean ms | DynamoDB calls / request | peak RSS MiB | arm64 MiB |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        let warm = &row.warm;
        let _ = writeln!(
            out,
            "| {} | {} / {} | {:.2} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.subject.label,
            ms(row.init.wall.p50),
            ms(row.init.wall.p90),
            row.init.wall.p50 / floor,
            node.map_or_else(
                || "–".to_owned(),
                |node| format!("{:.1}", node / row.init.wall.p50)
            ),
            pair(Some(warm.round_trip)),
            pair(warm.round_trip_own),
            pair(warm.handler_own),
            warm.upstream_mean.map_or_else(|| "–".to_owned(), ms),
            store_calls(&row.store_calls),
            warm.peak_rss_kib.map_or_else(
                || "–".to_owned(),
                |kib| format!("{:.1}", kib as f64 / 1024.0)
            ),
            row.arm64_bytes.map_or_else(
                || "–".to_owned(),
                |bytes| format!("{:.2}", bytes as f64 / 1_048_576.0)
            ),
        );
    }
    cpu_table(&mut out, rows, spaced);
    out
}

/// AWS gives a function CPU in proportion to its memory, one vCPU at 1,769 MB: a
/// millisecond of CPU here is about this many of wall time there.
pub(crate) const VCPU_MB: f64 = 1769.0;

/// The CPU table: what each process spent (all its threads), beside the floor, with the
/// wall time that CPU becomes at 128 MB and 512 MB, and the CPU targets.
fn cpu_table(out: &mut String, rows: &[Sample], spaced: usize) {
    let cpu_p50 = |row: &Sample| row.warm.spaced_cpu.map(|q| q.p50);
    let init_p50 = |row: &Sample| row.init.cpu.map(|q| q.p50);
    let Some(floor) = rows.first() else {
        return;
    };
    let (floor_warm, floor_init) = (cpu_p50(floor), init_p50(floor));
    let times = |value: Option<f64>, base: Option<f64>| match (value, base) {
        (Some(value), Some(base)) if base > 0.0 => format!("{:.2}", value / base),
        _ => "–".to_owned(),
    };
    let opt = |value: Option<f64>| value.map_or_else(|| "–".to_owned(), ms);
    let quantiles = |q: Option<Quantiles>| {
        q.map_or_else(
            || "–".to_owned(),
            |q| format!("{} / {}", ms(q.p50), ms(q.p90)),
        )
    };
    let _ = writeln!(
        out,
        "\nCPU time (summed over the process's threads, /proc/<pid>/task/*/schedstat). Warm requests two ways: back to back (caches hot), and {} more each after {} ms idle, as Lambda sends an instance its next event (caches cold): the targets and the projections use the idle-spell figure. Wall time at 128 MB and 512 MB is that CPU time × 1769/128 and × 1769/512 (one vCPU at 1,769 MB).\n",
        spaced,
        SPACING.as_millis()
    );
    let _ = writeln!(
        out,
        "| function | init CPU p50 / p90 ms | × floor | first request CPU ms | back-to-back CPU p50 / p90 ms | after idle CPU p50 / p90 ms | × floor's | at 128 MB ms | at 512 MB ms |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.subject.label,
            quantiles(row.init.cpu),
            times(init_p50(row), floor_init),
            opt(row.warm.first_request_cpu),
            quantiles(row.warm.cpu),
            quantiles(row.warm.spaced_cpu),
            times(cpu_p50(row), floor_warm),
            opt(cpu_p50(row).map(|cpu| cpu * VCPU_MB / 128.0)),
            opt(cpu_p50(row).map(|cpu| cpu * VCPU_MB / 512.0)),
        );
    }
    if !rows.iter().any(|row| row.subject.cpu_target.is_some()) {
        return;
    }
    let _ = writeln!(out, "\n| CPU target | status |\n|---|---|");
    for row in rows.iter().filter(|row| row.subject.logs_latency) {
        let Some(limit) = row.subject.cpu_target else {
            continue;
        };
        let warm = cpu_p50(row).zip(floor_warm).map(|(cpu, floor)| cpu / floor);
        let init = init_p50(row)
            .zip(floor_init)
            .map(|(cpu, floor)| cpu / floor);
        let verdict = |ratio: Option<f64>, limit: f64| match ratio {
            Some(ratio) if ratio <= limit => format!("met ({ratio:.2}×)"),
            Some(ratio) => format!("NOT met ({ratio:.2}×)"),
            None => "not measured".to_owned(),
        };
        let _ = writeln!(
            out,
            "| {}: warm CPU ≤ {limit}× the floor's; init CPU ≤ 1.25× | {}; {} |",
            row.subject.label,
            verdict(warm, limit),
            verdict(init, 1.25)
        );
    }
}

struct Panel {
    title: &'static str,
    value: fn(&Sample) -> f64,
    log_scale: bool,
    unit: &'static str,
}

/// Two horizontal bar panels, init p50 (log scale: Node is two orders larger) and peak RSS.
pub fn chart(rows: &[Sample]) -> String {
    const WIDTH: f64 = 760.0;
    const LABEL: f64 = 230.0;
    const BAR: f64 = 22.0;
    const GAP: f64 = 8.0;
    let panel_height = rows.len() as f64 * (BAR + GAP) + 40.0;
    let height = panel_height * 2.0 + 20.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="13">"##
    );
    let _ = writeln!(
        svg,
        r##"<rect width="100%" height="100%" fill="#ffffff"/>"##
    );
    let panels = [
        Panel {
            title: "Init: process start → first /invocation/next (p50, ms, log scale)",
            value: |row| row.init.wall.p50,
            log_scale: true,
            unit: "ms",
        },
        Panel {
            title: "Peak RSS after the warm requests (MiB)",
            value: |row| row.warm.peak_rss_kib.unwrap_or(0) as f64 / 1024.0,
            log_scale: false,
            unit: "MiB",
        },
    ];
    for (index, panel) in panels.iter().enumerate() {
        let Panel {
            title,
            value,
            log_scale,
            unit,
        } = panel;
        let top = index as f64 * (panel_height + 20.0);
        let _ = writeln!(
            svg,
            r##"<text x="10" y="{}" font-weight="bold">{title}</text>"##,
            top + 20.0
        );
        let max = rows
            .iter()
            .map(value)
            .fold(0.0_f64, f64::max)
            .max(f64::MIN_POSITIVE);
        let scale = |v: f64| {
            let span = WIDTH - LABEL - 90.0;
            if *log_scale {
                // 0.1 ms at the left edge.
                let low = 0.1_f64.log10();
                ((v.max(0.1).log10() - low) / (max.log10() - low)).clamp(0.0, 1.0) * span
            } else {
                v / max * span
            }
        };
        for (i, row) in rows.iter().enumerate() {
            let y = top + 35.0 + i as f64 * (BAR + GAP);
            let v = value(row);
            let colour = match i {
                0 => "#9e9e9e",
                _ if row.subject.lambda_binary.is_none() => "#e5863a",
                _ => "#3a7ee5",
            };
            let _ = writeln!(
                svg,
                r##"<text x="10" y="{}">{}</text>"##,
                y + 16.0,
                row.subject.label
            );
            let _ = writeln!(
                svg,
                r##"<rect x="{LABEL}" y="{y}" width="{:.1}" height="{BAR}" fill="{colour}"/>"##,
                scale(v).max(1.0)
            );
            let _ = writeln!(
                svg,
                r##"<text x="{:.1}" y="{}">{} {unit}</text>"##,
                LABEL + scale(v).max(1.0) + 6.0,
                y + 16.0,
                ms(v)
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn store_calls_read_as_a_total_and_its_operations() {
        let calls = |pairs: &[(&str, f64)]| {
            StoreCalls(
                pairs
                    .iter()
                    .map(|(operation, value)| ((*operation).to_owned(), *value))
                    .collect::<BTreeMap<_, _>>(),
            )
        };
        assert_eq!(store_calls(&calls(&[])), "0");
        assert_eq!(
            store_calls(&calls(&[("BatchGetItem", 1.0)])),
            "1 (BatchGetItem)"
        );
        assert_eq!(
            store_calls(&calls(&[("PutItem", 2.0), ("UpdateItem", 1.0)])),
            "3 (PutItem 2, UpdateItem 1)"
        );
    }
}
