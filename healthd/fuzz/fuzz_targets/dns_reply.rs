//! Judgement of a DNS reply on arbitrary bytes.
#![no_main]

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};
use libfuzzer_sys::fuzz_target;
use vgw_health::check::dns::judge_reply;
use vgw_health::spec::DnsProbe;

fuzz_target!(|data: &[u8]| {
    let Ok(name) = Name::from_ascii("svc.test.") else { return };
    let probe = DnsProbe {
        name,
        qtype: RecordType::A,
        expect_rcode: ResponseCode::NoError,
        expect_answer: Some("192.0.2.1".to_string()),
        recursion_desired: false,
        tcp_only: false,
    };
    let id = data.first().map_or(0, |b| u16::from(*b));
    let _ = judge_reply(&probe, id, data, "127.0.0.1:53".parse().expect("addr"));
});
