mod accounts;
mod authorization;
mod helpers;
mod profiles;
mod reservations;
