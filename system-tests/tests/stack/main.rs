//! The running stack as its clients and attackers see it, through the
//! gateway and around it.

mod gateway_bodies;
mod logins;
mod smoke;
