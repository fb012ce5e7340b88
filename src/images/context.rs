//! Build contexts: the recipe's files and binary as a tar archive made in memory, its content
//! hash, and where the two binaries come from (the host's static busybox, the static testapp).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

use super::ImageError;
use super::recipes::{Binary, Recipe};

/// Modification time of every file of a build context (2025-01-01), so that contexts, hashes
/// and the builder's cache depend on content only.
const MTIME: u64 = 1_735_689_600;

/// Bumped when the way contexts are made changes, so that every image is rebuilt.
const FORMAT: &str = "podlife-images/1";

/// The build context of a recipe as a tar archive: `Dockerfile` and `rootfs/…` (its entries,
/// and busybox or the testapp binary).
pub(crate) fn tar(recipe: &Recipe, binary: Option<&[u8]>) -> std::io::Result<Vec<u8>> {
    // path → (mode, content); None content = directory. Sorted, so parents come first.
    let mut entries: BTreeMap<String, (u32, Option<&[u8]>)> = BTreeMap::new();
    add_entry(
        &mut entries,
        "Dockerfile",
        0o644,
        Some(recipe.dockerfile.as_bytes()),
    );
    for entry in recipe.entries {
        let path = format!("rootfs/{}", entry.path);
        if entry.path.ends_with('/') {
            add_entry(&mut entries, &path, entry.mode, None);
        } else {
            add_entry(
                &mut entries,
                &path,
                entry.mode,
                Some(entry.content.as_bytes()),
            );
        }
    }
    match (recipe.binary, binary) {
        (Some(Binary::Busybox), Some(bytes)) => {
            add_entry(&mut entries, "rootfs/bin/busybox", 0o755, Some(bytes))
        }
        (Some(Binary::ShellWithoutHttpd), Some(bytes)) => {
            add_entry(&mut entries, "rootfs/usr/local/bin/sh", 0o755, Some(bytes));
        }
        (Some(Binary::Testapp), Some(bytes)) => {
            add_entry(
                &mut entries,
                "rootfs/usr/local/bin/testapp",
                0o755,
                Some(bytes),
            );
        }
        _ => {}
    }

    let mut builder = tar::Builder::new(Vec::new());
    for (path, (mode, content)) in &entries {
        let mut header = tar::Header::new_gnu();
        header.set_mode(*mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(MTIME);
        match content {
            Some(bytes) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(bytes.len() as u64);
                builder.append_data(&mut header, path, *bytes)?;
            }
            None => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                builder.append_data(&mut header, path, std::io::empty())?;
            }
        }
    }
    builder.into_inner()
}

/// Adds a file (`Some` content) or a directory, and its parent directories (mode 0755 unless
/// given explicitly).
fn add_entry<'a>(
    entries: &mut BTreeMap<String, (u32, Option<&'a [u8]>)>,
    path: &str,
    mode: u32,
    content: Option<&'a [u8]>,
) {
    let trimmed = path.trim_end_matches('/');
    let mut at = 0;
    while let Some(slash) = trimmed[at..].find('/') {
        at += slash + 1;
        entries
            .entry(trimmed[..at].to_owned())
            .or_insert((0o755, None));
    }
    let key = match content {
        None => format!("{trimmed}/"),
        Some(_) => trimmed.to_owned(),
    };
    entries.insert(key, (mode, content));
}

/// The content hash of a build context (and the hash of its base's), as stored in the
/// `io.podlife.recipe-hash` label.
pub(crate) fn hash(recipe: &Recipe, context: &[u8], base_hash: Option<&str>) -> String {
    let mut h = Hasher::new();
    h.field(FORMAT.as_bytes());
    h.field(recipe.name.as_bytes());
    h.field(base_hash.unwrap_or("").as_bytes());
    h.field(context);
    h.finish()
}

/// A 128-bit FNV-1a variant over 64-bit words (two lanes): stable across Rust versions and
/// machines, and fast enough on a 50 MB debug binary. It detects changes; it is no defence
/// against someone forging a collision.
struct Hasher {
    a: u64,
    b: u64,
}

impl Hasher {
    fn new() -> Self {
        Hasher {
            a: 0xcbf2_9ce4_8422_2325,
            b: 0x6c62_272e_07bb_0142,
        }
    }

    fn word(&mut self, w: u64) {
        self.a = (self.a ^ w).wrapping_mul(0x0000_0100_0000_01b3);
        self.b = (self.b ^ w.rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15 | 1);
    }

    /// A length-prefixed field, so that fields cannot run into each other.
    fn field(&mut self, bytes: &[u8]) {
        self.word(bytes.len() as u64);
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.word(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.word(u64::from_le_bytes(last));
        }
    }

    fn finish(&self) -> String {
        // One last mixing round per lane, so that the final words are spread over every bit.
        let mix = |mut x: u64| {
            x ^= x >> 33;
            x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
            x ^= x >> 33;
            x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
            x ^ (x >> 33)
        };
        format!("{:016x}{:016x}", mix(self.a), mix(self.b))
    }
}

