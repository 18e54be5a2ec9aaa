"""The membership domain: member records, applications, titles, groups, privacy."""
