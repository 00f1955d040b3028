//! The report on the terminal: grouped by area, failures first within an
//! area, colour only on a TTY (and never with NO_COLOR).

use console::{Style, Term};

use super::{Report, Status};

pub fn print(report: &Report, spec_file: &str) {
    let term = Term::stdout();
    let colour = term.features().colors_supported() && std::env::var_os("NO_COLOR").is_none();
    let paint = |style: Style, text: &str| {
        if colour {
            style.apply_to(text).to_string()
        } else {
            text.to_string()
        }
    };
    let width = report.checks.iter().map(|c| c.id.len()).max().unwrap_or(10);
    println!();
    println!(
        "{} {}  ({spec_file})",
        paint(Style::new().bold(), "verify"),
        paint(Style::new().bold(), &report.environment)
    );
    println!(
        "account {} in {} as {}",
        report.identity.account, report.identity.region, report.identity.arn
    );
    for (area, checks) in report.by_area() {
        println!("\n{}", paint(Style::new().bold().underlined(), area));
        let mut checks = checks;
        checks.sort_by_key(|c| match c.status {
            Status::Fail | Status::Error => 0,
            Status::Waived => 1,
            Status::Pass => 2,
            Status::Skip => 3,
        });
        for c in checks {
            let (mark, style) = match c.status {
                Status::Pass => ("✓ pass  ", Style::new().green()),
                Status::Fail => ("✗ FAIL  ", Style::new().red().bold()),
                Status::Error => ("! ERROR ", Style::new().red().bold()),
                Status::Skip => ("- skip  ", Style::new().dim()),
                Status::Waived => ("~ waived", Style::new().yellow()),
            };
            println!("  {} {:<width$}  {}", paint(style, mark), c.id, c.message);
        }
    }
    let s = &report.summary;
    let calls = report
        .aws_calls
        .get("operations")
        .and_then(|o| o.as_object())
        .map(|o| o.values().filter_map(|v| v.as_u64()).sum::<u64>());
    println!(
        "\n{} checks: {} pass, {} fail, {} error, {} skip, {} waived — {} ms{}",
        report.checks.len(),
        s.pass,
        s.fail,
        s.error,
        s.skip,
        s.waived,
        report.duration_ms,
        calls
            .map(|n| format!(", {n} AWS calls"))
            .unwrap_or_default()
    );
    let verdict = if report.is_go() {
        paint(Style::new().green().bold(), "GO")
    } else {
        paint(Style::new().red().bold(), "NO-GO")
    };
    println!("verdict: {verdict}");
}
