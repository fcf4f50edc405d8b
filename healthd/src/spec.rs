//! Validated, ready-to-run description of a check and of the target it probes.
//!
//! [`crate::config::CheckConfig`] is what an operator writes; [`CheckSpec`] is what it becomes
//! after validation (parsed regexes, a built TLS client configuration, DNS names), so a check run
//! never fails on configuration.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};

use crate::target::Hysteresis;

/// Identifies a target inside a [`crate::HealthService`]; chosen by the caller
/// (e.g. "web/10.1.1.1:8080").
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetId(Arc<str>);

impl TargetId {
    pub fn new(s: impl AsRef<str>) -> Self {
        TargetId(Arc::from(s.as_ref()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TargetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for TargetId {
    fn from(s: &str) -> Self {
        TargetId::new(s)
    }
}

impl From<String> for TargetId {
    fn from(s: String) -> Self {
        TargetId(Arc::from(s))
    }
}

/// The real server a check probes. `port` is 0 for checks without a port (icmp, exec, file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub id: TargetId,
    pub addr: IpAddr,
    pub port: u16,
}

impl Target {
    pub fn new(id: impl Into<TargetId>, addr: IpAddr, port: u16) -> Self {
        Target {
            id: id.into(),
            addr,
            port,
        }
    }
}

/// When and how strictly a target is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub interval: Duration,
    pub timeout: Duration,
    pub hysteresis: Hysteresis,
    /// Interval used while the target is in doubt (a rise or fall streak is running).
    pub doubt_interval: Option<Duration>,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(1),
            hysteresis: Hysteresis::new(2, 2),
            doubt_interval: None,
        }
    }
}

/// Socket options common to network checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetOptions {
    /// Probe this address instead of the target's (e.g. a VIP to follow the data path).
    pub connect_ip: Option<IpAddr>,
    /// Probe this port instead of the target's.
    pub connect_port: Option<u16>,
    /// Bind the probe socket to this source address.
    pub source: Option<IpAddr>,
    /// SO_MARK on the probe socket so policy routing can send it along the data path.
    pub mark: Option<u32>,
    /// Close TCP probes with FIN instead of RST. By default a finished probe is reset
    /// (SO_LINGER 0, as HAProxy does for checks) so the load balancer does not accumulate one
    /// TIME_WAIT socket per check (10,000 checks/s would be 600,000 of them).
    pub graceful_close: bool,
}

impl NetOptions {
    /// Where a network check connects for `target`.
    pub fn peer(&self, target: &Target) -> SocketAddr {
        SocketAddr::new(
            self.connect_ip.unwrap_or(target.addr),
            self.connect_port.unwrap_or(target.port),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpProbe {
    /// Bytes written after connecting.
    pub send: Option<Vec<u8>>,
    /// The reply must contain these bytes.
    pub expect: Option<Vec<u8>>,
    /// Most bytes read while waiting for `expect`.
    pub max_reply: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpProbe {
    pub payload: Vec<u8>,
    /// If set, a reply containing these bytes is required; otherwise silence until the timeout
    /// counts as up and only an ICMP port unreachable counts as down.
    pub expect: Option<Vec<u8>>,
}

/// One accepted status code or an inclusive range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusRange {
    pub lo: u16,
    pub hi: u16,
}

impl StatusRange {
    pub fn contains(&self, code: u16) -> bool {
        (self.lo..=self.hi).contains(&code)
    }
}

impl fmt::Display for StatusRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlgorithm {
    Md5,
    Sha256,
}

impl fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DigestAlgorithm::Md5 => "md5",
            DigestAlgorithm::Sha256 => "sha256",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyDigest {
    pub algorithm: DigestAlgorithm,
    /// Lower-case hex.
    pub hex: String,
}

/// TLS settings of an https check, with the client configuration built once.
#[derive(Clone)]
pub struct TlsProbe {
    /// Server name sent in SNI and verified against the certificate; `None` sends no SNI and
    /// requires `verify = false` when the target is an IP address.
    pub server_name: Option<String>,
    pub verify: bool,
    pub client: Arc<rustls::ClientConfig>,
}

impl fmt::Debug for TlsProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsProbe")
            .field("server_name", &self.server_name)
            .field("verify", &self.verify)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct HttpProbe {
    pub method: String,
    pub path: String,
    /// Host header; defaults to the address:port probed.
    pub host: Option<String>,
    pub headers: Vec<(String, String)>,
    pub expect_status: Vec<StatusRange>,
    pub expect_body: Option<String>,
    pub expect_body_regex: Option<regex::bytes::Regex>,
    pub digest: Option<BodyDigest>,
    pub max_header_bytes: usize,
    pub max_body_bytes: usize,
    pub tls: Option<TlsProbe>,
}

impl HttpProbe {
    /// Whether the body has to be read at all.
    pub fn needs_body(&self) -> bool {
        self.expect_body.is_some() || self.expect_body_regex.is_some() || self.digest.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsProbe {
    pub name: Name,
    pub qtype: RecordType,
    pub expect_rcode: ResponseCode,
    /// Some answer record's data, as text (e.g. "192.0.2.1"), must equal this.
    pub expect_answer: Option<String>,
    pub recursion_desired: bool,
    /// Query over TCP from the start instead of UDP with TCP fallback on truncation.
    pub tcp_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcmpProbe {
    pub payload_size: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecProbe {
    pub program: PathBuf,
    pub args: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProbe {
    pub path: PathBuf,
}

/// What a check does.
#[derive(Debug, Clone)]
pub enum Probe {
    Tcp(TcpProbe),
    Udp(UdpProbe),
    /// http and https (the latter has `tls` set).
    Http(Box<HttpProbe>),
    Dns(DnsProbe),
    Icmp(IcmpProbe),
    Exec(ExecProbe),
    File(FileProbe),
}

impl Probe {
    pub fn kind(&self) -> &'static str {
        match self {
            Probe::Tcp(_) => "tcp",
            Probe::Udp(_) => "udp",
            Probe::Http(h) if h.tls.is_some() => "https",
            Probe::Http(_) => "http",
            Probe::Dns(_) => "dns",
            Probe::Icmp(_) => "icmp",
            Probe::Exec(_) => "exec",
            Probe::File(_) => "file",
        }
    }
}

/// A complete, validated check.
#[derive(Debug, Clone)]
pub struct CheckSpec {
    pub probe: Probe,
    pub timing: Timing,
    pub net: NetOptions,
}

impl CheckSpec {
    pub fn new(probe: Probe) -> Self {
        CheckSpec {
            probe,
            timing: Timing::default(),
            net: NetOptions::default(),
        }
    }

    pub fn with_timing(mut self, timing: Timing) -> Self {
        self.timing = timing;
        self
    }

    pub fn with_net(mut self, net: NetOptions) -> Self {
        self.net = net;
        self
    }
}
