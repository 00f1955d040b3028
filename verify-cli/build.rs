//! `verify --version` names the commit it was built from (`unknown` outside
//! a git checkout, e.g. a crates.io package).

use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=VERIFY_COMMIT={commit}");
    // Rebuilt (this crate only) when HEAD moves.
    for file in ["../.git/HEAD", "../.git/refs/heads"] {
        if std::path::Path::new(file).exists() {
            println!("cargo:rerun-if-changed={file}");
        }
    }
}
