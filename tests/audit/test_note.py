"""Signed notes and checkpoints against the published examples of the C2SP specifications and
Go's golang.org/x/mod/sumdb/note. Pure: no database."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mlflow_registry_ext import keys
from mlflow_registry_ext.audit.note import (
    ALG_COSIGNATURE,
    Checkpoint,
    NoteError,
    Verifier,
    cosign_checkpoint,
    format_checkpoint,
    open_checkpoint,
    open_note,
    parse_checkpoint,
    parse_note,
    sign_note,
    split_notes,
    verify_cosignature,
)

# golang.org/x/mod/sumdb/note, note.go package documentation and note_test.go (ExampleSign).
GO_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = ("If you think cryptography is the answer to your problem,\n"
           "then you don't know what your problem is.\n")
GO_NOTE = GO_TEXT + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
# c2sp.org/signed-note (example key), x/mod's second test key, and the tlog-cosignature key of
# transparency-dev/formats note/note_cosigv1_test.go (type 0x04).
OTHER_KEYS = [
    "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop",
    "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6",
    "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",
]


def _go_key() -> Ed25519PrivateKey:
    blob = base64.b64decode(GO_SIGNER.split("+", 4)[4])
    assert blob[0] == 1
    return Ed25519PrivateKey.from_private_bytes(blob[1:])


def test_signing_reproduces_the_go_note_byte_for_byte():
    key = _go_key()
    assert sign_note(GO_TEXT, "PeterNeumann", key) == GO_NOTE
    verifier = Verifier.for_key("PeterNeumann", key.public_key())
    assert verifier.key_string == GO_VERIFIER
    # keys.py names the log key the same way.
    assert keys.note_verifier_key("PeterNeumann", key.public_key()) == GO_VERIFIER


def test_the_go_note_opens_with_its_verifier_and_not_when_changed():
    verifier = Verifier.parse(GO_VERIFIER)
    assert open_note(GO_NOTE, verifier).text == GO_TEXT
    with pytest.raises(NoteError):
        open_note(GO_NOTE.replace("cryptography", "cryptographY"), verifier)
    with pytest.raises(NoteError, match="no signature by"):
        open_note(GO_NOTE, Verifier.parse(OTHER_KEYS[1]))


def test_published_verifier_keys_parse_and_round_trip():
    for key_string in [GO_VERIFIER, *OTHER_KEYS]:
        assert Verifier.parse(key_string).key_string == key_string
    assert Verifier.parse(OTHER_KEYS[3]).alg == ALG_COSIGNATURE
    for bad in ["example.com/foo", "example.com/foo+530d903a",
                OTHER_KEYS[0].replace("530d903a", "530d903b"), OTHER_KEYS[0] + "!", "a b+00000000+AQ=="]:
        with pytest.raises(NoteError):
            Verifier.parse(bad)


def test_malformed_notes_are_refused():
    for bad in ["", "text\n", "text\n\nno dash\n", "text\n\n\u2014 name !!!\n",
                "text\n\n\u2014 name AAAA\n", "te\x01xt\n\n\u2014 n AAAAAAAA\n"]:
        with pytest.raises(NoteError):
            parse_note(bad)


def test_checkpoint_round_trip_signed_and_cosigned():
    key, witness = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    cp = Checkpoint("registry.example/governance", 42, bytes(range(32)))
    text = format_checkpoint(cp)
    assert text == "registry.example/governance\n42\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
    note = sign_note(text, cp.origin, key)
    verifier = Verifier.for_key(cp.origin, key.public_key())
    assert open_checkpoint(note, verifier, cp.origin) == cp
    with pytest.raises(NoteError):
        open_checkpoint(note, verifier, "another/log")
    cosigned = cosign_checkpoint(note, "witness.example", witness, 1_700_000_000)
    assert open_checkpoint(cosigned, verifier) == cp
    assert verify_cosignature(cosigned, Verifier.for_key("witness.example", witness.public_key())) == 1_700_000_000
    with pytest.raises(NoteError):
        verify_cosignature(cosigned.replace("\n42\n", "\n43\n"), Verifier.for_key("witness.example", witness.public_key()))
    assert split_notes(note + cosigned + note) == [note, cosigned, note]


def test_checkpoint_text_is_strict():
    for bad in ["o\n", "o\n01\nAAAA\n", "o\nx\n" + "A" * 44 + "\n", "o\n1\nAAAA\n", "\n1\n" + "A" * 43 + "=\n"]:
        with pytest.raises(NoteError):
            parse_checkpoint(bad)
