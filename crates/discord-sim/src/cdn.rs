//! Discord's CDN, for avatars: `GET /avatars/{user_id}/{hash}.png` answers a
//! PNG drawn from the user's id when `hash` is their current avatar, 404
//! otherwise, as the real CDN does for a stale hash.

use std::io::Write;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::state::Shared;

/// Side of the square avatars served.
pub const AVATAR_SIZE: u32 = 128;

pub(crate) async fn avatar(State(shared): State<Arc<Shared>>, Path((user_id, file)): Path<(u64, String)>) -> Response {
    let Some(hash) = file.strip_suffix(".png") else { return StatusCode::NOT_FOUND.into_response() };
    let served = {
        let mut state = shared.lock();
        let served = state.world.users.get(&user_id).and_then(|u| u.avatar.as_deref()) == Some(hash);
        state.cdn_fetches.push((user_id, hash.to_owned(), served));
        served
    };
    if !served {
        return StatusCode::NOT_FOUND.into_response();
    }
    ([(header::CONTENT_TYPE, "image/png")], avatar_png(user_id)).into_response()
}

/// A file attached to a command, at the URL its attachment object gives
/// (the query's signature is not checked).
pub(crate) async fn attachment(
    State(shared): State<Arc<Shared>>,
    Path((channel_id, id, filename)): Path<(u64, u64, String)>,
) -> Response {
    let mut state = shared.lock();
    let found = state
        .attachments
        .get(&id)
        .filter(|f| f.channel_id == channel_id && f.filename == filename)
        .map(|f| (f.content_type.clone(), f.bytes.clone()));
    state.attachment_fetches.push((id, found.is_some()));
    match found {
        Some((content_type, bytes)) => ([(header::CONTENT_TYPE, content_type)], bytes).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A square picture for `user_id`: two colours from the id, in diagonal
/// bands, so each user's avatar looks different and is easy to recognise in
/// a rendered card.
pub fn avatar_png(user_id: u64) -> Vec<u8> {
    let a = [(user_id >> 8) as u8 | 0x40, (user_id >> 16) as u8 & 0x7f, (user_id >> 24) as u8 | 0x80];
    let b = [255 - a[0], 255 - a[1] / 2, 255 - a[2] / 2];
    let mut pixels = Vec::with_capacity(((AVATAR_SIZE * 3 + 1) * AVATAR_SIZE) as usize);
    for y in 0..AVATAR_SIZE {
        pixels.push(0); // no filter
        for x in 0..AVATAR_SIZE {
            pixels.extend_from_slice(if ((x + y) / 16) % 2 == 0 { &a } else { &b });
        }
    }
    png_rgb(AVATAR_SIZE, AVATAR_SIZE, &pixels)
}

/// Encodes 8-bit RGB scanlines (each prefixed with its filter byte) as a PNG.
fn png_rgb(width: u32, height: u32, scanlines: &[u8]) -> Vec<u8> {
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8 bits, RGB, deflate, no filter, no interlace
    let mut deflate = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    deflate.write_all(scanlines).expect("writing to memory");
    let data = deflate.finish().expect("writing to memory");
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, body) in [(b"IHDR", header.as_slice()), (b"IDAT", data.as_slice()), (b"IEND", &[][..])] {
        png.extend_from_slice(&(body.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(body);
        png.extend_from_slice(kind);
        png.extend_from_slice(body);
        png.extend_from_slice(&crc.sum().to_be_bytes());
    }
    png
}

#[cfg(test)]
mod tests {
    #[test]
    fn avatars_are_pngs_of_the_right_size() {
        let png = super::avatar_png(1234567890123);
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), super::AVATAR_SIZE);
        assert!(png.ends_with(&[0xAE, 0x42, 0x60, 0x82]), "IEND's CRC is fixed");
    }
}
