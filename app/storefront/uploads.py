"""Files a shopper uploads (a return's photo, a review's photos): the declared type must be one we accept AND the
bytes must start with that type's signature, and the size is capped, so a renamed file or a huge one is refused."""

from __future__ import annotations

from dataclasses import dataclass

PHOTO_TYPES = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n", "image/webp": b"RIFF"}
MAX_PHOTO_BYTES = 4 * 1024 * 1024  # under the app-wide 5 MB request limit, so our message is what shoppers see


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


def check_upload(upload: Upload, allowed: dict[str, bytes], max_bytes: int) -> str | None:
    """None when the file is acceptable, else the catalog key's last part saying why not (`too_large`,
    `bad_type`). The declared type must be allowed AND the bytes must start with that type's signature."""
    if len(upload.data) > max_bytes:
        return "too_large"
    magic = allowed.get((upload.content_type or "").split(";")[0].strip().lower())
    if magic is None or not upload.data.startswith(magic):
        return "bad_type"
    if magic == b"RIFF" and upload.data[8:12] != b"WEBP":
        return "bad_type"
    return None
