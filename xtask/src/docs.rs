//! The book (`docs/`, an mdBook) and the README are whole: every page
//! `docs/SUMMARY.md` lists exists and every page of `guide/` and `dev/` is
//! listed; every relative Markdown link in `README.md` and `docs/**/*.md`
//! reaches a file (and a heading, when it names an anchor); nothing in the
//! repository points outside it; and every `hcl` example of the spec
//! reference parses with the real parser.
//!
//! The catalogue's tables (`docs/checks.md`) are checked where they are
//! generated: the `verify` crate's `catalogue_tables` test.

#![cfg(test)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use crate::cargo::root;

/// A link out of the repository: written in two halves so that this file
/// does not match itself.
const OUTSIDE: [&str; 2] = [concat!("..", "/shared"), concat!("/work", "/shared")];

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `path` relative to the repository, for messages.
fn shown(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Every `*.md` under `dir`, recursively, sorted.
fn markdown_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The README and every page of the book.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md")];
    pages.extend(markdown_under(&root().join("docs")));
    pages
}

/// `text` without its fenced code blocks (``` and ~~~), line count kept.
fn without_fences(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut fence: Option<&str> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        match fence {
            Some(f) if trimmed.starts_with(f) => fence = None,
            Some(_) => {}
            None if trimmed.starts_with("```") => fence = Some("```"),
            None if trimmed.starts_with("~~~") => fence = Some("~~~"),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// `text` without its inline code spans (a run of n backticks up to the
/// next run of exactly n).
fn without_code_spans(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '`' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|c| **c == '`').count();
        let mut j = i + run;
        let mut closed = None;
        while j < chars.len() {
            if chars[j] == '`' {
                let other = chars[j..].iter().take_while(|c| **c == '`').count();
                if other == run {
                    closed = Some(j + other);
                    break;
                }
                j += other;
            } else {
                j += 1;
            }
        }
        match closed {
            Some(end) => {
                // Keep the line count: a span may cross lines.
                out.extend(chars[i..end].iter().filter(|c| **c == '\n'));
                i = end;
            }
            None => {
                out.extend(&chars[i..i + run]);
                i += run;
            }
        }
    }
    out
}

/// The link targets of a Markdown text (inline `[text](target "title")`,
/// images, and reference definitions `[id]: target`), with their lines,
/// outside code.
fn links(text: &str) -> Vec<(usize, String)> {
    let prose = without_code_spans(&without_fences(text));
    let mut out = Vec::new();
    let line_of = |at: usize| prose[..at].matches('\n').count() + 1;
    let mut from = 0;
    while let Some(found) = prose[from..].find("](") {
        let start = from + found + 2;
        let target: String = prose[start..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != ')')
            .collect();
        out.push((line_of(start), target.trim_matches(['<', '>']).to_string()));
        from = start;
    }
    for (n, line) in prose.lines().enumerate() {
        let line = line.trim_start();
        if let Some(rest) = line.strip_prefix('[')
            && let Some((label, target)) = rest.split_once("]:")
            && !label.is_empty()
            && !label.starts_with('^')
        {
            let target = target.split_whitespace().next().unwrap_or("");
            out.push((n + 1, target.trim_matches(['<', '>']).to_string()));
        }
    }
    out
}

/// Whether a link target leaves the book for the web (or mail).
fn is_external(target: &str) -> bool {
    target.contains("://") || target.starts_with("mailto:") || target.starts_with("//")
}

/// A heading's anchor as mdBook and GitHub make it: lowercase; letters,
/// digits, `_` and `-` kept; whitespace to `-`; everything else dropped.
fn slug(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c.to_lowercase().collect::<String>())
            } else if c.is_whitespace() {
                Some("-".into())
            } else {
                None
            }
        })
        .collect()
}

/// The anchors of a Markdown page's ATX headings (a repeated heading gets
/// `-1`, `-2`, … as on GitHub and in mdBook).
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for line in without_fences(text).lines() {
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let base = slug(line[hashes..].trim().trim_end_matches('#').trim());
        let n = seen.entry(base.clone()).or_insert(0);
        out.insert(if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        *n += 1;
    }
    out
}

