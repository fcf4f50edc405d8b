//! The `[service.check]` table of vgw.toml, as an operator writes it, and its validation into a
//! [`CheckSpec`].
//!
//! ```toml
//! [service.check]
//! type = "http"            # tcp | udp | http | https | dns | icmp | exec | file
//! path = "/healthz"
//! expect_status = [200, "300-399"]
//! interval = "2s"
//! timeout = "1s"
//! rise = 2
//! fall = 2
//! ```
//!
//! One flat table for every check type keeps the file readable; validation rejects an option
//! that does not apply to the chosen type, naming both, instead of silently ignoring it.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};
use serde::Deserialize;

use crate::duration::HumanDuration;
use crate::spec::{
    BodyDigest, CheckSpec, DigestAlgorithm, DnsProbe, ExecProbe, FileProbe, HttpProbe, IcmpProbe,
    NetOptions, Probe, StatusRange, TcpProbe, Timing, UdpProbe,
};
use crate::target::Hysteresis;

/// Check types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    Tcp,
    Udp,
    Http,
    Https,
    Dns,
    Icmp,
    Exec,
    File,
}

impl CheckKind {
    fn name(self) -> &'static str {
        match self {
            CheckKind::Tcp => "tcp",
            CheckKind::Udp => "udp",
            CheckKind::Http => "http",
            CheckKind::Https => "https",
            CheckKind::Dns => "dns",
            CheckKind::Icmp => "icmp",
            CheckKind::Exec => "exec",
            CheckKind::File => "file",
        }
    }
}

/// An entry of `expect_status`: `200`, `"200"`, `"200-299"` or `"2xx"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum StatusSpec {
    Code(u16),
    Text(String),
}

/// `[service.check]` exactly as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckConfig {
    #[serde(rename = "type")]
    pub kind: Option<CheckKind>,
    pub interval: Option<HumanDuration>,
    pub timeout: Option<HumanDuration>,
    pub rise: Option<u32>,
    pub fall: Option<u32>,
    /// Faster interval while a rise or fall streak is running.
    pub doubt_interval: Option<HumanDuration>,
    pub connect_ip: Option<IpAddr>,
    pub connect_port: Option<u16>,
    pub source_address: Option<IpAddr>,
    /// SO_MARK (fwmark) on probe sockets.
    pub mark: Option<u32>,
    /// Close TCP probes with FIN (default: RST, no TIME_WAIT left on this node).
    pub graceful_close: Option<bool>,

    /// tcp: bytes to send after connecting; udp: the datagram payload.
    pub send: Option<String>,
    /// tcp/udp: the reply must contain this text.
    pub expect: Option<String>,

    /// http/https: request path; file: the file to read.
    pub path: Option<String>,
    pub method: Option<String>,
    pub host: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    pub expect_status: Option<Vec<StatusSpec>>,
    pub expect_body: Option<String>,
    pub expect_body_regex: Option<String>,
    /// "md5:<hex>", "sha256:<hex>", or bare hex (32 digits: md5, 64: sha256).
    pub digest: Option<String>,
    pub max_header_bytes: Option<usize>,
    pub max_body_bytes: Option<usize>,
    /// https: SNI and the name the certificate must carry.
    pub sni: Option<String>,
    pub tls_verify: Option<bool>,
    /// https: PEM file with the CA certificates to trust (default: the system store).
    pub ca_file: Option<PathBuf>,

    /// dns
    pub query_name: Option<String>,
    pub query_type: Option<String>,
    pub expect_rcode: Option<String>,
    pub expect_answer: Option<String>,
    pub recursion_desired: Option<bool>,
    pub dns_tcp: Option<bool>,

    /// icmp: bytes of payload after the echo header.
    pub payload_size: Option<usize>,

    /// exec: program and arguments.
    pub command: Option<Vec<String>>,
}

/// A `[service.check]` that cannot be used, with what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("check: `type` is missing; set one of tcp, udp, http, https, dns, icmp, exec, file")]
    MissingType,
    #[error("check type {kind}: option `{option}` does not apply to this check type")]
    NotApplicable {
        kind: &'static str,
        option: &'static str,
    },
    #[error("check type {kind}: option `{option}` is required")]
    Required {
        kind: &'static str,
        option: &'static str,
    },
    #[error("check: `{option}` = {value}: {problem}")]
    Invalid {
        option: &'static str,
        value: String,
        problem: String,
    },
}

