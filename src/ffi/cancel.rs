//! `kitsu_cancel_token_*`: a Cancel button for any transfer, from any thread.

use std::ffi::c_int;

use super::{boundary, boundary_void, kitsu_result, Failure};
use crate::transfer::CancelToken;

/// A cancel token: give it to calls through ::kitsu_transfer_options and
/// cancel it from any thread (a UI's Cancel button) with
/// kitsu_cancel_token_cancel(). Every call using it then returns
/// `KITSU_RESULT_CANCELLED` within 200 ms, in any phase, leaving nothing
/// behind; a call started with a cancelled token fails at once, before any
/// request. One token may serve several calls and threads. It stays
/// cancelled: make a new one for the next transfer.
pub struct kitsu_cancel_token {
    _private: [u8; 0],
}

/// Creates a token (not cancelled). On success `*out` receives it, to be
/// freed with kitsu_cancel_token_free().
#[no_mangle]
pub unsafe extern "C" fn kitsu_cancel_token_new(out: *mut *mut kitsu_cancel_token) -> kitsu_result {
    boundary(|| {
        let out = arg!(out out);
        *out = CancelToken::new().into_raw().cast_mut().cast();
        Ok(())
    })
}

/// Cancels every call using the token, now and later. Safe from any thread at
/// any time, also before a call starts and after it ended.
#[no_mangle]
pub unsafe extern "C" fn kitsu_cancel_token_cancel(
    token: *const kitsu_cancel_token,
) -> kitsu_result {
    boundary(|| {
        if token.is_null() {
            return Err(Failure::Null("token"));
        }
        CancelToken::clone_from_raw(token.cast()).cancel();
        Ok(())
    })
}

/// 1 if the token was cancelled, 0 if not (or if `token` is NULL). Safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn kitsu_cancel_token_is_cancelled(
    token: *const kitsu_cancel_token,
) -> c_int {
    if token.is_null() {
        return 0;
    }
    c_int::from(CancelToken::clone_from_raw(token.cast()).is_cancelled())
}

/// Frees the token. NULL is a no-op. Calls still using it keep their own
/// reference, but free it only once every call given it has returned.
#[no_mangle]
pub unsafe extern "C" fn kitsu_cancel_token_free(token: *mut kitsu_cancel_token) {
    boundary_void(|| {
        if !token.is_null() {
            CancelToken::release_raw(token.cast_const().cast());
        }
    })
}
