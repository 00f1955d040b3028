//! xtask's tests parse the pipeline examples' `verify …` lines with the
//! `verify` binary's own flags (verify-cli/src/flags.rs, included as a
//! module in `examples.rs`), whose `--version` names the commit it was built
//! from: here, no commit.

fn main() {
    println!("cargo:rustc-env=VERIFY_COMMIT=xtask-tests");
    println!("cargo:rerun-if-changed=build.rs");
}
