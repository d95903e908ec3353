"""The conformance suite: the same actions in real headless Chromium and in clientsim windows, compared."""