fn invalid(option: &'static str, value: impl ToString, problem: impl ToString) -> ConfigError {
    ConfigError::Invalid {
        option,
        value: value.to_string(),
        problem: problem.to_string(),
    }
}

/// Smallest interval accepted; a faster check is a denial of service on the real server.
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);

impl CheckConfig {
    /// Validate and build the runnable check.
    pub fn validate(&self) -> Result<CheckSpec, ConfigError> {
        let kind = self.kind.ok_or(ConfigError::MissingType)?;
        self.reject_foreign_options(kind)?;
        let timing = self.timing()?;
        let net = NetOptions {
            connect_ip: self.connect_ip,
            connect_port: self.connect_port,
            source: self.source_address,
            mark: self.mark,
            graceful_close: self.graceful_close.unwrap_or(false),
        };
        if let (Some(src), Some(dst)) = (net.source, net.connect_ip) {
            if src.is_ipv4() != dst.is_ipv4() {
                return Err(invalid(
                    "source_address",
                    src,
                    format!("address family differs from connect_ip {dst}"),
                ));
            }
        }
        let probe = match kind {
            CheckKind::Tcp => Probe::Tcp(TcpProbe {
                send: self.send.as_ref().map(|s| s.as_bytes().to_vec()),
                expect: self.expect.as_ref().map(|s| s.as_bytes().to_vec()),
                max_reply: 64 * 1024,
            }),
            CheckKind::Udp => Probe::Udp(UdpProbe {
                payload: self
                    .send
                    .as_ref()
                    .map(|s| s.as_bytes().to_vec())
                    .unwrap_or_default(),
                expect: self.expect.as_ref().map(|s| s.as_bytes().to_vec()),
            }),
            CheckKind::Http | CheckKind::Https => Probe::Http(Box::new(self.http(kind)?)),
            CheckKind::Dns => Probe::Dns(self.dns()?),
            CheckKind::Icmp => Probe::Icmp(IcmpProbe {
                payload_size: match self.payload_size {
                    Some(n) if n > 1400 => {
                        return Err(invalid("payload_size", n, "at most 1400 bytes"))
                    }
                    Some(n) => n,
                    None => 16,
                },
            }),
            CheckKind::Exec => {
                let cmd = self.command.as_ref().ok_or(ConfigError::Required {
                    kind: "exec",
                    option: "command",
                })?;
                let (program, args) = cmd
                    .split_first()
                    .ok_or_else(|| invalid("command", "[]", "needs at least the program path"))?;
                if !program.starts_with('/') {
                    return Err(invalid(
                        "command",
                        program,
                        "the program must be an absolute path",
                    ));
                }
                Probe::Exec(ExecProbe {
                    program: PathBuf::from(program),
                    args: args.to_vec(),
                })
            }
            CheckKind::File => {
                let path = self.path.as_ref().ok_or(ConfigError::Required {
                    kind: "file",
                    option: "path",
                })?;
                Probe::File(FileProbe {
                    path: PathBuf::from(path),
                })
            }
        };
        Ok(CheckSpec { probe, timing, net })
    }

    fn timing(&self) -> Result<Timing, ConfigError> {
        let d = Timing::default();
        let interval = self.interval.map_or(d.interval, |h| h.0);
        let timeout = self.timeout.map_or(d.timeout, |h| h.0);
        if interval < MIN_INTERVAL {
            return Err(invalid(
                "interval",
                format!("{interval:?}"),
                format!("must be at least {MIN_INTERVAL:?}"),
            ));
        }
        if timeout.is_zero() {
            return Err(invalid("timeout", "0", "must be more than zero"));
        }
        let doubt_interval = match self.doubt_interval {
            Some(h) if h.0 < MIN_INTERVAL => {
                return Err(invalid(
                    "doubt_interval",
                    h,
                    format!("must be at least {MIN_INTERVAL:?}"),
                ))
            }
            Some(h) => Some(h.0),
            None => None,
        };
        for (option, v) in [("rise", self.rise), ("fall", self.fall)] {
            if v == Some(0) {
                return Err(invalid(option, 0, "must be at least 1"));
            }
        }
        Ok(Timing {
            interval,
            timeout,
            hysteresis: Hysteresis::new(
                self.rise.unwrap_or(d.hysteresis.rise),
                self.fall.unwrap_or(d.hysteresis.fall),
            ),
            doubt_interval,
        })
    }

