//! Sealed memory files (Linux `memfd_create`): the member's bytes are
//! written once, then sealed against writing, shrinking and growing, and the
//! seals themselves sealed. A program given the descriptor can read the
//! bytes and nothing else: not change them, not truncate them.

use std::fs::File;
use std::io;

/// The four seals every handed memfd carries.
#[cfg(target_os = "linux")]
fn all_seals() -> rustix::fs::SealFlags {
    use rustix::fs::SealFlags;
    SealFlags::WRITE | SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL
}

/// A new, empty memfd that can be sealed, closed on exec.
#[cfg(target_os = "linux")]
pub(crate) fn create(name: &str) -> io::Result<File> {
    use rustix::fs::{memfd_create, MemfdFlags};
    // The name is shown in /proc/PID/fd; a NUL would not pass.
    let label: String = name.chars().filter(|c| *c != '\0').take(200).collect();
    let fd = memfd_create(
        format!("fwkit:{label}"),
        MemfdFlags::ALLOW_SEALING | MemfdFlags::CLOEXEC,
    )?;
    Ok(File::from(fd))
}

/// Seal `file` and read the seals back: all four must hold.
#[cfg(target_os = "linux")]
pub(crate) fn seal(file: &File) -> io::Result<()> {
    use rustix::fs::{fcntl_add_seals, fcntl_get_seals};
    fcntl_add_seals(file, all_seals())?;
    let held = fcntl_get_seals(file)?;
    if !held.contains(all_seals()) {
        return Err(io::Error::other(format!(
            "the memfd holds seals {held:?}, not write, shrink, grow and seal"
        )));
    }
    Ok(())
}

/// Can this system seal a memfd? `Err` says why not.
pub(crate) fn probe() -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::io::Write;
        let mut file = create("probe")?;
        file.write_all(b"x")?;
        seal(&file)
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "sealed memfds exist on Linux only",
        ))
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn create(_: &str) -> io::Result<File> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "sealed memfds exist on Linux only",
    ))
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn seal(_: &File) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "sealed memfds exist on Linux only",
    ))
}