/// `base/relative` with `.` and `..` folded, without touching the disk.
fn join(base: &Path, relative: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for part in base.join(relative).components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// What is wrong with one link of `page` (`None`: it reaches its target).
fn broken(page: &Path, target: &str) -> Option<String> {
    if target.is_empty() {
        return Some("an empty link".into());
    }
    if is_external(target) {
        return None;
    }
    if target.starts_with('/') {
        return Some("an absolute path: links are relative, so the book reads anywhere".into());
    }
    let (file, anchor) = match target.split_once('#') {
        Some((file, anchor)) => (file, Some(anchor)),
        None => (target, None),
    };
    let file = file.split('?').next().unwrap_or(file);
    let path = if file.is_empty() {
        page.to_path_buf()
    } else {
        join(page.parent().expect("a page's folder"), file)
    };
    if !path.starts_with(root()) {
        return Some("leaves the repository".into());
    }
    if !path.exists() {
        return Some(format!("{} does not exist", shown(&path)));
    }
    match anchor {
        Some(anchor) if path.extension().is_some_and(|e| e == "md") => {
            let known = anchors(&read(&path));
            (!known.contains(anchor)).then(|| {
                format!(
                    "{} has no heading #{anchor} (it has: {})",
                    shown(&path),
                    known.into_iter().collect::<Vec<_>>().join(", ")
                )
            })
        }
        _ => None,
    }
}

#[test]
fn every_page_the_summary_lists_exists_and_the_summary_is_mdbook_s() {
    let docs = root().join("docs");
    let summary = docs.join("SUMMARY.md");
    let text = read(&summary);
    assert!(
        docs.join("book.toml").is_file(),
        "docs/book.toml: the book's configuration"
    );
    let mut listed: Vec<String> = Vec::new();
    let mut problems = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let at = format!("docs/SUMMARY.md:{}", n + 1);
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if trimmed.is_empty() || trimmed.starts_with("# ") || trimmed == "---" {
            continue;
        }
        // A numbered chapter (`- [Title](path.md)`) or a prefix/suffix one (`[Title](path.md)`).
        let item = trimmed
            .strip_prefix("- ")
            .or_else(|| trimmed.strip_prefix("* "));
        if item.is_none() && indent > 0 {
            problems.push(format!("{at}: an indented line that is not a list item"));
            continue;
        }
        if item.is_some() && indent % 2 != 0 {
            problems.push(format!("{at}: nesting is by two or four spaces"));
        }
        let chapter = item.unwrap_or(trimmed);
        let Some((title, rest)) = chapter.strip_prefix('[').and_then(|c| c.split_once("](")) else {
            problems.push(format!(
                "{at}: expected `- [Title](page.md)`, found {line:?}"
            ));
            continue;
        };
        let Some(path) = rest.strip_suffix(')') else {
            problems.push(format!(
                "{at}: expected `- [Title](page.md)`, found {line:?}"
            ));
            continue;
        };
        if title.trim().is_empty() {
            problems.push(format!("{at}: a chapter without a title"));
        }
        if path.is_empty() {
            problems.push(format!("{at}: a draft chapter: every page is written"));
            continue;
        }
        if !path.ends_with(".md") || path.contains("://") || path.starts_with('/') {
            problems.push(format!("{at}: {path:?} is not a relative Markdown page"));
            continue;
        }
        if !docs.join(path).is_file() {
            problems.push(format!("{at}: docs/{path} does not exist"));
        }
        if listed.contains(&path.to_string()) {
            problems.push(format!("{at}: docs/{path} is listed twice"));
        }
        listed.push(path.to_string());
    }
    for part in ["guide", "dev"] {
        for page in markdown_under(&docs.join(part)) {
            let relative = page
                .strip_prefix(&docs)
                .expect("under docs")
                .to_string_lossy()
                .replace('\\', "/");
            if !listed.contains(&relative) {
                problems.push(format!(
                    "docs/{relative}: not in docs/SUMMARY.md (a page the book never shows)"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the book's summary:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_relative_link_reaches_its_file_and_heading() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for page in pages() {
        for (line, target) in links(&read(&page)) {
            checked += 1;
            if let Some(why) = broken(&page, &target) {
                problems.push(format!("{}:{line}: ({target}): {why}", shown(&page)));
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} links found: is the scanner blind?"
    );
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

#[test]
fn nothing_in_the_repository_points_outside_it() {
    let mut problems = Vec::new();
    let mut stack = vec![root()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                if !matches!(name, ".git" | "target" | "node_modules") {
                    stack.push(path);
                }
                continue;
            }
            // Binary files and large data are not links.
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            for (n, line) in text.lines().enumerate() {
                if OUTSIDE.iter().any(|o| line.contains(o)) {
                    problems.push(format!("{}:{}: {}", shown(&path), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the repository must not point outside it:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_hcl_example_of_the_spec_reference_parses() {
    let page = root().join("docs/guide/spec.md");
    let text = read(&page);
    let outputs_file = root().join("examples/production/outputs.json");
    let outputs = envspec::Outputs::load(&outputs_file)
        .unwrap_or_else(|e| panic!("{}: {e}", outputs_file.display()));
    const HEADER: &str =
        "environment = \"example\"\nregion = \"eu-central-1\"\naccount_id = \"210987654321\"\n";
    let mut examples = 0;
    let mut problems = Vec::new();
    let mut block: Option<(usize, String)> = None;
    for (n, line) in text.lines().enumerate() {
        match &mut block {
            None if line.trim_start() == "```hcl" => block = Some((n + 2, String::new())),
            None => {}
            Some((first, body)) if line.trim_start().starts_with("```") => {
                examples += 1;
                let source = if body.contains("environment") {
                    body.clone()
                } else {
                    format!("{HEADER}{body}")
                };
                let file = page.with_file_name(format!("spec.md:{first}.hcl"));
                if let Err(e) = envspec::parse_with(&source, &file, Some(&outputs)) {
                    problems.push(format!(
                        "docs/guide/spec.md, the example at line {first}: {e}"
                    ));
                }
                block = None;
            }
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    assert!(
        examples >= 15,
        "only {examples} hcl examples found in docs/guide/spec.md"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_scanners_see_what_a_reader_sees() {
    let text = "# A `code` heading\n\nSee [the spec](guide/spec.md#top-level) and\n[a page\nacross lines](dev/build.md), not `[code](x.md)`.\n\n```sh\n[fenced](nope.md)\n# not a heading\n```\n\n[ref]: install.md\n## A `code` heading\n";
    let found: Vec<String> = links(text).into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        found,
        ["guide/spec.md#top-level", "dev/build.md", "install.md"]
    );
    assert_eq!(
        anchors(text).into_iter().collect::<Vec<_>>(),
        ["a-code-heading", "a-code-heading-1"]
    );
    assert_eq!(
        slug("`metric \"<name>\"`: `metrics.<name>`"),
        "metric-name-metricsname"
    );
    assert_eq!(
        slug("JSON report (`--report json=PATH`)"),
        "json-report---report-jsonpath"
    );
    assert_eq!(
        join(Path::new("/r/docs/guide"), "../../x.md"),
        Path::new("/r/x.md")
    );
    assert!(is_external("https://example.com") && !is_external("../checks.md"));
}
