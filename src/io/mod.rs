//! Mechanisms every tool shares and none owns: outputs that appear only when
//! complete (and child processes stopped with them), sparse copies, progress
//! reports, parallel deflate.

pub mod deflate;
pub mod output;
pub mod progress;
pub mod sparse;
