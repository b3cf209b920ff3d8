"""Safe image decoding and transforms. The only place colour conversion happens."""

from proctor.imaging.decode import DecodedImage, DecodeLimits, decode_image, sniff_format

__all__ = ["DecodeLimits", "DecodedImage", "decode_image", "sniff_format"]
