"""Key exchange methods (RFC 4253 §7-8, RFC 4419, RFC 5656, RFC 8731, RFC 8268, ML-KEM hybrid)."""
