"""Tests of reminders: planning, subscriptions, delivery, workers."""
