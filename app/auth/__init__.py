"""Accounts: sign-up, verification, login, password reset, profile; users and roles."""
