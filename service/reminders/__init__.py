"""Reminders: followers' subscriptions, the plan of reminder rows, the queue, the worker that
delivers them, the channels it delivers through, and the words it sends."""
