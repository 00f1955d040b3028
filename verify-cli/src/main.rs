//! `verify`: the program a pipeline installs. Flags live in [`flags`]; one
//! module per command. Everything runs in this process through the
//! library's runner ([`verify::run`]): no cargo, no child process, no
//! environment variable or file between the command line and the gate.
//!
//! Exit status: 0 go (or success), 1 no-go (or a failed drill assertion),
//! 2 could not run.

/// `println!` to [`out`]: a reader that went away does not end the program.
macro_rules! outln {
    () => {
        $crate::out("\n")
    };
    ($($arg:tt)*) => {
        $crate::out(&format!("{}\n", format_args!($($arg)*)))
    };
}

mod checks;
mod diff;
mod drill;
mod flags;
mod run;
mod sarif;

use std::process::ExitCode;

use clap::Parser;

/// An error meaning "the command could not run" (exit 2), as opposed to no-go.
#[derive(Debug)]
pub struct CouldNotRun(pub String);

impl std::fmt::Display for CouldNotRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CouldNotRun {}

impl CouldNotRun {
    /// Any error's message, as could-not-run.
    pub fn from(e: impl std::fmt::Display) -> CouldNotRun {
        CouldNotRun(e.to_string())
    }
}

/// How the terminal looks this run: colour, and whether progress shows.
#[derive(Debug, Clone, Copy)]
pub struct Terminal {
    pub colour: bool,
    pub quiet: bool,
}

fn main() -> ExitCode {
    let flags = match flags::Verify::try_parse() {
        Ok(f) => f,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let terminal = terminal(&flags);
    logging(&flags, terminal.colour);
    let result = match &flags.command {
        flags::Command::Run(r) => run::run(r, terminal),
        flags::Command::Validate(v) => run::validate(v),
        flags::Command::Checks(c) => checks::run(c),
        flags::Command::Drill(d) => drill::run(d),
        flags::Command::IamPolicy(p) => run::iam_policy(p),
        flags::Command::Diff(d) => diff::run(d, terminal),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// `--color`, with `NO_COLOR` (any non-empty value) turning `auto` off.
fn terminal(flags: &flags::Verify) -> Terminal {
    let colour = match flags.color {
        flags::Color::Always => true,
        flags::Color::Never => false,
        flags::Color::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && console::Term::stdout().features().colors_supported()
        }
    };
    console::set_colors_enabled(colour);
    console::set_colors_enabled_stderr(colour);
    Terminal {
        colour,
        quiet: flags.quiet,
    }
}

/// Log lines on stderr through `tracing`: warnings by default (errors only
/// from aws-config, whose credential-chain warnings repeat what the run's
/// own error says), `-v` debug, `-vv` trace, `-q` errors only; `RUST_LOG`
/// overrides them all.
fn logging(flags: &flags::Verify, colour: bool) {
    use tracing_subscriber::EnvFilter;
    let level = match (flags.quiet, flags.verbose) {
        (true, _) => "error",
        (false, 0) => "warn,aws_config=error",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .try_init();
}

/// This binary, as every JSON report names its writer (`tool`): its
/// package version and the commit `verify --version` names.
pub fn tool() -> report_model::Tool {
    report_model::Tool::new(env!("CARGO_PKG_VERSION"), env!("VERIFY_COMMIT"))
}

/// A multi-thread runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, CouldNotRun> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CouldNotRun(format!("cannot start the async runtime: {e}")))
}

/// Writes to stdout. A reader that went away (`verify checks | head`) is
/// not an error: the rest of the output is dropped, and a run still writes
/// its report files and exits with its verdict.
pub fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => eprintln!("error: writing to stdout: {e}"),
    }
}

/// Writes a report file, creating its directory.
pub fn write(path: &std::path::Path, text: &str) -> Result<(), CouldNotRun> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| CouldNotRun(format!("creating {}: {e}", parent.display())))?;
    }
    std::fs::write(path, text).map_err(|e| CouldNotRun(format!("writing {}: {e}", path.display())))
}
