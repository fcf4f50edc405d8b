//! The configuration file: TOML with the schema of ARCHITECTURE.md.
//!
//! Reading happens in three steps so that one mistake does not hide the others:
//! 1. the text is parsed into a spanned TOML tree (syntax errors stop here);
//! 2. every section, and every element of `[[vip]]`, `[[service]]`, `[[service.real]]`,
//!    `[[bgp.neighbor]]` and `[[ospf.interface]]`, is deserialized on its own into the
//!    structs of `raw` (unknown keys and type errors of each are collected);
//! 3. `validate` checks what serde cannot (references, duplicates, address families, ranges)
//!    and applies defaults, producing a [`Config`].
//!
//! Every error names `file:line:column` and carries a hint.

mod error;
mod raw;
mod types;
mod validate;
mod values;

use std::ops::Range;
use std::path::Path;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

pub use error::{ConfigError, ConfigErrors, LoadError};
pub use types::*;
pub use values::{
    format_duration, parse_duration, Community, ConfigDuration, LargeCommunity, GRACEFUL_SHUTDOWN,
};

use error::Collector;

/// The default configuration path.
pub const DEFAULT_PATH: &str = "/etc/vgw/vgw.toml";

/// Reads and validates a configuration file.
pub fn load(path: &Path) -> Result<Config, LoadError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        file: file.clone(),
        source,
    })?;
    parse(&text, &file).map_err(LoadError::Invalid)
}

/// Validates configuration text; `file` is used in the messages only.
pub fn parse(text: &str, file: &str) -> Result<Config, ConfigErrors> {
    let mut c = Collector::default();
    let (root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        for e in &syntax {
            c.toml(e, 0..0);
        }
        return Err(c.finish(file, text));
    }
    let doc = split_document(root.into_inner(), &mut c);
    let config = validate::validate(doc, &mut c);
    match config {
        Some(config) if c.is_empty() => Ok(config),
        _ => Err(c.finish(file, text)),
    }
}

/// Sections of the file after step 2, each with the span of its table.
#[derive(Debug, Default)]
pub(crate) struct Document {
    pub node: Option<(raw::RawNode, Range<usize>)>,
    pub api: Option<raw::RawApi>,
    pub bgp: Option<(raw::RawBgp, Range<usize>)>,
    pub neighbors: Vec<(raw::RawNeighbor, Range<usize>)>,
    pub ospf: Option<(raw::RawOspf, Range<usize>)>,
    pub ospf_interfaces: Vec<(raw::RawOspfInterface, Range<usize>)>,
    pub vips: Vec<(raw::RawVip, Range<usize>)>,
    pub services: Vec<ServiceDoc>,
    pub metrics: Option<raw::RawMetrics>,
    pub sync: Option<(raw::RawSync, Range<usize>)>,
    pub log: Option<raw::RawLog>,
    /// `[node]` is present but failed to deserialize (already reported).
    pub node_broken: bool,
    /// A `[[vip]]` entry failed to deserialize: references to VIPs cannot be checked.
    pub vip_broken: bool,
    /// Some part of `[bgp]`/`[ospf]` failed to deserialize.
    pub routing_broken: bool,
}

/// One `[[service]]` after step 2.
#[derive(Debug)]
pub(crate) struct ServiceDoc {
    pub service: raw::RawService,
    pub span: Range<usize>,
    pub check: Option<(raw::RawCheck, Range<usize>)>,
    /// `false` when `check` was present but wrong (already reported).
    pub check_ok: bool,
    pub reals: Vec<(raw::RawReal, Range<usize>)>,
    /// Some `[[service.real]]` failed to deserialize (already reported).
    pub reals_broken: bool,
}

const SECTIONS: &str = "node, api, bgp, ospf, vip, service, sync, metrics, log";

