"""Retention: dating trainees' records and face snapshots, refusing early deletion, and the job that
deletes face data and erases personal data when retention ends (docs/records.md, "Retention")."""
