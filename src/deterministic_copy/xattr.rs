//! Removing extended attributes from what we create. A staged tree must have
//! none: `mke2fs -d` and `mkfs.btrfs --rootdir` copy them into the image, and
//! they come from the host (a default ACL on a parent directory, a security
//! label), not from the sources. Security labels a host insists on (SELinux)
//! cannot be removed and are left alone.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Remove every extended attribute of `path` (not following a symlink).
pub fn strip(path: &Path) -> io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))?;
    let names = list(&c)?;
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let name = CString::new(name).expect("split at NUL");
        // SAFETY: valid NUL-terminated strings.
        if unsafe { sys::remove(c.as_ptr(), name.as_ptr()) } != 0 {
            let err = io::Error::last_os_error();
            // Security labels (SELinux) are the kernel's to assign; a host
            // that sets them cannot have them removed, and then they stay.
            if name.as_bytes().starts_with(b"security.") {
                continue;
            }
            return Err(io::Error::new(
                err.kind(),
                format!(
                    "cannot remove extended attribute {}: {err}",
                    name.to_string_lossy()
                ),
            ));
        }
    }
    Ok(())
}

fn list(c: &CString) -> io::Result<Vec<u8>> {
    loop {
        // SAFETY: a null buffer of size 0 asks for the size only.
        let want = unsafe { sys::list(c.as_ptr(), std::ptr::null_mut(), 0) };
        if want < 0 {
            let err = io::Error::last_os_error();
            // No xattr support on this filesystem: nothing to remove.
            if crate::io::unsupported(&err) {
                return Ok(Vec::new());
            }
            return Err(err);
        }
        if want == 0 {
            return Ok(Vec::new());
        }
        let mut buf = vec![0u8; want as usize];
        // SAFETY: buf has room for buf.len() bytes.
        let got = unsafe { sys::list(c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if got >= 0 {
            buf.truncate(got as usize);
            return Ok(buf);
        }
        // ERANGE: the list grew in between; ask again.
        if io::Error::last_os_error().raw_os_error() != Some(libc::ERANGE) {
            return Err(io::Error::last_os_error());
        }
    }
}

#[cfg(target_os = "linux")]
mod sys {
    use libc::{c_char, c_int, size_t, ssize_t};
    pub unsafe fn list(path: *const c_char, buf: *mut c_char, size: size_t) -> ssize_t {
        libc::llistxattr(path, buf, size)
    }
    pub unsafe fn remove(path: *const c_char, name: *const c_char) -> c_int {
        libc::lremovexattr(path, name)
    }
}

#[cfg(target_os = "macos")]
mod sys {
    use libc::{c_char, c_int, size_t, ssize_t, XATTR_NOFOLLOW};
    pub unsafe fn list(path: *const c_char, buf: *mut c_char, size: size_t) -> ssize_t {
        libc::listxattr(path, buf, size, XATTR_NOFOLLOW)
    }
    pub unsafe fn remove(path: *const c_char, name: *const c_char) -> c_int {
        libc::removexattr(path, name, XATTR_NOFOLLOW)
    }
}
