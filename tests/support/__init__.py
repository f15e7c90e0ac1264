"""Helpers shared by the tests (not tests themselves): tiny models, fakes, synthetic users."""
