//! `[service.check]`: the check a service gets by default and the validation of the
//! configured one.

use std::ops::Range;
use std::time::Duration;

use super::super::error::Collector;
use super::super::raw::{self, S};
use super::super::types::*;
use super::{int, opt_int};

pub(super) fn default_check(protocol: Protocol) -> Check {
    let kind = match protocol {
        Protocol::Tcp => CheckKind::Tcp,
        Protocol::Udp => CheckKind::Udp {
            send: None,
            expect: None,
        },
        Protocol::Sctp => CheckKind::Icmp,
    };
    Check {
        kind,
        port: None,
        interval: Duration::from_secs(2),
        timeout: Duration::from_secs(1),
        rise: 2,
        fall: 2,
    }
}

const CHECK_TYPES: &str = "tcp udp http https dns icmp exec file";
const DNS_TYPES: &[&str] = &["A", "AAAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT"];

pub(super) fn check(
    chk: raw::RawCheck,
    span: Range<usize>,
    protocol: Protocol,
    service: &str,
    c: &mut Collector,
) -> Option<Check> {
    let kind_name = chk.kind.get_ref().as_str();
    let proto = match protocol {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    };
    // Which keys each type accepts besides the common ones.
    let allowed: &[&str] = match kind_name {
        "http" | "https" => &["path", "host", "expect_status"],
        "udp" => &["send", "expect"],
        "dns" => &["query", "query_type"],
        "exec" => &["command"],
        "file" => &["path"],
        "tcp" | "icmp" => &[],
        other => {
            c.hint(
                chk.kind.span(),
                format!("unknown check type \"{other}\""),
                format!("use one of: {CHECK_TYPES}"),
            );
            return None;
        }
    };
    let present: [(&str, Option<Range<usize>>); 8] = [
        ("path", chk.path.as_ref().map(S::span)),
        ("host", chk.host.as_ref().map(S::span)),
        ("expect_status", chk.expect_status.as_ref().map(S::span)),
        ("send", chk.send.as_ref().map(S::span)),
        ("expect", chk.expect.as_ref().map(S::span)),
        ("query", chk.query.as_ref().map(S::span)),
        ("query_type", chk.query_type.as_ref().map(S::span)),
        ("command", chk.command.as_ref().map(S::span)),
    ];
    for (key, at) in present {
        if let Some(at) = at {
            if !allowed.contains(&key) {
                c.hint(
                    at,
                    format!("`{key}` does not apply to a {kind_name} check"),
                    "remove it, or change the check type",
                );
            }
        }
    }
    let tcp_only = matches!(kind_name, "tcp" | "http" | "https");
    if (tcp_only && protocol != Protocol::Tcp) || (kind_name == "udp" && protocol != Protocol::Udp)
    {
        let hint = if protocol == Protocol::Udp {
            "use type = \"udp\", \"dns\", \"icmp\" or \"exec\" for a udp service"
        } else {
            "use a check that speaks the service's protocol, or \"icmp\"/\"exec\""
        };
        c.hint(
            chk.kind.span(),
            format!("a {kind_name} check cannot work on {proto} service \"{service}\""),
            hint,
        );
    }
    let kind = match kind_name {
        "tcp" => CheckKind::Tcp,
        "icmp" => CheckKind::Icmp,
        "udp" => CheckKind::Udp {
            send: chk.send.map(S::into_inner),
            expect: chk.expect.map(S::into_inner),
        },
        "http" | "https" => {
            let path = chk.path.map_or_else(|| "/".to_string(), S::into_inner);
            let mut expect_status = Vec::new();
            match &chk.expect_status {
                Some(list) if list.get_ref().is_empty() => c.hint(
                    list.span(),
                    "expect_status is empty",
                    "list the accepted codes, e.g. [200]",
                ),
                Some(list) => {
                    for code in list.get_ref() {
                        if let Some(v) = int::<u16>(code, "HTTP status", 100, 599, c) {
                            expect_status.push(v);
                        }
                    }
                }
                None => expect_status.push(200),
            }
            if !path.starts_with('/') {
                c.hint(
                    span.clone(),
                    format!("check path \"{path}\" does not start with '/'"),
                    "write it like \"/healthz\"",
                );
            }
            let h = HttpCheck {
                path,
                host: chk.host.map(S::into_inner),
                expect_status,
            };
            if kind_name == "http" {
                CheckKind::Http(h)
            } else {
                CheckKind::Https(h)
            }
        }
        "dns" => {
            let query = match chk.query {
                Some(q) => q.into_inner(),
                None => {
                    c.hint(
                        span.clone(),
                        "a dns check needs query",
                        "add query = \"example.org\"",
                    );
                    String::new()
                }
            };
            let query_type = match chk.query_type {
                Some(t) => {
                    let up = t.get_ref().to_ascii_uppercase();
                    if !DNS_TYPES.contains(&up.as_str()) {
                        c.hint(
                            t.span(),
                            format!("unknown DNS query type \"{}\"", t.get_ref()),
                            format!("use one of: {}", DNS_TYPES.join(" ")),
                        );
                    }
                    up
                }
                None => "A".to_string(),
            };
            CheckKind::Dns { query, query_type }
        }
        "exec" => match chk.command {
            Some(cmd) if !cmd.get_ref().is_empty() => CheckKind::Exec {
                command: cmd.into_inner(),
            },
            other => {
                c.hint(
                    other.as_ref().map_or(span.clone(), S::span),
                    "an exec check needs a command",
                    "add command = [\"/usr/local/bin/check\", \"arg\"]",
                );
                return None;
            }
        },
        _ => match chk.path {
            Some(p) => CheckKind::File {
                path: p.into_inner(),
            },
            None => {
                c.hint(
                    span.clone(),
                    "a file check needs path",
                    "add path = \"/run/healthy\"",
                );
                return None;
            }
        },
    };
    let port = chk
        .port
        .as_ref()
        .and_then(|p| int::<u16>(p, "check port", 1, 65535, c));
    let interval = chk
        .interval
        .as_ref()
        .map_or(Duration::from_secs(2), |d| d.get_ref().0);
    let timeout = chk
        .timeout
        .as_ref()
        .map_or(Duration::from_secs(1), |d| d.get_ref().0);
    if interval.is_zero() {
        if let Some(i) = &chk.interval {
            c.hint(
                i.span(),
                "check interval is zero",
                "use a positive interval such as \"2s\"",
            );
        }
    }
    if timeout.is_zero() {
        if let Some(t) = &chk.timeout {
            c.hint(
                t.span(),
                "check timeout is zero",
                "use a positive timeout such as \"1s\"",
            );
        }
    }
    if timeout > interval {
        let at = chk.timeout.as_ref().map_or(span.clone(), S::span);
        c.hint(
            at,
            format!(
                "check timeout ({}) is longer than its interval ({})",
                super::super::format_duration(timeout),
                super::super::format_duration(interval)
            ),
            "make the timeout shorter than the interval",
        );
    }
    let rise = opt_int(&chk.rise, "rise", 1, 100, 2u32, c);
    let fall = opt_int(&chk.fall, "fall", 1, 100, 2u32, c);
    Some(Check {
        kind,
        port,
        interval,
        timeout,
        rise,
        fall,
    })
}
