//! Running a vgw speaker inside a lab namespace, for the interop tests.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use vgw_bgp::{NeighborConfig, Speaker, SpeakerConfig};
use vgw_lab::Host;

pub const T: Duration = Duration::from_secs(60);

/// A speaker whose sockets live in a lab host: its runtime's worker threads were started by a
/// thread inside the host's network namespace, and every future runs on them.
pub struct NsSpeaker {
    pub rt: tokio::runtime::Runtime,
    pub speaker: Speaker,
}

impl NsSpeaker {
    pub fn start(host: &Host, cfg: SpeakerConfig, neighbors: Vec<NeighborConfig>) -> NsSpeaker {
        let rt = host
            .run_in(|| {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
            })
            .expect("enter namespace")
            .expect("runtime");
        let speaker = in_rt(&rt, async move {
            let s = Speaker::start(cfg).await.expect("speaker");
            for n in neighbors {
                s.add_neighbor(n).await.expect("neighbor");
            }
            s
        });
        NsSpeaker { rt, speaker }
    }

    /// Runs `f(speaker)` on the namespace's runtime and waits for it.
    pub fn run<F, Fut, R>(&self, f: F) -> R
    where
        F: FnOnce(Speaker) -> Fut,
        Fut: Future<Output = R> + Send + 'static,
        R: Send + 'static,
    {
        in_rt(&self.rt, f(self.speaker.clone()))
    }

    pub fn state(&self, name: &str) -> vgw_bgp::fsm::State {
        let name = name.to_string();
        self.run(|s| async move { s.neighbor(&name).await.expect("neighbor").state })
    }
}

/// Runs `fut` on a worker thread of `rt` (never on the calling thread, which is outside the
/// namespace).
pub fn in_rt<Fut, R>(rt: &tokio::runtime::Runtime, fut: Fut) -> R
where
    Fut: Future<Output = R> + Send + 'static,
    R: Send + 'static,
{
    rt.block_on(rt.spawn(fut)).expect("task panicked")
}

/// `birdc show route all for P` lines starting with `BGP.` (attribute lines), trimmed.
pub fn bird_bgp_attrs(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("BGP."))
        .map(str::to_string)
        .collect()
}
