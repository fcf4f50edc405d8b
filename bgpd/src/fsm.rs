//! The BGP session state machine of RFC 4271 section 8, without I/O.
//!
//! `Fsm::process(Event) -> Vec<Action>`: the transport feeds in TCP and message events and timer
//! expiries, and carries out the actions (connect, send, close, start/stop a timer). Nothing
//! here reads a clock or a socket, so every behaviour is testable by replaying events (see the
//! golden files in `tests/golden/`).

use serde::{Deserialize, Serialize};

use crate::packet::error::{code, fsm_sub};
use crate::packet::{DecodeContext, DecodeError, Family, Message, Notification, Update};
use crate::session::{check_open, Negotiated, SessionConfig, OPEN_HOLD_TIME};

/// RFC 4271 8.2.2 states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum State {
    Idle,
    Connect,
    Active,
    OpenSent,
    OpenConfirm,
    Established,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Timer {
    ConnectRetry,
    Hold,
    Keepalive,
    IdleHold,
}

/// Inputs, with the RFC 4271 8.1 event they stand for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "event")]
pub enum Event {
    /// Event 1 ManualStart, or Event 4 ManualStart_with_PassiveTcpEstablishment when the
    /// session is configured passive.
    ManualStart,
    /// Event 2 ManualStop, with the RFC 9003 shutdown communication (may be empty).
    ManualStop { message: String },
    /// Event 9 ConnectRetryTimer_Expires.
    ConnectRetryTimerExpires,
    /// Event 10 HoldTimer_Expires.
    HoldTimerExpires,
    /// Event 11 KeepaliveTimer_Expires.
    KeepaliveTimerExpires,
    /// Event 13 IdleHoldTimer_Expires (automatic restart after an error).
    IdleHoldTimerExpires,
    /// Event 16 Tcp_CR_Acked: the connection we initiated is up.
    TcpCrAcked,
    /// Event 17 TcpConnectionConfirmed: the peer's connection was accepted.
    TcpConnectionConfirmed,
    /// Event 18 TcpConnectionFails.
    TcpConnectionFails,
    /// Events 19 BGPOpen, 25 NotifMsg, 26 KeepAliveMsg, 27 UpdateMsg, and ROUTE-REFRESH.
    Message { message: Message },
    /// Events 21 BGPHeaderErr, 22 BGPOpenMsgErr, 28 UpdateMsgErr: a message failed to decode.
    DecodeError { error: DecodeError },
    /// Event 23 OpenCollisionDump: connection collision detection chose the other connection.
    OpenCollisionDump,
}

/// Outputs for the transport to carry out, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "action")]
pub enum Action {
    /// Initiate a TCP connection to the peer.
    Connect,
    /// Close the TCP connection (after sending what was queued before).
    Disconnect,
    Send {
        message: Message,
    },
    StartTimer {
        timer: Timer,
        seconds: u32,
    },
    StopTimer {
        timer: Timer,
    },
    StateChange {
        from: State,
        to: State,
    },
    /// The session reached Established: send the Adj-RIB-Out, then End-of-RIB.
    SessionUp {
        negotiated: Negotiated,
    },
    /// The session left Established: forget the Adj-RIB-In and what was sent.
    SessionDown {
        reason: String,
    },
    /// A validated UPDATE for the Adj-RIB-In.
    Received {
        update: Update,
    },
    /// RFC 2918 4: the peer asked for our routes of a family again.
    RouteRefresh {
        family: Family,
    },
}

/// Why the session last ended, for operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastError {
    pub notification: Notification,
    /// "sent" or "received".
    pub direction: String,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct Fsm {
    cfg: SessionConfig,
    state: State,
    negotiated: Option<Negotiated>,
    /// A ManualStop is in force; no automatic restart until the next ManualStart.
    stopped: bool,
    /// Consecutive error terminations, for the IdleHold back-off.
    failures: u32,
    /// This is the first session since the process started with GR restarting set.
    restarting: bool,
    last_error: Option<LastError>,
}

