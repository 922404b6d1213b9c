//! What loadgen shares with the project's drills and tests: the
//! conservation check over the four databases (`conservation`) and the
//! fault that parks sagas (`fault`).
#![forbid(unsafe_code)]

pub mod conservation;
pub mod fault;
