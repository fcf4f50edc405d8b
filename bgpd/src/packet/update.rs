//! UPDATE (RFC 4271 4.3), End-of-RIB (RFC 4724 2) and the UPDATE error handling of RFC 7606.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use bytes::{Buf, BufMut, BytesMut};
use serde::{Deserialize, Serialize};

use super::attr::{
    self, AsPath, Attr, AttrValue, Community, LargeCommunity, MpNextHop, MpReach, MpUnreach,
    Verdict, FLAG_EXTENDED_LENGTH,
};
use super::error::{update_sub, AttrIssue, DecodeError, Handling};
use super::prefix::{Family, Prefix, AFI_IPV4};
use super::DecodeContext;

/// ```text
/// +-----------------------------------------------------+
/// |   Withdrawn Routes Length (2 octets)                |
/// +-----------------------------------------------------+
/// |   Withdrawn Routes (variable)                       |
/// +-----------------------------------------------------+
/// |   Total Path Attribute Length (2 octets)            |
/// +-----------------------------------------------------+
/// |   Path Attributes (variable)                        |
/// +-----------------------------------------------------+
/// |   Network Layer Reachability Information (variable) |
/// +-----------------------------------------------------+
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub withdrawn: Vec<Prefix>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attrs: Vec<Attr>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nlri: Vec<Prefix>,
    /// Attribute errors survived per RFC 7606 (not part of the wire format).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<AttrIssue>,
}

/// One route as this UPDATE leaves it: reachable with attributes, or gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteChange<'a> {
    Reach(Prefix),
    Unreach(Prefix),
    /// Carried in a family the decoder does not interpret.
    Ignored(Family, &'a MpReach),
}

impl Update {
    /// RFC 4724 2: "An UPDATE message with no reachable Network Layer Reachability Information
    /// (NLRI) and empty withdrawn NLRI is specified as the End-of-RIB marker ... For the IPv4
    /// unicast address family, the End-of-RIB marker is an UPDATE message with the minimum
    /// length. For any other address family, it is an UPDATE message that contains only the
    /// MP_UNREACH_NLRI attribute with no withdrawn routes for that <AFI, SAFI>."
    pub fn end_of_rib(family: Family) -> Self {
        if family == Family::IPV4_UNICAST {
            return Update::default();
        }
        Update {
            attrs: vec![Attr::new(AttrValue::MpUnreach(MpUnreach::Unicast {
                family,
                withdrawn: Vec::new(),
            }))],
            ..Update::default()
        }
    }

    pub fn is_end_of_rib(&self) -> Option<Family> {
        if !self.withdrawn.is_empty() || !self.nlri.is_empty() {
            return None;
        }
        match self.attrs.as_slice() {
            [] => Some(Family::IPV4_UNICAST),
            [Attr {
                value: AttrValue::MpUnreach(MpUnreach::Unicast { family, withdrawn }),
                ..
            }] if withdrawn.is_empty() => Some(*family),
            [Attr {
                value: AttrValue::MpUnreach(MpUnreach::Other { family, rest }),
                ..
            }] if rest.is_empty() => Some(*family),
            _ => None,
        }
    }

    /// RFC 7606 2: "treat-as-withdraw" applies to this UPDATE.
    pub fn treat_as_withdraw(&self) -> bool {
        self.issues
            .iter()
            .any(|i| i.handling == Handling::TreatAsWithdraw)
    }

    pub fn attr(&self, type_code: u8) -> Option<&AttrValue> {
        self.attrs
            .iter()
            .map(|a| &a.value)
            .find(|v| v.type_code() == type_code)
    }

    pub fn origin(&self) -> Option<u8> {
        match self.attr(attr::ORIGIN)? {
            AttrValue::Origin(o) => Some(*o),
            _ => None,
        }
    }

    /// The AS path, rebuilt from AS_PATH and AS4_PATH when the peer is a 2-octet speaker.
    pub fn as_path(&self) -> Option<AsPath> {
        let AttrValue::AsPath(p) = self.attr(attr::AS_PATH)? else {
            return None;
        };
        match self.attr(attr::AS4_PATH) {
            Some(AttrValue::As4Path(p4)) => Some(p.merge_as4(p4)),
            _ => Some(p.clone()),
        }
    }

    pub fn next_hop(&self) -> Option<Ipv4Addr> {
        match self.attr(attr::NEXT_HOP)? {
            AttrValue::NextHop(a) => Some(*a),
            _ => None,
        }
    }

    pub fn med(&self) -> Option<u32> {
        match self.attr(attr::MULTI_EXIT_DISC)? {
            AttrValue::MultiExitDisc(m) => Some(*m),
            _ => None,
        }
    }

    pub fn local_pref(&self) -> Option<u32> {
        match self.attr(attr::LOCAL_PREF)? {
            AttrValue::LocalPref(m) => Some(*m),
            _ => None,
        }
    }

    pub fn communities(&self) -> &[Community] {
        match self.attr(attr::COMMUNITIES) {
            Some(AttrValue::Communities(c)) => c,
            _ => &[],
        }
    }

