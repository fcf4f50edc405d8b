//! Sans-IO parsing of HTTP/1.1 responses (RFC 9112): the status line and header section, and
//! the chunked transfer coding. Input is untrusted; every limit is explicit and every error
//! names the offending bytes.

use crate::outcome::snippet;

/// Why a response head was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    #[error("response header section exceeds {limit} bytes")]
    TooLarge { limit: usize },
    #[error("malformed status line {line:?}")]
    StatusLine { line: String },
    #[error("unsupported HTTP version {version:?}")]
    Version { version: String },
    #[error("malformed status code {code:?}")]
    StatusCode { code: String },
    #[error("malformed header line {line:?}")]
    HeaderLine { line: String },
    #[error("conflicting or malformed Content-Length {value:?}")]
    ContentLength { value: String },
}

/// Parsed status line and header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// Minor version: HTTP/1.0 or HTTP/1.1.
    pub minor_version: u8,
    pub status: u16,
    pub reason: String,
    /// Field names lower-cased; values with surrounding whitespace removed.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl ResponseHead {
    pub fn header<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }
}

/// How the body of a response is delimited (RFC 9112 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

/// Find the end of the header section: the index just past the empty line.
/// RFC 9112 2.2: "a recipient MAY recognize a single LF as a line terminator and ignore any
/// preceding CR."
fn head_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(off) = buf.get(i..)?.iter().position(|&b| b == b'\n') {
        let lf = i + off;
        match buf.get(lf + 1) {
            Some(b'\n') => return Some(lf + 2),
            Some(b'\r') if buf.get(lf + 2) == Some(&b'\n') => return Some(lf + 3),
            _ => i = lf + 1,
        }
    }
    None
}

fn lines(head: &[u8]) -> impl Iterator<Item = &[u8]> {
    head.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

/// Parse a response head from the start of `buf`.
///
/// Returns `Ok(None)` while the head is incomplete (read more), `Ok(Some((head, len)))` with the
/// number of bytes the head used, or an error. More than `max` bytes without the end of the
/// head is an error.
pub fn parse_head(buf: &[u8], max: usize) -> Result<Option<(ResponseHead, usize)>, HeadError> {
    let Some(end) = head_end(buf) else {
        // Reject garbage as soon as it shows instead of waiting for a head that never ends:
        // a first line that is complete but not a status line, or bytes that cannot begin one.
        let prefix = buf.get(..buf.len().min(5)).unwrap_or_default();
        if !b"HTTP/".starts_with(prefix) {
            return Err(HeadError::StatusLine {
                line: snippet(buf, 80),
            });
        }
        if let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            let line = buf.get(..nl).unwrap_or_default();
            parse_status_line(line.strip_suffix(b"\r").unwrap_or(line))?;
        }
        if buf.len() >= max {
            return Err(HeadError::TooLarge { limit: max });
        }
        return Ok(None);
    };
    if end > max {
        return Err(HeadError::TooLarge { limit: max });
    }
    let head = buf.get(..end).unwrap_or_default();
    let mut it = lines(head);
    let status_line = it.next().unwrap_or_default();
    let (minor_version, status, reason) = parse_status_line(status_line)?;
    let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
    for line in it {
        if line.is_empty() {
            break;
        }
        // RFC 9112 5.2: "A user agent that receives an obs-fold in a response message ... MUST
        // replace each received obs-fold with one or more SP octets prior to interpreting the
        // field value."
        if matches!(line.first(), Some(b' ' | b'\t')) {
            let Some((_, value)) = headers.last_mut() else {
                return Err(HeadError::HeaderLine {
                    line: snippet(line, 80),
                });
            };
            value.push(b' ');
            value.extend_from_slice(trim_ows(line));
            continue;
        }
        headers.push(parse_field_line(line)?);
    }
    Ok(Some((
        ResponseHead {
            minor_version,
            status,
            reason,
            headers,
        },
        end,
    )))
}

