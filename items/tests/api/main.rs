mod helpers;
mod reservations;