    pub fn large_communities(&self) -> &[LargeCommunity] {
        match self.attr(attr::LARGE_COMMUNITY) {
            Some(AttrValue::LargeCommunities(c)) => c,
            _ => &[],
        }
    }

    pub fn mp_reach(&self) -> Option<&MpReach> {
        match self.attr(attr::MP_REACH_NLRI)? {
            AttrValue::MpReach(m) => Some(m),
            _ => None,
        }
    }

    pub fn mp_unreach(&self) -> Option<&MpUnreach> {
        match self.attr(attr::MP_UNREACH_NLRI)? {
            AttrValue::MpUnreach(m) => Some(m),
            _ => None,
        }
    }

    /// The MP next hop of the MP_REACH_NLRI, if any.
    pub fn mp_next_hop(&self) -> Option<MpNextHop> {
        match self.mp_reach()? {
            MpReach::Unicast { next_hop, .. } => Some(*next_hop),
            MpReach::Other { .. } => None,
        }
    }

    /// Every route this UPDATE changes, with treat-as-withdraw applied.
    pub fn changes(&self) -> Vec<RouteChange<'_>> {
        let withdraw_all = self.treat_as_withdraw();
        let reach = |p: Prefix| {
            if withdraw_all {
                RouteChange::Unreach(p)
            } else {
                RouteChange::Reach(p)
            }
        };
        let mut out: Vec<RouteChange<'_>> = self
            .withdrawn
            .iter()
            .copied()
            .map(RouteChange::Unreach)
            .collect();
        if let Some(MpUnreach::Unicast { withdrawn, .. }) = self.mp_unreach() {
            out.extend(withdrawn.iter().copied().map(RouteChange::Unreach));
        }
        out.extend(self.nlri.iter().copied().map(reach));
        match self.mp_reach() {
            Some(MpReach::Unicast { nlri, .. }) => out.extend(nlri.iter().copied().map(reach)),
            Some(m @ MpReach::Other { family, .. }) => out.push(RouteChange::Ignored(*family, m)),
            None => {}
        }
        out
    }

    pub(crate) fn decode_body(mut body: &[u8], ctx: &DecodeContext) -> Result<Self, DecodeError> {
        let message_len = body.len() + super::header::HEADER_LEN;
        // RFC 4271 6.3: "If the Withdrawn Routes Length or Total Attribute Length is too large
        // (i.e., if Withdrawn Routes Length + Total Attribute Length + 23 exceeds the message
        // Length), then the Error Subcode MUST be set to Malformed Attribute List."
        let malformed = |what: String| {
            DecodeError::update(update_sub::MALFORMED_ATTRIBUTE_LIST, Vec::new(), what)
        };
        let withdrawn_len = usize::from(
            body.try_get_u16()
                .map_err(|_| malformed("Withdrawn Routes Length missing".into()))?,
        );
        let withdrawn_field = body.get(..withdrawn_len).ok_or_else(|| {
            malformed(format!(
                "Withdrawn Routes Length {withdrawn_len} exceeds the message"
            ))
        })?;
        body.advance(withdrawn_len);
        let attrs_len = usize::from(body.try_get_u16().map_err(|_| {
            malformed(format!(
                "Withdrawn Routes Length {withdrawn_len} leaves no room"
            ))
        })?);
        if withdrawn_len + attrs_len + 23 > message_len {
            return Err(malformed(format!(
                "Withdrawn Routes Length {withdrawn_len} + Total Path Attribute Length \
                 {attrs_len} + 23 exceeds message length {message_len}"
            )));
        }
        let (attrs_field, nlri_field) = body.split_at(attrs_len);

        // RFC 4271 6.3: "The NLRI field in the UPDATE message is checked for syntactic validity.
        // If the field is syntactically incorrect, then the Error Subcode MUST be set to Invalid
        // Network Field." RFC 7606 5.3 keeps "session reset" for NLRI that cannot be parsed.
        let invalid_network = |what: &str| {
            DecodeError::update(
                update_sub::INVALID_NETWORK_FIELD,
                Vec::new(),
                format!("{what} cannot be parsed as IPv4 prefixes"),
            )
        };
        let withdrawn = Prefix::decode_all(withdrawn_field, AFI_IPV4)
            .ok_or_else(|| invalid_network("Withdrawn Routes"))?;
        let nlri =
            Prefix::decode_all(nlri_field, AFI_IPV4).ok_or_else(|| invalid_network("NLRI"))?;

        let mut update = Update {
            withdrawn,
            attrs: Vec::new(),
            nlri,
            issues: Vec::new(),
        };
        decode_attrs(attrs_field, ctx, &mut update)?;
        check_mandatory(ctx, &mut update);
        Ok(update)
    }

    pub fn encode_body(&self, buf: &mut BytesMut, ctx: &DecodeContext) {
        let at = buf.len();
        buf.put_u16(0);
        for p in &self.withdrawn {
            p.encode(buf);
        }
        let wlen = buf.len() - at - 2;
        put_len(buf, at, wlen);
        let at = buf.len();
        buf.put_u16(0);
        for a in &self.attrs {
            a.encode(buf, ctx);
        }
        let alen = buf.len() - at - 2;
        put_len(buf, at, alen);
        for p in &self.nlri {
            p.encode(buf);
        }
    }
}

