//! The container image (`Dockerfile`), built and run by `cargo xtask test`:
//! the binary of this build on `debian:bookworm-slim`, `verify run` against
//! the sandbox from inside it, go.
//!
//! No registry is reachable here, so the base image is made once with
//! `debootstrap --variant=minbase bookworm` and imported under the name the
//! Dockerfile names; later runs find it (`podman image exists`) and reuse it,
//! and the image's apt layer is cached by podman. Podman runs rootful with
//! `runc` and explicit ulimits (crun fails on this kernel's hybrid cgroups).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::cargo::{root, target_dir, workspace_bin};
use crate::dist::Naming;

/// The base the Dockerfile names (`ARG BASE`).
pub const BASE: &str = "debian:bookworm-slim";
/// The image the test builds.
const IMAGE: &str = "localhost/verify:xtask-test";
const MIRROR: &str = "http://deb.debian.org/debian";

/// `podman` with the runtime and limits that work on this kernel.
fn podman() -> Command {
    let mut c = Command::new("podman");
    c.args(["--runtime", "runc"]);
    c
}

const ULIMITS: [&str; 4] = [
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    "nproc=1024:1024",
];

fn run(mut command: Command, what: &str) -> Result<Output> {
    let out = command
        .output()
        .with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!(
            "{what}: exit {:?}\nstdout:\n{}\nstderr:\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out)
}

/// The tools the image test needs, as Debian packages (installed by
/// `cargo xtask test` when missing).
pub fn missing_packages() -> Vec<&'static str> {
    let have = |tool: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
            || Path::new("/usr/sbin").join(tool).exists()
    };
    [
        ("podman", "podman"),
        ("runc", "runc"),
        ("debootstrap", "debootstrap"),
    ]
    .into_iter()
    .filter(|(tool, _)| !have(tool))
    .map(|(_, package)| package)
    .collect()
}

/// `debian:bookworm-slim`, made with debootstrap unless podman has it.
/// Returns whether it had to be made.
pub fn ensure_base_image() -> Result<bool> {
    let exists = podman()
        .args(["image", "exists", BASE])
        .status()
        .context("running podman (is it installed?)")?;
    if exists.success() {
        return Ok(false);
    }
    let rootfs = target_dir().join("container").join("bookworm-rootfs");
    let _ = std::fs::remove_dir_all(&rootfs);
    std::fs::create_dir_all(&rootfs)?;
    eprintln!(
        "making {BASE} with debootstrap (once; about a minute and a half) in {}",
        rootfs.display()
    );
    let mut debootstrap = Command::new("debootstrap");
    debootstrap
        .args(["--variant=minbase", "bookworm"])
        .arg(&rootfs)
        .arg(MIRROR);
    run(debootstrap, "debootstrap")?;
    // As Debian's slim images: no downloaded packages, no package lists.
    for dir in ["var/cache/apt/archives", "var/lib/apt/lists"] {
        let dir = rootfs.join(dir);
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if entry.path().is_file() {
                std::fs::remove_file(entry.path()).ok();
            }
        }
    }
    let mut tar = Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .args(["-c", "."])
        .stdout(Stdio::piped())
        .spawn()
        .context("running tar")?;
    let imported = podman()
        .args(["import", "-", BASE])
        .stdin(tar.stdout.take().context("tar's output")?)
        .stdout(Stdio::null())
        .status()
        .context("running podman import")?;
    if !tar.wait()?.success() || !imported.success() {
        bail!("importing {} as {BASE} failed", rootfs.display());
    }
    std::fs::remove_dir_all(&rootfs).ok();
    Ok(true)
}

/// The commit of the work tree, for the image's revision label.
fn commit() -> String {
    Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Builds the image from the Dockerfile with `binary` as its `verify`.
fn build(binary: &Path, version: &str, commit: &str) -> Result<()> {
    let context = target_dir().join("container").join("context");
    let _ = std::fs::remove_dir_all(&context);
    std::fs::create_dir_all(&context)?;
    std::fs::copy(binary, context.join("verify"))
        .with_context(|| format!("copying {}", binary.display()))?;
    let mut build = podman();
    build
        .arg("build")
        .args(ULIMITS)
        .args(["--network", "host", "--layers", "--quiet"])
        .arg("--file")
        .arg(root().join("Dockerfile"))
        .args(["--build-arg", &format!("VERSION={version}")])
        .args(["--build-arg", &format!("COMMIT={commit}")])
        .args(["--tag", IMAGE])
        .arg(&context);
    let before = image_id(IMAGE);
    let built = run(build, "podman build");
    // The context is a copy of the binary: not kept.
    std::fs::remove_dir_all(&context).ok();
    built?;
    // The image this build replaced (another binary) would stay behind
    // untagged, with its layers, on every run: removed, its untagged
    // parents with it. The base and the apt layer stay cached.
    if let Some(old) = before.filter(|old| image_id(IMAGE).as_ref() != Some(old)) {
        let _ = podman().args(["rmi", &old]).output();
    }
    Ok(())
}

/// The id of the image tagged `name`, if there is one.
fn image_id(name: &str) -> Option<String> {
    let out = podman()
        .args(["image", "inspect", "--format", "{{.Id}}", name])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string()).filter(|id| !id.is_empty())
}

/// What the image step measured.
pub struct ImageRun {
    pub made_base: bool,
    pub seconds: f64,
    pub size_bytes: u64,
}

