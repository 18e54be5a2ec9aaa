"""Events: publishing, registration with capacity and waiting list, QR tickets."""
