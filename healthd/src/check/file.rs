//! file check: the operator's manual switch. The file's trimmed contents decide:
//!
//! | contents | result |
//! |---|---|
//! | `up` | up |
//! | `down` (or `drain`) | down |
//! | a number `N` (0..=65535) | up with weight `N` |
//! | missing file | down ("file missing") |
//! | anything else | down, naming the contents |
//!
//! At most 4 KiB are read; a larger file is an error.

use std::io::ErrorKind;
use std::path::Path;

use tokio::io::AsyncReadExt;

use super::Ctx;
use crate::outcome::{snippet, IoFailure, Outcome, Reason};
use crate::spec::FileProbe;

const MAX_FILE: usize = 4096;
/// Largest weight accepted (IPVS weights are i32 in the kernel; real configs stay far below).
pub const MAX_WEIGHT: u32 = 65_535;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileFailure {
    #[error("{path} says down")]
    SaysDown { path: String },
    #[error("{path} is missing")]
    Missing { path: String },
    #[error("cannot read {path}: {error}")]
    Read { path: String, error: IoFailure },
    #[error("{path} is larger than {limit} bytes")]
    TooLarge { path: String, limit: usize },
    #[error("{path} holds {contents:?}; write \"up\", \"down\" or a weight 0..={max}")]
    Unrecognised {
        path: String,
        contents: String,
        max: u32,
    },
}

/// Interpret file contents. Pure.
pub fn interpret(path: &Path, contents: &[u8]) -> Result<Outcome, FileFailure> {
    let p = || path.display().to_string();
    let text = contents.trim_ascii();
    if text.eq_ignore_ascii_case(b"up") {
        return Ok(Outcome::up());
    }
    if text.eq_ignore_ascii_case(b"down") || text.eq_ignore_ascii_case(b"drain") {
        return Err(FileFailure::SaysDown { path: p() });
    }
    let unrecognised = || FileFailure::Unrecognised {
        path: p(),
        contents: snippet(text, 40),
        max: MAX_WEIGHT,
    };
    if text.is_empty() || text.len() > 5 || !text.iter().all(u8::is_ascii_digit) {
        return Err(unrecognised());
    }
    let n = text
        .iter()
        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    if n > MAX_WEIGHT {
        return Err(unrecognised());
    }
    Ok(Outcome::Up { weight: Some(n) })
}

pub async fn check(probe: &FileProbe, ctx: &Ctx<'_>) -> Result<Outcome, Reason> {
    let path = probe.path.display().to_string();
    let read = async {
        let file = tokio::fs::File::open(&probe.path).await?;
        let mut buf = Vec::new();
        file.take(MAX_FILE as u64 + 1).read_to_end(&mut buf).await?;
        Ok::<_, std::io::Error>(buf)
    };
    let buf = match ctx.within("reading the file", read).await? {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(FileFailure::Missing { path }.into())
        }
        Err(e) => {
            return Err(FileFailure::Read {
                path,
                error: IoFailure::from(e),
            }
            .into())
        }
    };
    if buf.len() > MAX_FILE {
        return Err(FileFailure::TooLarge {
            path,
            limit: MAX_FILE,
        }
        .into());
    }
    interpret(&probe.path, &buf).map_err(Reason::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i(s: &str) -> Result<Outcome, FileFailure> {
        interpret(Path::new("/run/x"), s.as_bytes())
    }

    #[test]
    fn contents() {
        assert_eq!(i("up\n"), Ok(Outcome::up()));
        assert_eq!(i(" UP "), Ok(Outcome::up()));
        assert!(matches!(i("down"), Err(FileFailure::SaysDown { .. })));
        assert!(matches!(i("drain\n"), Err(FileFailure::SaysDown { .. })));
        assert_eq!(i("50\n"), Ok(Outcome::Up { weight: Some(50) }));
        assert_eq!(i("0"), Ok(Outcome::Up { weight: Some(0) }));
        for bad in ["", "-1", "65536", "up down", "1e3", "\u{0}"] {
            assert!(
                matches!(i(bad), Err(FileFailure::Unrecognised { .. })),
                "{bad:?}"
            );
        }
    }
}
