//! Shared helpers for the workspace tests live in each test file; this crate has no library code.
