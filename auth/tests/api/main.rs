mod helpers;
mod sign_up;
mod tokens;
