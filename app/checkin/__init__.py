"""The door: volunteers' scanner pages, the redeem service and the offline bundle."""
