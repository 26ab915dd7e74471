//! `publish`: put build results where Macs install them from.

pub mod build_result;
pub mod list;
