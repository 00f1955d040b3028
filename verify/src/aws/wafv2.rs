//! AWS WAF: the web ACL on a load balancer.
