mod accounts;
mod authorization;
mod ceiling;
mod contract;
mod helpers;
mod profiles;
mod reservations;