/// RFC 9112 4: status-line = HTTP-version SP status-code SP [ reason-phrase ]
/// RFC 9112 2.3: HTTP-version = HTTP-name "/" DIGIT "." DIGIT
fn parse_status_line(line: &[u8]) -> Result<(u8, u16, String), HeadError> {
    let bad = || HeadError::StatusLine {
        line: snippet(line, 80),
    };
    let mut parts = line.splitn(3, |&b| b == b' ');
    let version = parts.next().ok_or_else(bad)?;
    let code = parts.next().ok_or_else(bad)?;
    let reason = parts.next().unwrap_or_default();
    let minor = match version {
        b"HTTP/1.1" => 1,
        b"HTTP/1.0" => 0,
        v if v.starts_with(b"HTTP/") => {
            return Err(HeadError::Version {
                version: snippet(v, 16),
            })
        }
        _ => return Err(bad()),
    };
    // RFC 9110 15: "The status code of a response is a three-digit integer code".
    if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
        return Err(HeadError::StatusCode {
            code: snippet(code, 16),
        });
    }
    let status = code
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    if !(100..=599).contains(&status) {
        return Err(HeadError::StatusCode {
            code: snippet(code, 16),
        });
    }
    // RFC 9112 4: reason-phrase = 1*( HTAB / SP / VCHAR / obs-text )
    if reason
        .iter()
        .any(|&b| b != b'\t' && (b < 0x20 || b == 0x7f))
    {
        return Err(bad());
    }
    Ok((minor, status, String::from_utf8_lossy(reason).into_owned()))
}

/// RFC 9112 5: field-line = field-name ":" OWS field-value OWS
/// RFC 9112 5.1: "No whitespace is allowed between the field name and colon."
fn parse_field_line(line: &[u8]) -> Result<(String, Vec<u8>), HeadError> {
    let bad = || HeadError::HeaderLine {
        line: snippet(line, 80),
    };
    let colon = line.iter().position(|&b| b == b':').ok_or_else(bad)?;
    let name = line.get(..colon).ok_or_else(bad)?;
    let value = line.get(colon + 1..).ok_or_else(bad)?;
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(bad());
    }
    // RFC 9110 5.5: field values never contain NUL, CR or LF.
    if value.iter().any(|&b| b == 0 || b == b'\r') {
        return Err(bad());
    }
    Ok((
        String::from_utf8_lossy(name).to_ascii_lowercase(),
        trim_ows(value).to_vec(),
    ))
}

fn trim_ows(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |e| e + 1);
    v.get(start..end).unwrap_or_default()
}

/// RFC 9110 5.6.2: tchar.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 9112 6.3: how the message body length is determined.
pub fn body_framing(head: &ResponseHead, request_was_head: bool) -> Result<BodyFraming, HeadError> {
    // 6.3 (1): responses to HEAD and 1xx, 204, 304 responses end after the header section.
    if request_was_head || head.status < 200 || head.status == 204 || head.status == 304 {
        return Ok(BodyFraming::None);
    }
    // 6.3 (4): Transfer-Encoding with chunked as the final coding: chunked. Any other
    // Transfer-Encoding in a response: read until the connection closes.
    let mut te = head.header("transfer-encoding").peekable();
    if te.peek().is_some() {
        let last = te
            .flat_map(|v| v.split(|&b| b == b','))
            .map(trim_ows)
            .filter(|c| !c.is_empty())
            .last()
            .unwrap_or_default();
        return Ok(if last.eq_ignore_ascii_case(b"chunked") {
            BodyFraming::Chunked
        } else {
            BodyFraming::UntilClose
        });
    }
    // 6.3 (5): several differing or an invalid Content-Length: unrecoverable error.
    let mut length: Option<u64> = None;
    for v in head.header("content-length") {
        for part in v.split(|&b| b == b',') {
            let part = trim_ows(part);
            let bad = || HeadError::ContentLength {
                value: snippet(v, 40),
            };
            if part.is_empty() || part.len() > 18 || !part.iter().all(u8::is_ascii_digit) {
                return Err(bad());
            }
            let n = part
                .iter()
                .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
            match length {
                Some(prev) if prev != n => return Err(bad()),
                _ => length = Some(n),
            }
        }
    }
    Ok(match length {
        Some(n) => BodyFraming::Length(n),
        // 6.3 (8): otherwise the body ends when the server closes the connection.
        None => BodyFraming::UntilClose,
    })
}

/// Why a chunked body was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("malformed chunk size line {line:?}")]
    SizeLine { line: String },
    #[error("chunk size line longer than {limit} bytes")]
    SizeLineTooLong { limit: usize },
    #[error("chunk data not followed by CRLF (got {got:?})")]
    MissingCrlf { got: String },
    #[error("body exceeds {limit} bytes")]
    TooLarge { limit: usize },
    #[error("trailer section exceeds {limit} bytes")]
    TrailerTooLarge { limit: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    Size,
    Data(u64),
    DataEnd,
    Trailer,
    Done,
}

