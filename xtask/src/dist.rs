//! `cargo xtask dist`: the release asset of `verify` for one target,
//! `verify-<version>-<target>.tar.gz` and its `.sha256`.
//!
//! The names come from one place: verify-cli's `[package.metadata.binstall]`
//! (`pkg-url`, `bin-dir`), which is also what `cargo binstall` reads. So the
//! archive the release workflow uploads is, by construction, the one
//! `cargo binstall` downloads, and the binary sits where it looks for it.
//! The version is verify-cli's; a release tag must be `v<version>`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, Result, bail};

use crate::CouldNotRun;
use crate::cargo::{cargo, root, target_dir};
use crate::flags::Dist;

/// The package whose binary is released.
pub const PACKAGE: &str = "verify-cli";
/// The binary in it.
pub const BIN: &str = "verify";

/// verify-cli's version and its binstall templates.
#[derive(Debug, Clone)]
pub struct Naming {
    pub version: String,
    /// `pkg-url`: `…/releases/download/v{ version }/verify-{ version }-{ target }.tar.gz`.
    pub pkg_url: String,
    /// `bin-dir`: the binary's path inside the archive.
    pub bin_dir: String,
    /// `pkg-fmt`: `tgz`.
    pub pkg_fmt: String,
}

impl Naming {
    /// Reads verify-cli's manifest (through `cargo metadata`, as cargo sees it).
    pub fn load() -> Result<Naming> {
        let metadata = cargo_metadata::MetadataCommand::new()
            .manifest_path(root().join("Cargo.toml"))
            .no_deps()
            .exec()
            .context("cargo metadata")?;
        let package = metadata
            .packages
            .iter()
            .find(|p| p.name.as_str() == PACKAGE)
            .with_context(|| format!("no package {PACKAGE} in the workspace"))?;
        let binstall = &package.metadata["binstall"];
        let field = |name: &str| -> Result<String> {
            binstall[name]
                .as_str()
                .map(str::to_string)
                .with_context(|| {
                    format!("{PACKAGE}'s Cargo.toml: no [package.metadata.binstall] {name}")
                })
        };
        Ok(Naming {
            version: package.version.to_string(),
            pkg_url: field("pkg-url")?,
            bin_dir: field("bin-dir")?,
            pkg_fmt: field("pkg-fmt")?,
        })
    }

    /// A binstall template with its variables filled in for `target`
    /// (`{ binary-ext }` is empty: the release is for Linux only).
    pub fn expand(&self, template: &str, target: &str) -> Result<String> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find('}')
                .with_context(|| format!("unclosed {{ in {template:?}"))?;
            let value = match rest[start + 1..start + end].trim() {
                "version" => self.version.as_str(),
                "target" => target,
                "bin" => BIN,
                "name" => PACKAGE,
                "binary-ext" => "",
                "archive-format" => self.pkg_fmt.as_str(),
                other => bail!("{template:?}: the variable {other:?} is not one dist fills"),
            };
            out.push_str(value);
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Where `cargo binstall` downloads the archive for `target`.
    pub fn url(&self, target: &str) -> Result<String> {
        self.expand(&self.pkg_url, target)
    }

    /// The archive's file name: the URL's last segment.
    pub fn asset(&self, target: &str) -> Result<String> {
        let url = self.url(target)?;
        Ok(url.rsplit('/').next().unwrap_or(&url).to_string())
    }

    /// The binary's path inside the archive (`verify-<version>-<target>/verify`).
    pub fn bin_path(&self, target: &str) -> Result<String> {
        self.expand(&self.bin_dir, target)
    }

    /// The release tag of this version.
    pub fn tag(&self) -> String {
        format!("v{}", self.version)
    }
}

