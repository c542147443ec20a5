"""Publishing: feeds assembled from stored VEVENTs, their queries, private feeds, static exports
and the links that hand a feed to a calendar app."""
