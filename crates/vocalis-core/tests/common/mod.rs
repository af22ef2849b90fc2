//! Test helpers: the library's test support plus a temporary tiny model directory.
#![allow(dead_code, unused_imports)]

pub use vocalis_core::testing::*;

/// A complete tiny model directory in the released layout for `variant`, in a tempdir (for
/// tests that need their own; [`shared_tiny_model_dir`] is the one to read from).
pub fn tiny_model_dir(variant: &str) -> tempfile::TempDir {
    let td = tempfile::tempdir().unwrap();
    write_tiny_model_dir(variant, td.path());
    td
}
