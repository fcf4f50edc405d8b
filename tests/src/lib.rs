//! Cross-crate integration and real-peer tests.
