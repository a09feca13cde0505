"""Face identity assurance: consent, enrollment of a face baseline, verification of probe photos
against it, and privacy handling (encryption at rest, access log, deletion with proof).

`matcher` is the engine interface, `dlib_matcher` the default engine, `images` the upload checks,
`rules` the pure rules, `app` the use cases, `vault` encryption and the access log, `tables` the
schema (migration 0002). See docs/identity.md.
"""
