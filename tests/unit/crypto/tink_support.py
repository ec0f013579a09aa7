"""Google Tink as an independent reference implementation of VSF1.

Tink's ``AES256_GCM_HKDF_1MB`` template is an ``AesGcmHkdfStreamingKey`` with a
32-byte derived key, HKDF-SHA256 and 1 MiB segments. To compare byte formats we
build that key with a known key value (the DEK) instead of letting Tink draw
one; smaller segment sizes are the same key type with another parameter.
"""

from __future__ import annotations

import io

import tink
from tink import secret_key_access, streaming_aead
from tink.proto import aes_gcm_hkdf_streaming_pb2, tink_pb2

streaming_aead.register()

_TYPE_URL = "type.googleapis.com/google.crypto.tink.AesGcmHkdfStreamingKey"


def template_params() -> aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingKeyFormat:
    """The parameters of Tink's own AES256_GCM_HKDF_1MB key template."""
    template = streaming_aead.streaming_aead_key_templates.AES256_GCM_HKDF_1MB
    assert template.type_url == _TYPE_URL
    key_format = aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingKeyFormat()
    key_format.ParseFromString(template.value)
    return key_format


def tink_primitive(dek: bytes, segment_size: int) -> streaming_aead.StreamingAead:
    """A Tink StreamingAead over ``dek``: the template's parameters, the given segment size."""
    params = aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingParams()
    params.CopyFrom(template_params().params)
    params.ciphertext_segment_size = segment_size
    key = aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingKey(version=0, params=params, key_value=dek)
    keyset = tink_pb2.Keyset(
        primary_key_id=1,
        key=[
            tink_pb2.Keyset.Key(
                key_data=tink_pb2.KeyData(
                    type_url=_TYPE_URL,
                    value=key.SerializeToString(),
                    key_material_type=tink_pb2.KeyData.SYMMETRIC,
                ),
                status=tink_pb2.ENABLED,
                key_id=1,
                output_prefix_type=tink_pb2.RAW,
            )
        ],
    )
    handle = tink.proto_keyset_format.parse(keyset.SerializeToString(), secret_key_access.TOKEN)
    return handle.primitive(streaming_aead.StreamingAead)


class _KeepOnClose(io.BytesIO):
    """Tink closes the destination; keep its content."""

    value = b""

    def close(self) -> None:
        self.value = self.getvalue()
        super().close()


def tink_encrypt(dek: bytes, aad: bytes, plaintext: bytes, segment_size: int) -> bytes:
    """Encrypt with Tink."""
    sink = _KeepOnClose()
    with tink_primitive(dek, segment_size).new_encrypting_stream(sink, aad) as stream:
        stream.write(plaintext)
    return sink.value


def tink_decrypt(dek: bytes, aad: bytes, blob: bytes, segment_size: int) -> bytes:
    """Decrypt with Tink (raises tink.TinkError when authentication fails)."""
    primitive = tink_primitive(dek, segment_size)
    with primitive.new_decrypting_stream(io.BytesIO(blob), aad) as stream:
        return stream.read()