/// Checks that `bytes` is an ELF executable for this machine without a program interpreter
/// (PT_INTERP), i.e. statically linked and runnable on an empty file system.
pub(crate) fn check_static_elf(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" {
        return Err("it is not an ELF executable".into());
    }
    if bytes[4] != 2 || bytes[5] != 1 {
        return Err("it is not a 64-bit little-endian ELF executable".into());
    }
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let machine = u16_at(18);
    let expected = match std::env::consts::ARCH {
        "x86_64" => Some(62),
        "aarch64" => Some(183),
        _ => None,
    };
    if let Some(expected) = expected
        && machine != expected
    {
        return Err(format!(
            "it is built for another machine (ELF e_machine {machine}, this is {})",
            std::env::consts::ARCH
        ));
    }
    let phoff = u64::from_le_bytes(bytes[32..40].try_into().expect("8 bytes")) as usize;
    let phentsize = u16_at(54) as usize;
    let phnum = u16_at(56) as usize;
    for i in 0..phnum {
        let at = phoff.saturating_add(i.saturating_mul(phentsize));
        let Some(p_type) = bytes.get(at..at + 4) else {
            return Err("its ELF program headers are truncated".into());
        };
        if u32::from_le_bytes(p_type.try_into().expect("4 bytes")) == 3 {
            return Err(
                "it is dynamically linked (it names a program interpreter, PT_INTERP)".into(),
            );
        }
    }
    Ok(())
}

/// Reads a recipe's binary: the host's busybox or the static testapp.
pub(crate) async fn load_binary(
    recipe: &Recipe,
    kind: Binary,
    compile: bool,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Vec<u8>, ImageError> {
    match kind {
        Binary::Busybox => load_busybox(recipe, progress).await,
        Binary::ShellWithoutHttpd => {
            let mut bytes = load_busybox(recipe, progress).await?;
            hide_applet(&mut bytes, "httpd", "httpD").map_err(|message| ImageError::Input {
                image: recipe.name.to_owned(),
                message,
                help: "set PODLIFE_BUSYBOX to Debian's busybox-static (1.35)".into(),
            })?;
            Ok(bytes)
        }
        Binary::Testapp => load_testapp(recipe, compile, progress).await,
    }
}

/// Renames applet `name` to `new_name` (same length, same place in the sorted applet table) in
/// a busybox binary, so that its shell looks `name` up on PATH instead.
pub(crate) fn hide_applet(busybox: &mut [u8], name: &str, new_name: &str) -> Result<(), String> {
    assert_eq!(name.len(), new_name.len());
    let needle = format!("\0{name}\0").into_bytes();
    let mut found = busybox
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle.as_slice())
        .map(|(at, _)| at);
    match (found.next(), found.next()) {
        (Some(at), None) => {
            busybox[at + 1..at + 1 + name.len()].copy_from_slice(new_name.as_bytes());
            Ok(())
        }
        _ => Err(format!(
            "cannot find busybox's `{name}` applet (exactly once) in its applet table"
        )),
    }
}

async fn load_busybox(
    recipe: &Recipe,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Vec<u8>, ImageError> {
    let input = |message: String| ImageError::Input {
        image: recipe.name.to_owned(),
        message,
        help: "install Debian's busybox-static (`apt-get install busybox-static`), or set \
               PODLIFE_BUSYBOX to a statically linked busybox"
            .to_owned(),
    };
    let path = super::busybox::path(progress).await.map_err(input)?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| input(format!("cannot read {}: {e}", path.display())))?;
    check_static_elf(&bytes).map_err(|why| {
        input(format!(
            "{} cannot run on an empty file system: {why}",
            path.display()
        ))
    })?;
    Ok(bytes)
}

/// The podlife source tree this binary was built from, if it is still there.
fn source_tree() -> Option<&'static Path> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    root.join("testapp/Cargo.toml").is_file().then_some(root)
}

fn target_triple() -> String {
    format!("{}-unknown-linux-gnu", std::env::consts::ARCH)
}

/// Where the static testapp is built from the source tree.
pub(crate) fn static_testapp_path(root: &Path) -> PathBuf {
    root.join("target/static")
        .join(target_triple())
        .join("debug/testapp")
}