    fn http(&self, kind: CheckKind) -> Result<HttpProbe, ConfigError> {
        let path = self.path.clone().unwrap_or_else(|| "/".to_string());
        if !path.starts_with('/') || path.bytes().any(|b| b.is_ascii_whitespace() || b < 0x20) {
            return Err(invalid(
                "path",
                &path,
                "must start with '/' and contain no spaces or control characters",
            ));
        }
        let method = self.method.clone().unwrap_or_else(|| "GET".to_string());
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(invalid(
                "method",
                &method,
                "must be an upper-case token such as GET or HEAD",
            ));
        }
        let mut headers = Vec::new();
        for (name, value) in self.headers.iter().flatten() {
            if name.is_empty() || !name.bytes().all(is_token_byte) {
                return Err(invalid("headers", name, "not a valid header name"));
            }
            if value.bytes().any(|b| b == b'\r' || b == b'\n') {
                return Err(invalid("headers", name, "value contains a line break"));
            }
            headers.push((name.clone(), value.clone()));
        }
        if let Some(host) = &self.host {
            if host
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
            {
                return Err(invalid(
                    "host",
                    host,
                    "contains spaces or control characters",
                ));
            }
        }
        let expect_status = match &self.expect_status {
            None => vec![StatusRange { lo: 200, hi: 299 }],
            Some(list) if list.is_empty() => {
                return Err(invalid("expect_status", "[]", "list at least one status"))
            }
            Some(list) => list.iter().map(parse_status).collect::<Result<_, _>>()?,
        };
        let expect_body_regex = match &self.expect_body_regex {
            Some(r) => Some(
                regex::bytes::RegexBuilder::new(r)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| invalid("expect_body_regex", r, e))?,
            ),
            None => None,
        };
        let digest = self.digest.as_deref().map(parse_digest).transpose()?;
        let tls = if kind == CheckKind::Https {
            Some(
                crate::check::tls::build(
                    self.sni.clone(),
                    self.tls_verify.unwrap_or(true),
                    self.ca_file.as_deref(),
                )
                .map_err(|e| invalid("ca_file/sni", "", e))?,
            )
        } else {
            None
        };
        Ok(HttpProbe {
            method,
            path,
            host: self.host.clone(),
            headers,
            expect_status,
            expect_body: self.expect_body.clone(),
            expect_body_regex,
            digest,
            max_header_bytes: self.max_header_bytes.unwrap_or(16 * 1024),
            max_body_bytes: self.max_body_bytes.unwrap_or(1024 * 1024),
            tls,
        })
    }

    fn dns(&self) -> Result<DnsProbe, ConfigError> {
        let qname = self.query_name.as_ref().ok_or(ConfigError::Required {
            kind: "dns",
            option: "query_name",
        })?;
        let name = Name::from_ascii(qname).map_err(|e| invalid("query_name", qname, e))?;
        let qtype = match &self.query_type {
            Some(t) => RecordType::from_str(&t.to_ascii_uppercase())
                .map_err(|e| invalid("query_type", t, e))?,
            None => RecordType::A,
        };
        let expect_rcode = match &self.expect_rcode {
            Some(r) => parse_rcode(r)?,
            None => ResponseCode::NoError,
        };
        Ok(DnsProbe {
            name,
            qtype,
            expect_rcode,
            expect_answer: self.expect_answer.clone(),
            recursion_desired: self.recursion_desired.unwrap_or(false),
            tcp_only: self.dns_tcp.unwrap_or(false),
        })
    }

    /// Options that belong to other check types are an error, not silently ignored.
    fn reject_foreign_options(&self, kind: CheckKind) -> Result<(), ConfigError> {
        use CheckKind::*;
        let k = kind.name();
        let checks: [(&'static str, bool, &[CheckKind]); 22] = [
            ("send", self.send.is_some(), &[Tcp, Udp]),
            ("expect", self.expect.is_some(), &[Tcp, Udp]),
            ("path", self.path.is_some(), &[Http, Https, File]),
            ("method", self.method.is_some(), &[Http, Https]),
            ("host", self.host.is_some(), &[Http, Https]),
            ("headers", self.headers.is_some(), &[Http, Https]),
            (
                "expect_status",
                self.expect_status.is_some(),
                &[Http, Https],
            ),
            ("expect_body", self.expect_body.is_some(), &[Http, Https]),
            (
                "expect_body_regex",
                self.expect_body_regex.is_some(),
                &[Http, Https],
            ),
            ("digest", self.digest.is_some(), &[Http, Https]),
            (
                "max_header_bytes",
                self.max_header_bytes.is_some(),
                &[Http, Https],
            ),
            (
                "max_body_bytes",
                self.max_body_bytes.is_some(),
                &[Http, Https],
            ),
            ("sni", self.sni.is_some(), &[Https]),
            ("tls_verify", self.tls_verify.is_some(), &[Https]),
            ("ca_file", self.ca_file.is_some(), &[Https]),
            ("query_name", self.query_name.is_some(), &[Dns]),
            ("query_type", self.query_type.is_some(), &[Dns]),
            ("expect_rcode", self.expect_rcode.is_some(), &[Dns]),
            ("expect_answer", self.expect_answer.is_some(), &[Dns]),
            (
                "recursion_desired",
                self.recursion_desired.is_some(),
                &[Dns],
            ),
            ("payload_size", self.payload_size.is_some(), &[Icmp]),
            ("command", self.command.is_some(), &[Exec]),
        ];
        for (option, set, allowed) in checks {
            if set && !allowed.contains(&kind) {
                return Err(ConfigError::NotApplicable { kind: k, option });
            }
        }
        if self.dns_tcp.is_some() && kind != Dns {
            return Err(ConfigError::NotApplicable {
                kind: k,
                option: "dns_tcp",
            });
        }
        let networked = !matches!(kind, Exec | File);
        for (option, set) in [
            ("connect_ip", self.connect_ip.is_some()),
            ("source_address", self.source_address.is_some()),
            ("mark", self.mark.is_some()),
        ] {
            if set && !networked {
                return Err(ConfigError::NotApplicable { kind: k, option });
            }
        }
        if self.graceful_close.is_some() && matches!(kind, Udp | Icmp | Exec | File) {
            return Err(ConfigError::NotApplicable {
                kind: k,
                option: "graceful_close",
            });
        }
        if self.connect_port.is_some() && matches!(kind, Icmp | Exec | File) {
            return Err(ConfigError::NotApplicable {
                kind: k,
                option: "connect_port",
            });
        }
        Ok(())
    }
}