pub fn run(flags: &Dist) -> Result<ExitCode> {
    let naming = Naming::load()?;
    if let Some(tag) = &flags.tag
        && *tag != naming.tag()
    {
        return Err(CouldNotRun(format!(
            "the tag {tag} is not verify-cli's version {} (expected {}): bump \
             verify-cli/Cargo.toml and CHANGELOG.md first",
            naming.version,
            naming.tag()
        ))
        .into());
    }
    let binary = match &flags.binary {
        Some(binary) => binary.clone(),
        None => build_release(&flags.target)?,
    };
    let written = package(&naming, &flags.target, &binary, &flags.out_dir)?;
    for path in [&written.archive, &written.checksum] {
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `cargo build --release --locked` of the one binary, for `target`.
fn build_release(target: &str) -> Result<PathBuf> {
    // Stripped: 40 MB instead of 70 (the symbol table; panics still name their place).
    let status = cargo()
        .env("CARGO_PROFILE_RELEASE_STRIP", "symbols")
        .args(["build", "--release", "--locked", "--package", PACKAGE])
        .args(["--bin", BIN, "--target", target])
        .status()
        .context("running cargo build --release")?;
    if !status.success() {
        bail!("cargo build --release --target {target} failed");
    }
    Ok(target_dir().join(target).join("release").join(BIN))
}

/// What [`package`] wrote.
#[derive(Debug)]
pub struct Written {
    pub archive: PathBuf,
    pub checksum: PathBuf,
}

/// Writes `<out_dir>/<asset>` (a gzipped tar: the binary at `bin-dir`, with
/// README.md and CHANGELOG.md beside it) and `<asset>.sha256` (`sha256sum -c`
/// reads it). Reproducible: sorted names, owner 0, the commit's time
/// (`SOURCE_DATE_EPOCH` if set), no gzip timestamp.
pub fn package(naming: &Naming, target: &str, binary: &Path, out_dir: &Path) -> Result<Written> {
    if naming.pkg_fmt != "tgz" {
        bail!("pkg-fmt {:?}: dist writes tgz only", naming.pkg_fmt);
    }
    let asset = naming.asset(target)?;
    let bin_path = naming.bin_path(target)?;
    let top = bin_path
        .split('/')
        .next()
        .filter(|top| *top != bin_path)
        .with_context(|| format!("bin-dir {bin_path:?} is not inside a folder"))?
        .to_string();
    fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let stage = out_dir.join(format!(".stage-{target}"));
    let _ = fs::remove_dir_all(&stage);
    let staged_bin = stage.join(&bin_path);
    fs::create_dir_all(staged_bin.parent().expect("bin-dir has a folder"))?;
    // A hard link where it can be (a debug binary is 120 MB), else a copy.
    if fs::hard_link(binary, &staged_bin).is_err() {
        fs::copy(binary, &staged_bin)
            .with_context(|| format!("copying {} (build it first)", binary.display()))?;
        set_executable(&staged_bin)?;
    }
    for doc in ["README.md", "CHANGELOG.md"] {
        let from = root().join(doc);
        if from.exists() {
            fs::copy(&from, stage.join(&top).join(doc))
                .with_context(|| format!("copying {}", from.display()))?;
        }
    }

    let archive = out_dir.join(&asset);
    let mut tar = Command::new("tar")
        .args([
            "--sort=name",
            "--mode=go-w,a+rX",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            "--format=gnu",
        ])
        .arg(format!("--mtime=@{}", source_date_epoch()))
        .arg("-C")
        .arg(&stage)
        .args(["-cf", "-", &top])
        .stdout(Stdio::piped())
        .spawn()
        .context("running tar")?;
    let file =
        fs::File::create(&archive).with_context(|| format!("creating {}", archive.display()))?;
    let gzip = Command::new("gzip")
        .arg("-9n")
        .stdin(tar.stdout.take().context("tar's output")?)
        .stdout(file)
        .status()
        .context("running gzip")?;
    if !tar.wait().context("waiting for tar")?.success() || !gzip.success() {
        bail!("tar | gzip failed for {}", archive.display());
    }
    fs::remove_dir_all(&stage).ok();

    let out = Command::new("sha256sum")
        .arg(&asset)
        .current_dir(out_dir)
        .output()
        .context("running sha256sum")?;
    if !out.status.success() {
        bail!(
            "sha256sum {asset}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let checksum = out_dir.join(format!("{asset}.sha256"));
    fs::write(&checksum, &out.stdout).with_context(|| format!("writing {}", checksum.display()))?;
    Ok(Written { archive, checksum })
}

#[cfg(unix)]
fn set_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("chmod {}", path.display()))
}

#[cfg(not(unix))]
fn set_executable(_: &Path) -> Result<()> {
    Ok(())
}

/// `SOURCE_DATE_EPOCH`, else the commit's time, else 0.
fn source_date_epoch() -> u64 {
    if let Some(epoch) = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return epoch;
    }
    Command::new("git")
        .args(["log", "-1", "--format=%ct"])
        .current_dir(root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGETS: [&str; 2] = ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"];

    fn scratch(name: &str) -> PathBuf {
        let dir = target_dir().join("xtask-tests").join(name);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_binstall_templates_expand_to_the_release_names() {
        let naming = Naming::load().unwrap();
        let version = &naming.version;
        for target in TARGETS {
            let asset = naming.asset(target).unwrap();
            assert_eq!(asset, format!("verify-{version}-{target}.tar.gz"));
            assert!(
                naming
                    .url(target)
                    .unwrap()
                    .ends_with(&format!("/releases/download/v{version}/{asset}")),
                "{}",
                naming.url(target).unwrap()
            );
            assert_eq!(
                naming.bin_path(target).unwrap(),
                format!("verify-{version}-{target}/verify")
            );
        }
        assert_eq!(naming.pkg_fmt, "tgz");
        assert!(naming.expand("{ nope }", TARGETS[0]).is_err());
    }

    /// What `cargo binstall` does with the asset `dist` writes: download
    /// `pkg-url`, check it is a gzipped tar, take the binary at `bin-dir`.
    /// And what a pipeline does: `sha256sum -c` the `.sha256`.
    #[test]
    fn the_archive_holds_the_binary_where_binstall_looks_and_its_checksum_verifies() {
        let naming = Naming::load().unwrap();
        let target = TARGETS[0];
        let dir = scratch("dist");
        let fake = dir.join("fake-verify");
        fs::write(&fake, "#!/bin/sh\necho verify 0\n").unwrap();
        set_executable(&fake).unwrap();
        let out = dir.join("out");
        let written = package(&naming, target, &fake, &out).unwrap();
        assert_eq!(
            written.archive.file_name().unwrap().to_str().unwrap(),
            naming.asset(target).unwrap()
        );
        let listing = Command::new("tar")
            .arg("-tzvf")
            .arg(&written.archive)
            .output()
            .unwrap();
        assert!(listing.status.success());
        let listing = String::from_utf8(listing.stdout).unwrap();
        let bin_line = listing
            .lines()
            .find(|l| l.ends_with(&format!(" {}", naming.bin_path(target).unwrap())))
            .unwrap_or_else(|| panic!("no {} in\n{listing}", naming.bin_path(target).unwrap()));
        assert!(bin_line.starts_with("-rwxr-xr-x 0/0"), "{bin_line}");
        assert!(listing.contains("/README.md"), "{listing}");
        let check = Command::new("sha256sum")
            .args(["-c", &format!("{}.sha256", naming.asset(target).unwrap())])
            .current_dir(&out)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{}",
            String::from_utf8_lossy(&check.stdout)
        );
        // Reproducible: the same input gives the same bytes.
        let first = fs::read(&written.archive).unwrap();
        let again = package(&naming, target, &fake, &out).unwrap();
        assert_eq!(first, fs::read(&again.archive).unwrap());
    }

    #[test]
    fn a_tag_of_another_version_is_refused() {
        let naming = Naming::load().unwrap();
        let flags = Dist {
            target: TARGETS[0].into(),
            binary: Some("/nonexistent".into()),
            out_dir: scratch("dist-tag"),
            tag: Some("v999.0.0".into()),
        };
        let err = run(&flags).unwrap_err();
        assert!(err.downcast_ref::<CouldNotRun>().is_some(), "{err:#}");
        assert!(err.to_string().contains(&naming.tag()), "{err:#}");
    }
}
