//! AS_PATH and AS4_PATH (RFC 4271 4.3 and 5.1.2, RFC 6793).

use bytes::{Buf, BufMut, BytesMut};
use serde::{Deserialize, Serialize};

use crate::packet::open::AS_TRANS;

pub const AS_SET: u8 = 1;
pub const AS_SEQUENCE: u8 = 2;
pub const AS_CONFED_SEQUENCE: u8 = 3;
pub const AS_CONFED_SET: u8 = 4;

/// One path segment:
///
/// ```text
/// +------------------------------+
/// | path segment type (1 octet)  |
/// +------------------------------+
/// | path segment length (1 octet)|  number of ASes, not octets
/// +------------------------------+
/// | path segment value           |  2 or 4 octets per AS
/// +------------------------------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Segment {
    #[serde(rename = "type")]
    pub kind: u8,
    pub asns: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AsPath {
    pub segments: Vec<Segment>,
}

impl AsPath {
    /// A path of one AS_SEQUENCE (empty for an empty list).
    pub fn sequence(asns: Vec<u32>) -> Self {
        if asns.is_empty() {
            return AsPath::default();
        }
        AsPath {
            segments: vec![Segment {
                kind: AS_SEQUENCE,
                asns,
            }],
        }
    }

    /// RFC 4271 9.1.2.2 (a): an AS_SET counts as 1, confederation segments count 0.
    pub fn path_len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s.kind {
                AS_SEQUENCE => s.asns.len(),
                AS_SET => 1,
                _ => 0,
            })
            .sum()
    }

    /// The leftmost AS, the neighbor that sent the route.
    pub fn first_as(&self) -> Option<u32> {
        let s = self.segments.first()?;
        if s.kind == AS_SEQUENCE {
            s.asns.first().copied()
        } else {
            None
        }
    }

    pub fn has_confed(&self) -> bool {
        self.segments
            .iter()
            .any(|s| s.kind == AS_CONFED_SEQUENCE || s.kind == AS_CONFED_SET)
    }

    pub fn has_4_octet_asn(&self) -> bool {
        self.segments
            .iter()
            .flat_map(|s| &s.asns)
            .any(|&a| a > u32::from(u16::MAX))
    }

    /// Decodes a path with `as_len` (2 or 4) octets per AS. The error is the reason a reader
    /// would give for calling the attribute malformed.
    pub fn decode(mut value: &[u8], as_len: usize) -> Result<Self, String> {
        let mut segments = Vec::new();
        while !value.is_empty() {
            let (Ok(kind), Ok(count)) = (value.try_get_u8(), value.try_get_u8()) else {
                return Err("segment header is truncated".into());
            };
            // RFC 7606 7.2: "An AS_PATH is considered malformed if an unrecognized segment type
            // is encountered or if it contains a malformed segment. A segment is considered
            // malformed if ... the path segment length field is zero ... or it overruns".
            if !(AS_SET..=AS_CONFED_SET).contains(&kind) {
                return Err(format!("unknown segment type {kind}"));
            }
            if count == 0 {
                return Err("segment of length zero".into());
            }
            let n = usize::from(count) * as_len;
            if value.len() < n {
                return Err(format!(
                    "segment of {count} ASes needs {n} octets, {} remain",
                    value.len()
                ));
            }
            let asns = (0..count)
                .map(|_| {
                    if as_len == 2 {
                        u32::from(value.get_u16())
                    } else {
                        value.get_u32()
                    }
                })
                .collect();
            segments.push(Segment { kind, asns });
        }
        Ok(AsPath { segments })
    }

    /// Encodes with 4-octet ASes, or 2-octet ones with AS_TRANS in place of any AS that does not
    /// fit (RFC 6793 4.2.2). Segments longer than 255 ASes are split.
    pub fn encode(&self, buf: &mut BytesMut, four_octet: bool) {
        for seg in &self.segments {
            for chunk in seg.asns.chunks(255) {
                buf.put_u8(seg.kind);
                buf.put_u8(chunk.len() as u8);
                for &asn in chunk {
                    if four_octet {
                        buf.put_u32(asn);
                    } else {
                        buf.put_u16(u16::try_from(asn).unwrap_or(AS_TRANS));
                    }
                }
            }
        }
    }

    /// RFC 6793 4.2.3: reconstructs the path from an AS_PATH of a 2-octet speaker and the
    /// AS4_PATH. "If the number of AS numbers in the AS_PATH attribute is less than the number
    /// of AS numbers in the AS4_PATH attribute, then the AS4_PATH attribute SHALL be ignored, and
    /// the AS_PATH attribute SHALL be taken as the AS path information. ... Otherwise ... the
    /// leading AS numbers in the AS_PATH attribute ... prepended to the AS4_PATH".
    pub fn merge_as4(&self, as4: &AsPath) -> AsPath {
        let n = self.path_len();
        let m = as4.path_len();
        if n < m {
            return self.clone();
        }
        let mut keep = n - m;
        let mut segments = Vec::new();
        for seg in &self.segments {
            if keep == 0 {
                break;
            }
            match seg.kind {
                AS_SEQUENCE => {
                    let take = keep.min(seg.asns.len());
                    segments.push(Segment {
                        kind: AS_SEQUENCE,
                        asns: seg.asns[..take].to_vec(),
                    });
                    keep -= take;
                }
                AS_SET => {
                    segments.push(seg.clone());
                    keep -= 1;
                }
                _ => segments.push(seg.clone()),
            }
        }
        segments.extend(as4.segments.iter().cloned());
        AsPath { segments }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_octet_encoding_uses_as_trans() {
        let p = AsPath::sequence(vec![4_200_000_000, 65000]);
        let mut b = BytesMut::new();
        p.encode(&mut b, false);
        assert_eq!(&b[..], &[2, 2, 0x5b, 0xa0, 0xfd, 0xe8]);
        let back = AsPath::decode(&b, 2).unwrap();
        assert_eq!(back, AsPath::sequence(vec![23456, 65000]));
        let as4 = AsPath::sequence(vec![4_200_000_000, 65000]);
        assert_eq!(back.merge_as4(&as4), p);
    }

    #[test]
    fn merge_keeps_leading_two_octet_asns() {
        let as_path = AsPath::sequence(vec![65001, 23456, 65000]);
        let as4 = AsPath::sequence(vec![4_200_000_000, 65000]);
        assert_eq!(
            as_path.merge_as4(&as4).segments,
            vec![
                Segment {
                    kind: AS_SEQUENCE,
                    asns: vec![65001]
                },
                Segment {
                    kind: AS_SEQUENCE,
                    asns: vec![4_200_000_000, 65000]
                }
            ]
        );
        // A longer AS4_PATH is ignored.
        let short = AsPath::sequence(vec![23456]);
        assert_eq!(short.merge_as4(&as4), short);
    }

    #[test]
    fn malformed_segments() {
        assert!(AsPath::decode(&[2, 0], 4).is_err());
        assert!(AsPath::decode(&[7, 1, 0, 0, 0, 1], 4).is_err());
        assert!(AsPath::decode(&[2, 2, 0, 0, 0, 1], 4).is_err());
        assert!(AsPath::decode(&[2], 4).is_err());
    }
}
