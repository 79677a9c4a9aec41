"""Call-center and service-desk product for Asterisk."""