impl Fsm {
    pub fn new(cfg: SessionConfig) -> Self {
        let restarting = cfg.graceful_restart.is_some_and(|g| g.restarting);
        Fsm {
            cfg,
            state: State::Idle,
            negotiated: None,
            stopped: true,
            failures: 0,
            restarting,
            last_error: None,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }

    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    pub fn last_error(&self) -> Option<&LastError> {
        self.last_error.as_ref()
    }

    /// How to read the peer's messages now.
    pub fn decode_context(&self) -> DecodeContext {
        match &self.negotiated {
            Some(n) => n.decode_context(),
            None => DecodeContext {
                ibgp: self.cfg.ibgp(),
                ..DecodeContext::default()
            },
        }
    }

    pub fn process(&mut self, event: Event) -> Vec<Action> {
        let mut out = Vec::new();
        match (self.state, event) {
            (_, Event::ManualStop { message }) => self.manual_stop(&message, &mut out),
            (State::Idle, Event::ManualStart) => {
                self.stopped = false;
                self.failures = 0;
                out.push(Action::StopTimer {
                    timer: Timer::IdleHold,
                });
                self.start(&mut out);
            }
            (State::Idle, Event::IdleHoldTimerExpires) if !self.stopped => self.start(&mut out),
            // RFC 4271 8.2.2 Idle: "Any other event (Events 9-12, 15-28) received in the Idle
            // state does not cause change in the state of the local system." A connection the
            // transport accepted meanwhile is refused.
            (State::Idle, Event::TcpConnectionConfirmed | Event::TcpCrAcked) => {
                out.push(Action::Disconnect)
            }
            (State::Idle, _) => {}
            (_, Event::ManualStart) => {}

            // Connect and Active.
            (State::Connect, Event::ConnectRetryTimerExpires) => {
                // RFC 4271 8.2.2 Connect, Event 9: "drops the TCP connection, restarts the
                // ConnectRetryTimer, ... initiates a TCP connection".
                out.push(Action::Disconnect);
                out.push(self.connect_retry_timer());
                out.push(Action::Connect);
            }
            (State::Active, Event::ConnectRetryTimerExpires) if !self.cfg.passive => {
                out.push(self.connect_retry_timer());
                out.push(Action::Connect);
                self.state_change(State::Connect, &mut out);
            }
            (State::Connect | State::Active, Event::TcpCrAcked | Event::TcpConnectionConfirmed) => {
                // RFC 4271 8.2.2 Connect/Active, Events 16/17 (DelayOpen off): "stops the
                // ConnectRetryTimer ..., completes BGP initialization, sends an OPEN message to
                // its peer, sets the HoldTimer to a large value, and changes its state to
                // OpenSent."
                out.push(Action::StopTimer {
                    timer: Timer::ConnectRetry,
                });
                let open = self.cfg.open(self.restarting);
                out.push(Action::Send {
                    message: Message::Open(open),
                });
                out.push(Action::StartTimer {
                    timer: Timer::Hold,
                    seconds: OPEN_HOLD_TIME,
                });
                self.state_change(State::OpenSent, &mut out);
            }
            (State::Connect | State::Active, Event::TcpConnectionFails) => {
                // RFC 4271 8.2.2 sends Connect to Idle here; like BIRD and FRR we wait in Active
                // for the ConnectRetryTimer instead, still accepting the peer's connection, so a
                // switch that is briefly unreachable does not trigger the IdleHold back-off.
                out.push(Action::Disconnect);
                if !self.cfg.passive {
                    out.push(self.connect_retry_timer());
                }
                if self.state == State::Connect {
                    self.state_change(State::Active, &mut out);
                }
            }
            (State::Connect | State::Active, Event::Message { .. } | Event::DecodeError { .. }) => {
                // Messages cannot arrive without a connection; treat as an FSM error.
                self.fail(None, "message without a connection".into(), &mut out);
            }
            (State::Connect | State::Active, _) => {}

            // OpenSent.
            (
                State::OpenSent,
                Event::Message {
                    message: Message::Open(open),
                },
            ) => {
                match check_open(&self.cfg, &open) {
                    Ok(n) => {
                        // RFC 4271 8.2.2 OpenSent, Event 19: "sends a KEEPALIVE message, and sets
                        // a KeepaliveTimer ... sets the HoldTimer according to the negotiated
                        // value ... changes its state to OpenConfirm." "If the negotiated hold
                        // time value is zero, then the HoldTimer and KeepaliveTimer are not
                        // started."
                        out.push(Action::Send {
                            message: Message::Keepalive,
                        });
                        if n.hold_time == 0 {
                            out.push(Action::StopTimer { timer: Timer::Hold });
                        } else {
                            out.push(Action::StartTimer {
                                timer: Timer::Keepalive,
                                seconds: u32::from(n.keepalive),
                            });
                            out.push(Action::StartTimer {
                                timer: Timer::Hold,
                                seconds: u32::from(n.hold_time),
                            });
                        }
                        self.negotiated = Some(n);
                        self.state_change(State::OpenConfirm, &mut out);
                    }
                    Err(e) => self.fail(Some(e.notification), e.reason, &mut out),
                }
            }
            (State::OpenSent, Event::TcpConnectionFails) => {
                // RFC 4271 8.2.2 OpenSent, Event 18: "closes the BGP connection, restarts the
                // ConnectRetryTimer, continues to listen for a connection ..., and changes its
                // state to Active."
                out.push(Action::Disconnect);
                out.push(Action::StopTimer { timer: Timer::Hold });
                if !self.cfg.passive {
                    out.push(self.connect_retry_timer());
                }
                self.state_change(State::Active, &mut out);
            }

            // OpenConfirm.
            (
                State::OpenConfirm,
                Event::Message {
                    message: Message::Keepalive,
                },
            ) => {
                // RFC 4271 8.2.2 OpenConfirm, Event 26: "restarts the HoldTimer and changes its
                // state to Established."
                self.restart_hold(&mut out);
                self.failures = 0;
                self.restarting = false;
                self.state_change(State::Established, &mut out);
                if let Some(n) = &self.negotiated {
                    out.push(Action::SessionUp {
                        negotiated: n.clone(),
                    });
                }
            }

            // Established.
            (
                State::Established,
                Event::Message {
                    message: Message::Keepalive,
                },
            ) => self.restart_hold(&mut out),
            (
                State::Established,
                Event::Message {
                    message: Message::Update(update),
                },
            ) => {
                // RFC 4271 8.2.2 Established, Event 27: "restarts its HoldTimer, if the initial
                // value of HoldTimer is non-zero."
                self.restart_hold(&mut out);
                out.push(Action::Received { update });
            }
            (
                State::Established,
                Event::Message {
                    message: Message::RouteRefresh(rr),
                },
            ) => {
                // RFC 2918 4: "If a BGP speaker receives from its peer a ROUTE-REFRESH message
                // with the <AFI, SAFI> that the speaker didn't advertise to the peer at the
                // session establishment time via capability advertisement, the speaker shall
                // ignore such a message." RFC 7313 subtypes other than 0 are not requests.
                let ours = self
                    .negotiated
                    .as_ref()
                    .is_some_and(|n| n.families.contains(&rr.family));
                if ours && rr.subtype == 0 {
                    out.push(Action::RouteRefresh { family: rr.family });
                }
            }

            // Timers in OpenSent, OpenConfirm, Established.
            (State::OpenConfirm | State::Established, Event::KeepaliveTimerExpires) => {
                out.push(Action::Send {
                    message: Message::Keepalive,
                });
                if let Some(n) = &self.negotiated {
                    if n.keepalive > 0 {
                        out.push(Action::StartTimer {
                            timer: Timer::Keepalive,
                            seconds: u32::from(n.keepalive),
                        });
                    }
                }
            }
            (
                State::OpenSent | State::OpenConfirm | State::Established,
                Event::HoldTimerExpires,
            ) => {
                // RFC 4271 8.2.2, Event 10: "sends the NOTIFICATION message with the Error Code
                // Hold Timer Expired".
                let n = Notification::new(code::HOLD_TIMER_EXPIRED, 0, Vec::new());
                self.fail(Some(n), "hold timer expired".into(), &mut out);
            }
            (
                State::OpenSent | State::OpenConfirm | State::Established,
                Event::DecodeError { error },
            ) => {
                // RFC 4271 8.2.2, Events 21/22/28: "sends a NOTIFICATION message with the
                // appropriate error code".
                self.fail(Some(error.notification), error.reason, &mut out);
            }
            (
                State::OpenSent | State::OpenConfirm | State::Established,
                Event::Message {
                    message: Message::Notification(n),
                },
            ) => {
                // RFC 4271 8.2.2, Event 25: "drops the TCP connection, releases all BGP
                // resources ... and changes its state to Idle."
                let text = format!("peer sent NOTIFICATION {}", n.describe());
                self.last_error = Some(LastError {
                    notification: n,
                    direction: "received".into(),
                    text: text.clone(),
                });
                self.down(text, true, &mut out);
            }
            (State::OpenConfirm | State::Established, Event::TcpConnectionFails) => {
                self.down("TCP connection closed by the peer".into(), true, &mut out)
            }
            (
                State::OpenSent | State::OpenConfirm | State::Established,
                Event::OpenCollisionDump,
            ) => {
                // RFC 4271 6.8: "the local system closes the BGP connection ... by sending the
                // NOTIFICATION message with the Error Code Cease" (RFC 4486: subcode 7).
                let n = Notification::new(code::CEASE, 7, Vec::new());
                out.push(Action::Send {
                    message: Message::Notification(n),
                });
                self.down("connection collision resolution".into(), false, &mut out);
            }
            // RFC 6608 3: any other message is an FSM error, with the subcode of the state.
            (
                s @ (State::OpenSent | State::OpenConfirm | State::Established),
                Event::Message { message },
            ) => {
                let sub = match s {
                    State::OpenSent => fsm_sub::UNEXPECTED_IN_OPENSENT,
                    State::OpenConfirm => fsm_sub::UNEXPECTED_IN_OPENCONFIRM,
                    _ => fsm_sub::UNEXPECTED_IN_ESTABLISHED,
                };
                let n = Notification::new(code::FSM, sub, Vec::new());
                self.fail(
                    Some(n),
                    format!("unexpected {} in {s:?}", message.kind()),
                    &mut out,
                );
            }
            (State::OpenSent | State::OpenConfirm | State::Established, _) => {}
        }
        out
    }

    fn start(&mut self, out: &mut Vec<Action>) {
        if self.cfg.passive {
            // RFC 4271 8.2.2 Idle, Event 4: "changes its state to Active" and listens.
            self.state_change(State::Active, out);
        } else {
            // RFC 4271 8.2.2 Idle, Event 1: "starts the ConnectRetryTimer with the initial value,
            // initiates a TCP connection to the other BGP peer, ... changes its state to Connect."
            out.push(self.connect_retry_timer());
            out.push(Action::Connect);
            self.state_change(State::Connect, out);
        }
    }

    fn connect_retry_timer(&self) -> Action {
        Action::StartTimer {
            timer: Timer::ConnectRetry,
            seconds: self.cfg.connect_retry.max(1),
        }
    }

    fn restart_hold(&self, out: &mut Vec<Action>) {
        if let Some(n) = &self.negotiated {
            if n.hold_time > 0 {
                out.push(Action::StartTimer {
                    timer: Timer::Hold,
                    seconds: u32::from(n.hold_time),
                });
            }
        }
    }

    fn manual_stop(&mut self, message: &str, out: &mut Vec<Action>) {
        self.stopped = true;
        out.push(Action::StopTimer {
            timer: Timer::IdleHold,
        });
        match self.state {
            State::Idle => {}
            State::Connect | State::Active => {
                out.push(Action::Disconnect);
                out.push(Action::StopTimer {
                    timer: Timer::ConnectRetry,
                });
                self.state_change(State::Idle, out);
            }
            State::OpenSent | State::OpenConfirm | State::Established => {
                // RFC 4271 8.2.2, Event 2: "sends the NOTIFICATION with a Cease"; RFC 4486 and
                // RFC 9003: Administrative Shutdown with the operator's message.
                let n = Notification::admin_shutdown(message);
                self.last_error = Some(LastError {
                    text: format!("administrative shutdown: {message}"),
                    notification: n.clone(),
                    direction: "sent".into(),
                });
                out.push(Action::Send {
                    message: Message::Notification(n),
                });
                self.down(format!("administrative shutdown: {message}"), false, out);
            }
        }
    }

    /// Ends the session because of an error: NOTIFICATION (if any), close, Idle with back-off.
    fn fail(&mut self, n: Option<Notification>, reason: String, out: &mut Vec<Action>) {
        if let Some(n) = n {
            self.last_error = Some(LastError {
                text: format!("sent NOTIFICATION {}: {reason}", n.describe()),
                notification: n.clone(),
                direction: "sent".into(),
            });
            out.push(Action::Send {
                message: Message::Notification(n),
            });
        }
        self.down(reason, true, out);
    }

    fn down(&mut self, reason: String, error: bool, out: &mut Vec<Action>) {
        out.push(Action::Disconnect);
        for timer in [Timer::ConnectRetry, Timer::Hold, Timer::Keepalive] {
            out.push(Action::StopTimer { timer });
        }
        let was_established = self.state == State::Established;
        self.negotiated = None;
        self.state_change(State::Idle, out);
        if was_established {
            out.push(Action::SessionDown { reason });
        }
        if error && !self.stopped {
            // RFC 4271 8.1.1 DampPeerOscillations: "the IdleHoldTimer ... is used to keep the
            // BGP peer in Idle for a particular duration"; it doubles per consecutive error.
            let shift = self.failures.min(16);
            let secs = self.cfg.idle_hold.max(1).saturating_mul(1 << shift);
            self.failures = self.failures.saturating_add(1);
            out.push(Action::StartTimer {
                timer: Timer::IdleHold,
                seconds: secs.min(self.cfg.idle_hold_max.max(1)),
            });
        } else if !self.stopped {
            out.push(Action::StartTimer {
                timer: Timer::IdleHold,
                seconds: self.cfg.idle_hold.max(1),
            });
        }
    }

    /// The one place a state changes: logs it and reports it.
    fn state_change(&mut self, to: State, out: &mut Vec<Action>) {
        let from = self.state;
        if from == to {
            return;
        }
        tracing::info!(?from, ?to, "BGP state change");
        self.state = to;
        out.push(Action::StateChange { from, to });
    }
}