fn put_len(buf: &mut BytesMut, at: usize, len: usize) {
    if let Some(f) = buf.get_mut(at..at + 2) {
        f.copy_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
    }
}

fn decode_attrs(
    mut field: &[u8],
    ctx: &DecodeContext,
    update: &mut Update,
) -> Result<(), DecodeError> {
    let mut seen = BTreeSet::new();
    while !field.is_empty() {
        // RFC 7606 4: "... fewer than three octets remain (or fewer than four octets, if the
        // Attribute Flags field has the Extended Length bit set) when beginning to parse the
        // attribute ... [or] the length of the last encountered path attribute would cause the
        // Total Attribute Length to be exceeded ... In either of these cases, an error condition
        // exists and the 'treat-as-withdraw' approach MUST be used ... and the Total Attribute
        // Length MUST be relied upon to enable the beginning of the NLRI field to be located."
        let flags = field.first().copied().unwrap_or(0);
        let head = if flags & FLAG_EXTENDED_LENGTH != 0 {
            4
        } else {
            3
        };
        let Some(h) = field.get(..head) else {
            update.issues.push(AttrIssue {
                type_code: 0,
                handling: Handling::TreatAsWithdraw,
                reason: format!("{} octets left in the attribute list, too few", field.len()),
            });
            return Ok(());
        };
        let type_code = h[1];
        let len = if head == 4 {
            usize::from(u16::from_be_bytes([h[2], h[3]]))
        } else {
            usize::from(h[2])
        };
        let Some(value) = field.get(head..head + len) else {
            update.issues.push(AttrIssue {
                type_code,
                handling: Handling::TreatAsWithdraw,
                reason: format!(
                    "attribute type {type_code} length {len} overruns the attribute list"
                ),
            });
            return Ok(());
        };
        field.advance(head + len);
        if !seen.insert(type_code) {
            // RFC 7606 3(g): "If the MP_REACH_NLRI attribute or the MP_UNREACH_NLRI attribute
            // appears more than once in the UPDATE message, then a NOTIFICATION message MUST be
            // sent with the Error Subcode 'Malformed Attribute List'. If any other attribute
            // (whether recognized or unrecognized) appears more than once in an UPDATE message,
            // then all the occurrences of the attribute other than the first one SHALL be
            // discarded and the UPDATE message will continue to be processed."
            if type_code == attr::MP_REACH_NLRI || type_code == attr::MP_UNREACH_NLRI {
                return Err(DecodeError::update(
                    update_sub::MALFORMED_ATTRIBUTE_LIST,
                    Vec::new(),
                    format!("attribute type {type_code} appears more than once"),
                ));
            }
            update.issues.push(AttrIssue {
                type_code,
                handling: Handling::AttributeDiscard,
                reason: "repeated attribute".into(),
            });
            continue;
        }
        match attr::decode_attr(flags, type_code, value, ctx) {
            Verdict::Keep(a) => update.attrs.push(a),
            Verdict::Issue(i) => update.issues.push(i),
            Verdict::KeepAndWithdraw(a, i) => {
                update.attrs.push(a);
                update.issues.push(i);
            }
            Verdict::Reset(e) => return Err(e),
        }
    }
    Ok(())
}

/// RFC 7606 3(d): "If any of the well-known mandatory attributes are not present in an UPDATE
/// message, then 'treat-as-withdraw' MUST be used. (Note that [RFC4760] reflects an exception
/// to this rule: for a message that carries no NLRI, ORIGIN/AS_PATH/NEXT_HOP are not required.)"
fn check_mandatory(ctx: &DecodeContext, update: &mut Update) {
    let has_mp_nlri =
        matches!(update.mp_reach(), Some(MpReach::Unicast { nlri, .. }) if !nlri.is_empty());
    if update.nlri.is_empty() && !has_mp_nlri {
        return;
    }
    let mut required = vec![(attr::ORIGIN, "ORIGIN"), (attr::AS_PATH, "AS_PATH")];
    // RFC 4760 3: "An UPDATE message that carries no NLRI, other than the one encoded in the
    // MP_REACH_NLRI attribute, SHOULD NOT carry the NEXT_HOP attribute."
    if !update.nlri.is_empty() {
        required.push((attr::NEXT_HOP, "NEXT_HOP"));
    }
    // RFC 4271 5.1.5: "A BGP speaker MUST include this attribute in UPDATE messages it sends to
    // other internal peers".
    if ctx.ibgp {
        required.push((attr::LOCAL_PREF, "LOCAL_PREF"));
    }
    for (code, name) in required {
        let present = update.attr(code).is_some();
        let already = update.issues.iter().any(|i| i.type_code == code);
        if !present && !already {
            update.issues.push(AttrIssue {
                type_code: code,
                handling: Handling::TreatAsWithdraw,
                reason: format!("missing well-known attribute {name}"),
            });
        }
    }
}
