mod accounts;
mod authorization;
mod ceiling;
mod helpers;
mod profiles;
mod reservations;