/// Incremental decoder of the chunked coding (RFC 9112 7.1):
///
/// ```text
/// chunked-body = *chunk last-chunk trailer-section CRLF
/// chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
/// last-chunk   = 1*("0") [ chunk-ext ] CRLF
/// ```
///
/// Feed raw bytes with [`ChunkedDecoder::feed`]; it consumes what it can and leaves a partial
/// line for the next call.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: ChunkState,
    max_body: usize,
    trailer_bytes: usize,
}

/// Longest chunk-size line accepted (size plus extensions).
pub const MAX_SIZE_LINE: usize = 1024;
/// Most trailer bytes accepted.
pub const MAX_TRAILER: usize = 8 * 1024;

impl ChunkedDecoder {
    pub fn new(max_body: usize) -> Self {
        ChunkedDecoder {
            state: ChunkState::Size,
            max_body,
            trailer_bytes: 0,
        }
    }

    pub fn is_done(&self) -> bool {
        self.state == ChunkState::Done
    }

    /// Decode from `input`, appending body bytes to `body`. Returns how many input bytes were
    /// consumed; the caller keeps the rest and calls again with more appended.
    pub fn feed(&mut self, input: &[u8], body: &mut Vec<u8>) -> Result<usize, ChunkError> {
        let mut pos = 0;
        loop {
            let rest = input.get(pos..).unwrap_or_default();
            match self.state {
                ChunkState::Done => return Ok(pos),
                ChunkState::Size => {
                    let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                        if rest.len() > MAX_SIZE_LINE {
                            return Err(ChunkError::SizeLineTooLong {
                                limit: MAX_SIZE_LINE,
                            });
                        }
                        return Ok(pos);
                    };
                    if nl > MAX_SIZE_LINE {
                        return Err(ChunkError::SizeLineTooLong {
                            limit: MAX_SIZE_LINE,
                        });
                    }
                    let line = rest.get(..nl).unwrap_or_default();
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    let size = parse_chunk_size(line)?;
                    pos += nl + 1;
                    self.state = if size == 0 {
                        ChunkState::Trailer
                    } else {
                        if body.len() as u64 + size > self.max_body as u64 {
                            return Err(ChunkError::TooLarge {
                                limit: self.max_body,
                            });
                        }
                        ChunkState::Data(size)
                    };
                }
                ChunkState::Data(left) => {
                    if rest.is_empty() {
                        return Ok(pos);
                    }
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(rest.len());
                    body.extend_from_slice(rest.get(..take).unwrap_or_default());
                    pos += take;
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data(left)
                    };
                }
                ChunkState::DataEnd => {
                    if rest.starts_with(b"\r\n") {
                        pos += 2;
                    } else if rest.starts_with(b"\n") {
                        pos += 1;
                    } else if rest.is_empty() || rest == b"\r" {
                        return Ok(pos);
                    } else {
                        return Err(ChunkError::MissingCrlf {
                            got: snippet(rest, 8),
                        });
                    }
                    self.state = ChunkState::Size;
                }
                ChunkState::Trailer => {
                    let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                        if self.trailer_bytes + rest.len() > MAX_TRAILER {
                            return Err(ChunkError::TrailerTooLarge { limit: MAX_TRAILER });
                        }
                        return Ok(pos);
                    };
                    self.trailer_bytes += nl + 1;
                    if self.trailer_bytes > MAX_TRAILER {
                        return Err(ChunkError::TrailerTooLarge { limit: MAX_TRAILER });
                    }
                    let line = rest.get(..nl).unwrap_or_default();
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    pos += nl + 1;
                    // Trailer fields are ignored; the empty line ends the body.
                    if line.is_empty() {
                        self.state = ChunkState::Done;
                    }
                }
            }
        }
    }
}

/// chunk-size = 1*HEXDIG, optionally followed by BWS ";" chunk-ext.
fn parse_chunk_size(line: &[u8]) -> Result<u64, ChunkError> {
    let bad = || ChunkError::SizeLine {
        line: snippet(line, 40),
    };
    let digits_end = line
        .iter()
        .position(|b| !b.is_ascii_hexdigit())
        .unwrap_or(line.len());
    let digits = line.get(..digits_end).unwrap_or_default();
    let ext = line.get(digits_end..).unwrap_or_default();
    if digits.is_empty() || digits.len() > 15 {
        return Err(bad());
    }
    let ext = trim_ows(ext);
    if !ext.is_empty() && ext.first() != Some(&b';') {
        return Err(bad());
    }
    let mut n: u64 = 0;
    for &d in digits {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return Err(bad()),
        };
        n = n * 16 + u64::from(v);
    }
    Ok(n)
}

#[cfg(test)]
mod tests;
