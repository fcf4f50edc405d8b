//! BGP-4 speaker for VIP announcements: packet codec, sans-IO session FSM, Adj-RIB-Out, tokio sessions.