fn split_document(root: DeTable<'_>, c: &mut Collector) -> Document {
    let mut doc = Document::default();
    for (key, value) in root {
        let span = value.span();
        match key.get_ref().as_ref() {
            "node" => {
                doc.node = de(value, c).map(|n| (n, span));
                doc.node_broken = doc.node.is_none();
            }
            "api" => doc.api = de(value, c),
            "metrics" => doc.metrics = de(value, c),
            "sync" => doc.sync = de(value, c).map(|x| (x, span)),
            "log" => doc.log = de(value, c),
            "bgp" => {
                let (rest, neighbors) = take(value, "neighbor", c);
                let Some(rest) = rest else { continue };
                match de(rest, c) {
                    Some(b) => doc.bgp = Some((b, span)),
                    None => doc.routing_broken = true,
                }
                for n in elements(neighbors, "bgp.neighbor", c) {
                    let span = n.span();
                    match de(n, c) {
                        Some(n) => doc.neighbors.push((n, span)),
                        None => doc.routing_broken = true,
                    }
                }
            }
            "ospf" => {
                let (rest, interfaces) = take(value, "interface", c);
                let Some(rest) = rest else { continue };
                match de(rest, c) {
                    Some(o) => doc.ospf = Some((o, span)),
                    None => doc.routing_broken = true,
                }
                for i in elements(interfaces, "ospf.interface", c) {
                    let span = i.span();
                    match de(i, c) {
                        Some(i) => doc.ospf_interfaces.push((i, span)),
                        None => doc.routing_broken = true,
                    }
                }
            }
            "vip" => {
                for v in elements(Some(value), "vip", c) {
                    let span = v.span();
                    match de(v, c) {
                        Some(v) => doc.vips.push((v, span)),
                        None => doc.vip_broken = true,
                    }
                }
            }
            "service" => {
                for s in elements(Some(value), "service", c) {
                    if let Some(s) = split_service(s, c) {
                        doc.services.push(s);
                    }
                }
            }
            other => c.hint(
                key.span(),
                format!("unknown section [{other}]"),
                format!("the sections are {SECTIONS}"),
            ),
        }
    }
    doc
}

fn split_service(value: Spanned<DeValue<'_>>, c: &mut Collector) -> Option<ServiceDoc> {
    let span = value.span();
    let (rest, check) = take(value, "check", c);
    let (rest, reals) = take(rest?, "real", c);
    let service = de(rest?, c)?;
    let check_span = check.as_ref().map(Spanned::span);
    let check_present = check.is_some();
    let check = check.and_then(|v| de(v, c)).zip(check_span);
    let check_ok = !check_present || check.is_some();
    let mut reals_broken = false;
    let mut out = Vec::new();
    for r in elements(reals, "service.real", c) {
        let span = r.span();
        match de(r, c) {
            Some(r) => out.push((r, span)),
            None => reals_broken = true,
        }
    }
    Some(ServiceDoc {
        service,
        span,
        check,
        check_ok,
        reals: out,
        reals_broken,
    })
}

/// Deserializes one value; a failure is recorded and yields `None`.
fn de<T: DeserializeOwned>(value: Spanned<DeValue<'_>>, c: &mut Collector) -> Option<T> {
    let span = value.span();
    match T::deserialize(ValueDeserializer::from(value)) {
        Ok(v) => Some(v),
        Err(e) => {
            c.toml(&e, span);
            None
        }
    }
}

/// Splits `key` off a table value. Returns the rest of the table (or `None`, reported, when
/// the value is not a table) and the value of `key`.
fn take<'i>(
    value: Spanned<DeValue<'i>>,
    key: &str,
    c: &mut Collector,
) -> (Option<Spanned<DeValue<'i>>>, Option<Spanned<DeValue<'i>>>) {
    let span = value.span();
    match value.into_inner() {
        DeValue::Table(table) => {
            let mut rest = DeTable::new();
            let mut found = None;
            for (k, v) in table {
                if k.get_ref().as_ref() == key {
                    found = Some(v);
                } else {
                    rest.insert(k, v);
                }
            }
            (Some(Spanned::new(span, DeValue::Table(rest))), found)
        }
        _ => {
            c.hint(
                span,
                "expected a table",
                "write this as a [section] with keys under it",
            );
            (None, None)
        }
    }
}

/// The elements of an array of tables (`[[name]]`); anything else is reported.
fn elements<'i>(
    value: Option<Spanned<DeValue<'i>>>,
    name: &str,
    c: &mut Collector,
) -> Vec<Spanned<DeValue<'i>>> {
    let Some(value) = value else {
        return Vec::new();
    };
    let span = value.span();
    match value.into_inner() {
        DeValue::Array(items) => items.iter().cloned().collect(),
        _ => {
            c.hint(
                span,
                format!("`{name}` must be a list of tables"),
                format!("write each entry as [[{name}]]"),
            );
            Vec::new()
        }
    }
}
