//! order-api through its HTTP interface, with the rest of the pipeline
//! beside it in the same process (`system_tests::in_process`): the order
//! API's rules and the admin API.

mod admin;
mod orders;
