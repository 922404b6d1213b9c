mod admins;
mod helpers;
mod sessions;
mod sign_up;
mod throttling;
mod tokens;
