mod contract;
mod helpers;
mod reservations;