/// The statically linked testapp: `$PODLIFE_TESTAPP_STATIC`, or built (when `compile`) from
/// the podlife source tree into `target/static`. `image` names what it is for, in errors.
pub(crate) async fn testapp_path(
    image: &str,
    compile: bool,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<PathBuf, ImageError> {
    let input = |message: String| ImageError::Input {
        image: image.to_owned(),
        message,
        help: format!(
            "set PODLIFE_TESTAPP_STATIC to a statically linked testapp (in the podlife source \
             tree: RUSTFLAGS=\"-C target-feature=+crt-static\" cargo build -p testapp --target \
             {})",
            target_triple()
        ),
    };
    Ok(
        match (std::env::var_os("PODLIFE_TESTAPP_STATIC"), source_tree()) {
            (Some(path), _) => PathBuf::from(path),
            (None, Some(root)) => {
                if compile {
                    compile_testapp(root, progress).await.map_err(input)?;
                }
                static_testapp_path(root)
            }
            (None, None) => {
                return Err(input(format!(
                    "PODLIFE_TESTAPP_STATIC is not set and the podlife source tree ({}) is not \
                 there to build it from",
                    env!("CARGO_MANIFEST_DIR")
                )));
            }
        },
    )
}

async fn load_testapp(
    recipe: &Recipe,
    compile: bool,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Vec<u8>, ImageError> {
    let path = testapp_path(recipe.name, compile, progress).await?;
    let input = |message: String| ImageError::Input {
        image: recipe.name.to_owned(),
        message,
        help: String::new(),
    };
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| input(format!("cannot read {}: {e}", path.display())))?;
    check_static_elf(&bytes).map_err(|why| {
        input(format!(
            "{} cannot run on an empty file system: {why}",
            path.display()
        ))
    })?;
    Ok(bytes)
}

/// `cargo build -p testapp` with `+crt-static` into `target/static`, apart from the normal
/// build so that neither invalidates the other. A no-op when it is up to date.
async fn compile_testapp(root: &Path, progress: &(dyn Fn(&str) + Sync)) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let triple = target_triple();
    let mut child = tokio::process::Command::new(&cargo)
        .args(["build", "-p", "testapp", "--target", &triple])
        .current_dir(root)
        .env(
            "RUSTFLAGS",
            "-C target-feature=+crt-static -C debuginfo=0 -C strip=symbols",
        )
        .env("CARGO_TARGET_DIR", root.join("target/static"))
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            format!(
                "cannot run `{} build -p testapp`: {e}",
                Path::new(&cargo).display()
            )
        })?;
    let mut tail: Vec<String> = Vec::new();
    if let Some(stderr) = child.stderr.take() {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let line = line.trim().to_owned();
            if line.starts_with("Compiling") {
                progress(&format!("testapp (static): {line}"));
            }
            tail.push(line);
            if tail.len() > 30 {
                tail.remove(0);
            }
        }
    }
    let status = child
        .wait()
        .await
        .map_err(|e| format!("cargo build -p testapp: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`cargo build -p testapp --target {triple}` (static) failed ({status}): {}",
            tail.join(" | ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::recipes;

    #[test]
    fn contexts_are_deterministic_and_hashes_follow_content() {
        let recipe = &recipes::all()[3];
        let a = tar(recipe, None).unwrap();
        let b = tar(recipe, None).unwrap();
        assert_eq!(a, b);
        let h = hash(recipe, &a, Some("base"));
        assert_eq!(h.len(), 32);
        assert_eq!(h, hash(recipe, &b, Some("base")));
        assert_ne!(h, hash(recipe, &a, Some("other base")));
        let mut changed = a.clone();
        let last = changed.len() - 2000;
        changed[last] ^= 1;
        assert_ne!(h, hash(recipe, &changed, Some("base")));
    }

    #[test]
    fn context_holds_the_dockerfile_the_rootfs_and_its_parents() {
        let recipe = recipes::all()
            .iter()
            .find(|r| r.name == "web:apache")
            .unwrap();
        let bytes = tar(recipe, None).unwrap();
        let mut archive = tar::Archive::new(&bytes[..]);
        let entries: Vec<(String, u32)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    e.header().mode().unwrap(),
                )
            })
            .collect();
        let names: Vec<&str> = entries.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            names,
            [
                "Dockerfile",
                "rootfs/",
                "rootfs/etc/",
                "rootfs/etc/run.sh",
                "rootfs/usr/",
                "rootfs/usr/local/",
                "rootfs/usr/local/bin/",
                "rootfs/usr/local/bin/httpd",
                "rootfs/var/",
                "rootfs/var/www/",
                "rootfs/var/www/index.html",
            ]
        );
        assert!(entries.contains(&("rootfs/etc/run.sh".into(), 0o755)));
    }

    #[test]
    fn busybox_context_keeps_the_sticky_tmp() {
        let recipe = &recipes::all()[0];
        let bytes = tar(recipe, Some(b"not really busybox")).unwrap();
        let mut archive = tar::Archive::new(&bytes[..]);
        let tmp = archive
            .entries()
            .unwrap()
            .map(Result::unwrap)
            .find(|e| e.path().unwrap().to_str() == Some("rootfs/tmp/"))
            .unwrap();
        assert_eq!(tmp.header().mode().unwrap(), 0o1777);
    }

    #[test]
    fn elf_check_tells_static_from_dynamic() {
        assert!(check_static_elf(b"#!/bin/sh\necho hi\n").is_err());
        // This test binary is dynamically linked (the normal build): it has PT_INTERP.
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let err = check_static_elf(&me).unwrap_err();
        assert!(err.contains("dynamically linked"), "{err}");
        // A minimal static ELF header: no program headers at all.
        let mut elf = vec![0u8; 64];
        elf[..4].copy_from_slice(b"\x7fELF");
        elf[4] = 2;
        elf[5] = 1;
        let machine: u16 = match std::env::consts::ARCH {
            "aarch64" => 183,
            _ => 62,
        };
        elf[18..20].copy_from_slice(&machine.to_le_bytes());
        assert_eq!(check_static_elf(&elf), Ok(()));
    }
}
