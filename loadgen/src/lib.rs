//! What loadgen shares with the project's drills and tests: the
//! conservation check over the four databases (`conservation`).
#![forbid(unsafe_code)]

pub mod conservation;