/// RFC 9110 5.6.2: token = 1*tchar.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn parse_status(s: &StatusSpec) -> Result<StatusRange, ConfigError> {
    let in_range = |v: u16, text: &str| {
        if (100..=599).contains(&v) {
            Ok(v)
        } else {
            Err(invalid(
                "expect_status",
                text,
                "status codes are 100 to 599",
            ))
        }
    };
    match s {
        StatusSpec::Code(c) => {
            let c = in_range(*c, &c.to_string())?;
            Ok(StatusRange { lo: c, hi: c })
        }
        StatusSpec::Text(t) => {
            let t = t.trim();
            let bad = || invalid("expect_status", t, "write 200, \"200-299\" or \"2xx\"");
            if let Some(class) = t.strip_suffix("xx").or_else(|| t.strip_suffix("XX")) {
                let d: u16 = class.parse().map_err(|_| bad())?;
                let lo = in_range(d * 100, t)?;
                return Ok(StatusRange { lo, hi: lo + 99 });
            }
            if let Some((a, b)) = t.split_once('-') {
                let lo = in_range(a.trim().parse().map_err(|_| bad())?, t)?;
                let hi = in_range(b.trim().parse().map_err(|_| bad())?, t)?;
                if lo > hi {
                    return Err(invalid("expect_status", t, "range is backwards"));
                }
                return Ok(StatusRange { lo, hi });
            }
            let c = in_range(t.parse().map_err(|_| bad())?, t)?;
            Ok(StatusRange { lo: c, hi: c })
        }
    }
}