/// Builds the image (the base made first if missing) and runs `verify run`
/// on the sandbox's spec from it, with the host's network, the spec and the
/// sandbox's folder (state.json and the stand-ins' CA, at the absolute
/// paths state.json names) mounted read-only: exit 0, verdict go, the JSON
/// report written to a mounted folder, and the labels set.
pub fn build_and_run_the_gate() -> Result<ImageRun> {
    let started = Instant::now();
    let made_base = ensure_base_image()?;
    let naming = Naming::load()?;
    let commit = commit();
    build(&workspace_bin("verify"), &naming.version, &commit)?;

    let labels = run(
        {
            let mut c = podman();
            c.args(["image", "inspect", "--format", "{{json .Labels}}", IMAGE]);
            c
        },
        "podman image inspect",
    )?;
    let labels: serde_json::Value = serde_json::from_slice(&labels.stdout)?;
    for (label, want) in [
        ("org.opencontainers.image.version", naming.version.as_str()),
        ("org.opencontainers.image.revision", commit.as_str()),
    ] {
        if labels[label] != want {
            bail!("label {label} is {}, expected {want:?}", labels[label]);
        }
    }

    let sandbox: PathBuf = target_dir().join("sandbox");
    let spec = root().join("infra-tests/environments/sandbox.hcl");
    let out = target_dir().join("container").join("out");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out)?;
    open_to_everyone(&out)?;
    let mount = |from: &Path, to: &str, mode: &str| format!("{}:{to}:{mode}", from.display());
    let sandbox_dir = sandbox.display().to_string();
    // Shared with the other readers of the sandbox: no test breaks it meanwhile.
    let _lock = sandbox_lock(&sandbox)?;
    let mut gate = podman();
    gate.arg("run")
        .args(["--rm", "--network", "host"])
        .args(ULIMITS)
        .args([
            "--env",
            &format!(
                "VERIFY_SECRET_SANDBOX_CANARY_PASSWORD={}",
                canary_password()
            ),
        ])
        .args(["--env", "NO_COLOR=1"])
        .args(["--volume", &mount(&spec, "/specs/sandbox.hcl", "ro")])
        .args(["--volume", &mount(&sandbox, &sandbox_dir, "ro")])
        .args(["--volume", &mount(&out, "/out", "rw")])
        .arg(IMAGE)
        // The canary writes (and undoes) through the image's binary too.
        .args([
            "run",
            "/specs/sandbox.hcl",
            "--allow-writes",
            "--sandbox-state",
        ])
        .arg(sandbox.join("state.json"))
        .args(["--report", "json=/out/gate.json", "-q"]);
    let ran = gate.output().context("running podman run")?;
    if ran.status.code() != Some(0) {
        bail!(
            "verify run in the image: exit {:?}, expected 0\nstdout:\n{}\nstderr:\n{}",
            ran.status.code(),
            String::from_utf8_lossy(&ran.stdout),
            String::from_utf8_lossy(&ran.stderr)
        );
    }
    let report = out.join("gate.json");
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&report).with_context(|| format!("reading {}", report.display()))?,
    )?;
    if report["verdict"] != "go" || report["environment"] != "sandbox" {
        bail!(
            "the image's report: verdict {} for {}",
            report["verdict"],
            report["environment"]
        );
    }

    // Non-root, and `verify` is the entrypoint.
    let user = run(
        {
            let mut c = podman();
            c.args([
                "image",
                "inspect",
                "--format",
                "{{.Config.User}} {{json .Config.Entrypoint}}",
                IMAGE,
            ]);
            c
        },
        "podman image inspect",
    )?;
    let user = String::from_utf8_lossy(&user.stdout).trim().to_string();
    if user != r#"10001:10001 ["verify"]"# {
        bail!("the image's user and entrypoint: {user}");
    }
    let size = run(
        {
            let mut c = podman();
            c.args(["image", "inspect", "--format", "{{.Size}}", IMAGE]);
            c
        },
        "podman image inspect",
    )?;
    Ok(ImageRun {
        made_base,
        seconds: started.elapsed().as_secs_f64(),
        size_bytes: String::from_utf8_lossy(&size.stdout)
            .trim()
            .parse()
            .unwrap_or(0),
    })
}

/// The sandbox's test lock, shared (`fixtures::sandbox::TestLock::reading`).
pub fn sandbox_lock(sandbox: &Path) -> Result<std::fs::File> {
    let path = sandbox.join("tests.lock");
    let file = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    file.lock_shared()
        .with_context(|| format!("locking {}", path.display()))?;
    Ok(file)
}

/// What the sandbox spec's canary signs in with: cargo's `[env]` value (or the caller's).
fn canary_password() -> String {
    std::env::var("VERIFY_SECRET_SANDBOX_CANARY_PASSWORD")
        .unwrap_or_else(|_| "sandbox-canary-password".into())
}

#[cfg(unix)]
fn open_to_everyone(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // The image's user (10001) writes its report here.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777))
        .with_context(|| format!("chmod {}", dir.display()))
}

#[cfg(not(unix))]
fn open_to_everyone(_: &Path) -> Result<()> {
    Ok(())
}

/// `cargo xtask test`'s image step alone, for working on the Dockerfile:
/// `cargo test -p xtask -- --ignored the_image` (the sandbox running and
/// `target/debug/verify` built).
#[cfg(test)]
#[test]
#[ignore = "needs podman, the sandbox and target/debug/verify: cargo xtask test runs it"]
fn the_image_runs_the_gate() {
    let run = build_and_run_the_gate().unwrap();
    eprintln!(
        "image: {:.1} s (base made: {}), {:.1} MB",
        run.seconds,
        run.made_base,
        run.size_bytes as f64 / 1e6
    );
}
