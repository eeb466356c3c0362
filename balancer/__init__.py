"""A small HTTP load balancer for running several bot server replicas on one machine."""
