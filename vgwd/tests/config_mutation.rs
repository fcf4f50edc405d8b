//! Deterministic malformed-input test for the configuration reader (the stand-in for running
//! the cargo-fuzz target in `vgwd/fuzz/`, which needs nightly): thousands of byte-level and
//! token-level mutations of the shipped examples, from a fixed seed, through `config::parse`.
//! Every one must end in `Ok` or in errors that carry a location inside the file — never a
//! panic.

use std::path::Path;

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
    }
}

const TOKENS: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "=",
    "\"",
    "'",
    "\n",
    "#",
    "0",
    "-1",
    "99999999999999999999",
    "1.5",
    "true",
    "{",
    "}",
    ",",
    "\"2s\"",
    "\"0ms\"",
    "\"x\"",
    "[[service.real]]\naddress = \"::1\"\n",
    "[[vip]]\naddress = \"192.0.2.10\"\n",
    "quorum = 65536\n",
    "\u{0}",
    "é",
    "\"10.0.0.300\"",
    "port = 0\n",
    "[service.check]\ntype = \"dns\"\n",
];

fn mutate(rng: &mut Rng, base: &str) -> String {
    let mut bytes = base.as_bytes().to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(4) {
            0 if !bytes.is_empty() => {
                let end = (at + rng.below(16)).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            1 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                bytes.splice(at..at, t.bytes());
            }
            2 if !bytes.is_empty() => {
                let i = at.min(bytes.len() - 1);
                bytes[i] = u8::try_from(rng.below(256)).unwrap_or(0);
            }
            _ => {
                // Duplicate a line somewhere else (duplicate keys, sections, entries).
                let text = String::from_utf8_lossy(&bytes).to_string();
                let lines: Vec<&str> = text.lines().collect();
                if !lines.is_empty() {
                    let line = lines[rng.below(lines.len())].to_string() + "\n";
                    bytes.splice(at..at, line.bytes());
                }
            }
        }
    }
    String::from_utf8_lossy(&bytes).to_string()
}

#[test]
fn mutated_configs_never_panic_and_errors_point_inside_the_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bases: Vec<String> = [
        "examples/full.toml",
        "examples/minimal.toml",
        "examples/announce-only.toml",
    ]
    .iter()
    .map(|f| std::fs::read_to_string(dir.join(f)).expect("example"))
    .collect();
    let mut rng = Rng(0x005E_ED0F_C0FF_EE11);
    let (mut ok, mut rejected) = (0u32, 0u32);
    for i in 0..5000 {
        let text = mutate(&mut rng, &bases[i % bases.len()]);
        match vgwd::config::parse(&text, "m.toml") {
            Ok(_) => ok += 1,
            Err(errs) => {
                rejected += 1;
                assert!(
                    !errs.errors.is_empty(),
                    "rejected without an error:\n{text}"
                );
                let lines = text.lines().count() + 1;
                for e in &errs.errors {
                    assert!(
                        e.line >= 1 && e.line <= lines,
                        "{}: line outside the file:\n{text}",
                        e.short()
                    );
                    assert!(!e.message.is_empty());
                }
            }
        }
    }
    eprintln!("5000 mutated configs: {ok} accepted, {rejected} rejected, no panic");
    assert!(
        rejected > 1000 && ok > 10,
        "mutations too weak or too strong: {ok} ok, {rejected} rejected"
    );
}