fn parse_digest(s: &str) -> Result<BodyDigest, ConfigError> {
    let (algorithm, hex) = match s.split_once(':') {
        Some(("md5", h)) => (DigestAlgorithm::Md5, h),
        Some(("sha256", h)) => (DigestAlgorithm::Sha256, h),
        Some((other, _)) => {
            return Err(invalid(
                "digest",
                s,
                format!("unknown algorithm {other:?}; use md5 or sha256"),
            ))
        }
        None if s.len() == 32 => (DigestAlgorithm::Md5, s),
        None if s.len() == 64 => (DigestAlgorithm::Sha256, s),
        None => {
            return Err(invalid(
                "digest",
                s,
                "write \"md5:<32 hex digits>\" or \"sha256:<64 hex digits>\"",
            ))
        }
    };
    let want = match algorithm {
        DigestAlgorithm::Md5 => 32,
        DigestAlgorithm::Sha256 => 64,
    };
    if hex.len() != want || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid(
            "digest",
            s,
            format!("{algorithm} needs {want} hex digits"),
        ));
    }
    Ok(BodyDigest {
        algorithm,
        hex: hex.to_ascii_lowercase(),
    })
}

fn parse_rcode(s: &str) -> Result<ResponseCode, ConfigError> {
    let code = match s.to_ascii_uppercase().as_str() {
        "NOERROR" => ResponseCode::NoError,
        "FORMERR" => ResponseCode::FormErr,
        "SERVFAIL" => ResponseCode::ServFail,
        "NXDOMAIN" => ResponseCode::NXDomain,
        "NOTIMP" => ResponseCode::NotImp,
        "REFUSED" => ResponseCode::Refused,
        other => match other.parse::<u16>() {
            Ok(n) if n <= 4095 => <ResponseCode as From<u16>>::from(n),
            _ => {
                return Err(invalid(
                    "expect_rcode",
                    s,
                    "use NOERROR, NXDOMAIN, SERVFAIL, REFUSED, FORMERR, NOTIMP or a number",
                ))
            }
        },
    };
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<CheckSpec, String> {
        let cfg: CheckConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        cfg.validate().map_err(|e| e.to_string())
    }

    #[test]
    fn architecture_example() {
        let spec = parse(
            r#"
            type = "http"
            path = "/healthz"
            expect_status = [200]
            interval = "2s"
            timeout = "1s"
            rise = 2
            fall = 2
            "#,
        )
        .expect("valid");
        assert_eq!(spec.timing.interval, Duration::from_secs(2));
        assert_eq!(spec.timing.timeout, Duration::from_secs(1));
        assert_eq!(spec.timing.hysteresis, Hysteresis::new(2, 2));
        match spec.probe {
            Probe::Http(h) => {
                assert_eq!(h.path, "/healthz");
                assert_eq!(h.expect_status, vec![StatusRange { lo: 200, hi: 200 }]);
                assert!(h.tls.is_none());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn status_forms() {
        let spec = parse(
            r#"type = "http"
            expect_status = [204, "300-302", "4xx"]"#,
        )
        .expect("valid");
        let Probe::Http(h) = spec.probe else {
            panic!("not http")
        };
        assert_eq!(
            h.expect_status,
            vec![
                StatusRange { lo: 204, hi: 204 },
                StatusRange { lo: 300, hi: 302 },
                StatusRange { lo: 400, hi: 499 }
            ]
        );
        for bad in [
            r#"["2"]"#,
            r#"["302-300"]"#,
            "[700]",
            r#"["9xx"]"#,
            "[]",
            r#"["a-b"]"#,
        ] {
            let e = parse(&format!("type = \"http\"\nexpect_status = {bad}")).unwrap_err();
            assert!(e.contains("expect_status"), "{bad}: {e}");
        }
    }

    #[test]
    fn digest_forms() {
        let md5 = "d41d8cd98f00b204e9800998ecf8427e";
        assert_eq!(
            parse_digest(md5),
            Ok(BodyDigest {
                algorithm: DigestAlgorithm::Md5,
                hex: md5.to_string()
            })
        );
        assert!(parse_digest(&format!("sha256:{}", "A".repeat(64))).is_ok());
        assert!(parse_digest("sha1:abcd").is_err());
        assert!(parse_digest(&format!("md5:{}", "z".repeat(32))).is_err());
        assert!(parse_digest("abc").is_err());
    }

    #[test]
    fn foreign_options_rejected() {
        let e = parse("type = \"tcp\"\npath = \"/x\"").unwrap_err();
        assert_eq!(
            e,
            "check type tcp: option `path` does not apply to this check type"
        );
        let e = parse("type = \"file\"\npath = \"/x\"\nmark = 3").unwrap_err();
        assert!(e.contains("`mark`"), "{e}");
        let e = parse("type = \"http\"\nsni = \"x\"").unwrap_err();
        assert!(e.contains("`sni`"), "{e}");
    }

    #[test]
    fn unknown_key_and_bad_duration_rejected() {
        let e = parse("type = \"tcp\"\nintervall = \"2s\"").unwrap_err();
        assert!(e.contains("intervall"), "{e}");
        let e = parse("type = \"tcp\"\ninterval = \"2\"").unwrap_err();
        assert!(e.contains("without a unit"), "{e}");
        let e = parse("type = \"tcp\"\ninterval = \"1ms\"").unwrap_err();
        assert!(e.contains("at least"), "{e}");
        let e = parse("type = \"tcp\"\nrise = 0").unwrap_err();
        assert!(e.contains("rise"), "{e}");
        assert_eq!(
            parse("interval = \"2s\"").unwrap_err(),
            ConfigError::MissingType.to_string()
        );
    }

    #[test]
    fn common_options() {
        let spec = parse(
            r#"type = "tcp"
            connect_ip = "192.0.2.10"
            connect_port = 81
            source_address = "10.0.0.1"
            mark = 7
            doubt_interval = "500ms"
            send = "PING\r\n"
            expect = "PONG""#,
        )
        .expect("valid");
        assert_eq!(spec.net.mark, Some(7));
        assert_eq!(spec.timing.doubt_interval, Some(Duration::from_millis(500)));
        let t = crate::spec::Target::new("t", "10.1.1.1".parse().expect("ip"), 80);
        assert_eq!(spec.net.peer(&t), "192.0.2.10:81".parse().expect("sa"));
        let e = parse("type = \"tcp\"\nconnect_ip = \"::1\"\nsource_address = \"10.0.0.1\"")
            .unwrap_err();
        assert!(e.contains("family"), "{e}");
    }

    #[test]
    fn dns_exec_file_icmp() {
        let spec = parse(
            r#"type = "dns"
            query_name = "example.test."
            query_type = "aaaa"
            expect_rcode = "NXDOMAIN""#,
        )
        .expect("valid");
        let Probe::Dns(d) = spec.probe else {
            panic!("not dns")
        };
        assert_eq!(d.qtype, RecordType::AAAA);
        assert_eq!(d.expect_rcode, ResponseCode::NXDomain);
        assert!(parse("type = \"dns\"").unwrap_err().contains("query_name"));
        assert!(parse("type = \"dns\"\nquery_name = \"a\"\nexpect_rcode = \"BOGUS\"").is_err());
        assert!(parse("type = \"exec\"\ncommand = [\"check.sh\"]")
            .unwrap_err()
            .contains("absolute"));
        assert!(parse("type = \"exec\"\ncommand = []").is_err());
        assert!(parse("type = \"exec\"\ncommand = [\"/bin/true\", \"-x\"]").is_ok());
        assert!(parse("type = \"file\"").unwrap_err().contains("path"));
        assert!(parse("type = \"icmp\"\npayload_size = 9000").is_err());
        assert!(parse("type = \"icmp\"\nconnect_port = 1").is_err());
    }

    #[test]
    fn http_request_fields_validated() {
        assert!(parse("type = \"http\"\npath = \"healthz\"").is_err());
        assert!(parse("type = \"http\"\npath = \"/a b\"").is_err());
        assert!(parse("type = \"http\"\nmethod = \"get\"").is_err());
        assert!(parse("type = \"http\"\nheaders = { \"X-A\" = \"1\\r\\nInjected: 1\" }").is_err());
        assert!(parse("type = \"http\"\nheaders = { \"Bad Name\" = \"1\" }").is_err());
        assert!(parse("type = \"http\"\nexpect_body_regex = \"(\"").is_err());
        assert!(parse("type = \"https\"\ntls_verify = false").is_ok());
    }
}
