//! The running stack under attack, through the gateway and around it.

mod logins;
