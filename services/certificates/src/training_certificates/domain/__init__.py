"""Certificates without I/O: the document, its canonical encoding and signature, the QR token, access rules."""
